package dev.ao4j.quant.config;

import static dev.ao4j.quant.config.ConfigChecks.invalid;
import static dev.ao4j.quant.config.ConfigChecks.nonNull;
import static dev.ao4j.quant.config.ConfigChecks.oneOf;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.mx.MxElement;
import dev.ao4j.quant.mx.ScalingMode;
import java.util.List;

/**
 * torchao (prototype) {@code MXDynamicActivationMXWeightConfig} (version 1, {@code MXTensor}, torchao-numerics
 * §7.6): MX weights with E8M0 block scales and swizzled scale layout, activations quantized the same way at run
 * time. Real MX matmul kernels need Blackwell-class GPUs (sm100+) or AMD MI350+.
 *
 * @param blockSize        {@code block_size}: 32 (the only MX block size ao4j quantizes with)
 * @param activationDtype  {@code activation_dtype}: F8_E4M3 (default), F8_E5M2 or F4_E2M1X2; must equal weightDtype
 * @param weightDtype      {@code weight_dtype}: as activationDtype
 * @param kernelPreference {@code kernel_preference} (default AUTO)
 * @param scalingMode      {@code scaling_mode}: torchao's {@code ScaleCalculationMode} (default RCEIL)
 */
public record MXDynamicActivationMXWeightConfig(int blockSize, DType activationDtype, DType weightDtype,
                                                KernelPreference kernelPreference, ScalingMode scalingMode)
        implements QuantConfig {

    /** The element dtypes torchao's MX config accepts that ao4j serializes (torch dtypes, not fp6 strings). */
    public static final List<DType> ELEMENT_DTYPES = List.of(DType.F8_E4M3, DType.F8_E5M2, DType.F4_E2M1X2);

    private static final String NAME = "MXDynamicActivationMXWeightConfig";

    public MXDynamicActivationMXWeightConfig {
        if (blockSize != 32) throw invalid(NAME, "blockSize", "block_size", "32", blockSize);
        oneOf(activationDtype, ELEMENT_DTYPES, NAME, "activationDtype", "activation_dtype");
        oneOf(weightDtype, ELEMENT_DTYPES, NAME, "weightDtype", "weight_dtype");
        // torchao quantizes activations and weights to the same element format (its MX GEMMs take one)
        if (activationDtype != weightDtype) {
            throw new InvalidConfigException(NAME + ".activationDtype (activation_dtype) must equal weightDtype "
                    + "(weight_dtype) " + weightDtype.torchName() + " but was " + activationDtype.torchName());
        }
        nonNull(kernelPreference, NAME, "kernelPreference", "kernel_preference", "a KernelPreference");
        nonNull(scalingMode, NAME, "scalingMode", "scaling_mode", "a ScaleCalculationMode");
    }

    /** torchao's defaults: MXFP8 (e4m3fn) with block 32, AUTO kernels, RCEIL scales. */
    public static MXDynamicActivationMXWeightConfig defaults() {
        return new MXDynamicActivationMXWeightConfig(32, DType.F8_E4M3, DType.F8_E4M3, KernelPreference.AUTO,
                ScalingMode.RCEIL);
    }

    /** MXFP4: both dtypes {@code float4_e2m1fn_x2}, other fields default. */
    public static MXDynamicActivationMXWeightConfig mxfp4() {
        return defaults().withElementDtype(DType.F4_E2M1X2);
    }

    /** Both activation and weight dtype. */
    public MXDynamicActivationMXWeightConfig withElementDtype(DType v) {
        return new MXDynamicActivationMXWeightConfig(blockSize, v, v, kernelPreference, scalingMode);
    }

    public MXDynamicActivationMXWeightConfig withKernelPreference(KernelPreference v) {
        return new MXDynamicActivationMXWeightConfig(blockSize, activationDtype, weightDtype, v, scalingMode);
    }

    public MXDynamicActivationMXWeightConfig withScalingMode(ScalingMode v) {
        return new MXDynamicActivationMXWeightConfig(blockSize, activationDtype, weightDtype, kernelPreference, v);
    }

    /** The MX element format of a config dtype. */
    public static MxElement element(DType dtype) {
        return switch (dtype) {
            case F8_E4M3 -> MxElement.FP8_E4M3;
            case F8_E5M2 -> MxElement.FP8_E5M2;
            case F4_E2M1X2 -> MxElement.FP4_E2M1;
            default -> throw new InvalidConfigException("no MX element format for dtype " + dtype.torchName()
                    + "; supported: " + ELEMENT_DTYPES.stream().map(DType::torchName).toList());
        };
    }

    /** The config dtype of an MX element format (torchao's {@code elem_dtype}). */
    public static DType dtype(MxElement element) {
        return switch (element) {
            case FP8_E4M3 -> DType.F8_E4M3;
            case FP8_E5M2 -> DType.F8_E5M2;
            case FP4_E2M1 -> DType.F4_E2M1X2;
            case FP6_E2M3, FP6_E3M2 -> throw new InvalidConfigException("MX element " + element.id() + " has no "
                    + "torch dtype (torchao names fp6 by string); ao4j serializes fp8 and fp4 MX tensors only");
        };
    }

    /** torchao 0.18 writes this prototype config with {@code _version} 1. */
    @Override
    public int torchaoVersion() {
        return 1;
    }
}
