package dev.ao4j.quant.affine;

/**
 * Which implementation runs the elementwise hot path of affine quantization (block min/max and the quantize
 * loop). Both give bit-identical results; {@code AffineKernelEquivalenceTest} proves it on random and edge inputs.
 */
public enum Kernel {
    /** Plain scalar loops that follow torch's per-op rounding step by step; the specification. */
    REFERENCE,
    /**
     * jdk.incubator.vector for bf16 inputs (the weights torchao sees in practice); other input dtypes, and
     * products or zero-point sums the fast path does not cover, run the reference loop.
     */
    VECTOR
}
