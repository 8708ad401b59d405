package dev.ao4j.quant.dtype;

/**
 * torch {@code float8_e5m2} (OCP FP8 E5M2, IEEE-like): 1 sign, 5 exponent (bias 15), 2 mantissa bits. Largest
 * finite 57344 (0x7B); 0x7C is +Inf; 0x7D..0x7F are NaN; smallest subnormal 2^-16.
 *
 * <p>{@link #fromFloat} is torch's eager cast (torch ≤ 2.11): round to nearest, ties to even, not saturating, so
 * values from 61440 (halfway to 2^16, ties to the even Inf code) up overflow to ±Inf; NaN becomes 0x7F with the
 * input's sign.
 */
public final class Float8E5M2 {
    private Float8E5M2() {}

    /** Largest finite value. */
    public static final float MAX = 57344f;
    /** The NaN code torch writes (with the sign bit clear). */
    public static final byte NAN = 0x7F;
    public static final byte POSITIVE_INFINITY = 0x7C;
    public static final byte NEGATIVE_INFINITY = (byte) 0xFC;

    private static final int[] DECODE_BITS = SmallFloat.decodeTable(Float8E5M2::computeBits);
    private static final float[] DECODE = SmallFloat.asFloats(DECODE_BITS);

    private static int computeBits(int c) {
        int sign = (c & 0x80) << 24;
        int e = (c >>> 2) & 0x1F;
        int m = c & 0x3;
        if (e == 0x1F) {
            // Inf, or a NaN whose payload moves to the top of the f32 mantissa, quieted (as torch's decoder,
            // which goes through fp16 and a float multiply, returns it)
            return m == 0 ? sign | 0x7F800000 : sign | 0x7F800000 | (m << 21) | 0x00400000;
        }
        if (e == 0) {
            return sign | Float.floatToRawIntBits(m * 0x1p-16f);
        }
        return sign | ((e + 112) << 23) | (m << 21);
    }

    /** The exact value of {@code code}. */
    public static float toFloat(byte code) {
        return DECODE[code & 0xFF];
    }

    /** The f32 bit pattern torch's conversion yields for {@code code}. */
    public static int toFloatBits(byte code) {
        return DECODE_BITS[code & 0xFF];
    }

    public static boolean isNaN(byte code) {
        return (code & 0x7F) > 0x7C;
    }

    public static boolean isInfinite(byte code) {
        return (code & 0x7F) == 0x7C;
    }

    /** torch's eager cast f32 → float8_e5m2: RNE, non-saturating (overflow → ±Inf), NaN → 0x7F with its sign. */
    public static byte fromFloat(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 24) & 0x80;
        int abs = bits & 0x7FFFFFFF;
        if (abs > 0x7F800000) {
            return (byte) (sign | 0x7F);
        }
        if (abs == 0x7F800000) {
            return (byte) (sign | 0x7C);
        }
        int code = SmallFloat.roundToCode(abs, 2, 15);
        if (code > 0x7B) {
            code = 0x7C; // past 57344 after rounding: Inf
        }
        return (byte) (sign | code);
    }

    public static float round(float f) {
        return toFloat(fromFloat(f));
    }
}
