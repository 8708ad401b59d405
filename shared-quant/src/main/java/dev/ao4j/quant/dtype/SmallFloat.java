package dev.ao4j.quant.dtype;

import java.util.function.IntUnaryOperator;

/**
 * Bit arithmetic shared by the small float formats (fp8, fp6, fp4): rounding a positive finite f32 onto the grid
 * of a format with a given mantissa width and exponent bias (integer-only, so the result never depends on the
 * floating-point environment), and the fp8 decode tables.
 */
final class SmallFloat {
    private SmallFloat() {}

    /**
     * Round the positive finite f32 whose bits are {@code abs} (sign already cleared) to the nearest value of a
     * format with {@code mbits} stored mantissa bits and exponent bias {@code bias}, ties to the even code, and
     * return that code's magnitude bits {@code exponentField << mbits | mantissa}. Values below the smallest normal
     * {@code 2^(1 - bias)} round onto the subnormal grid (and may round up into the smallest normal). The result is
     * not bounded above: the caller maps codes past its largest finite one to Inf, NaN or saturation.
     */
    static int roundToCode(int abs, int mbits, int bias) {
        int e = abs >>> 23;
        int mantissa = abs & 0x7FFFFF;
        int minNormalExp = 128 - bias; // f32 biased exponent of 2^(1 - bias)
        if (e >= minNormalExp) {
            // Same binade layout as f32: move the exponent to the format's bias and drop 23 - mbits mantissa
            // bits. A carry out of the mantissa lands in the exponent field, which is exactly the next binade.
            int rebased = ((e - minNormalExp + 1) << 23) | mantissa;
            return roundShiftRight(rebased, 23 - mbits);
        }
        // Subnormal target: count steps of 2^(1 - bias - mbits). The f32 value is significand * 2^(eEff - 150).
        int significand = e == 0 ? mantissa : mantissa | 0x800000;
        int eEff = e == 0 ? 1 : e;
        int shift = (1 - bias - mbits) - (eEff - 150); // >= 24 - mbits here
        if (shift > 25) {
            return 0; // significand < 2^24, so the value is below a quarter step
        }
        return roundShiftRight(significand, shift);
    }

    /** The f32 bits of every 8-bit code, {@code bits.applyAsInt(code)} for codes 0..255: a decode table. */
    static int[] decodeTable(IntUnaryOperator bits) {
        int[] table = new int[256];
        for (int c = 0; c < table.length; c++) table[c] = bits.applyAsInt(c);
        return table;
    }

    /** {@code Float.intBitsToFloat} of each entry, computed once so decoding is a table lookup. */
    static float[] asFloats(int[] bits) {
        float[] out = new float[bits.length];
        for (int i = 0; i < bits.length; i++) out[i] = Float.intBitsToFloat(bits[i]);
        return out;
    }

    /** {@code v / 2^shift} (v >= 0, 1 <= shift <= 30) rounded to nearest, ties to even. */
    static int roundShiftRight(int v, int shift) {
        int q = v >>> shift;
        int rem = v & ((1 << shift) - 1);
        int half = 1 << (shift - 1);
        if (rem > half || (rem == half && (q & 1) != 0)) {
            q++;
        }
        return q;
    }
}
