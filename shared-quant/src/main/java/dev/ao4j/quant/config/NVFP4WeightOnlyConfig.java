package dev.ao4j.quant.config;

/**
 * torchao (prototype) {@code NVFP4WeightOnlyConfig} (version 1, {@code NVFP4Tensor}, torchao-numerics §8): fp4
 * e2m1 weights in blocks of 16 with e4m3 block scales (swizzled), matmul in the original precision.
 *
 * @param useDynamicPerTensorScale {@code use_dynamic_per_tensor_scale} (default true): add the f32 per-tensor
 *                                 scale {@code amax / 2688} of two-level scaling
 */
public record NVFP4WeightOnlyConfig(boolean useDynamicPerTensorScale) implements QuantConfig {

    /** torchao's defaults: with the per-tensor scale. */
    public static NVFP4WeightOnlyConfig defaults() {
        return new NVFP4WeightOnlyConfig(true);
    }

    public NVFP4WeightOnlyConfig withUseDynamicPerTensorScale(boolean v) {
        return new NVFP4WeightOnlyConfig(v);
    }

    /** torchao 0.18 writes this prototype config with {@code _version} 1. */
    @Override
    public int torchaoVersion() {
        return 1;
    }
}
