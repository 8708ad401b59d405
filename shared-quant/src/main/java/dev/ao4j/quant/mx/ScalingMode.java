package dev.ao4j.quant.mx;

/**
 * How torchao's {@code to_mx} turns a block's largest magnitude into its E8M0 scale (torchao's
 * {@code ScaleCalculationMode}, torchao-numerics §7.2).
 */
public enum ScalingMode {
    /** The OCP rule: the exponent of amax minus the element's {@code target_max_pow2}. */
    FLOOR,
    /** As FLOOR, one binade up when amax is not a power of two. */
    CEIL,
    /** As FLOOR after rounding amax to the element's mantissa width. */
    EVEN,
    /** cuBLAS's rule: {@code ceil(log2(amax / max))}; the default of {@code MXDynamicActivationMXWeightConfig}. */
    RCEIL
}
