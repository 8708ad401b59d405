package dev.ao4j.transformers.torchao;

import static dev.ao4j.transformers.json.JsonPaths.child;
import static dev.ao4j.transformers.json.JsonPaths.index;
import static dev.ao4j.transformers.torchao.TorchAoWire.NODES;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.MalformedInputException;
import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.quant.Where;
import dev.ao4j.quant.config.QuantConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * transformers' {@code TorchAoConfig} (5.x), the {@code quantization_config} entry of {@code config.json}:
 * <pre>{@code
 * {"quant_method": "torchao", "quant_type": {"default": <config_to_dict(quantType)>},
 *  "modules_to_not_convert": null, "include_input_output_embeddings": false, "untie_embedding_weights": false}
 * }</pre>
 * transformers 5 rejects string quant types ({@code "int4_weight_only"}, the 4.x form) and requires exactly one
 * {@code quant_type} key, {@code "default"}; other keys in the entry are ignored by its {@code from_dict}, and so
 * here.
 *
 * @param quantType                    the torchao config
 * @param modulesToNotConvert          {@code modules_to_not_convert}: null (transformers' default skip list, normally
 *                                     {@code lm_head}) or module names kept in high precision
 * @param includeInputOutputEmbeddings {@code include_input_output_embeddings}: also quantize nn.Embedding
 * @param untieEmbeddingWeights        {@code untie_embedding_weights}: untie input/output embeddings first
 * @param bareEnumFields               str-enum fields of {@code quantType} written as bare strings (see
 *                                     {@link TorchAoConfigCodec}); usually empty
 */
public record TorchAoQuantizationConfig(QuantConfig quantType, List<String> modulesToNotConvert,
                                        boolean includeInputOutputEmbeddings, boolean untieEmbeddingWeights,
                                        Set<String> bareEnumFields) {

    public static final String QUANT_METHOD = "torchao";

    public TorchAoQuantizationConfig {
        Objects.requireNonNull(quantType, "quantType");
        if (modulesToNotConvert != null) {
            for (String m : modulesToNotConvert) {
                if (m == null) {
                    throw new InvalidConfigException("TorchAoQuantizationConfig.modulesToNotConvert "
                            + "(modules_to_not_convert) must hold module names but held null");
                }
            }
            modulesToNotConvert = List.copyOf(modulesToNotConvert);
        }
        bareEnumFields = bareEnumFields == null ? Set.of() : Set.copyOf(bareEnumFields);
        List<String> allowed = TorchAoConfigCodec.strEnumFields(quantType);
        for (String f : bareEnumFields) {
            if (!allowed.contains(f)) {
                throw new InvalidConfigException("TorchAoQuantizationConfig.bareEnumFields must name str-enum fields "
                        + "of " + quantType.torchaoName() + " " + allowed + " but held '" + f + "'");
            }
        }
    }

    /** {@code TorchAoConfig(quantType)} with transformers' defaults. */
    public static TorchAoQuantizationConfig of(QuantConfig quantType) {
        return new TorchAoQuantizationConfig(quantType, null, false, false, Set.of());
    }

    public TorchAoQuantizationConfig withQuantType(QuantConfig v) {
        return new TorchAoQuantizationConfig(v, modulesToNotConvert, includeInputOutputEmbeddings,
                untieEmbeddingWeights, Set.of());
    }

    public TorchAoQuantizationConfig withModulesToNotConvert(List<String> v) {
        return new TorchAoQuantizationConfig(quantType, v, includeInputOutputEmbeddings, untieEmbeddingWeights,
                bareEnumFields);
    }

    public TorchAoQuantizationConfig withIncludeInputOutputEmbeddings(boolean v) {
        return new TorchAoQuantizationConfig(quantType, modulesToNotConvert, v, untieEmbeddingWeights,
                bareEnumFields);
    }

    public TorchAoQuantizationConfig withUntieEmbeddingWeights(boolean v) {
        return new TorchAoQuantizationConfig(quantType, modulesToNotConvert, includeInputOutputEmbeddings, v,
                bareEnumFields);
    }

    public TorchAoQuantizationConfig withBareEnumFields(Set<String> v) {
        return new TorchAoQuantizationConfig(quantType, modulesToNotConvert, includeInputOutputEmbeddings,
                untieEmbeddingWeights, v);
    }

    /** transformers' {@code TorchAoConfig.to_dict()}, keys in its order. */
    public ObjectNode toJson() {
        ObjectNode o = NODES.objectNode();
        o.put("quant_method", QUANT_METHOD);
        ObjectNode qt = o.putObject("quant_type");
        qt.set("default", TorchAoConfigCodec.toDict(quantType, bareEnumFields));
        if (modulesToNotConvert == null) {
            o.putNull("modules_to_not_convert");
        } else {
            ArrayNode a = o.putArray("modules_to_not_convert");
            modulesToNotConvert.forEach(a::add);
        }
        o.put("include_input_output_embeddings", includeInputOutputEmbeddings);
        o.put("untie_embedding_weights", untieEmbeddingWeights);
        return o;
    }

    /**
     * transformers' {@code TorchAoConfig.from_dict}. {@code where} locates {@code node} (e.g. config.json at
     * {@code quantization_config}).
     *
     * @throws UnsupportedFormatException if quant_method is not "torchao" or quant_type is a 4.x string
     */
    public static TorchAoQuantizationConfig fromJson(JsonNode node, Where where) {
        ObjectNode o = TorchAoWire.object(node, where);
        String method = TorchAoWire.string(TorchAoWire.required(o, "quant_method", where),
                child(where, "quant_method"));
        if (!method.equals(QUANT_METHOD)) {
            throw new UnsupportedFormatException("quant_method is '" + method + "'; only '" + QUANT_METHOD
                    + "' is a TorchAoConfig", child(where, "quant_method"));
        }
        Where qw = child(where, "quant_type");
        JsonNode qt = TorchAoWire.required(o, "quant_type", where);
        if (qt.isString()) {
            throw new UnsupportedFormatException("string quant_type '" + qt.stringValue() + "' is the transformers 4.x "
                    + "form, which transformers 5 rejects; expected {\"default\": <torchao config dict>}", qw);
        }
        ObjectNode qto = TorchAoWire.object(qt, qw);
        if (qto.size() != 1 || !qto.has("default")) {
            throw new UnsupportedFormatException("quant_type must have exactly one key 'default' but has "
                    + qto.propertyNames(), qw);
        }
        TorchAoConfigCodec.Decoded d = TorchAoConfigCodec.decode(qto.get("default"), child(qw, "default"));
        List<String> skip = null;
        JsonNode m = o.get("modules_to_not_convert");
        Where mw = child(where, "modules_to_not_convert");
        if (m != null && !m.isNull()) {
            if (!m.isArray()) throw new MalformedInputException("expected a list of module names or null but found "
                    + TorchAoWire.kind(m), mw);
            skip = new ArrayList<>();
            for (int i = 0; i < m.size(); i++) skip.add(TorchAoWire.string(m.get(i), index(mw, i)));
        }
        return new TorchAoQuantizationConfig(d.config(), skip,
                optBool(o, "include_input_output_embeddings", where),
                optBool(o, "untie_embedding_weights", where), d.bareEnumFields());
    }

    private static boolean optBool(ObjectNode o, String name, Where where) {
        JsonNode v = o.get(name);
        return v != null && !v.isNull() && TorchAoWire.bool(v, child(where, name));
    }
}
