package dev.ao4j.vllm.gptq;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.MalformedInputException;
import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.quant.Where;
import dev.ao4j.transformers.ModelConfig;
import dev.ao4j.transformers.json.JsonPaths;
import dev.ao4j.transformers.json.PyJson;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import tools.jackson.databind.JsonNode;

/**
 * Reading the flat {@code quantization_config} dicts of GPTQ and AWQ: typed fields with errors naming the JSON path,
 * and where the dict lives (config.json, else the method's side file, as vLLM looks for it).
 */
public final class QuantConfigJson {
    private QuantConfigJson() {}

    /** A located {@code quantization_config}. */
    public record Located(JsonNode json, Where where) {}

    /**
     * {@code config.json → quantization_config}, else the first of {@code sideFiles} present in {@code dir}.
     *
     * @throws UnsupportedFormatException when neither exists
     */
    public static Located find(Path dir, ModelConfig config, List<String> sideFiles, String method) {
        Path configFile = dir.resolve(ModelConfig.FILE_NAME);
        if (config.quantizationConfigJson().isPresent()) {
            return new Located(config.quantizationConfigJson().get(), Where.json(configFile, "quantization_config"));
        }
        for (String side : sideFiles) {
            Path f = dir.resolve(side);
            if (Files.isRegularFile(f)) return new Located(PyJson.read(f), Where.json(f, ""));
        }
        throw new UnsupportedFormatException("not a " + method + " package: config.json has no quantization_config "
                + "and there is no " + String.join(" or ", sideFiles), Where.file(configFile));
    }

    /** The first of {@code keys} present (vLLM's {@code get_from_keys}); null when none is. */
    public static String presentKey(JsonNode q, String... keys) {
        for (String k : keys) {
            if (q.has(k) && !q.get(k).isNull()) return k;
        }
        return null;
    }

    public static int requiredInt(JsonNode q, Where where, String... keys) {
        String key = presentKey(q, keys);
        if (key == null) {
            throw new MalformedInputException("missing " + String.join(" / ", keys) + " (an integer)",
                    JsonPaths.child(where, keys[0]));
        }
        JsonNode n = q.get(key);
        if (!n.isIntegralNumber() || !n.canConvertToInt()) {
            throw new MalformedInputException("expected an integer but found " + n, JsonPaths.child(where, key));
        }
        return n.intValue();
    }

    public static boolean requiredBool(JsonNode q, Where where, String key) {
        if (!q.has(key) || q.get(key).isNull()) {
            throw new MalformedInputException("missing " + key + " (true or false)", JsonPaths.child(where, key));
        }
        return bool(q, where, key);
    }

    public static boolean optionalBool(JsonNode q, Where where, String key, boolean absent) {
        return !q.has(key) || q.get(key).isNull() ? absent : bool(q, where, key);
    }

    /** A string field, or null when absent or null. */
    public static String optionalString(JsonNode q, Where where, String key) {
        JsonNode n = q.get(key);
        if (n == null || n.isNull()) return null;
        if (!n.isString()) {
            throw new MalformedInputException("expected a string but found " + n, JsonPaths.child(where, key));
        }
        return n.stringValue();
    }

    /** {@code quant_method} must be {@code expected} (case-insensitive, as vLLM lower-cases it). */
    public static void requireMethod(JsonNode q, Where where, String expected) {
        if (q == null || !q.isObject()) throw new MalformedInputException("expected an object but found " + q, where);
        String method = optionalString(q, where, "quant_method");
        if (method == null || !method.equalsIgnoreCase(expected)) {
            throw new UnsupportedFormatException("quant_method is " + (method == null ? "absent" : "\"" + method + "\"")
                    + ", expected \"" + expected + "\"", JsonPaths.child(where, "quant_method"));
        }
    }

    /** A group size as these formats spell it: −1 (one group per row) or positive. */
    public static void checkGroupSize(int groupSize, Where where, String key) {
        if (groupSize != -1 && groupSize <= 0) {
            throw new InvalidConfigException("group size must be -1 (per channel) or positive but was " + groupSize,
                    JsonPaths.child(where, key));
        }
    }

    private static boolean bool(JsonNode q, Where where, String key) {
        JsonNode n = q.get(key);
        if (!n.isBoolean()) {
            throw new MalformedInputException("expected true or false but found " + n, JsonPaths.child(where, key));
        }
        return n.booleanValue();
    }
}
