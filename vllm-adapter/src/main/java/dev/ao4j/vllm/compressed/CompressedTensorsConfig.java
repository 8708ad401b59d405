package dev.ao4j.vllm.compressed;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.MalformedInputException;
import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.quant.Where;
import dev.ao4j.transformers.json.JsonPaths;
import dev.ao4j.vllm.compressed.CompressedTensorsScheme.Preset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * The {@code quantization_config} of a compressed-tensors package: one config group targeting {@code "Linear"}
 * with the scheme's weight (and run-time activation) arguments, and the {@code ignore} list of Linear modules kept
 * in high precision.
 *
 * <p>{@link #toJson()} writes the keys compressed-tensors 0.12.x writes (its {@code ModelCompressor.update_config}
 * over {@code QuantizationConfig.model_dump}), with {@code version} "0.12.2" naming that dialect: no
 * {@code scale_dtype}/{@code zp_dtype} (CT 0.13+ only; older vLLM pins reject them as extra keys), empty
 * {@code sparsity_config} and {@code transform_config}, {@code quantization_status: "compressed"}.
 *
 * @param ignore module names, {@code lm_head} included
 */
public record CompressedTensorsConfig(CompressedTensorsScheme scheme, List<String> ignore) {
    public static final String QUANT_METHOD = "compressed-tensors";
    /** The compressed-tensors release whose JSON keys this file follows. */
    public static final String VERSION = "0.12.2";
    public static final String GROUP = "group_0";

    public CompressedTensorsConfig {
        if (scheme == null) throw new InvalidConfigException("compressed-tensors config needs a scheme");
        ignore = List.copyOf(ignore);
    }

    public ObjectNode toJson() {
        JsonNodeFactory f = JsonNodeFactory.instance;
        ObjectNode q = f.objectNode();
        q.put("version", VERSION);
        q.put("quant_method", QUANT_METHOD);
        q.set("sparsity_config", f.objectNode());
        q.set("transform_config", f.objectNode());
        ObjectNode groups = q.putObject("config_groups");
        ObjectNode g = groups.putObject(GROUP);
        g.putArray("targets").add("Linear");
        g.set("weights", weightArgs());
        JsonNode input = inputArgs();
        g.set("input_activations", input == null ? f.nullNode() : input);
        g.putNull("output_activations");
        g.put("format", scheme.format());
        q.putNull("kv_cache_scheme");
        q.put("format", scheme.format());
        q.put("quantization_status", "compressed");
        q.putNull("global_compression_ratio");
        ArrayNode ig = q.putArray("ignore");
        ignore.forEach(ig::add);
        return q;
    }

    private ObjectNode weightArgs() {
        Preset p = scheme.preset();
        return switch (p) {
            case W4A16, W8A16 -> scheme.groupSize() == CompressedTensorsScheme.CHANNEL
                    ? args(p.bits(), "int", scheme.symmetric(), null, "channel", null, false, "minmax")
                    : args(p.bits(), "int", scheme.symmetric(), scheme.groupSize(), "group", null, false, "minmax");
            case W8A8 -> args(8, "int", true, null, "channel", null, false, "minmax");
            case FP8 -> args(8, "float", true, null, "tensor", null, false, "minmax");
            case FP8_DYNAMIC -> args(8, "float", true, null, "channel", null, false, "minmax");
            case FP8_BLOCK -> args(8, "float", true, null, "block", List.of(CtQuantizer.BLOCK, CtQuantizer.BLOCK),
                    false, "minmax");
            case NVFP4A16 -> args(4, "float", true, Fp4Rtn.NVFP4_BLOCK, "tensor_group", null, false, "minmax");
            case MXFP4A16 -> args(4, "float", true, Fp4Rtn.MXFP4_BLOCK, "group", null, false, "minmax");
        };
    }

    /** Run-time (dynamic) activation quantization; null for the weight-only schemes. */
    private ObjectNode inputArgs() {
        return switch (scheme.preset()) {
            case W8A8 -> args(8, "int", true, null, "token", null, true, null);
            case FP8 -> args(8, "float", true, null, "tensor", null, true, null);
            case FP8_DYNAMIC -> args(8, "float", true, null, "token", null, true, null);
            case FP8_BLOCK -> args(8, "float", true, CtQuantizer.BLOCK, "group", null, true, null);
            default -> null;
        };
    }

