package dev.ao4j.quant.dtype;

/**
 * torch {@code float8_e8m0fnu}, the OCP MX block scale: 8 exponent bits, no sign, no mantissa. Code {@code e}
 * stands for {@code 2^(e - 127)}: code 0 is 2^-127 (there is no zero), 254 is 2^127 and 255 is NaN.
 */
public final class E8M0 {
    private E8M0() {}

    public static final byte NAN = (byte) 0xFF;
    /** Smallest unbiased exponent (code 0). */
    public static final int MIN_EXPONENT = -127;
    /** Largest unbiased exponent (code 254). */
    public static final int MAX_EXPONENT = 127;

    public static boolean isNaN(byte code) {
        return code == NAN;
    }

    /** The unbiased exponent of a non-NaN code. */
    public static int exponent(byte code) {
        if (code == NAN) throw new IllegalArgumentException("E8M0 code 0xFF is NaN and has no exponent");
        return (code & 0xFF) - 127;
    }

    /** The code for 2^{@code unbiasedExponent}, {@code -127 <= unbiasedExponent <= 127}. */
    public static byte fromExponent(int unbiasedExponent) {
        if (unbiasedExponent < MIN_EXPONENT || unbiasedExponent > MAX_EXPONENT) {
            throw new IllegalArgumentException("E8M0 exponent must be in [-127, 127] but was " + unbiasedExponent);
        }
        return (byte) (unbiasedExponent + 127);
    }

    /**
     * The f32 bits torch's conversion yields: code 0 gives the f32 subnormal 2^-127 (0x00400000), 255 gives the
     * NaN pattern 0x7F800001, any other code {@code e << 23}.
     */
    public static int toFloatBits(byte code) {
        int e = code & 0xFF;
        if (e == 0) return 0x00400000;
        if (e == 0xFF) return 0x7F800001;
        return e << 23;
    }

    /** {@code 2^(code - 127)}; NaN for 0xFF (Java's canonical NaN, not torch's signalling pattern). */
    public static float toFloat(byte code) {
        return code == NAN ? Float.NaN : Float.intBitsToFloat(toFloatBits(code));
    }

    /**
     * torch's eager cast f32 → float8_e8m0fnu. The sign is dropped; ±Inf and NaN give NaN (255). A normal f32
     * rounds up to the next power of two when its mantissa is at least one half (so 1.5·2^e → 2^(e+1)), which
     * makes the largest finite f32 binade round into the NaN code. An f32 subnormal keeps code 0 (2^-127) unless
     * its mantissa is strictly above one half (above 2^-127), then it becomes code 1 (2^-126): torch treats the
     * subnormal's missing leading one as the rounding LSB, so an exact 2^-127 stays and zero maps to 2^-127.
     */
    public static byte fromFloat(float f) {
        int bits = Float.floatToRawIntBits(f);
        int e = (bits >>> 23) & 0xFF;
        if (e == 0xFF) return NAN;
        int m = bits & 0x7FFFFF;
        boolean up = e > 0 ? m >= 0x400000 : m > 0x400000;
        return (byte) (up ? e + 1 : e);
    }
}
