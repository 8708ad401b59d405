package dev.ao4j.quant.int4;

/**
 * Which implementation runs the group-quantize hot loop (per group: min/max, scale, zero, codes). Both produce
 * bit-identical results; {@link #REFERENCE} is the plain scalar definition and {@link #VECTOR} the Vector API
 * version (jdk.incubator.vector, the platform's preferred vector width) that tests prove equal to it.
 */
public enum Int4Kernel {
    /** Scalar loops that follow torch's per-op rounding literally; the specification. */
    REFERENCE,
    /** SIMD lanes over each group; per-group scale/zero math is shared with the reference. */
    VECTOR;

    GroupKernel impl() {
        return switch (this) {
            case REFERENCE -> ReferenceGroupKernel.INSTANCE;
            case VECTOR -> VectorGroupKernel.PREFERRED;
        };
    }
}
