package dev.ao4j.quant.dtype;

/**
 * The element codec torchao's MX formats use for fp6 and fp4 ({@code _f32_to_floatx_unpacked} /
 * {@code _floatx_unpacked_to_f32}): a sign bit on top of {@code ebits} exponent bits (bias 2^(ebits-1) - 1) and
 * {@code mbits} mantissa bits, no Inf or NaN codes. Encoding rounds to nearest even and saturates to the largest
 * magnitude, keeping the sign (so -0.0 and tiny negatives give the negative zero code).
 */
final class MxFloat {
    final int ebits;
    final int mbits;
    final int bias;
    final int maxCode;  // all exponent and mantissa bits set
    final int signBit;
    final float maxNormal;
    final float minNormal;
    private final float[] decode;

    MxFloat(int ebits, int mbits) {
        this.ebits = ebits;
        this.mbits = mbits;
        this.bias = (1 << (ebits - 1)) - 1;
        this.maxCode = (1 << (ebits + mbits)) - 1;
        this.signBit = 1 << (ebits + mbits);
        this.maxNormal = Math.scalb((float) ((1 << (mbits + 1)) - 1) / (1 << mbits), (1 << ebits) - 1 - bias);
        this.minNormal = Math.scalb(1f, 1 - bias);
        this.decode = new float[signBit << 1];
        for (int c = 0; c < decode.length; c++) {
            decode[c] = computeValue(c);
        }
    }

    private float computeValue(int code) {
        int mag = code & maxCode;
        int e = mag >>> mbits;
        int m = mag & ((1 << mbits) - 1);
        float v = e == 0
                ? Math.scalb((float) m, 1 - bias - mbits)
                : Math.scalb(1f + (float) m / (1 << mbits), e - bias);
        return (code & signBit) != 0 ? -v : v;
    }

    float toFloat(int code) {
        if (code < 0 || code >= decode.length) {
            throw new IllegalArgumentException("code " + code + " out of range [0, " + decode.length + ")");
        }
        return decode[code];
    }

    int fromFloat(float x) {
        int bits = Float.floatToRawIntBits(x);
        int abs = bits & 0x7FFFFFFF;
        float a = Float.intBitsToFloat(abs);
        int code;
        if (a >= maxNormal) {
            code = maxCode; // saturate
        } else if (a < minNormal) {
            code = SmallFloat.roundToCode(abs, mbits, bias); // subnormal grid, may round up to the smallest normal
        } else {
            // Normal range, and also NaN (both comparisons above are false for NaN): re-bias the exponent and round
            // the mantissa with integer arithmetic. torchao runs NaN through this same arithmetic and keeps the low
            // byte, so NaN yields a small, deterministic but meaningless code; we reproduce it rather than invent one.
            int shift = 23 - mbits;
            int odd = (abs >>> shift) & 1;
            int v = abs + ((bias - 127) << 23) + ((1 << (shift - 1)) - 1) + odd;
            code = (v >> shift) & 0xFF;
        }
        return (code | (bits < 0 ? signBit : 0)) & 0xFF;
    }
}
