package dev.ao4j.quant.dtype;

/**
 * FP6 E3M2 (OCP MXFP6, torchao {@code "fp6_e3m2"}): 1 sign, 3 exponent (bias 3), 2 mantissa bits, no Inf/NaN;
 * largest magnitude 28, smallest normal 0.25, subnormal step 0.0625. The 6-bit code (sign in bit 5) is stored one
 * per byte in the low bits; torchao's MX path does not bit-pack fp6.
 *
 * <p>{@link #fromFloat} is torchao's MX element encoder: round to nearest even, saturating, sign from the f32 sign
 * bit.
 */
public final class Fp6E3M2 {
    private Fp6E3M2() {}

    public static final float MAX = 28f;
    private static final MxFloat CODEC = new MxFloat(3, 2);

    /** The value of a 6-bit code (0..63). */
    public static float toFloat(int code) {
        return CODEC.toFloat(code);
    }

    /** The 6-bit code of {@code f}. */
    public static int fromFloat(float f) {
        return CODEC.fromFloat(f);
    }

    public static float round(float f) {
        return toFloat(fromFloat(f));
    }
}
