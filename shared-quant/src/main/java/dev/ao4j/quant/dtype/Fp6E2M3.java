package dev.ao4j.quant.dtype;

/**
 * FP6 E2M3 (OCP MXFP6, torchao {@code "fp6_e2m3"}): 1 sign, 2 exponent (bias 1), 3 mantissa bits, no Inf/NaN;
 * largest magnitude 7.5, smallest normal 1.0, subnormal step 0.125. The 6-bit code (sign in bit 5) is stored one
 * per byte in the low bits; torchao's MX path does not bit-pack fp6.
 *
 * <p>{@link #fromFloat} is torchao's MX element encoder: round to nearest even, saturating, sign from the f32 sign
 * bit.
 */
public final class Fp6E2M3 {
    private Fp6E2M3() {}

    public static final float MAX = 7.5f;
    private static final MxFloat CODEC = new MxFloat(2, 3);

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
