package dev.ao4j.quant.dtype;

/**
 * FP4 E2M1 (OCP MXFP4 / NVFP4 element, torch {@code float4_e2m1fn_x2} when packed): 1 sign, 2 exponent (bias 1),
 * 1 mantissa bit, no Inf/NaN. Magnitudes by 3-bit code: 0, 0.5, 1, 1.5, 2, 3, 4, 6; bit 3 is the sign.
 *
 * <p>{@link #fromFloat} is torchao's MX element encoder: round to nearest, ties to the even code, saturating to ±6,
 * the sign taken from the f32 sign bit (−0.0 → 0x8). Packing ({@code pack_uint4}) puts element {@code 2i} in the
 * low nibble and {@code 2i+1} in the high nibble of byte {@code i}.
 */
public final class Fp4E2M1 {
    private Fp4E2M1() {}

    public static final float MAX = 6f;
    private static final MxFloat CODEC = new MxFloat(2, 1);

    /** The value of a 4-bit code (0..15). */
    public static float toFloat(int code) {
        return CODEC.toFloat(code);
    }

    /** The 4-bit code of {@code f} (saturating RNE; NaN gives the code torchao's arithmetic produces). */
    public static int fromFloat(float f) {
        return CODEC.fromFloat(f);
    }

    public static float round(float f) {
        return toFloat(fromFloat(f));
    }

    /** One byte holding {@code even} (element 2i) in the low nibble and {@code odd} (element 2i+1) in the high one. */
    public static byte pack(int even, int odd) {
        if ((even & ~0xF) != 0 || (odd & ~0xF) != 0) {
            throw new IllegalArgumentException("fp4 codes must be in [0, 15] but were " + even + " and " + odd);
        }
        return (byte) (even | (odd << 4));
    }

    /** Element 2i of a packed byte. */
    public static int low(byte packed) {
        return packed & 0xF;
    }

    /** Element 2i+1 of a packed byte. */
    public static int high(byte packed) {
        return (packed >>> 4) & 0xF;
    }

    /** Pack {@code codes} (even length, each 0..15) two per byte. */
    public static byte[] pack(byte[] codes) {
        if ((codes.length & 1) != 0) {
            throw new IllegalArgumentException("fp4 packing needs an even number of codes but got " + codes.length);
        }
        byte[] out = new byte[codes.length / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = pack(codes[2 * i], codes[2 * i + 1]);
        }
        return out;
    }

    /** The {@code 2 * packed.length} codes of a packed array. */
    public static byte[] unpack(byte[] packed) {
        byte[] out = new byte[packed.length * 2];
        for (int i = 0; i < packed.length; i++) {
            out[2 * i] = (byte) low(packed[i]);
            out[2 * i + 1] = (byte) high(packed[i]);
        }
        return out;
    }
}
