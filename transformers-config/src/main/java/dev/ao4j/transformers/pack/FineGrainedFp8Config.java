package dev.ao4j.transformers.pack;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.MalformedInputException;
import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.quant.Where;
import dev.ao4j.transformers.json.JsonPaths;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * transformers' {@code FineGrainedFP8Config} ({@code quant_method: "fp8"}, the DeepSeek-V3 / Qwen-FP8 blockwise
 * format): Linear weights stored as float8 e4m3fn with one f32 dequantization multiplier per
 * {@code weight_block_size} block ({@code weight_scale_inv}), activations quantized per token-group at run time.
 *
 * <p>{@link #toJson()} is the dict transformers writes: {@code QuantizationConfigMixin.to_dict} copies the instance
 * attributes, which for this config in transformers 5.17 are {@code quant_method, modules_to_not_convert,
 * modules_to_convert, activation_scheme, weight_block_size, dequantize, scale_fmt} (seen on an H200; config.json
 * sorts them). Releases without some of these keys swallow unknown ones through {@code **kwargs}.
 *
 * <p>transformers reads MXFP8 checkpoints through the same config and loader ({@code quant_method: "mxfp8"}):
 * e4m3fn weights with one E8M0 exponent byte per {@code [1, 32]} block stored as U8 in {@code weight_scale_inv}
 * (multiplier {@code 2^(byte - 127)}).
 *
 * <p>A non-null {@code modules_to_not_convert} <em>replaces</em> transformers' default skip list (the output
 * embedding) instead of extending it, so the list a writer puts here must name every Linear left in high precision,
 * {@code lm_head} included.
 *
 * @param activationScheme    {@code "dynamic"} (the only scheme with a block size)
 * @param weightBlockSize     {@code [block_n, block_k]}, e.g. [128, 128]
 * @param modulesToNotConvert module names left in high precision, or null for transformers' default
 * @param quantMethod         {@value #QUANT_METHOD} (f32 block multipliers) or {@value #MXFP8} (E8M0 bytes per
 *                            {@code [1, 32]})
 */
