package dev.ao4j.quant.mx;

import dev.ao4j.quant.numerics.F32Bits;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.tensor.Tensor;

/**
 * The scalar reference of {@code to_mx}: per block of the last dim, the largest |x| (any NaN wins), the E8M0
 * code, then every element scaled and encoded. Values travel as f32 bit patterns so NaN payloads survive.
 */
final class MxReference {
    private MxReference() {}

        /**
     * Rows [rowFrom, rowTo) of the {@code [rows, cols]} view of {@code hp}: E8M0 codes into {@code scale}
     * ({@code [rows, cols / block]}, row-major) and codes into {@code q} (packed for fp4).
     */
    static void quantizeRows(Tensor hp, int cols, int block, MxElement elem, ScalingMode scaling, DivMode mode,
                             Tensor q, Tensor scale, long rowFrom, long rowTo) {
        int[] x = new int[block];
        int[] codes = new int[block];
        int blocksPerRow = cols / block;
        for (long r = rowFrom; r < rowTo; r++) {
            for (int b = 0; b < blocksPerRow; b++) {
                long base = r * cols + (long) b * block;
                int amax = 0;
                for (int i = 0; i < block; i++) {
                    x[i] = F32Bits.load(hp, base + i);
                    amax = Math.max(amax, x[i] & 0x7FFFFFFF); // NaN patterns exceed every number's
                }
                int code = MxScale.e8m0(amax, elem, scaling, mode);
                scale.setByte(r * blocksPerRow + b, (byte) code);
                for (int i = 0; i < block; i++) {
                    codes[i] = elem.encode(MxScale.scaled(x[i], code, elem, scaling, mode));
                }
                store(q, base, codes, elem);
            }
        }
    }

    /** Codes of one block written at element offset {@code base}: one byte each, or two per byte for fp4. */
    static void store(Tensor q, long base, int[] codes, MxElement elem) {
        if (elem.isPacked()) {
            for (int i = 0; i < codes.length; i += 2) {
                q.setByte((base + i) / 2, (byte) (codes[i] | (codes[i + 1] << 4)));
            }
        } else {
            for (int i = 0; i < codes.length; i++) q.setByte(base + i, (byte) codes[i]);
        }
    }
}
