package dev.ao4j.vllm.compressed;

import dev.ao4j.quant.numerics.F32Bits;
import dev.ao4j.quant.pipeline.Sqnr;
import dev.ao4j.quant.tensor.Tensor;

/**
 * {@link Sqnr#db} of a weight against its {@link CompressedLinear}, a row at a time: the same sums in the same order
 * (so the same double), without the F32 copy of the whole dequantized weight.
 */
final class RowSqnr {
    private RowSqnr() {}

    static double db(Tensor original, CompressedLinear q) {
        if (!original.shape().equals(q.shape())) {
            throw new IllegalArgumentException("SQNR of " + original + " against a " + q.shape() + " weight");
        }
        int n = Math.toIntExact(original.shape().dim(0));
        int k = Math.toIntExact(original.shape().dim(1));
        int[] bits = new int[k];
        float[] deq = new float[k];
        double signal = 0;
        double noise = 0;
        for (int r = 0; r < n; r++) {
            F32Bits.loadRow(original, r, k, bits);
            q.dequantizeRow(r, deq);
            for (int c = 0; c < k; c++) {
                double x = Float.intBitsToFloat(bits[c]);
                double d = x - deq[c];
                if (Double.isFinite(x) && Double.isFinite(d)) {
                    signal += x * x;
                    noise += d * d;
                }
            }
        }
        if (noise == 0) return Double.POSITIVE_INFINITY;
        return 10 * Math.log10(signal / noise);
    }
}