    /** A QuantizationArgs dict in {@code model_dump} order (CT 0.12 fields). */
    private static ObjectNode args(int bits, String type, boolean symmetric, Integer groupSize, String strategy,
                                   List<Integer> block, boolean dynamic, String observer) {
        ObjectNode a = JsonNodeFactory.instance.objectNode();
        a.put("num_bits", bits);
        a.put("type", type);
        a.put("symmetric", symmetric);
        if (groupSize == null) a.putNull("group_size");
        else a.put("group_size", groupSize);
        a.put("strategy", strategy);
        if (block == null) a.putNull("block_structure");
        else block.forEach(a.putArray("block_structure")::add);
        a.put("dynamic", dynamic);
        a.putNull("actorder");
        if (observer == null) a.putNull("observer");
        else a.put("observer", observer);
        a.putObject("observer_kwargs");
        return a;
    }

    /**
     * Reads a compressed-tensors {@code quantization_config} whose single config group this package's writer could
     * have produced (any extra keys a newer compressed-tensors writes, e.g. {@code scale_dtype}, are tolerated).
     *
     * @throws MalformedInputException     for a wrong JSON type or missing key, naming the JSON path
     * @throws UnsupportedFormatException  for another quant_method, several groups, or a scheme ao4j does not read
     */
    public static CompressedTensorsConfig fromJson(JsonNode q, Where where) {
        if (q == null || !q.isObject()) throw new MalformedInputException("expected an object but found " + q, where);
        String method = text(q, "quant_method", where);
        if (!method.replace('_', '-').equals(QUANT_METHOD)) {
            throw new UnsupportedFormatException("quant_method is \"" + method + "\", expected \"" + QUANT_METHOD
                    + "\"", JsonPaths.child(where, "quant_method"));
        }
        JsonNode sparsity = q.get("sparsity_config");
        if (sparsity != null && !sparsity.isNull() && !sparsity.isEmpty()) {
            throw new UnsupportedFormatException("a non-empty sparsity_config is not supported (current vLLM rejects "
                    + "sparse compressed-tensors checkpoints)", JsonPaths.child(where, "sparsity_config"));
        }
        JsonNode groups = object(q, "config_groups", where);
        Where gw = JsonPaths.child(where, "config_groups");
        if (groups.size() != 1) {
            throw new UnsupportedFormatException("expected exactly one config group but found " + groups.size(), gw);
        }
        Map.Entry<String, JsonNode> entry = groups.properties().iterator().next();
        Where sw = JsonPaths.child(gw, entry.getKey());
        JsonNode group = entry.getValue();
        if (!group.isObject()) throw new MalformedInputException("expected a scheme object but found " + group, sw);
        JsonNode targets = group.get("targets");
        if (targets == null || !targets.isArray() || targets.size() != 1 || !"Linear".equals(targets.get(0).asString())) {
            throw new UnsupportedFormatException("expected targets [\"Linear\"] but found " + targets,
                    JsonPaths.child(sw, "targets"));
        }
        String format = group.hasNonNull("format") ? text(group, "format", sw) : text(q, "format", where);
        JsonNode w = object(group, "weights", sw);
        Where ww = JsonPaths.child(sw, "weights");
        int bits = integer(w, "num_bits", ww);
        String type = text(w, "type", ww);
        boolean symmetric = !w.has("symmetric") || bool(w, "symmetric", ww);
        String strategy = w.hasNonNull("strategy") ? text(w, "strategy", ww) : null;
        Integer groupSize = w.hasNonNull("group_size") ? integer(w, "group_size", ww) : null;
        if (w.hasNonNull("actorder") && !"weight".equals(w.get("actorder").asString())
                && !"static".equals(w.get("actorder").asString())) {
            throw new UnsupportedFormatException("actorder " + w.get("actorder") + " (a weight_g_idx permutation) is "
                    + "not supported", JsonPaths.child(ww, "actorder"));
        }
        CompressedTensorsScheme scheme = schemeOf(format, bits, type, symmetric, strategy, groupSize,
                blockOf(w, ww), sw);
        List<String> ignore = new ArrayList<>();
        JsonNode ig = q.get("ignore");
        if (ig != null && !ig.isNull()) {
            if (!ig.isArray()) throw new MalformedInputException("expected a list of names but found " + ig,
                    JsonPaths.child(where, "ignore"));
            for (int i = 0; i < ig.size(); i++) {
                if (!ig.get(i).isString()) {
                    throw new MalformedInputException("expected a module name but found " + ig.get(i),
                            JsonPaths.index(JsonPaths.child(where, "ignore"), i));
                }
                ignore.add(ig.get(i).stringValue());
            }
        }
        return new CompressedTensorsConfig(scheme, ignore);
    }

