package dev.ao4j.quant.config;

import static dev.ao4j.quant.config.ConfigChecks.invalid;
import static dev.ao4j.quant.config.ConfigChecks.nonNull;
import static dev.ao4j.quant.config.ConfigChecks.oneOf;

import dev.ao4j.quant.dtype.DType;
import java.util.Arrays;
import java.util.List;

/**
 * torchao {@code Float8DynamicActivationFloat8WeightConfig} (version 2, {@code Float8Tensor}, "fp8dq"): fp8
 * weights, activations quantized to fp8 at run time, fp8 matmul.
 *
 * <p>Like torchao's {@code __post_init__}, the constructor normalizes {@code granularity} to the pair
 * {@code [activation, weight]}: null means [PerTensor, PerTensor] (not PerRow), one PerTensor/PerRow applies to
 * both, and a pair must be [PerTensor, PerTensor], [PerRow, PerRow] or [PerBlock([1, 128]), PerBlock([128, 128])]
 * (DeepSeek-style blockwise). A null {@code mmConfig} becomes torchao's default
 * {@code Float8MMConfig(use_fast_accum=True)}, or {@code use_fast_accum=False} for the blockwise pair. Withers
 * keep the current mm_config; pass {@code withMmConfig(null)} after {@code withGranularity} to re-derive it.
 *
 * @param activationDtype   {@code activation_dtype}: F8_E4M3 (default) or F8_E5M2
 * @param weightDtype       {@code weight_dtype}: F8_E4M3 (default) or F8_E5M2
 * @param granularity       {@code granularity}: always 2 elements after construction
 * @param packingFormat     {@code packing_format} (default PLAIN)
 * @param mmConfig          {@code mm_config}
 * @param activationValueLb {@code activation_value_lb}: null or a lower clamp for the activation amax
 * @param activationValueUb {@code activation_value_ub}: null or an upper clamp for the activation amax
 * @param kernelPreference  {@code kernel_preference} (default AUTO)
 * @param setInductorConfig {@code set_inductor_config} (default true)
 * @param algId             {@code alg_id} (default 0; hipSPARSELt algorithm of the 1-D sparse format)
 */
