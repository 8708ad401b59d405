package dev.ao4j.quant.config;

import static dev.ao4j.quant.config.ConfigChecks.invalid;
import static dev.ao4j.quant.config.ConfigChecks.nonNull;

import dev.ao4j.quant.dtype.DType;
import java.util.List;

/**
 * torchao {@code Int8DynamicActivationIntxWeightConfig} (version 2): intN weights (1 &le; N &le; 8) stored
 * unpacked in int8 ({@code IntxUnpackedToInt8Tensor}), activations quantized per token to asymmetric int8 at run
 * time. With {@code weightBits = 4} and PerGroup(32) this is ExecuTorch's "8da4w" ({@link #of8da4w(int)}).
 *
 * @param weightBits                 {@code weight_dtype} = {@code torch.int<weightBits>}, 1..8 (torchao default 8)
 * @param weightGranularity          {@code weight_granularity}: PerGroup (default 32) or PerAxis(0)
 * @param weightMappingType          {@code weight_mapping_type} (default SYMMETRIC)
 * @param weightScaleDtype           {@code weight_scale_dtype}: null (= the weight's dtype, default) or a float dtype
 * @param actMappingType             {@code act_mapping_type}: ASYMMETRIC, the only one torchao 0.18 quantizes with
 * @param intxPackingFormat          {@code intx_packing_format} (default UNPACKED_TO_INT8)
 * @param intxChooseQparamsAlgorithm {@code intx_choose_qparams_algorithm} (default AFFINE)
 */
public record Int8DynamicActivationIntxWeightConfig(int weightBits, Granularity weightGranularity,
                                                    MappingType weightMappingType, DType weightScaleDtype,
                                                    MappingType actMappingType, IntxPackingFormat intxPackingFormat,
                                                    IntxChooseQParamsAlgorithm intxChooseQparamsAlgorithm)
        implements QuantConfig {

    /** Scale dtypes that make sense for {@code weight_scale_dtype}. */
    public static final List<DType> SCALE_DTYPES = List.of(DType.BF16, DType.F16, DType.F32);

    private static final String NAME = "Int8DynamicActivationIntxWeightConfig";

    public Int8DynamicActivationIntxWeightConfig {
        if (weightBits < 1 || weightBits > 8) {
            throw invalid(NAME, "weightBits", "weight_dtype", "torch.int1 .. torch.int8", "torch.int" + weightBits);
        }
        nonNull(weightGranularity, NAME, "weightGranularity", "weight_granularity", "PerGroup or PerAxis(0)");
        if (!(weightGranularity instanceof Granularity.PerGroup
                || weightGranularity instanceof Granularity.PerAxis(int axis) && axis == 0)) {
            throw invalid(NAME, "weightGranularity", "weight_granularity", "PerGroup or PerAxis(0)",
                    weightGranularity);
        }
        nonNull(weightMappingType, NAME, "weightMappingType", "weight_mapping_type", "a MappingType");
        if (weightScaleDtype != null && !SCALE_DTYPES.contains(weightScaleDtype)) {
            throw invalid(NAME, "weightScaleDtype", "weight_scale_dtype", "null or one of " + SCALE_DTYPES,
                    weightScaleDtype);
        }
        // torchao's constructor allows SYMMETRIC too but its quantize step asserts ASYMMETRIC.
        if (actMappingType != MappingType.ASYMMETRIC) {
            throw invalid(NAME, "actMappingType", "act_mapping_type", "ASYMMETRIC", actMappingType);
        }
        nonNull(intxPackingFormat, NAME, "intxPackingFormat", "intx_packing_format", "an IntxPackingFormat");
        nonNull(intxChooseQparamsAlgorithm, NAME, "intxChooseQparamsAlgorithm", "intx_choose_qparams_algorithm",
                "an IntxChooseQParamsAlgorithm");
    }

    /**
     * torchao's defaults, which are int8 weights (torch.int8), PerGroup(32), SYMMETRIC, ASYMMETRIC activations,
     * unpacked_to_int8, affine. Note the default weight dtype is int8, not int4: see {@link #of8da4w(int)}.
     */
    public static Int8DynamicActivationIntxWeightConfig defaults() {
        return new Int8DynamicActivationIntxWeightConfig(8, new Granularity.PerGroup(32), MappingType.SYMMETRIC, null,
                MappingType.ASYMMETRIC, IntxPackingFormat.UNPACKED_TO_INT8, IntxChooseQParamsAlgorithm.AFFINE);
    }

    /** "8da4w": int4 symmetric weights in groups of {@code groupSize} (32 in ExecuTorch's recipe), else defaults. */
    public static Int8DynamicActivationIntxWeightConfig of8da4w(int groupSize) {
        return defaults().withWeightBits(4).withWeightGranularity(new Granularity.PerGroup(groupSize));
    }

    /** {@code torch.int<weightBits>}'s name without the prefix, e.g. {@code "int4"}. */
    public String weightDtypeName() {
        return "int" + weightBits;
    }

    public Int8DynamicActivationIntxWeightConfig withWeightBits(int v) {
        return new Int8DynamicActivationIntxWeightConfig(v, weightGranularity, weightMappingType, weightScaleDtype,
                actMappingType, intxPackingFormat, intxChooseQparamsAlgorithm);
    }

    public Int8DynamicActivationIntxWeightConfig withWeightGranularity(Granularity v) {
        return new Int8DynamicActivationIntxWeightConfig(weightBits, v, weightMappingType, weightScaleDtype,
                actMappingType, intxPackingFormat, intxChooseQparamsAlgorithm);
    }

    public Int8DynamicActivationIntxWeightConfig withWeightMappingType(MappingType v) {
        return new Int8DynamicActivationIntxWeightConfig(weightBits, weightGranularity, v, weightScaleDtype,
                actMappingType, intxPackingFormat, intxChooseQparamsAlgorithm);
    }

    public Int8DynamicActivationIntxWeightConfig withWeightScaleDtype(DType v) {
        return new Int8DynamicActivationIntxWeightConfig(weightBits, weightGranularity, weightMappingType, v,
                actMappingType, intxPackingFormat, intxChooseQparamsAlgorithm);
    }

    public Int8DynamicActivationIntxWeightConfig withActMappingType(MappingType v) {
        return new Int8DynamicActivationIntxWeightConfig(weightBits, weightGranularity, weightMappingType,
                weightScaleDtype, v, intxPackingFormat, intxChooseQparamsAlgorithm);
    }

    public Int8DynamicActivationIntxWeightConfig withIntxPackingFormat(IntxPackingFormat v) {
        return new Int8DynamicActivationIntxWeightConfig(weightBits, weightGranularity, weightMappingType,
                weightScaleDtype, actMappingType, v, intxChooseQparamsAlgorithm);
    }

    public Int8DynamicActivationIntxWeightConfig withIntxChooseQparamsAlgorithm(IntxChooseQParamsAlgorithm v) {
        return new Int8DynamicActivationIntxWeightConfig(weightBits, weightGranularity, weightMappingType,
                weightScaleDtype, actMappingType, intxPackingFormat, v);
    }
}
