package dev.ao4j.quant.config;

import static dev.ao4j.quant.config.ConfigChecks.invalid;
import static dev.ao4j.quant.config.ConfigChecks.nonNull;
import static dev.ao4j.quant.config.ConfigChecks.oneOf;

import java.util.List;

/**
 * torchao {@code Int4WeightOnlyConfig} (version 2): groupwise asymmetric int4 weights, activations untouched.
 * block_size is {@code [1, groupSize]}; torchao silently leaves weights whose last dim is not a multiple of
 * {@code groupSize} unquantized.
 *
 * @param groupSize                  {@code group_size}: 32, 64, 128 or 256 (default 128)
 * @param setInductorConfig          {@code set_inductor_config} (default true); no effect outside PyTorch
 * @param int4PackingFormat          {@code int4_packing_format} (default PLAIN)
 * @param int4ChooseQparamsAlgorithm {@code int4_choose_qparams_algorithm} (default TINYGEMM); HQQ needs
 *                                   TILE_PACKED_TO_4D
 * @param int4TilePackedNtile        {@code int4_tile_packed_ntile}: 8 (CUDA, default) or 16 (ROCm)
 */
public record Int4WeightOnlyConfig(int groupSize, boolean setInductorConfig, Int4PackingFormat int4PackingFormat,
                                   Int4ChooseQParamsAlgorithm int4ChooseQparamsAlgorithm, int int4TilePackedNtile)
        implements QuantConfig {

    /** Group sizes torchao documents (and its kernels support). */
    public static final List<Integer> GROUP_SIZES = List.of(32, 64, 128, 256);
    /** tinygemm n-tile sizes torchao accepts. */
    public static final List<Integer> NTILE_SIZES = List.of(8, 16);

    private static final String NAME = "Int4WeightOnlyConfig";

    public Int4WeightOnlyConfig {
        oneOf(groupSize, GROUP_SIZES, NAME, "groupSize", "group_size");
        nonNull(int4PackingFormat, NAME, "int4PackingFormat", "int4_packing_format", "an Int4PackingFormat");
        nonNull(int4ChooseQparamsAlgorithm, NAME, "int4ChooseQparamsAlgorithm", "int4_choose_qparams_algorithm",
                "an Int4ChooseQParamsAlgorithm");
        oneOf(int4TilePackedNtile, NTILE_SIZES, NAME, "int4TilePackedNtile", "int4_tile_packed_ntile");
        // torchao checks this when quantizing; a config that can never quantize is rejected up front.
        if (int4ChooseQparamsAlgorithm == Int4ChooseQParamsAlgorithm.HQQ
                && int4PackingFormat != Int4PackingFormat.TILE_PACKED_TO_4D) {
            throw invalid(NAME, "int4PackingFormat", "int4_packing_format",
                    "TILE_PACKED_TO_4D when int4_choose_qparams_algorithm is HQQ", int4PackingFormat);
        }
    }

    /** torchao's defaults: group 128, plain packing, tinygemm qparams, ntile 8. */
    public static Int4WeightOnlyConfig defaults() {
        return new Int4WeightOnlyConfig(128, true, Int4PackingFormat.PLAIN, Int4ChooseQParamsAlgorithm.TINYGEMM, 8);
    }

    public Int4WeightOnlyConfig withGroupSize(int v) {
        return new Int4WeightOnlyConfig(v, setInductorConfig, int4PackingFormat, int4ChooseQparamsAlgorithm,
                int4TilePackedNtile);
    }

    public Int4WeightOnlyConfig withSetInductorConfig(boolean v) {
        return new Int4WeightOnlyConfig(groupSize, v, int4PackingFormat, int4ChooseQparamsAlgorithm,
                int4TilePackedNtile);
    }

    public Int4WeightOnlyConfig withInt4PackingFormat(Int4PackingFormat v) {
        return new Int4WeightOnlyConfig(groupSize, setInductorConfig, v, int4ChooseQparamsAlgorithm,
                int4TilePackedNtile);
    }

    public Int4WeightOnlyConfig withInt4ChooseQparamsAlgorithm(Int4ChooseQParamsAlgorithm v) {
        return new Int4WeightOnlyConfig(groupSize, setInductorConfig, int4PackingFormat, v, int4TilePackedNtile);
    }

    public Int4WeightOnlyConfig withInt4TilePackedNtile(int v) {
        return new Int4WeightOnlyConfig(groupSize, setInductorConfig, int4PackingFormat, int4ChooseQparamsAlgorithm,
                v);
    }
}