public record Float8DynamicActivationFloat8WeightConfig(DType activationDtype, DType weightDtype,
                                                        List<Granularity> granularity,
                                                        Float8PackingFormat packingFormat, Float8MMConfig mmConfig,
                                                        Double activationValueLb, Double activationValueUb,
                                                        KernelPreference kernelPreference, boolean setInductorConfig,
                                                        int algId) implements QuantConfig {

    /** The blockwise recipe's activation granularity, 1x128 (per token per 128 channels). */
    public static final Granularity.PerBlock BLOCK_1X128 = new Granularity.PerBlock(List.of(1, 128));
    /** The blockwise recipe's weight granularity, 128x128. */
    public static final Granularity.PerBlock BLOCK_128X128 = new Granularity.PerBlock(List.of(128, 128));

    private static final String NAME = "Float8DynamicActivationFloat8WeightConfig";
    private static final String PAIRS =
            "[PerTensor, PerTensor], [PerRow, PerRow] or [PerBlock([1, 128]), PerBlock([128, 128])]";

    public Float8DynamicActivationFloat8WeightConfig {
        oneOf(activationDtype, Float8WeightOnlyConfig.FLOAT8_DTYPES, NAME, "activationDtype", "activation_dtype");
        oneOf(weightDtype, Float8WeightOnlyConfig.FLOAT8_DTYPES, NAME, "weightDtype", "weight_dtype");
        granularity = normalizeGranularity(granularity);
        nonNull(packingFormat, NAME, "packingFormat", "packing_format", "a Float8PackingFormat");
        if (mmConfig == null) mmConfig = new Float8MMConfig(false, !isBlockwise(granularity), false);
        if (activationValueLb != null && activationValueLb.isNaN()) {
            throw invalid(NAME, "activationValueLb", "activation_value_lb", "null or a number", activationValueLb);
        }
        if (activationValueUb != null && activationValueUb.isNaN()) {
            throw invalid(NAME, "activationValueUb", "activation_value_ub", "null or a number", activationValueUb);
        }
        nonNull(kernelPreference, NAME, "kernelPreference", "kernel_preference", "a KernelPreference");
        if (isBlockwise(granularity)
                && kernelPreference != KernelPreference.AUTO && kernelPreference != KernelPreference.TORCH) {
            throw invalid(NAME, "kernelPreference", "kernel_preference",
                    "AUTO or TORCH with the blockwise granularity", kernelPreference);
        }
    }

    /** torchao's defaults: e4m3fn both, [PerTensor, PerTensor], plain, Float8MMConfig(false, true, false), AUTO. */
    public static Float8DynamicActivationFloat8WeightConfig defaults() {
        return new Float8DynamicActivationFloat8WeightConfig(DType.F8_E4M3, DType.F8_E4M3, null,
                Float8PackingFormat.PLAIN, null, null, null, KernelPreference.AUTO, true, 0);
    }

    /** True for the [PerBlock([1, 128]), PerBlock([128, 128])] recipe. */
    public static boolean isBlockwise(List<Granularity> pair) {
        return pair.size() == 2 && BLOCK_1X128.equals(pair.get(0)) && BLOCK_128X128.equals(pair.get(1));
    }

    public Granularity activationGranularity() {
        return granularity.get(0);
    }

    public Granularity weightGranularity() {
        return granularity.get(1);
    }

    public Float8DynamicActivationFloat8WeightConfig withActivationDtype(DType v) {
        return new Float8DynamicActivationFloat8WeightConfig(v, weightDtype, granularity, packingFormat, mmConfig,
                activationValueLb, activationValueUb, kernelPreference, setInductorConfig, algId);
    }

    public Float8DynamicActivationFloat8WeightConfig withWeightDtype(DType v) {
        return new Float8DynamicActivationFloat8WeightConfig(activationDtype, v, granularity, packingFormat, mmConfig,
                activationValueLb, activationValueUb, kernelPreference, setInductorConfig, algId);
    }

    /** One PerTensor or PerRow for activations and weights. */
    public Float8DynamicActivationFloat8WeightConfig withGranularity(Granularity both) {
        return new Float8DynamicActivationFloat8WeightConfig(activationDtype, weightDtype, Arrays.asList(both),
                packingFormat, mmConfig, activationValueLb, activationValueUb, kernelPreference, setInductorConfig,
                algId);
    }

    public Float8DynamicActivationFloat8WeightConfig withGranularity(Granularity activation, Granularity weight) {
        return new Float8DynamicActivationFloat8WeightConfig(activationDtype, weightDtype,
                Arrays.asList(activation, weight), packingFormat, mmConfig, activationValueLb,
                activationValueUb, kernelPreference, setInductorConfig, algId);
    }

    public Float8DynamicActivationFloat8WeightConfig withPackingFormat(Float8PackingFormat v) {
        return new Float8DynamicActivationFloat8WeightConfig(activationDtype, weightDtype, granularity, v, mmConfig,
                activationValueLb, activationValueUb, kernelPreference, setInductorConfig, algId);
    }

    /** {@code null} re-derives torchao's default for the current granularity. */
    public Float8DynamicActivationFloat8WeightConfig withMmConfig(Float8MMConfig v) {
        return new Float8DynamicActivationFloat8WeightConfig(activationDtype, weightDtype, granularity, packingFormat,
                v, activationValueLb, activationValueUb, kernelPreference, setInductorConfig, algId);
    }

    public Float8DynamicActivationFloat8WeightConfig withActivationValueLb(Double v) {
        return new Float8DynamicActivationFloat8WeightConfig(activationDtype, weightDtype, granularity, packingFormat,
                mmConfig, v, activationValueUb, kernelPreference, setInductorConfig, algId);
    }

    public Float8DynamicActivationFloat8WeightConfig withActivationValueUb(Double v) {
        return new Float8DynamicActivationFloat8WeightConfig(activationDtype, weightDtype, granularity, packingFormat,
                mmConfig, activationValueLb, v, kernelPreference, setInductorConfig, algId);
    }

    public Float8DynamicActivationFloat8WeightConfig withKernelPreference(KernelPreference v) {
        return new Float8DynamicActivationFloat8WeightConfig(activationDtype, weightDtype, granularity, packingFormat,
                mmConfig, activationValueLb, activationValueUb, v, setInductorConfig, algId);
    }

    public Float8DynamicActivationFloat8WeightConfig withSetInductorConfig(boolean v) {
        return new Float8DynamicActivationFloat8WeightConfig(activationDtype, weightDtype, granularity, packingFormat,
                mmConfig, activationValueLb, activationValueUb, kernelPreference, v, algId);
    }

    public Float8DynamicActivationFloat8WeightConfig withAlgId(int v) {
        return new Float8DynamicActivationFloat8WeightConfig(activationDtype, weightDtype, granularity, packingFormat,
                mmConfig, activationValueLb, activationValueUb, kernelPreference, setInductorConfig, v);
    }

    /** torchao's {@code _normalize_granularity} for fp8: returns the validated immutable pair. */
    private static List<Granularity> normalizeGranularity(List<Granularity> g) {
        if (g == null) return List.of(new Granularity.PerTensor(), new Granularity.PerTensor());
        if (g.size() == 1) {
            Granularity one = g.getFirst();
            if (!(one instanceof Granularity.PerTensor || one instanceof Granularity.PerRow)) {
                throw invalid(NAME, "granularity", "granularity", "PerTensor or PerRow as a single value", one);
            }
            return List.of(one, one);
        }
        if (g.size() != 2) {
            throw invalid(NAME, "granularity", "granularity", "null, one granularity or a pair " + PAIRS,
                    g.size() + " elements " + g);
        }
        Granularity act = g.get(0);
        Granularity weight = g.get(1);
        boolean perTensor = act instanceof Granularity.PerTensor && weight instanceof Granularity.PerTensor;
        boolean perRow = act instanceof Granularity.PerRow && weight instanceof Granularity.PerRow;
        if (!(perTensor || perRow || isBlockwise(g))) {
            throw invalid(NAME, "granularity", "granularity", "one of the pairs " + PAIRS, g);
        }
        return List.of(act, weight);
    }
}
