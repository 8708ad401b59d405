package dev.ao4j.quant.dtype;

/**
 * torch {@code float8_e4m3fn} (OCP FP8 E4M3, "fn": finite, no infinity): 1 sign, 4 exponent (bias 7), 3 mantissa
 * bits. Largest finite 448 (code 0x7E); S.1111.111 (0x7F, 0xFF) is NaN; smallest subnormal 2^-9.
 *
 * <p>{@link #fromFloat} is torch's eager cast ({@code x.to(torch.float8_e4m3fn)}, torch ≤ 2.11): round to nearest,
 * ties to even, and <em>not</em> saturating. 464 lies halfway between 448 and the unrepresentable 480 and rounds to
 * the even code 448; anything larger, and ±Inf, becomes the NaN code with the input's sign. This is why torchao
 * always clamps to ±448 before casting.
 */
public final class Float8E4M3Fn {
    private Float8E4M3Fn() {}

    /** Largest finite value. */
    public static final float MAX = 448f;
    /** The positive NaN code (0xFF is the negative one). */
    public static final byte NAN = 0x7F;

    private static final int[] DECODE_BITS = SmallFloat.decodeTable(Float8E4M3Fn::computeBits);
    private static final float[] DECODE = SmallFloat.asFloats(DECODE_BITS);

    private static int computeBits(int c) {
        int sign = (c & 0x80) << 24;
        int e = (c >>> 3) & 0xF;
        int m = c & 0x7;
        if (e == 0xF && m == 0x7) {
            // The pattern torch's bit-level decoder produces for NaN: exponent all ones, top mantissa bits set.
            return sign | 0x7FF00000;
        }
        if (e == 0) {
            // subnormal m * 2^-9, exact in f32
            return sign | Float.floatToRawIntBits(m * 0x1p-9f);
        }
        return sign | ((e + 120) << 23) | (m << 20);
    }

    /** The exact value of {@code code}; NaN codes give a NaN with the code's sign. */
    public static float toFloat(byte code) {
        return DECODE[code & 0xFF];
    }

    /** The f32 bit pattern torch's conversion yields for {@code code} (NaN: {@code sign | 0x7FF00000}). */
    public static int toFloatBits(byte code) {
        return DECODE_BITS[code & 0xFF];
    }

    public static boolean isNaN(byte code) {
        return (code & 0x7F) == 0x7F;
    }

    /** torch's eager cast f32 → float8_e4m3fn: RNE, non-saturating (|x| > 464 and ±Inf → NaN), NaN keeps its sign. */
    public static byte fromFloat(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 24) & 0x80;
        int abs = bits & 0x7FFFFFFF;
        if (abs >= 0x7F800000) {
            return (byte) (sign | 0x7F); // Inf and NaN: no infinity in this format
        }
        int code = SmallFloat.roundToCode(abs, 3, 7);
        if (code > 0x7E) {
            code = 0x7F; // rounded past 448: 480 would need the NaN pattern
        }
        return (byte) (sign | code);
    }

    /** {@code f} after a round trip through float8_e4m3fn. */
    public static float round(float f) {
        return toFloat(fromFloat(f));
    }
}
