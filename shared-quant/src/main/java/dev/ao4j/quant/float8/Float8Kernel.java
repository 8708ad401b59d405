package dev.ao4j.quant.float8;

/**
 * Which implementation quantizes: the scalar {@link #REFERENCE} loop that follows torchao op by op, or the
 * {@link #VECTOR} twin (jdk.incubator.vector) for the hot amax / divide / clamp / cast loops, proven bit-identical to
 * the reference by tests. Scale arithmetic (one value per block) and dequantization are scalar in both.
 */
public enum Float8Kernel {
    REFERENCE, VECTOR
}
