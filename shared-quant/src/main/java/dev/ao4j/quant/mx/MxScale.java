package dev.ao4j.quant.mx;

import dev.ao4j.quant.numerics.DivMode;

/**
 * One block's E8M0 scale and the per-element scaling of torchao's {@code to_mx} (torchao-numerics §7.2), on f32
 * bit patterns.
 */
final class MxScale {
    private MxScale() {}

    static final int NAN_CODE = 0xFF;

    /**
     * The E8M0 code for a block whose largest |x| has f32 bits {@code amaxBits} (sign clear; any NaN bits when the
     * block holds a NaN, which always gives 255).
     */
    static int e8m0(int amaxBits, MxElement elem, ScalingMode scaling, DivMode mode) {
        if (DeviceNan.isNaN(amaxBits)) return NAN_CODE;
        int bits = amaxBits;
        switch (scaling) {
            case RCEIL -> {
                return rceil(Float.intBitsToFloat(amaxBits), elem, mode);
            }
            case EVEN -> bits = (bits + (1 << (23 - elem.mbits - 1))) & 0xFF800000; // amax rounded to mbits
            case FLOOR, CEIL -> { }
        }
        int e = ((bits >>> 23) & 0xFF) - 127; // f32 zero and subnormals give -127
        if (scaling == ScalingMode.CEIL && (bits & 0x7FFFFF) != 0) e++;
        int unbiased = Math.clamp(e - elem.targetMaxPow2, -127, 128);
        return unbiased + 127; // 255 when clamped to 128
    }

    /**
     * RCEIL: {@code d = amax / max} (a Python-scalar division, so device dependent), then
     * {@code clamp(ceil(log2(d)), -127, 127) + 127}; d = +Inf gives 254, d = 0 gives 0.
     */
    private static int rceil(float amax, MxElement elem, DivMode mode) {
        float d = mode == DivMode.CUDA_RECIPROCAL ? amax * (float) (1.0 / elem.max) : amax / elem.max;
        int e;
        if (d == Float.POSITIVE_INFINITY) {
            e = 127;
        } else if (d == 0f) {
            e = -127;
        } else {
            e = (int) Math.clamp((long) Math.ceil(log2f(d)), -127, 127);
        }
        return e + 127;
    }

    /**
     * torch's f32 {@code log2}, taken as correctly rounded: exact for powers of two, else the double logarithm
     * rounded to f32. (For bf16 inputs d = amax / max is never within 5e-4 relative of a power of two unless it is
     * one, so the rounding of a less exact log2f cannot change the ceiling.)
     */
    static float log2f(float d) {
        int bits = Float.floatToRawIntBits(d);
        if ((bits & 0x7FFFFF) == 0 && (bits >>> 23) != 0) return ((bits >>> 23) & 0xFF) - 127;
        return (float) (Math.log(d) / Math.log(2.0));
    }

    /**
     * The f32 bits of the divisor FLOOR/CEIL/EVEN scale the elements with: {@code 2^(code - 127)} clamped below at
     * 2^-126 (so code 0 quantizes with 2^-126 but dequantizes with 2^-127), +Inf for code 255.
     */
    static int divisorBits(int code) {
        return Math.max(code, 1) << 23;
    }

    /** The f32 bits of RCEIL's multiplier: {@code 2^(127 - code)}, 1.0 for code 0, a NaN for code 255. */
    static int multiplierBits(int code) {
        if (code == NAN_CODE) return DeviceNan.QUIET_NAN;
        if (code == 0) return Float.floatToRawIntBits(1f);
        return Float.floatToRawIntBits(Math.scalb(1f, 127 - code));
    }

    /** The scaled element (f32 bits) before encoding: x / s, or x · r for RCEIL, clamped to ±max where torchao does. */
    static int scaled(int xBits, int code, MxElement elem, ScalingMode scaling, DivMode mode) {
        float x = Float.intBitsToFloat(xBits);
        int y;
        if (scaling == ScalingMode.RCEIL) {
            int r = multiplierBits(code);
            y = DeviceNan.result(x * Float.intBitsToFloat(r), r, xBits, mode);
        } else {
            int s = divisorBits(code);
            y = DeviceNan.result(x / Float.intBitsToFloat(s), xBits, s, mode);
            if (!elem.isFp8()) return y; // the fp6/fp4 encoders saturate by themselves
        }
        return clamp(y, elem.max);
    }

    /** {@code torch.clamp(y, -max, max)}: NaN passes through with its bits. */
    static int clamp(int yBits, float max) {
        float y = Float.intBitsToFloat(yBits);
        if (y > max) return Float.floatToRawIntBits(max);
        if (y < -max) return Float.floatToRawIntBits(-max);
        return yBits;
    }

    /** The f32 bits of the dequantization scale {@code 2^(code - 127)} (2^-127 for code 0, NaN for 255). */
    static int dequantScaleBits(int code) {
        if (code == NAN_CODE) return DeviceNan.QUIET_NAN;
        if (code == 0) return 0x00400000;
        return code << 23;
    }
}
