package dev.ao4j.transformers.torchao;

import static dev.ao4j.transformers.json.JsonPaths.child;
import static dev.ao4j.transformers.json.JsonPaths.index;
import static dev.ao4j.transformers.torchao.TorchAoWire.NODES;

import dev.ao4j.quant.Ao4jException;
import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.MalformedInputException;
import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.quant.Where;
import dev.ao4j.quant.config.Float8MMConfig;
import dev.ao4j.quant.config.Granularity;
import dev.ao4j.quant.config.KernelPreference;
import dev.ao4j.quant.config.MXDynamicActivationMXWeightConfig;
import dev.ao4j.quant.config.MappingType;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.qtensor.Float8Tensor;
import dev.ao4j.quant.qtensor.Int4Tensor;
import dev.ao4j.quant.qtensor.Int4TilePackedTo4dTensor;
import dev.ao4j.quant.qtensor.Int8Tensor;
import dev.ao4j.quant.mx.MxElement;
import dev.ao4j.quant.mx.ScalingMode;
import dev.ao4j.quant.qtensor.IntxUnpackedToInt8Tensor;
import dev.ao4j.quant.qtensor.MXTensor;
import dev.ao4j.quant.qtensor.NVFP4Tensor;
import dev.ao4j.quant.qtensor.QuantizedTensor;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.transformers.json.PyJson;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.function.Function;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * torchao's safetensors layout of tensor subclasses ({@code torchao.prototype.safetensors}, key scheme of 0.15+,
 * as torchao 0.18 writes it and transformers 5.x loads it).
 *
 * <p>A state-dict entry {@code <module>.<param>} holding a tensor subclass becomes one plain tensor per present
 * data field, named {@code <module>._<param>_<field>} (e.g. {@code model.layers.0.mlp.down_proj._weight_qdata}),
 * in torchao's order: required {@code tensor_data_names}, then present optional ones. The file's
 * {@code __metadata__} maps each original key to a JSON string ({@code json.dumps}, separators {@code ", "} and
 * {@code ": "}):
 * <pre>{@code {"_type": "Int8Tensor", "_data": {<attributes>}, "_tensor_data_names": [<fields>]}}</pre>
 * where attributes are listed optional-first then required, and {@code _tensor_data_names} lists present optional
 * data names first (so Int8Tensor's says {@code ["zero_point", "qdata", "scale"]}); values are encoded like
 * {@code config_to_dict} but without {@code _version}. A plain tensor keeps its key and has
 * {@code {"_type": "Tensor"}}. {@code "tensor_names"} is the JSON list of all original keys in state-dict order,
 * and transformers adds {@code "format": "pt"}.
 *
 * <p>Supported subclasses are those with ao4j records ({@link #SUPPORTED_TYPES}); optional data fields
 * ({@code act_pre_scale} of AWQ/SmoothQuant, static int8 activation scales) are not modelled and are rejected on
 * read with {@link UnsupportedFormatException}.
 */
public final class TorchAoSafetensorsLayout {

    /** {@code __metadata__} key of the JSON list of original state-dict keys. */
    public static final String TENSOR_NAMES_KEY = "tensor_names";
    /** {@code __metadata__} key transformers adds, with value {@link #FORMAT_PT}. */
    public static final String FORMAT_KEY = "format";
    public static final String FORMAT_PT = "pt";
    /** Metadata of a plain tensor. */
    public static final String PLAIN_TENSOR_METADATA = "{\"_type\": \"Tensor\"}";

    /** The subclasses ao4j reads and writes. */
    public static final List<String> SUPPORTED_TYPES = List.of("Float8Tensor", "Int4Tensor",
            "Int4TilePackedTo4dTensor", "IntxUnpackedToInt8Tensor", "Int8Tensor", "MXTensor", "NVFP4Tensor");
    /** Subclasses torchao 0.18 serializes that ao4j does not model. */
    public static final List<String> OTHER_TORCHAO_TYPES = List.of("Int4PlainInt32Tensor", "Int4OpaqueTensor");

    /** One tensor as it goes into the safetensors file. */
    public record NamedTensor(String name, Tensor tensor) {}

    /**
     * What one state-dict entry becomes: its tensors in torchao's order and its {@code __metadata__} value.
     *
     * @param key      the original state-dict key
     * @param tensors  the flattened tensors (one, under {@code key}, for a plain tensor)
     * @param metadata the JSON string stored under {@code key} in {@code __metadata__}
     */
    public record Flattened(String key, List<NamedTensor> tensors, String metadata) {
        public Flattened {
            tensors = List.copyOf(tensors);
        }
    }

    private TorchAoSafetensorsLayout() {}

    // ---- writing ----------------------------------------------------------------------------------------------

    /**
     * The flattened name of data field {@code field} of state-dict entry {@code key}:
     * {@code <module>._<param>_<field>}.
     *
     * @throws InvalidConfigException if {@code key} has no dot (torchao splits it at the last dot)
     */
    public static String flattenedName(String key, String field) {
        int dot = key.lastIndexOf('.');
        if (dot <= 0 || dot == key.length() - 1) {
            throw new InvalidConfigException("state-dict key '" + key + "' cannot be flattened: torchao needs "
                    + "'<module>.<param>' (it splits at the last dot)");
        }
        return key.substring(0, dot) + "._" + key.substring(dot + 1) + "_" + field;
    }

    /** Flatten a quantized entry (torchao's {@code flatten_tensor_state_dict} for one key). */
    public static Flattened flatten(String key, QuantizedTensor q) {
        List<NamedTensor> tensors = new ArrayList<>();
        for (QuantizedTensor.Part p : q.parts()) tensors.add(new NamedTensor(flattenedName(key, p.name()), p.tensor()));
        return new Flattened(key, tensors, metadataJson(q));
    }

    /** A plain entry: stored under its own key, metadata {@link #PLAIN_TENSOR_METADATA}. */
    public static Flattened plain(String key, Tensor tensor) {
        return new Flattened(key, List.of(new NamedTensor(key, tensor)), PLAIN_TENSOR_METADATA);
    }

    /** The {@code __metadata__} value for a quantized entry, byte-identical to torchao's {@code json.dumps}. */
    public static String metadataJson(QuantizedTensor q) {
        return PyJson.dumps(metadata(q));
    }

    /** The {@code "tensor_names"} value: {@code json.dumps(list(state_dict.keys()))}. */
    public static String tensorNamesJson(List<String> keys) {
        ArrayNode a = NODES.arrayNode();
        keys.forEach(a::add);
        return PyJson.dumps(a);
    }

    /**
     * The whole {@code __metadata__} of a file holding {@code entries} in state-dict order: each key's metadata,
     * {@code "tensor_names"}, and {@code "format": "pt"} (as transformers writes it).
     */
    public static Map<String, String> fileMetadata(List<Flattened> entries) {
        Map<String, String> md = new LinkedHashMap<>();
        List<String> keys = new ArrayList<>();
        for (Flattened f : entries) {
            if (md.put(f.key(), f.metadata()) != null || f.key().equals(TENSOR_NAMES_KEY)
                    || f.key().equals(FORMAT_KEY)) {
                throw new InvalidConfigException("state-dict key '" + f.key() + "' appears twice or collides with a "
                        + "reserved metadata key");
            }
            keys.add(f.key());
        }
        md.put(TENSOR_NAMES_KEY, tensorNamesJson(keys));
        md.put(FORMAT_KEY, FORMAT_PT);
        return md;
    }

    private static ObjectNode metadata(QuantizedTensor q) {
        ObjectNode data = NODES.objectNode();
        List<String> names = switch (q) {
            case Float8Tensor t -> {
                data.set("block_size", shapeOrNull(t.blockSize()));
                data.set("mm_config", mmOrNull(t.mmConfig()));
                data.set("act_quant_kwargs", t.activationQuant() == null ? NODES.nullNode()
                        : float8Kwargs(t.activationQuant()));
                data.set("kernel_preference", kernelOrNull(t.kernelPreference()));
                data.set("dtype", TorchAoWire.torchDtypeOrNull(t.originalDtype()));
                yield List.of("qdata", "scale");
            }
            case Int8Tensor t -> {
                data.set("act_quant_kwargs", t.activationQuant() == null ? NODES.nullNode()
                        : int8Kwargs(t.activationQuant()));
                data.put("reduce_range", t.reduceRange());
                data.set("block_size", shapeOrNull(t.blockSize()));
                data.set("dtype", TorchAoWire.torchDtypeOrNull(t.originalDtype()));
                // zero_point is an optional data name in torchao, and optional names are listed first.
                yield List.of("zero_point", "qdata", "scale");
            }
            case IntxUnpackedToInt8Tensor t -> {
                data.set("target_dtype", TorchAoWire.torchDtype("int" + t.bits()));
                data.set("block_size", shapeOrNull(t.blockSize()));
                data.set("dtype", TorchAoWire.torchDtypeOrNull(t.originalDtype()));
                if (t.activationQuantization() == null) data.putNull("activation_quantization");
                else data.put("activation_quantization", t.activationQuantization());
                yield List.of("qdata", "scale", "zero_point");
            }
            case Int4Tensor t -> {
                data.set("activation_dtype", TorchAoWire.torchDtypeOrNull(t.activationDtype()));
                data.set("block_size", shapeOrNull(t.blockSize()));
                data.set("shape", shapeOrNull(t.shape()));
                yield List.of("qdata", "scale", "zero_point");
            }
            case Int4TilePackedTo4dTensor t -> {
                data.set("block_size", shapeOrNull(t.blockSize()));
                data.set("shape", shapeOrNull(t.shape()));
                yield List.of("qdata", "scale_and_zero");
            }
            case MXTensor t -> {
                data.set("elem_dtype", TorchAoWire.torchDtype(MXDynamicActivationMXWeightConfig.dtype(t.element())));
                data.put("block_size", t.blockSize());
                data.set("orig_dtype", TorchAoWire.torchDtypeOrNull(t.originalDtype()));
                data.set("kernel_preference", kernelOrNull(t.kernelPreference()));
                data.set("act_quant_kwargs", t.activationQuant() == null ? NODES.nullNode()
                        : mxKwargs(t.activationQuant()));
                data.put("is_swizzled_scales", t.swizzledScales());
                yield List.of("qdata", "scale");
            }
            case NVFP4Tensor t -> {
                // optional attributes (is_swizzled_scales, use_triton_kernel, act_quant_kwargs) come first
                data.put("is_swizzled_scales", t.swizzledScales());
                data.put("use_triton_kernel", t.useTritonKernel());
                data.putNull("act_quant_kwargs");
                data.put("block_size", t.blockSize());
                data.set("orig_dtype", TorchAoWire.torchDtypeOrNull(t.originalDtype()));
                yield t.perTensorScale() == null ? List.of("qdata", "scale")
                        : List.of("per_tensor_scale", "qdata", "scale");
            }
        };
        ObjectNode o = NODES.objectNode();
        o.put("_type", q.typeName());
        o.set("_data", data);
        ArrayNode a = o.putArray("_tensor_data_names");
        names.forEach(a::add);
        return o;
    }

    private static ObjectNode float8Kwargs(Float8Tensor.ActivationQuant k) {
        ObjectNode d = NODES.objectNode();
        d.set("float8_dtype", TorchAoWire.torchDtypeOrNull(k.float8Dtype()));
        d.set("granularity", granularityOrNull(k.granularity()));
        d.set("mm_config", mmOrNull(k.mmConfig()));
        d.set("hp_value_lb", k.hpValueLb() == null ? NODES.nullNode() : NODES.numberNode(k.hpValueLb()));
        d.set("hp_value_ub", k.hpValueUb() == null ? NODES.nullNode() : NODES.numberNode(k.hpValueUb()));
        d.set("kernel_preference", kernelOrNull(k.kernelPreference()));
        return TorchAoWire.envelope("QuantizeTensorToFloat8Kwargs", null, d);
    }

    private static ObjectNode mxKwargs(MXTensor.ActivationQuant k) {
        ObjectNode d = NODES.objectNode();
        d.set("elem_dtype", TorchAoWire.torchDtype(MXDynamicActivationMXWeightConfig.dtype(k.element())));
        d.put("block_size", k.blockSize());
        d.set("scaling_mode", TorchAoWire.enumValue(TorchAoConfigCodec.SCALE_CALCULATION_MODE, k.scalingMode()));
        d.set("kernel_preference", kernelOrNull(k.kernelPreference()));
        d.put("is_swizzled_scales", k.swizzledScales());
        return TorchAoWire.envelope("QuantizeTensorToMXKwargs", null, d);
    }

    private static ObjectNode int8Kwargs(Int8Tensor.ActivationQuant k) {
        ObjectNode d = NODES.objectNode();
        d.set("granularity", granularityOrNull(k.granularity()));
        d.set("mapping_type", k.mappingType() == null ? NODES.nullNode()
                : TorchAoWire.enumValue("MappingType", k.mappingType()));
        d.put("reduce_range", k.reduceRange());
        return TorchAoWire.envelope("QuantizeTensorToInt8Kwargs", null, d);
    }

    private static JsonNode granularityOrNull(Granularity g) {
        return g == null ? NODES.nullNode() : TorchAoWire.granularity(g, false);
    }

    private static JsonNode shapeOrNull(Shape s) {
        return s == null ? NODES.nullNode() : TorchAoWire.longList(s.dims());
    }

    private static JsonNode mmOrNull(Float8MMConfig c) {
        return c == null ? NODES.nullNode() : TorchAoWire.mmConfig(c, false);
    }

    private static JsonNode kernelOrNull(KernelPreference k) {
        return k == null ? NODES.nullNode() : TorchAoWire.enumValue("KernelPreference", k);
    }

    // ---- reading ----------------------------------------------------------------------------------------------

    /**
     * transformers' {@code is_metadata_torchao}: a non-empty {@code tensor_names} list whose every key has a
     * metadata string with {@code _type} a torchao subclass (any of torchao's, not only ao4j's) or
     * {@code "Tensor"}.
     */
    public static boolean isTorchAoMetadata(Map<String, String> metadata) {
        if (metadata == null || !metadata.containsKey(TENSOR_NAMES_KEY)) return false;
        try {
            JsonNode names = PyJson.parse(metadata.get(TENSOR_NAMES_KEY), Where.NOWHERE);
            if (!names.isArray() || names.isEmpty()) return false;
            for (JsonNode n : names.values()) {
                if (!n.isString()) return false;
                String md = metadata.get(n.stringValue());
                if (md == null) return false;
                JsonNode type = PyJson.parse(md, Where.NOWHERE).get("_type");
                if (type == null || !type.isString()) return false;
                String t = type.stringValue();
                if (!t.equals("Tensor") && !SUPPORTED_TYPES.contains(t) && !OTHER_TORCHAO_TYPES.contains(t)) {
                    return false;
                }
            }
            return true;
        } catch (MalformedInputException e) {
            return false;
        }
    }

    /**
     * Rebuild every entry listed in {@code tensor_names}, in that order. {@code lookup} returns the stored tensor
     * of a flattened name, or null when absent (it may span several shards). {@code where} names the file(s).
     *
     * @throws MalformedInputException     if tensor_names or an entry's metadata is missing or malformed, or a
     *                                     listed data field has no tensor
     * @throws UnsupportedFormatException  for a {@code _type} ao4j does not model (the message lists the supported
     *                                     ones) or an optional data field it does not model
     */
    public static List<StateDictEntry> unflatten(Map<String, String> metadata, Function<String, Tensor> lookup,
                                                 Where where) {
        String namesJson = metadata.get(TENSOR_NAMES_KEY);
        Where nw = child(where, "__metadata__." + TENSOR_NAMES_KEY);
        if (namesJson == null) {
            throw new MalformedInputException("no '" + TENSOR_NAMES_KEY + "' in __metadata__: not a torchao "
                    + "flattened state dict", child(where, "__metadata__"));
        }
        JsonNode names = PyJson.parse(namesJson, nw);
        if (!names.isArray()) throw new MalformedInputException("expected a JSON list of keys", nw);
        List<StateDictEntry> out = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            String key = TorchAoWire.string(names.get(i), index(nw, i));
            String md = metadata.get(key);
            if (md == null) {
                throw new MalformedInputException("'" + key + "' is listed in tensor_names but has no metadata entry",
                        child(where, "__metadata__"));
            }
            out.add(unflatten(key, md, lookup, where));
        }
        return out;
    }

    /** Rebuild one entry from its metadata string; see {@link #unflatten(Map, Function, Where)}. */
    public static StateDictEntry unflatten(String key, String metadataJson, Function<String, Tensor> lookup,
                                           Where where) {
        Where w = where.withTensor(key).withJsonPath("__metadata__." + key);
        ObjectNode o = TorchAoWire.object(PyJson.parse(metadataJson, w), w);
        String type = TorchAoWire.string(o.get("_type"), child(w, "_type"));
        if (type.equals("Tensor")) {
            Tensor t = lookup.apply(key);
            if (t == null) throw new MalformedInputException("plain tensor '" + key + "' is not in the file", w);
            return new StateDictEntry.Plain(key, t);
        }
        if (!SUPPORTED_TYPES.contains(type)) {
            String why = OTHER_TORCHAO_TYPES.contains(type) ? "torchao type '" + type + "' is not supported by ao4j"
                    : "unknown torchao tensor type '" + type + "'";
            throw new UnsupportedFormatException(why + "; supported: " + SUPPORTED_TYPES + " and Tensor",
                    child(w, "_type"));
        }
        Where dw = child(w, "_data");
        Attrs a = new Attrs(type, TorchAoWire.object(TorchAoWire.required(o, "_data", w), dw), dw);
        Where nw = child(w, "_tensor_data_names");
        JsonNode namesNode = TorchAoWire.required(o, "_tensor_data_names", w);
        if (!namesNode.isArray()) throw new MalformedInputException("expected a list of field names", nw);
        Map<String, Tensor> parts = new LinkedHashMap<>();
        for (int i = 0; i < namesNode.size(); i++) {
            String field = TorchAoWire.string(namesNode.get(i), index(nw, i));
            String flat = flattenedName(key, field);
            Tensor t = lookup.apply(flat);
            if (t == null) {
                throw new MalformedInputException("tensor '" + flat + "' (field '" + field + "' of " + type
                        + ") is missing", where.withTensor(flat));
            }
            parts.put(field, t);
        }
        QuantizedTensor q = switch (type) {
            case "Float8Tensor" -> {
                a.known("block_size", "mm_config", "act_quant_kwargs", "kernel_preference", "dtype");
                Parts p = new Parts(type, parts, nw, List.of("qdata", "scale"));
                Tensor qdata = p.get("qdata", DType.F8_E4M3, DType.F8_E5M2);
                yield new Float8Tensor(qdata, p.get("scale", DType.F32),
                        a.blockSize(qdata), a.nullable("mm_config", TorchAoWire::mmConfig),
                        a.nullable("act_quant_kwargs", TorchAoSafetensorsLayout::float8Kwargs),
                        a.has("kernel_preference") ? a.nullable("kernel_preference", TorchAoSafetensorsLayout::kernel)
                                : KernelPreference.AUTO,
                        a.dtype("dtype"));
            }
            case "Int8Tensor" -> {
                a.known("act_quant_kwargs", "reduce_range", "block_size", "dtype");
                Parts p = new Parts(type, parts, nw, List.of("qdata", "scale", "zero_point"));
                Tensor qdata = p.get("qdata", DType.I8);
                yield new Int8Tensor(qdata, p.get("scale", DType.F32, DType.BF16, DType.F16),
                        p.get("zero_point", DType.I8), a.blockSize(qdata), a.dtype("dtype"),
                        a.nullable("act_quant_kwargs", TorchAoSafetensorsLayout::int8Kwargs),
                        a.bool("reduce_range", false));
            }
            case "IntxUnpackedToInt8Tensor" -> {
                a.known("target_dtype", "block_size", "dtype", "activation_quantization");
                Parts p = new Parts(type, parts, nw, List.of("qdata", "scale", "zero_point"));
                Tensor qdata = p.get("qdata", DType.I8);
                int bits = TorchAoWire.intDtypeBits(a.required("target_dtype"), a.at("target_dtype"));
                JsonNode aq = a.get("activation_quantization");
                String actQuant = aq == null || aq.isNull() ? null
                        : TorchAoWire.string(aq, a.at("activation_quantization"));
                yield new IntxUnpackedToInt8Tensor(qdata, p.get("scale", DType.BF16, DType.F16, DType.F32),
                        p.get("zero_point", DType.I8, DType.I16, DType.I32, DType.I64), bits, a.blockSize(qdata),
                        a.dtype("dtype"), actQuant);
            }
            case "Int4Tensor" -> {
                a.known("activation_dtype", "block_size", "shape");
                Parts p = new Parts(type, parts, nw, List.of("qdata", "scale", "zero_point"));
                JsonNode ad = a.get("activation_dtype");
                yield new Int4Tensor(p.get("qdata", DType.I8, DType.U8),
                        p.get("scale", DType.BF16, DType.F16, DType.F32),
                        p.get("zero_point", DType.BF16, DType.F16, DType.F32), a.shape("block_size"), a.shape("shape"),
                        ad == null ? null : TorchAoWire.torchDtypeOrNull(ad, a.at("activation_dtype")));
            }
            case "Int4TilePackedTo4dTensor" -> {
                a.known("block_size", "shape");
                Parts p = new Parts(type, parts, nw, List.of("qdata", "scale_and_zero"));
                yield new Int4TilePackedTo4dTensor(p.get("qdata", DType.I32),
                        p.get("scale_and_zero", DType.BF16, DType.F16, DType.F32), a.shape("block_size"),
                        a.shape("shape"));
            }
            case "MXTensor" -> {
                a.known("elem_dtype", "block_size", "orig_dtype", "kernel_preference", "act_quant_kwargs",
                        "is_swizzled_scales");
                MxElement elem = mxElement(a.required("elem_dtype"), a.at("elem_dtype"));
                Parts p = new Parts(type, parts, nw, List.of("qdata", "scale"));
                yield new MXTensor(p.get("qdata", elem.qdataDtype()), p.get("scale", DType.F8_E8M0), elem,
                        a.integer("block_size"), a.dtype("orig_dtype"),
                        a.has("kernel_preference") ? a.nullable("kernel_preference", TorchAoSafetensorsLayout::kernel)
                                : KernelPreference.AUTO,
                        a.nullable("act_quant_kwargs", TorchAoSafetensorsLayout::mxKwargs),
                        a.bool("is_swizzled_scales", false));
            }
            case "NVFP4Tensor" -> {
                a.known("is_swizzled_scales", "use_triton_kernel", "act_quant_kwargs", "block_size", "orig_dtype");
                JsonNode aq = a.get("act_quant_kwargs");
                if (aq != null && !aq.isNull()) {
                    throw new UnsupportedFormatException("NVFP4Tensor with act_quant_kwargs (dynamic NVFP4 "
                            + "activations) is not supported by ao4j; supported: the weight-only form (None)",
                            a.at("act_quant_kwargs"));
                }
                Parts p = new Parts(type, parts, nw, parts.containsKey("per_tensor_scale")
                        ? List.of("qdata", "scale", "per_tensor_scale") : List.of("qdata", "scale"));
                Tensor pts = parts.containsKey("per_tensor_scale") ? p.get("per_tensor_scale", DType.F32) : null;
                yield new NVFP4Tensor(p.get("qdata", DType.U8), p.get("scale", DType.F8_E4M3), pts,
                        a.integer("block_size"), a.dtype("orig_dtype"), a.bool("is_swizzled_scales", false),
                        a.bool("use_triton_kernel", false));
            }
            default -> throw new IllegalStateException("SUPPORTED_TYPES lists " + type + " but unflatten has no case");
        };
        return new StateDictEntry.Quantized(key, q);
    }

    private static Float8Tensor.ActivationQuant float8Kwargs(JsonNode n, Where w) {
        Attrs a = kwargs(n, w, "QuantizeTensorToFloat8Kwargs");
        a.known("float8_dtype", "granularity", "mm_config", "hp_value_lb", "hp_value_ub", "kernel_preference");
        Double lb = TorchAoWire.optionalDouble(a.get("hp_value_lb"), a.at("hp_value_lb"));
        Double ub = TorchAoWire.optionalDouble(a.get("hp_value_ub"), a.at("hp_value_ub"));
        return new Float8Tensor.ActivationQuant(
                a.has("float8_dtype") ? a.dtype("float8_dtype") : DType.F8_E4M3,
                a.nullable("granularity", TorchAoWire::granularity),
                a.nullable("mm_config", TorchAoWire::mmConfig),
                lb == null ? null : lb.floatValue(), ub == null ? null : ub.floatValue(),
                a.has("kernel_preference") ? a.nullable("kernel_preference", TorchAoSafetensorsLayout::kernel)
                        : KernelPreference.AUTO);
    }

    private static MXTensor.ActivationQuant mxKwargs(JsonNode n, Where w) {
        Attrs a = kwargs(n, w, "QuantizeTensorToMXKwargs");
        a.known("elem_dtype", "block_size", "scaling_mode", "kernel_preference", "is_swizzled_scales");
        return new MXTensor.ActivationQuant(mxElement(a.required("elem_dtype"), a.at("elem_dtype")),
                a.integer("block_size"),
                a.nullable("scaling_mode", (v, vw) -> TorchAoWire.enumEnvelope(v, vw,
                        TorchAoConfigCodec.SCALE_CALCULATION_MODE, ScalingMode.class)),
                a.has("kernel_preference") ? a.nullable("kernel_preference", TorchAoSafetensorsLayout::kernel)
                        : KernelPreference.AUTO,
                a.bool("is_swizzled_scales", false));
    }

    /** An MX {@code elem_dtype} (a torch dtype; torchao's fp6 string names are not modelled). */
    private static MxElement mxElement(JsonNode n, Where w) {
        DType d = TorchAoWire.torchDtype(n, w);
        try {
            return MXDynamicActivationMXWeightConfig.element(d);
        } catch (Ao4jException e) {
            throw new UnsupportedFormatException(e.originalMessage(), w, e);
        }
    }

    private static Int8Tensor.ActivationQuant int8Kwargs(JsonNode n, Where w) {
        Attrs a = kwargs(n, w, "QuantizeTensorToInt8Kwargs");
        a.known("granularity", "mapping_type", "reduce_range");
        return new Int8Tensor.ActivationQuant(a.nullable("granularity", TorchAoWire::granularity),
                a.has("mapping_type") ? a.nullable("mapping_type",
                        (v, vw) -> TorchAoWire.enumEnvelope(v, vw, "MappingType", MappingType.class))
                        : MappingType.SYMMETRIC,
                a.bool("reduce_range", false));
    }

    private static Attrs kwargs(JsonNode n, Where w, String expectedType) {
        ObjectNode o = TorchAoWire.object(n, w);
        String type = TorchAoWire.envelopeType(o, w);
        if (!type.equals(expectedType)) {
            throw new UnsupportedFormatException("expected " + expectedType + " but found _type '" + type + "'",
                    child(w, "_type"));
        }
        Where dw = child(w, "_data");
        return new Attrs(type, TorchAoWire.object(o.get("_data"), dw), dw);
    }

    private static KernelPreference kernel(JsonNode n, Where w) {
        return TorchAoWire.strEnum(n, w, "KernelPreference", KernelPreference.class, KernelPreference::fromWire,
                () -> { });
    }

    /** The {@code _data} attributes of one metadata value. */
    private record Attrs(String type, ObjectNode data, Where where) {
        void known(String... names) {
            List<String> known = List.of(names);
            for (String n : data.propertyNames()) {
                if (!known.contains(n)) {
                    throw new UnsupportedFormatException("unknown attribute '" + n + "' of " + type + "; known: "
                            + known, at(n));
                }
            }
        }

        boolean has(String name) {
            return data.has(name);
        }

        JsonNode get(String name) {
            return data.get(name);
        }

        JsonNode required(String name) {
            return TorchAoWire.required(data, name, where);
        }

        Where at(String name) {
            return child(where, name);
        }

        <T> T nullable(String name, BiFunction<JsonNode, Where, T> decode) {
            JsonNode n = data.get(name);
            return n == null || n.isNull() ? null : decode.apply(n, at(name));
        }

        int integer(String name) {
            return TorchAoWire.integer(required(name), at(name));
        }

        boolean bool(String name, boolean def) {
            JsonNode n = data.get(name);
            return n == null || n.isNull() ? def : TorchAoWire.bool(n, at(name));
        }

        DType dtype(String name) {
            return TorchAoWire.torchDtype(required(name), at(name));
        }

        Shape shape(String name) {
            return Shape.of(TorchAoWire.longArray(required(name), at(name)));
        }

        /** block_size, whose rank must match qdata's. */
        Shape blockSize(Tensor qdata) {
            Shape s = shape("block_size");
            if (s.rank() != qdata.shape().rank()) {
                throw new MalformedInputException("block_size " + s + " has rank " + s.rank() + " but qdata "
                        + qdata.shape() + " has rank " + qdata.shape().rank(), at("block_size"));
            }
            return s;
        }
    }

    /** The data fields of one entry, checked against what the ao4j record models. */
    private record Parts(String type, Map<String, Tensor> parts, Where where, List<String> modelled) {
        Parts {
            for (String f : parts.keySet()) {
                if (!modelled.contains(f)) {
                    throw new UnsupportedFormatException(type + " data field '" + f + "' is not supported by ao4j "
                            + "(AWQ/SmoothQuant pre-scales and static activation scales are not modelled); supported "
                            + "fields: " + modelled, where);
                }
            }
            for (String f : modelled) {
                if (!parts.containsKey(f)) {
                    throw new MalformedInputException(type + " lists no '" + f + "' in _tensor_data_names; ao4j needs "
                            + modelled, where);
                }
            }
        }

        Tensor get(String field, DType... allowed) {
            Tensor t = parts.get(field);
            for (DType d : allowed) {
                if (t.dtype() == d) return t;
            }
            throw new MalformedInputException(type + " field '" + field + "' has dtype " + t.dtype() + "; expected "
                    + (allowed.length == 1 ? allowed[0] : "one of " + List.of(allowed)), where);
        }
    }
}
