package dev.ao4j.quant.config;

import static dev.ao4j.quant.config.ConfigChecks.invalid;
import static dev.ao4j.quant.config.ConfigChecks.oneOf;

import dev.ao4j.quant.dtype.DType;
import java.util.List;

/**
 * torchao {@code Float8WeightOnlyConfig} (version 2, {@code Float8Tensor}): fp8 weights with f32 scales, matmul
 * in the original precision.
 *
 * @param weightDtype       {@code weight_dtype}: F8_E4M3 ({@code float8_e4m3fn}, default) or F8_E5M2
 * @param setInductorConfig {@code set_inductor_config} (default true)
 * @param granularity       {@code granularity}: PerTensor, PerRow (default; torchao turns None into PerRow) or
 *                          PerGroup; a null argument becomes PerRow as in torchao
 */
public record Float8WeightOnlyConfig(DType weightDtype, boolean setInductorConfig, Granularity granularity)
        implements QuantConfig {

    /** The fp8 storage dtypes torchao quantizes to. */
    public static final List<DType> FLOAT8_DTYPES = List.of(DType.F8_E4M3, DType.F8_E5M2);

    private static final String NAME = "Float8WeightOnlyConfig";

    public Float8WeightOnlyConfig {
        oneOf(weightDtype, FLOAT8_DTYPES, NAME, "weightDtype", "weight_dtype");
        if (granularity == null) granularity = new Granularity.PerRow();
        if (!(granularity instanceof Granularity.PerTensor || granularity instanceof Granularity.PerRow
                || granularity instanceof Granularity.PerGroup)) {
            throw invalid(NAME, "granularity", "granularity", "PerTensor, PerRow or PerGroup", granularity);
        }
    }

    /** torchao's defaults: e4m3fn, PerRow(). */
    public static Float8WeightOnlyConfig defaults() {
        return new Float8WeightOnlyConfig(DType.F8_E4M3, true, new Granularity.PerRow());
    }

    public Float8WeightOnlyConfig withWeightDtype(DType v) {
        return new Float8WeightOnlyConfig(v, setInductorConfig, granularity);
    }

    public Float8WeightOnlyConfig withSetInductorConfig(boolean v) {
        return new Float8WeightOnlyConfig(weightDtype, v, granularity);
    }

    public Float8WeightOnlyConfig withGranularity(Granularity v) {
        return new Float8WeightOnlyConfig(weightDtype, setInductorConfig, v);
    }
}
