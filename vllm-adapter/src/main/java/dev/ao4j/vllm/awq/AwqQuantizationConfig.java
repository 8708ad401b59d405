package dev.ao4j.vllm.awq;

import static dev.ao4j.vllm.gptq.QuantConfigJson.optionalString;
import static dev.ao4j.vllm.gptq.QuantConfigJson.presentKey;
import static dev.ao4j.vllm.gptq.QuantConfigJson.requiredBool;
import static dev.ao4j.vllm.gptq.QuantConfigJson.requiredInt;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.MalformedInputException;
import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.quant.Where;
import dev.ao4j.transformers.json.JsonPaths;
import dev.ao4j.vllm.gptq.GptqQuantizationConfig;
import dev.ao4j.vllm.gptq.QuantConfigJson;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * An AWQ {@code quantization_config} ({@code quant_method: "awq"}) as AutoAWQ writes it into config.json
 * ({@code bits}, {@code group_size}, {@code zero_point}, {@code version}, {@code modules_to_not_convert}); vLLM also
 * accepts AutoAWQ's side-file spelling {@code w_bit} / {@code q_group_size}, and does not read {@code version} — the
 * tensors must be in the "gemm" layout, the only one ao4j writes or reads.
 *
 * <p>{@code meta: {"quantizer": "ao4j:<version>", "method": "rtn"}} records that the weights are round-to-nearest,
 * without AWQ's activation-aware scaling (transformers passes {@code meta} on to GPTQModel; vLLM ignores it).
 *
 * @param modulesToNotConvert Linear modules left in high precision, or null for the loaders' default (vLLM infers
 *                            them from the tensor dtypes; transformers skips lm_head). A list replaces transformers'
 *                            default, so it must name lm_head too; vLLM matches entries as substrings.
 */
public record AwqQuantizationConfig(int bits, int groupSize, boolean zeroPoint, String version,
                                    List<String> modulesToNotConvert) {
    public static final String QUANT_METHOD = "awq";
    public static final String GEMM = "gemm";
    /** Side files vLLM accepts when config.json has no quantization_config. */
    public static final List<String> SIDE_FILES = List.of("quant_config.json", "quantize_config.json");

    public AwqQuantizationConfig {
        if (bits != 4) throw new UnsupportedFormatException("AWQ bits " + bits + " is not supported; expected 4");
        if (groupSize != -1 && groupSize <= 0) {
            throw new InvalidConfigException("AWQ group_size must be -1 (per channel) or positive but was " + groupSize);
        }
        if (!zeroPoint) throw new UnsupportedFormatException("AWQ without zero points is not supported");
        if (!GEMM.equalsIgnoreCase(version)) {
            throw new UnsupportedFormatException("AWQ version \"" + version + "\" is not supported; expected \"gemm\"");
        }
        modulesToNotConvert = modulesToNotConvert == null ? null : List.copyOf(modulesToNotConvert);
    }

    /** What ao4j writes: 4-bit, zero points, gemm layout. */
    public static AwqQuantizationConfig gemm(int groupSize, List<String> modulesToNotConvert) {
        return new AwqQuantizationConfig(4, groupSize, true, GEMM, modulesToNotConvert);
    }

    public ObjectNode toJson() {
        JsonNodeFactory f = JsonNodeFactory.instance;
        ObjectNode o = f.objectNode();
        o.put("quant_method", QUANT_METHOD);
        o.put("bits", bits);
        o.put("group_size", groupSize);
        o.put("zero_point", zeroPoint);
        o.put("version", version.toLowerCase(java.util.Locale.ROOT));
        if (modulesToNotConvert == null) {
            o.putNull("modules_to_not_convert");
        } else {
            ArrayNode a = o.putArray("modules_to_not_convert");
            modulesToNotConvert.forEach(a::add);
        }
        ObjectNode meta = o.putObject("meta");
        meta.put("quantizer", GptqQuantizationConfig.PRODUCER);
        meta.put("method", "rtn");
        return o;
    }

    /**
     * Reads an AWQ config as vLLM does ({@code w_bit} or {@code bits}, {@code q_group_size} or {@code group_size},
     * {@code zero_point} required, {@code version} defaulting to "gemm").
     *
     * @throws UnsupportedFormatException for another quant_method, bits other than 4, {@code zero_point: false} or a
     *                                    layout other than gemm (gemv, gemv_fast, marlin)
     * @throws MalformedInputException    for a missing or mistyped key
     */
    public static AwqQuantizationConfig fromJson(JsonNode q, Where where) {
        QuantConfigJson.requireMethod(q, where, QUANT_METHOD);
        int bits = requiredInt(q, where, "w_bit", "bits");
        if (bits != 4) {
            throw new UnsupportedFormatException("bits " + bits + " is not supported; AWQ packages are 4-bit",
                    JsonPaths.child(where, presentKey(q, "w_bit", "bits")));
        }
        int groupSize = requiredInt(q, where, "q_group_size", "group_size");
        QuantConfigJson.checkGroupSize(groupSize, where, presentKey(q, "q_group_size", "group_size"));
        if (!requiredBool(q, where, "zero_point")) {
            throw new UnsupportedFormatException("zero_point false is not supported (vLLM's AWQ kernels need zero "
                    + "points)", JsonPaths.child(where, "zero_point"));
        }
        String version = optionalString(q, where, "version");
        if (version == null) version = GEMM;
        if (!GEMM.equalsIgnoreCase(version)) {
            throw new UnsupportedFormatException("version \"" + version + "\" is not supported; only the \"gemm\" "
                    + "layout (gemv and marlin pack differently)", JsonPaths.child(where, "version"));
        }
        List<String> skip = null;
        JsonNode m = q.get("modules_to_not_convert");
        if (m != null && !m.isNull()) {
            if (!m.isArray()) {
                throw new MalformedInputException("expected a list of module names but found " + m,
                        JsonPaths.child(where, "modules_to_not_convert"));
            }
            skip = new ArrayList<>();
            for (JsonNode e : m) {
                if (!e.isString()) {
                    throw new MalformedInputException("expected a list of module names but found " + m,
                            JsonPaths.child(where, "modules_to_not_convert"));
                }
                skip.add(e.stringValue());
            }
        }
        return new AwqQuantizationConfig(bits, groupSize, true, version, skip);
    }
}
