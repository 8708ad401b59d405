package dev.ao4j.quant.pipeline;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.quant.config.Float8DynamicActivationFloat8WeightConfig;
import dev.ao4j.quant.config.Float8WeightOnlyConfig;
import dev.ao4j.quant.config.Granularity;
import dev.ao4j.quant.config.Int4PackingFormat;
import dev.ao4j.quant.config.Int4WeightOnlyConfig;
import dev.ao4j.quant.config.Int8DynamicActivationInt8WeightConfig;
import dev.ao4j.quant.config.Int8DynamicActivationIntxWeightConfig;
import dev.ao4j.quant.config.Int8WeightOnlyConfig;
import dev.ao4j.quant.config.MXDynamicActivationMXWeightConfig;
import dev.ao4j.quant.config.NVFP4WeightOnlyConfig;
import dev.ao4j.quant.config.QuantConfig;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The recipe names of the CLI and build plugins, each one torchao config (the same names SGLang's
 * {@code --torchao-config} uses where they overlap).
 */
public final class Recipes {
    /** Every recipe family, with an example of its name, for help texts and error messages. */
    public static final List<String> NAMES = List.of("int4wo-<32|64|128|256>", "int4wo-<g>-plain", "int8wo", "int8dq",
            "8da4w-<32|64|128|256>", "fp8wo", "fp8dq-row", "fp8dq-tensor", "fp8-block128", "mxfp8", "mxfp4", "nvfp4",
            "sparse24+<recipe>");

    /**
     * MXFP6 element formats: quantized bit-exactly by {@code dev.ao4j.quant.mx.MxQuantizer} (and benchmarked), but no
     * package can carry them (see {@link #config}).
     */
    public static final List<String> MXFP6 = List.of("mxfp6-e2m3", "mxfp6-e3m2");

    /** Prefix of a recipe that prunes every quantized weight to 2:4 before quantizing it ({@code sparse24+int4wo-128}). */
    public static final String SPARSE24_PREFIX = "sparse24+";

    /**
     * DeepSeek-style blockwise fp8: {@code Float8DynamicActivationFloat8WeightConfig(granularity=[PerBlock([1, 128]),
     * PerBlock([128, 128])])}, weights in 128x128 blocks, activations per token per 128 channels.
     */
    public static final String FP8_BLOCK128 = "fp8-block128";

    private static final Pattern INT4 = Pattern.compile("int4wo-(\\d+)(-plain)?");
    private static final Pattern DA4W = Pattern.compile("8da4w-(\\d+)");

    private Recipes() {}

    /**
     * The torchao config of a recipe name. {@code int4wo-<g>} uses the tile_packed_to_4d layout (tinygemm), which
     * stock transformers + torchao load on CUDA sm80+; {@code int4wo-<g>-plain} is torchao's default plain layout,
     * which needs the MSLK kernels at load time.
     */
    public static QuantConfig config(String recipe) {
        if (isSparse24(recipe)) return config(withoutSparse24(recipe));
        Matcher m = INT4.matcher(recipe);
        if (m.matches()) {
            Int4PackingFormat packing = m.group(2) == null ? Int4PackingFormat.TILE_PACKED_TO_4D : Int4PackingFormat.PLAIN;
            return Int4WeightOnlyConfig.defaults().withGroupSize(groupSize(recipe, m.group(1)))
                    .withInt4PackingFormat(packing);
        }
        m = DA4W.matcher(recipe);
        if (m.matches()) return Int8DynamicActivationIntxWeightConfig.of8da4w(groupSize(recipe, m.group(1)));
        return switch (recipe) {
            case "int8wo" -> Int8WeightOnlyConfig.defaults();
            case "int8dq" -> Int8DynamicActivationInt8WeightConfig.defaults();
            case "fp8wo" -> Float8WeightOnlyConfig.defaults();
            case "fp8dq-row" -> Float8DynamicActivationFloat8WeightConfig.defaults().withGranularity(new Granularity.PerRow());
            case "fp8dq-tensor" -> Float8DynamicActivationFloat8WeightConfig.defaults()
                    .withGranularity(new Granularity.PerTensor());
            case FP8_BLOCK128 -> Float8DynamicActivationFloat8WeightConfig.defaults().withGranularity(
                    Float8DynamicActivationFloat8WeightConfig.BLOCK_1X128,
                    Float8DynamicActivationFloat8WeightConfig.BLOCK_128X128).withMmConfig(null);
            case "mxfp8" -> MXDynamicActivationMXWeightConfig.defaults();
            case "mxfp4" -> MXDynamicActivationMXWeightConfig.mxfp4();
            case "nvfp4" -> NVFP4WeightOnlyConfig.defaults();
            case "mxfp6-e2m3", "mxfp6-e3m2" -> throw new UnsupportedFormatException("recipe '" + recipe + "' has no "
                    + "package any loader reads: torchao 0.18's MXDynamicActivationMXWeightConfig takes only torch "
                    + "dtypes (float8_e4m3fn, float8_e5m2, float4_e2m1fn_x2) as element types, so an MXFP6 weight "
                    + "has no config to serialize, and neither transformers, vLLM nor SGLang loads MXFP6 "
                    + "checkpoints; use mxfp8 or mxfp4 (MXFP6 numerics: dev.ao4j.quant.mx.MxQuantizer, 'ao4j bench "
                    + "--recipe " + recipe + "')");
            default -> throw new InvalidConfigException("unknown recipe '" + recipe + "'; known recipes: "
                    + String.join(", ", NAMES));
        };
    }

    /** Whether {@code recipe} is {@code sparse24+<recipe>}: 2:4 pruning, then that recipe's quantization. */
    public static boolean isSparse24(String recipe) {
        return recipe.startsWith(SPARSE24_PREFIX);
    }

    /**
     * The quantization part of a {@code sparse24+<recipe>} name (its torchao config is the package's: the pruned zeros
     * are ordinary values to the loader).
     *
     * @throws InvalidConfigException unless {@code recipe} has the prefix once, followed by a plain recipe
     */
    public static String withoutSparse24(String recipe) {
        String inner = isSparse24(recipe) ? recipe.substring(SPARSE24_PREFIX.length()) : "";
        if (inner.isEmpty() || isSparse24(inner)) {
            throw new InvalidConfigException("recipe '" + recipe + "' is not " + SPARSE24_PREFIX
                    + "<recipe>, e.g. sparse24+int4wo-128");
        }
        return inner;
    }

    /**
     * Config fields a Python user passes as plain strings for this config, which torchao then stores as bare
     * strings instead of enum envelopes: torchao's own int4 tile-packed recipe is written
     * {@code Int4WeightOnlyConfig(..., int4_packing_format="tile_packed_to_4d")}, so its config.json says
     * {@code "tile_packed_to_4d"}.
     */
    public static java.util.Set<String> bareEnumFields(QuantConfig config) {
        return config instanceof Int4WeightOnlyConfig c && c.int4PackingFormat() == Int4PackingFormat.TILE_PACKED_TO_4D
                ? java.util.Set.of("int4_packing_format") : java.util.Set.of();
    }

    private static int groupSize(String recipe, String digits) {
        int g = Integer.parseInt(digits);
        if (!Int4WeightOnlyConfig.GROUP_SIZES.contains(g)) {
            throw new InvalidConfigException("recipe '" + recipe + "': group size must be one of "
                    + Int4WeightOnlyConfig.GROUP_SIZES + " but was " + g);
        }
        return g;
    }
}