public record FineGrainedFp8Config(String activationScheme, List<Integer> weightBlockSize,
                                   List<String> modulesToNotConvert, String quantMethod) {
    public static final String QUANT_METHOD = "fp8";
    public static final String MXFP8 = "mxfp8";
    /** DeepSeek-V3's block size, the one ao4j writes. */
    public static final List<Integer> BLOCK_128X128 = List.of(128, 128);
    /** The MX block: one row, 32 consecutive input columns. */
    public static final List<Integer> BLOCK_1X32 = List.of(1, 32);

    /** A {@code quant_method "fp8"} config. */
    public FineGrainedFp8Config(String activationScheme, List<Integer> weightBlockSize,
                                List<String> modulesToNotConvert) {
        this(activationScheme, weightBlockSize, modulesToNotConvert, QUANT_METHOD);
    }

    public FineGrainedFp8Config {
        if (!QUANT_METHOD.equals(quantMethod) && !MXFP8.equals(quantMethod)) {
            throw new InvalidConfigException("FineGrainedFP8Config.quant_method must be \"fp8\" or \"mxfp8\" but was "
                    + quantMethod);
        }
        if (MXFP8.equals(quantMethod) && !BLOCK_1X32.equals(weightBlockSize)) {
            throw new InvalidConfigException("an mxfp8 FineGrainedFP8Config has weight_block_size [1, 32] but was "
                    + weightBlockSize);
        }
        if (!"dynamic".equals(activationScheme)) {
            throw new InvalidConfigException("FineGrainedFP8Config.activation_scheme must be \"dynamic\" for blockwise "
                    + "weights but was " + (activationScheme == null ? "null" : "\"" + activationScheme + "\""));
        }
        if (weightBlockSize == null || weightBlockSize.size() != 2 || weightBlockSize.get(0) == null
                || weightBlockSize.get(1) == null || weightBlockSize.get(0) <= 0 || weightBlockSize.get(1) <= 0) {
            throw new InvalidConfigException("FineGrainedFP8Config.weight_block_size must be two positive integers "
                    + "but was " + weightBlockSize);
        }
        weightBlockSize = List.copyOf(weightBlockSize);
        modulesToNotConvert = modulesToNotConvert == null ? null : List.copyOf(modulesToNotConvert);
    }

    /** Whether the scales are E8M0 exponent bytes (MXFP8) rather than f32 multipliers. */
    public boolean isMxfp8() {
        return MXFP8.equals(quantMethod);
    }

    /** Dynamic activations, 128x128 weight blocks. */
    public static FineGrainedFp8Config block128(List<String> modulesToNotConvert) {
        return new FineGrainedFp8Config("dynamic", BLOCK_128X128, modulesToNotConvert);
    }

    public int blockRows() {
        return weightBlockSize.get(0);
    }

    public int blockCols() {
        return weightBlockSize.get(1);
    }

    /** The {@code quantization_config} dict, keys in transformers' attribute order. */
    public ObjectNode toJson() {
        JsonNodeFactory f = JsonNodeFactory.instance;
        ObjectNode o = f.objectNode();
        o.put("quant_method", quantMethod);
        if (modulesToNotConvert == null) {
            o.putNull("modules_to_not_convert");
        } else {
            ArrayNode a = o.putArray("modules_to_not_convert");
            modulesToNotConvert.forEach(a::add);
        }
        o.putNull("modules_to_convert");
        o.put("activation_scheme", activationScheme);
        ArrayNode b = o.putArray("weight_block_size");
        weightBlockSize.forEach(b::add);
        o.put("dequantize", false);
        o.put("scale_fmt", "float");
        return o;
    }

    /**
     * Reads a {@code quantization_config} with {@code quant_method "fp8"} (or {@code "mxfp8"}) and a block size, as transformers'
     * {@code FineGrainedFP8Config(**d)} would (DeepSeek's {@code fmt} and other extra keys are ignored; the legacy
     * {@code ignored_layers} stands in for a missing {@code modules_to_not_convert}).
     *
     * @throws UnsupportedFormatException for another quant_method, per-tensor fp8 (no block size), a
     *                                    {@code scale_fmt} other than "float" or {@code activation_scheme "static"}
     */
    public static FineGrainedFp8Config fromJson(JsonNode q, Where where) {
        if (q == null || !q.isObject()) throw new MalformedInputException("expected an object", where);
        String method = text(q, "quant_method", where);
        if (!QUANT_METHOD.equals(method) && !MXFP8.equals(method)) {
            throw new UnsupportedFormatException("quant_method is \"" + method + "\", expected \"fp8\" or \"mxfp8\"",
                    JsonPaths.child(where, "quant_method"));
        }
        String scheme = q.has("activation_scheme") ? text(q, "activation_scheme", where) : "dynamic";
        JsonNode block = q.get("weight_block_size");
        if (block == null || block.isNull()) {
            throw new UnsupportedFormatException("per-tensor fp8 (no weight_block_size) is not supported; expected a "
                    + "blockwise checkpoint", JsonPaths.child(where, "weight_block_size"));
        }
        if (q.has("scale_fmt") && !"float".equals(text(q, "scale_fmt", where))) {
            throw new UnsupportedFormatException("scale_fmt \"" + text(q, "scale_fmt", where) + "\" is not supported; "
                    + "expected \"float\"", JsonPaths.child(where, "scale_fmt"));
        }
        if (!"dynamic".equals(scheme.toLowerCase(java.util.Locale.ROOT))) {
            throw new UnsupportedFormatException("activation_scheme \"" + scheme + "\" is not supported; expected "
                    + "\"dynamic\"", JsonPaths.child(where, "activation_scheme"));
        }
        List<Integer> sizes = new ArrayList<>();
        if (!block.isArray()) {
            throw new MalformedInputException("expected a list of two integers but found " + block,
                    JsonPaths.child(where, "weight_block_size"));
        }
        for (JsonNode n : block) {
            if (!n.isIntegralNumber() || !n.canConvertToInt()) {
                throw new MalformedInputException("expected a list of two integers but found " + block,
                        JsonPaths.child(where, "weight_block_size"));
            }
            sizes.add(n.intValue());
        }
        JsonNode skip = q.get("modules_to_not_convert");
        if (skip == null || skip.isNull()) skip = q.get("ignored_layers");
        List<String> modules = null;
        if (skip != null && !skip.isNull()) {
            if (!skip.isArray()) {
                throw new MalformedInputException("expected a list of module names but found " + skip,
                        JsonPaths.child(where, "modules_to_not_convert"));
            }
            modules = new ArrayList<>();
            for (JsonNode n : skip) {
                if (!n.isString()) {
                    throw new MalformedInputException("expected a list of module names but found " + skip,
                            JsonPaths.child(where, "modules_to_not_convert"));
                }
                modules.add(n.stringValue());
            }
        }
        if (MXFP8.equals(method) && !BLOCK_1X32.equals(sizes)) {
            throw new UnsupportedFormatException("an mxfp8 checkpoint has weight_block_size [1, 32] but this one has "
                    + sizes, JsonPaths.child(where, "weight_block_size"));
        }
        return new FineGrainedFp8Config("dynamic", sizes, modules, method);
    }

    private static String text(JsonNode q, String key, Where where) {
        JsonNode n = q.get(key);
        if (n == null || !n.isString()) {
            throw new MalformedInputException("expected a string but found " + n, JsonPaths.child(where, key));
        }
        return n.stringValue();
    }
}
