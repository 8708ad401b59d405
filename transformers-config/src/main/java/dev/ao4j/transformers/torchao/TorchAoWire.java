package dev.ao4j.transformers.torchao;

import static dev.ao4j.transformers.json.JsonPaths.child;
import static dev.ao4j.transformers.json.JsonPaths.index;

import dev.ao4j.quant.Ao4jException;
import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.MalformedInputException;
import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.quant.Where;
import dev.ao4j.quant.config.Float8MMConfig;
import dev.ao4j.quant.config.Granularity;
import dev.ao4j.quant.dtype.DType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * The value encodings shared by torchao's two JSON encoders: {@code config_to_dict} (dataclasses and NamedTuples
 * carry {@code "_version": 1}) and the safetensors metadata encoder (no {@code _version}). Both write
 * {@code {"_type": "torch.dtype", "_data": "bfloat16"}} for dtypes and {@code {"_type": EnumClass, "_data":
 * MEMBER_NAME}} for enums. Readers accept {@code _version} absent or 1 on these nested values.
 */
final class TorchAoWire {
    static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    /** Granularity dataclass names ao4j models (torchao's {@code PerToken} is not one of them). */
    static final List<String> GRANULARITY_TYPES = List.of("PerTensor", "PerRow", "PerGroup", "PerAxis", "PerBlock");

    private TorchAoWire() {}

    // ---- encoding ---------------------------------------------------------------------------------------------

    static ObjectNode envelope(String type, Integer version, JsonNode data) {
        ObjectNode o = NODES.objectNode();
        o.put("_type", type);
        if (version != null) o.put("_version", version);
        o.set("_data", data);
        return o;
    }

    static ObjectNode torchDtype(String torchName) {
        return envelope("torch.dtype", null, NODES.stringNode(torchName));
    }

    static ObjectNode torchDtype(DType dtype) {
        return torchDtype(dtype.torchName());
    }

    static JsonNode torchDtypeOrNull(DType dtype) {
        return dtype == null ? NODES.nullNode() : torchDtype(dtype);
    }

    static ObjectNode enumValue(String enumClass, Enum<?> member) {
        return envelope(enumClass, null, NODES.stringNode(member.name()));
    }

    static ObjectNode granularity(Granularity g, boolean withVersion) {
        ObjectNode data = NODES.objectNode();
        String type = switch (g) {
            case Granularity.PerTensor t -> "PerTensor";
            case Granularity.PerRow r -> {
                data.put("dim", r.dim());
                yield "PerRow";
            }
            case Granularity.PerGroup p -> {
                data.put("group_size", p.groupSize());
                yield "PerGroup";
            }
            case Granularity.PerAxis a -> {
                data.put("axis", a.axis());
                yield "PerAxis";
            }
            case Granularity.PerBlock b -> {
                ArrayNode bs = data.putArray("block_size");
                b.blockSize().forEach(bs::add);
                yield "PerBlock";
            }
        };
        return envelope(type, withVersion ? 1 : null, data);
    }

    static ObjectNode mmConfig(Float8MMConfig c, boolean withVersion) {
        ObjectNode data = NODES.objectNode();
        data.put("emulate", c.emulate());
        data.put("use_fast_accum", c.useFastAccum());
        data.put("pad_inner_dim", c.padInnerDim());
        return envelope("Float8MMConfig", withVersion ? 1 : null, data);
    }

    static JsonNode doubleOrNull(Double d) {
        return d == null ? NODES.nullNode() : NODES.numberNode(d);
    }

    static ArrayNode longList(long[] values) {
        ArrayNode a = NODES.arrayNode();
        for (long v : values) a.add(v);
        return a;
    }

    // ---- decoding ---------------------------------------------------------------------------------------------

    static String kind(JsonNode n) {
        return n == null ? "nothing" : n.isNull() ? "null" : n.getNodeType().name().toLowerCase(Locale.ROOT)
                + " " + abbreviate(n.toString());
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }

    static ObjectNode object(JsonNode n, Where w) {
        if (n == null || !n.isObject()) {
            throw new MalformedInputException("expected a JSON object but found " + kind(n), w);
        }
        return (ObjectNode) n;
    }

