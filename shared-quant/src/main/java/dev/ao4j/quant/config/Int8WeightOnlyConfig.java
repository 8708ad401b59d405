package dev.ao4j.quant.config;

import static dev.ao4j.quant.config.ConfigChecks.invalid;
import static dev.ao4j.quant.config.ConfigChecks.nonNull;

/**
 * torchao {@code Int8WeightOnlyConfig} (version 2, {@code Int8Tensor}): symmetric int8 weights, matmul in the
 * original precision.
 *
 * <p>torchao 0.18 also has the field {@code group_size}, a removed version-1 knob that must be None (it asserts
 * so); it is not a component here, and the codec always writes it as {@code null} and rejects any other value.
 *
 * @param granularity       {@code granularity}: PerTensor, PerRow (default) or PerGroup
 * @param setInductorConfig {@code set_inductor_config} (default true)
 */
public record Int8WeightOnlyConfig(Granularity granularity, boolean setInductorConfig) implements QuantConfig {

    private static final String NAME = "Int8WeightOnlyConfig";

    public Int8WeightOnlyConfig {
        nonNull(granularity, NAME, "granularity", "granularity", "PerTensor, PerRow or PerGroup");
        if (!(granularity instanceof Granularity.PerTensor || granularity instanceof Granularity.PerRow
                || granularity instanceof Granularity.PerGroup)) {
            throw invalid(NAME, "granularity", "granularity", "PerTensor, PerRow or PerGroup", granularity);
        }
    }

    /** torchao's defaults: PerRow(), set_inductor_config true. */
    public static Int8WeightOnlyConfig defaults() {
        return new Int8WeightOnlyConfig(new Granularity.PerRow(), true);
    }

    public Int8WeightOnlyConfig withGranularity(Granularity v) {
        return new Int8WeightOnlyConfig(v, setInductorConfig);
    }

    public Int8WeightOnlyConfig withSetInductorConfig(boolean v) {
        return new Int8WeightOnlyConfig(granularity, v);
    }
}
