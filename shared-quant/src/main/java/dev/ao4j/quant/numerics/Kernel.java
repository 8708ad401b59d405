package dev.ao4j.quant.numerics;

/**
 * Which implementation runs a quantizer's elementwise hot loops (block or group min/max, amax, the quantize
 * loop). The choice is an explicit argument, never a global switch. Per-block arithmetic (scales, zero points)
 * is the same scalar code for both.
 */
public enum Kernel {
    /** Plain scalar loops that follow torch's per-op rounding step by step: the specification. */
    REFERENCE,
    /**
     * The jdk.incubator.vector twin of the reference loops, proven bit-identical to them by tests on random and
     * edge inputs (ragged tails, NaN/Inf, zeros). Inputs a vector path does not cover run the reference loop.
     */
    VECTOR
}
