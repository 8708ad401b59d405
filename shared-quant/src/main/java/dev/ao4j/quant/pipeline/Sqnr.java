package dev.ao4j.quant.pipeline;

import dev.ao4j.quant.tensor.Tensor;

/** Signal-to-quantization-noise ratio: 10·log10(Σx² / Σ(x − x̂)²) in dB, accumulated in double. */
public final class Sqnr {
    private Sqnr() {}

    public static double db(Tensor original, Tensor reconstructed) {
        long n = original.numel();
        if (reconstructed.numel() != n) {
            throw new IllegalArgumentException("SQNR of " + original + " against " + reconstructed + ": sizes differ");
        }
        double signal = 0, noise = 0;
        for (long i = 0; i < n; i++) {
            double x = original.getFloat(i);
            double d = x - reconstructed.getFloat(i);
            if (Double.isFinite(x) && Double.isFinite(d)) {
                signal += x * x;
                noise += d * d;
            }
        }
        if (noise == 0) return Double.POSITIVE_INFINITY;
        return 10 * Math.log10(signal / noise);
    }
}