    static String string(JsonNode n, Where w) {
        if (n == null || !n.isString()) throw new MalformedInputException("expected a string but found " + kind(n), w);
        return n.stringValue();
    }

    static int integer(JsonNode n, Where w) {
        if (n == null || !n.isIntegralNumber() || !n.canConvertToInt()) {
            throw new MalformedInputException("expected an integer but found " + kind(n), w);
        }
        return n.intValue();
    }

    static boolean bool(JsonNode n, Where w) {
        if (n == null || !n.isBoolean()) {
            throw new MalformedInputException("expected true or false but found " + kind(n), w);
        }
        return n.booleanValue();
    }

    /** A Python float or None; ints are accepted as Python would widen them. */
    static Double optionalDouble(JsonNode n, Where w) {
        if (n == null || n.isNull()) return null;
        if (!n.isNumber()) throw new MalformedInputException("expected a number or null but found " + kind(n), w);
        return n.doubleValue();
    }

    static List<Integer> intList(JsonNode n, Where w) {
        requireArray(n, w);
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < n.size(); i++) out.add(integer(n.get(i), index(w, i)));
        return out;
    }

    static long[] longArray(JsonNode n, Where w) {
        requireArray(n, w);
        long[] out = new long[n.size()];
        for (int i = 0; i < n.size(); i++) {
            JsonNode e = n.get(i);
            if (e == null || !e.isIntegralNumber() || !e.canConvertToLong()) {
                throw new MalformedInputException("expected an integer but found " + kind(e), index(w, i));
            }
            out[i] = e.longValue();
        }
        return out;
    }

    private static void requireArray(JsonNode n, Where w) {
        if (n == null || !n.isArray()) {
            throw new MalformedInputException("expected a list of integers but found " + kind(n), w);
        }
    }

    /** The {@code _type} of an envelope, after checking the envelope has {@code _type} and {@code _data}. */
    static String envelopeType(ObjectNode o, Where w) {
        String type = string(o.get("_type"), child(w, "_type"));
        if (!o.has("_data")) throw new MalformedInputException("'" + type + "' value has no '_data'", w);
        return type;
    }

    /** The envelope {@code n}, after checking that its {@code _type} is {@code expectedType}. */
    static ObjectNode typedEnvelope(JsonNode n, Where w, String expectedType) {
        ObjectNode o = object(n, w);
        String type = envelopeType(o, w);
        if (!type.equals(expectedType)) {
            throw new MalformedInputException("expected a " + expectedType + " value but found _type '" + type + "'",
                    child(w, "_type"));
        }
        return o;
    }

    /** Reject fields torchao's constructor of {@code type} would not accept; {@code dw} is where {@code data} is. */
    static void requireKnownFields(ObjectNode data, String type, List<String> known, Where dw) {
        for (String name : data.propertyNames()) {
            if (!known.contains(name)) {
                throw new InvalidConfigException("unknown field '" + name + "' for " + type + "; known fields: "
                        + known, child(dw, name));
            }
        }
    }

    /** Nested dataclass / NamedTuple values carry {@code _version} 1 in config dicts and none in tensor metadata. */
    static void checkNestedVersion(ObjectNode o, Where w) {
        JsonNode v = o.get("_version");
        if (v != null && !(v.isIntegralNumber() && v.canConvertToInt() && v.intValue() == 1)) {
            throw new UnsupportedFormatException("unsupported _version " + kind(v) + "; expected 1",
                    child(w, "_version"));
        }
    }

    static DType torchDtype(JsonNode n, Where w) {
        String name = torchDtypeName(n, w);
        try {
            return DType.fromTorch(name);
        } catch (Ao4jException e) {
            throw new UnsupportedFormatException(e.originalMessage(), child(w, "_data"), e);
        }
    }

    static DType torchDtypeOrNull(JsonNode n, Where w) {
        return n == null || n.isNull() ? null : torchDtype(n, w);
    }

    static String torchDtypeName(JsonNode n, Where w) {
        ObjectNode o = typedEnvelope(n, w, "torch.dtype");
        return string(o.get("_data"), child(w, "_data"));
    }

    /** {@code torch.int1 .. torch.int8} as a bit count. */
    static int intDtypeBits(JsonNode n, Where w) {
        String name = torchDtypeName(n, w);
        if (name.matches("int[1-8]")) return name.charAt(3) - '0';
        throw new InvalidConfigException("expected torch.int1 .. torch.int8 but found torch." + name,
                child(w, "_data"));
    }

    static <E extends Enum<E>> E enumEnvelope(JsonNode n, Where w, String enumClass, Class<E> cls) {
        ObjectNode o = typedEnvelope(n, w, enumClass);
        return enumMember(o.get("_data"), child(w, "_data"), enumClass, cls);
    }

    static <E extends Enum<E>> E enumMember(JsonNode n, Where w, String enumClass, Class<E> cls) {
        String member = string(n, w);
        for (E e : cls.getEnumConstants()) {
            if (e.name().equals(member)) return e;
        }
        throw new InvalidConfigException("unknown " + enumClass + " member '" + member + "'; members: "
                + Arrays.stream(cls.getEnumConstants()).map(Enum::name).toList(), w);
    }

    /** A str-enum field: the envelope, or the bare value string a Python caller may have passed. */
    static <E extends Enum<E>> E strEnum(JsonNode n, Where w, String enumClass, Class<E> cls,
                                         Function<String, E> fromWire, Runnable onBare) {
        if (n != null && n.isString()) {
            try {
                E e = fromWire.apply(n.stringValue());
                onBare.run();
                return e;
            } catch (Ao4jException ex) {
                throw new InvalidConfigException(ex.originalMessage(), w, ex);
            }
        }
        return enumEnvelope(n, w, enumClass, cls);
    }

    static Granularity granularity(JsonNode n, Where w) {
        ObjectNode o = object(n, w);
        String type = envelopeType(o, w);
        checkNestedVersion(o, w);
        Where dw = child(w, "_data");
        ObjectNode data = object(o.get("_data"), dw);
        List<String> fields = switch (type) {
            case "PerTensor" -> List.of();
            case "PerRow" -> List.of("dim");
            case "PerGroup" -> List.of("group_size");
            case "PerAxis" -> List.of("axis");
            case "PerBlock" -> List.of("block_size");
            default -> throw new UnsupportedFormatException("unknown granularity type '" + type + "'; known types: "
                    + GRANULARITY_TYPES, child(w, "_type"));
        };
        requireKnownFields(data, type, fields, dw);
        try {
            return switch (type) {
                case "PerTensor" -> new Granularity.PerTensor();
                case "PerRow" -> data.has("dim") ? new Granularity.PerRow(integer(data.get("dim"), child(dw, "dim")))
                        : new Granularity.PerRow();
                case "PerGroup" -> new Granularity.PerGroup(
                        integer(required(data, "group_size", dw), child(dw, "group_size")));
                case "PerAxis" -> new Granularity.PerAxis(integer(required(data, "axis", dw), child(dw, "axis")));
                default -> new Granularity.PerBlock(intList(required(data, "block_size", dw), child(dw, "block_size")));
            };
        } catch (IllegalArgumentException e) {
            throw new InvalidConfigException(e.getMessage(), dw, e);
        }
    }

    static Float8MMConfig mmConfig(JsonNode n, Where w) {
        ObjectNode o = typedEnvelope(n, w, "Float8MMConfig");
        checkNestedVersion(o, w);
        Where dw = child(w, "_data");
        ObjectNode data = object(o.get("_data"), dw);
        requireKnownFields(data, "Float8MMConfig", List.of("emulate", "use_fast_accum", "pad_inner_dim"), dw);
        // NamedTuple defaults are all False.
        return new Float8MMConfig(optBool(data, "emulate", dw), optBool(data, "use_fast_accum", dw),
                optBool(data, "pad_inner_dim", dw));
    }

    private static boolean optBool(ObjectNode data, String name, Where dw) {
        JsonNode v = data.get(name);
        return v != null && bool(v, child(dw, name));
    }

    static JsonNode required(ObjectNode o, String name, Where w) {
        JsonNode v = o.get(name);
        if (v == null) throw new MalformedInputException("missing required field '" + name + "'", w);
        return v;
    }
}
