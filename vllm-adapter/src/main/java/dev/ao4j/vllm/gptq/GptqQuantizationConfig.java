package dev.ao4j.vllm.gptq;

import static dev.ao4j.vllm.gptq.QuantConfigJson.optionalBool;
import static dev.ao4j.vllm.gptq.QuantConfigJson.optionalString;
import static dev.ao4j.vllm.gptq.QuantConfigJson.requiredBool;
import static dev.ao4j.vllm.gptq.QuantConfigJson.requiredInt;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.MalformedInputException;
import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.quant.Where;
import dev.ao4j.transformers.json.JsonPaths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * A GPTQ {@code quantization_config} ({@code quant_method: "gptq"}), the keys vLLM's AutoGPTQ/gptq_marlin loader reads
 * ({@code bits}, {@code group_size}, {@code desc_act}, {@code sym} required; {@code lm_head}, {@code dynamic}) plus
 * {@code checkpoint_format}, which transformers/GPTQModel read to choose the zero-point convention.
 *
 * <p>ao4j writes round-to-nearest weights in GPTQ's layout and says so: {@code desc_act: false} with the trivial
 * {@code g_idx}, no {@code damp_percent}/{@code true_sequential} (there was no Hessian), and
 * {@code meta: {"quantizer": "ao4j:<version>", "method": "rtn"}} (GPTQModel's producer field, a "name:version" string;
 * {@code method} is informational).
 *
 * @param skipPatterns Python regexes of Linear modules inside the quantized blocks that stay in high precision,
 *                     written as GPTQModel's negative {@code dynamic} entries ({@code "-:<regex>": {}}), which vLLM
 *                     honours; empty when every Linear of the decoder layers is quantized
 */
public record GptqQuantizationConfig(int bits, int groupSize, boolean descAct, boolean sym,
                                     GptqCheckpointFormat checkpointFormat, boolean lmHead,
                                     List<String> skipPatterns) {
    public static final String QUANT_METHOD = "gptq";
    /** ao4j's version as written into {@code meta.quantizer}. */
    public static final String PRODUCER = "ao4j:0.1.0";
    /** Side files vLLM and GPTQModel accept when config.json has no quantization_config. */
    public static final List<String> SIDE_FILES = List.of("quantize_config.json");

    public GptqQuantizationConfig {
        if (bits != 2 && bits != 4 && bits != 8) {
            throw new UnsupportedFormatException("GPTQ bits " + bits + " is not supported; expected 2, 4 or 8 (widths "
                    + "dividing 32)");
        }
        if (groupSize != -1 && groupSize <= 0) {
            throw new InvalidConfigException("GPTQ group_size must be -1 (per channel) or positive but was " + groupSize);
        }
        if (checkpointFormat == null) throw new InvalidConfigException("GPTQ checkpoint_format must be set");
        skipPatterns = List.copyOf(skipPatterns);
    }

    /** What ao4j writes: symmetric, no act-order, lm_head not quantized. */
    public static GptqQuantizationConfig rtn(int bits, int groupSize, GptqCheckpointFormat format,
                                             List<String> skipPatterns) {
        return new GptqQuantizationConfig(bits, groupSize, false, true, format, false, skipPatterns);
    }

    public ObjectNode toJson() {
        JsonNodeFactory f = JsonNodeFactory.instance;
        ObjectNode o = f.objectNode();
        o.put("quant_method", QUANT_METHOD);
        o.put("bits", bits);
        o.put("group_size", groupSize);
        o.put("desc_act", descAct);
        o.put("sym", sym);
        o.put("checkpoint_format", checkpointFormat.jsonName());
        o.put("lm_head", lmHead);
        if (!skipPatterns.isEmpty()) {
            ObjectNode d = o.putObject("dynamic");
            skipPatterns.forEach(p -> d.putObject("-:" + p));
        }
        ObjectNode meta = o.putObject("meta");
        meta.put("quantizer", PRODUCER);
        meta.put("method", "rtn");
        return o;
    }

    /**
     * Reads a GPTQ config as vLLM does ({@code checkpoint_format}, else transformers' {@code format}, default v1).
     *
     * @throws UnsupportedFormatException for another quant_method, a width other than 2/4/8, another checkpoint
     *                                    format (e.g. "marlin"), or {@code dynamic} entries that change bits/group size
     * @throws MalformedInputException    for a missing or mistyped required key
     */
    public static GptqQuantizationConfig fromJson(JsonNode q, Where where) {
        QuantConfigJson.requireMethod(q, where, QUANT_METHOD);
        int bits = requiredInt(q, where, "bits");
        if (bits != 2 && bits != 4 && bits != 8) {
            throw new UnsupportedFormatException("bits " + bits + " is not supported; expected 2, 4 or 8",
                    JsonPaths.child(where, "bits"));
        }
        int groupSize = requiredInt(q, where, "group_size");
        QuantConfigJson.checkGroupSize(groupSize, where, "group_size");
        boolean descAct = requiredBool(q, where, "desc_act");
        boolean sym = requiredBool(q, where, "sym");
        String formatKey = q.has("checkpoint_format") && !q.get("checkpoint_format").isNull() ? "checkpoint_format"
                : "format";
        String formatName = optionalString(q, where, formatKey);
        GptqCheckpointFormat format = formatName == null ? GptqCheckpointFormat.V1
                : GptqCheckpointFormat.byName(formatName);
        if (format == null) {
            throw new UnsupportedFormatException("checkpoint format \"" + formatName + "\" is not supported; expected "
                    + "\"gptq\" or \"gptq_v2\"", JsonPaths.child(where, formatKey));
        }
        boolean lmHead = optionalBool(q, where, "lm_head", false);
        List<String> skips = new ArrayList<>();
        JsonNode dynamic = q.get("dynamic");
        if (dynamic != null && !dynamic.isNull()) {
            if (!dynamic.isObject()) {
                throw new MalformedInputException("expected an object but found " + dynamic,
                        JsonPaths.child(where, "dynamic"));
            }
            for (Map.Entry<String, JsonNode> e : dynamic.properties()) {
                if (!e.getKey().startsWith("-:")) {
                    throw new UnsupportedFormatException("per-module overrides (\"" + e.getKey() + "\") are not "
                            + "supported; only \"-:<regex>\" skips", JsonPaths.child(where, "dynamic"));
                }
                skips.add(e.getKey().substring(2));
            }
        }
        return new GptqQuantizationConfig(bits, groupSize, descAct, sym, format, lmHead, skips);
    }
}