    private static CompressedTensorsScheme schemeOf(String format, int bits, String type, boolean symmetric,
                                                    String strategy, Integer groupSize, List<Integer> block,
                                                    Where where) {
        String s = strategy != null ? strategy : groupSize == null ? "tensor" : groupSize == -1 ? "channel" : "group";
        String shape = format + " " + type + bits + " " + s + (groupSize != null ? " group_size " + groupSize : "")
                + (block != null ? " block " + block : "") + (symmetric ? " symmetric" : " asymmetric");
        Preset preset = switch (format) {
            case "pack-quantized" -> "int".equals(type) && (bits == 4 || bits == 8)
                    && (s.equals("group") || s.equals("channel")) ? (bits == 4 ? Preset.W4A16 : Preset.W8A16) : null;
            case "int-quantized", "naive-quantized" -> "int".equals(type) && bits == 8 && s.equals("channel")
                    ? Preset.W8A8 : null;
            case "float-quantized" -> !"float".equals(type) || bits != 8 ? null : switch (s) {
                case "tensor" -> Preset.FP8;
                case "channel" -> Preset.FP8_DYNAMIC;
                case "block" -> List.of(CtQuantizer.BLOCK, CtQuantizer.BLOCK).equals(block) ? Preset.FP8_BLOCK : null;
                default -> null;
            };
            case "nvfp4-pack-quantized" -> "float".equals(type) && bits == 4 && s.equals("tensor_group")
                    && Integer.valueOf(16).equals(groupSize) ? Preset.NVFP4A16 : null;
            case "mxfp4-pack-quantized" -> "float".equals(type) && bits == 4 && s.equals("group")
                    && Integer.valueOf(32).equals(groupSize) ? Preset.MXFP4A16 : null;
            default -> null;
        };
        if (preset == null) {
            throw new UnsupportedFormatException("compressed-tensors scheme " + shape + " is not supported", where);
        }
        if (preset == Preset.W4A16 || preset == Preset.W8A16) {
            int g = s.equals("channel") ? CompressedTensorsScheme.CHANNEL : groupSize;
            try {
                return new CompressedTensorsScheme(preset, g, symmetric);
            } catch (InvalidConfigException e) {
                throw new UnsupportedFormatException(e.originalMessage(), JsonPaths.child(where, "weights"), e);
            }
        }
        if (!symmetric) {
            throw new UnsupportedFormatException("compressed-tensors scheme " + shape + " is not supported", where);
        }
        return CompressedTensorsScheme.of(preset);
    }

    private static List<Integer> blockOf(JsonNode w, Where where) {
        JsonNode b = w.get("block_structure");
        if (b == null || b.isNull()) return null;
        Where bw = JsonPaths.child(where, "block_structure");
        List<Integer> out = new ArrayList<>();
        if (b.isString()) {
            for (String part : b.stringValue().split("x")) {
                try {
                    out.add(Integer.parseInt(part.trim()));
                } catch (NumberFormatException e) {
                    throw new MalformedInputException("expected \"RxC\" but found " + b, bw);
                }
            }
        } else if (b.isArray()) {
            for (JsonNode n : b) {
                if (!n.isIntegralNumber()) throw new MalformedInputException("expected integers but found " + b, bw);
                out.add(n.intValue());
            }
        } else {
            throw new MalformedInputException("expected [rows, cols] but found " + b, bw);
        }
        return out;
    }

    private static JsonNode object(JsonNode o, String key, Where where) {
        JsonNode n = o.get(key);
        if (n == null || !n.isObject()) {
            throw new MalformedInputException("expected an object but found " + (n == null ? "nothing" : n),
                    JsonPaths.child(where, key));
        }
        return n;
    }

    private static String text(JsonNode o, String key, Where where) {
        JsonNode n = o.get(key);
        if (n == null || !n.isString()) {
            throw new MalformedInputException("expected a string but found " + (n == null ? "nothing" : n),
                    JsonPaths.child(where, key));
        }
        return n.stringValue();
    }

    private static int integer(JsonNode o, String key, Where where) {
        JsonNode n = o.get(key);
        if (n == null || !n.isIntegralNumber() || !n.canConvertToInt()) {
            throw new MalformedInputException("expected an integer but found " + (n == null ? "nothing" : n),
                    JsonPaths.child(where, key));
        }
        return n.intValue();
    }

    private static boolean bool(JsonNode o, String key, Where where) {
        JsonNode n = o.get(key);
        if (n == null || !n.isBoolean()) {
            throw new MalformedInputException("expected true or false but found " + (n == null ? "nothing" : n),
                    JsonPaths.child(where, key));
        }
        return n.booleanValue();
    }
}
