package dev.ao4j.quant.config;

import static dev.ao4j.quant.config.ConfigChecks.invalid;
import static dev.ao4j.quant.config.ConfigChecks.nonNull;

import java.util.List;

/**
 * torchao {@code Int8DynamicActivationInt8WeightConfig} (version 2, {@code Int8Tensor}, "int8dq"): symmetric
 * int8 weights, activations quantized to int8 at run time.
 *
 * <p>{@code granularity} keeps torchao's two spellings, because torchao stores what the caller passed: one
 * element is a single granularity for both activations and weights (written as one object), two elements are
 * {@code [activation, weight]} (written as a list). Each must be PerTensor or PerRow, and an activation PerRow
 * must reduce over dim -1 (per token).
 *
 * @param actMappingType    {@code act_mapping_type}: SYMMETRIC (default) or ASYMMETRIC
 * @param weightOnlyDecode  {@code weight_only_decode} (default false)
 * @param granularity       {@code granularity}: 1 or 2 elements, default [PerRow()]
 * @param setInductorConfig {@code set_inductor_config} (default true)
 * @param reduceRange       {@code reduce_range} (default false): int8 range -64..63 for CPUs without VNNI
 */
public record Int8DynamicActivationInt8WeightConfig(MappingType actMappingType, boolean weightOnlyDecode,
                                                    List<Granularity> granularity, boolean setInductorConfig,
                                                    boolean reduceRange) implements QuantConfig {

    private static final String NAME = "Int8DynamicActivationInt8WeightConfig";

    public Int8DynamicActivationInt8WeightConfig {
        nonNull(actMappingType, NAME, "actMappingType", "act_mapping_type", "SYMMETRIC or ASYMMETRIC");
        if (actMappingType == MappingType.SYMMETRIC_NO_CLIPPING_ERR) {
            throw invalid(NAME, "actMappingType", "act_mapping_type", "SYMMETRIC or ASYMMETRIC", actMappingType);
        }
        nonNull(granularity, NAME, "granularity", "granularity", "1 or 2 granularities");
        if (granularity.isEmpty() || granularity.size() > 2) {
            throw invalid(NAME, "granularity", "granularity", "1 (both) or 2 ([activation, weight]) granularities",
                    granularity.size() + " elements " + granularity);
        }
        for (Granularity g : granularity) {
            if (!(g instanceof Granularity.PerTensor || g instanceof Granularity.PerRow)) {
                throw invalid(NAME, "granularity", "granularity", "PerTensor or PerRow", g);
            }
        }
        granularity = List.copyOf(granularity);
        if (granularity.getFirst() instanceof Granularity.PerRow(int dim) && dim != -1) {
            throw invalid(NAME, "granularity", "granularity",
                    "PerRow(dim=-1) for activations (per token)", granularity.getFirst());
        }
    }

    /** torchao's defaults: SYMMETRIC activations, PerRow() for both, no reduced range. */
    public static Int8DynamicActivationInt8WeightConfig defaults() {
        return new Int8DynamicActivationInt8WeightConfig(MappingType.SYMMETRIC, false,
                List.of(new Granularity.PerRow()), true, false);
    }

    /** The activation granularity (the first element, or the single one). */
    public Granularity activationGranularity() {
        return granularity.getFirst();
    }

    /** The weight granularity (the second element, or the single one). */
    public Granularity weightGranularity() {
        return granularity.getLast();
    }

    public Int8DynamicActivationInt8WeightConfig withActMappingType(MappingType v) {
        return new Int8DynamicActivationInt8WeightConfig(v, weightOnlyDecode, granularity, setInductorConfig,
                reduceRange);
    }

    public Int8DynamicActivationInt8WeightConfig withWeightOnlyDecode(boolean v) {
        return new Int8DynamicActivationInt8WeightConfig(actMappingType, v, granularity, setInductorConfig,
                reduceRange);
    }

    /** One granularity for activations and weights (torchao's single-value form). */
    public Int8DynamicActivationInt8WeightConfig withGranularity(Granularity both) {
        return new Int8DynamicActivationInt8WeightConfig(actMappingType, weightOnlyDecode, List.of(both),
                setInductorConfig, reduceRange);
    }

    /** Separate granularities (torchao's {@code [activation, weight]} list form). */
    public Int8DynamicActivationInt8WeightConfig withGranularity(Granularity activation, Granularity weight) {
        return new Int8DynamicActivationInt8WeightConfig(actMappingType, weightOnlyDecode,
                List.of(activation, weight), setInductorConfig, reduceRange);
    }

    public Int8DynamicActivationInt8WeightConfig withSetInductorConfig(boolean v) {
        return new Int8DynamicActivationInt8WeightConfig(actMappingType, weightOnlyDecode, granularity, v,
                reduceRange);
    }

    public Int8DynamicActivationInt8WeightConfig withReduceRange(boolean v) {
        return new Int8DynamicActivationInt8WeightConfig(actMappingType, weightOnlyDecode, granularity,
                setInductorConfig, v);
    }
}
