package dev.ao4j.transformers.torchao;

import static dev.ao4j.transformers.json.JsonPaths.child;
import static dev.ao4j.transformers.json.JsonPaths.index;
import static dev.ao4j.transformers.torchao.TorchAoWire.NODES;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.MalformedInputException;
import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.quant.Where;
import dev.ao4j.quant.config.Float8DynamicActivationFloat8WeightConfig;
import dev.ao4j.quant.config.Float8MMConfig;
import dev.ao4j.quant.config.Float8PackingFormat;
import dev.ao4j.quant.config.Float8WeightOnlyConfig;
import dev.ao4j.quant.config.Granularity;
import dev.ao4j.quant.config.Int4ChooseQParamsAlgorithm;
import dev.ao4j.quant.config.Int4PackingFormat;
import dev.ao4j.quant.config.Int4WeightOnlyConfig;
import dev.ao4j.quant.config.Int8DynamicActivationInt8WeightConfig;
import dev.ao4j.quant.config.Int8DynamicActivationIntxWeightConfig;
import dev.ao4j.quant.config.Int8WeightOnlyConfig;
import dev.ao4j.quant.config.IntxChooseQParamsAlgorithm;
import dev.ao4j.quant.config.IntxPackingFormat;
import dev.ao4j.quant.config.KernelPreference;
import dev.ao4j.quant.config.MXDynamicActivationMXWeightConfig;
import dev.ao4j.quant.config.MappingType;
import dev.ao4j.quant.config.NVFP4WeightOnlyConfig;
import dev.ao4j.quant.config.QuantConfig;
import dev.ao4j.quant.mx.ScalingMode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * torchao's {@code config_to_dict} / {@code config_from_dict} (torchao.core.config, 0.18) for the
 * {@link QuantConfig} records: {@code {"_type": ClassName, "_version": 2, "_data": {fields in torchao's
 * definition order}}}, nested granularities and {@code Float8MMConfig} with {@code "_version": 1}, dtypes as
 * {@code {"_type": "torch.dtype", "_data": "bfloat16"}}, enums as {@code {"_type": EnumClass, "_data": MEMBER}}.
 *
 * <p><b>Bare enum strings.</b> torchao's str-enum fields (packing formats, qparams algorithms, kernel
 * preference) keep whatever the Python caller passed: an enum member is written as an envelope, but a plain
 * string such as {@code int4_packing_format="tile_packed_to_4d"} is written as that bare string. The reader
 * accepts both; {@link #decode} reports which fields were bare, and {@link #toDict(QuantConfig, Set)} writes the
 * named fields bare again, so a read-modify-write reproduces a checkpoint's {@code config.json} byte for byte.
 *
 * <p>The reader follows torchao's rules: a missing {@code _data} field takes torchao's default, an unknown field
 * is an error (torchao's constructor rejects unknown keyword arguments), and {@code _version} must be 2 (the
 * version-1 configs these classes once had are removed in torchao 0.16-0.18; a missing {@code _version} means 1),
 * except for the prototype MX and NVFP4 configs, which torchao 0.18 writes as version 1.
 */
public final class TorchAoConfigCodec {

    /** The config version every supported type but the prototype ones ({@link #VERSION_1_TYPES}) is written with. */
    public static final int VERSION = 2;
    /** The prototype configs torchao 0.18 still writes as {@code _version} 1 (MX and NVFP4). */
    public static final Set<String> VERSION_1_TYPES = Set.of("MXDynamicActivationMXWeightConfig",
            "NVFP4WeightOnlyConfig");
    /** torchao's enum class name of {@link ScalingMode}. */
    static final String SCALE_CALCULATION_MODE = "ScaleCalculationMode";

    /** The result of {@link #decode}: the config and the fields that were bare strings instead of envelopes. */
    public record Decoded(QuantConfig config, Set<String> bareEnumFields) {
        public Decoded {
            bareEnumFields = Set.copyOf(bareEnumFields);
        }
    }

    private TorchAoConfigCodec() {}

    /** The torchao class names this codec reads and writes, one per {@link QuantConfig} permit. */
    public static List<String> knownTypes() {
        return Arrays.stream(QuantConfig.class.getPermittedSubclasses()).map(Class::getSimpleName).toList();
    }

    /** torchao's {@code config_to_dict(config)} with every enum as an envelope (what a Python enum member gives). */
    public static ObjectNode toDict(QuantConfig config) {
        return toDict(config, Set.of());
    }

    /**
     * torchao's {@code config_to_dict(config)}, writing the str-enum fields named in {@code bareEnumFields}
     * (torchao field names, e.g. {@code "int4_packing_format"}) as their bare value strings.
     *
     * @throws InvalidConfigException if a name is not a str-enum field of this config type
     */
    public static ObjectNode toDict(QuantConfig config, Set<String> bareEnumFields) {
        List<String> allowed = strEnumFields(config);
        for (String f : bareEnumFields) {
            if (!allowed.contains(f)) {
                throw new InvalidConfigException("bare enum field '" + f + "' is not a str-enum field of "
                        + config.torchaoName() + "; its str-enum fields: " + allowed);
            }
        }
        ObjectNode data = NODES.objectNode();
        switch (config) {
            case Int4WeightOnlyConfig c -> {
                data.put("group_size", c.groupSize());
                data.put("set_inductor_config", c.setInductorConfig());
                data.set("int4_packing_format", strEnum(bareEnumFields, "int4_packing_format",
                        "Int4PackingFormat", c.int4PackingFormat(), c.int4PackingFormat().wireValue()));
                data.set("int4_choose_qparams_algorithm", strEnum(bareEnumFields, "int4_choose_qparams_algorithm",
                        "Int4ChooseQParamsAlgorithm", c.int4ChooseQparamsAlgorithm(),
                        c.int4ChooseQparamsAlgorithm().wireValue()));
                data.put("int4_tile_packed_ntile", c.int4TilePackedNtile());
            }
            case Int8WeightOnlyConfig c -> {
                data.putNull("group_size");
                data.set("granularity", TorchAoWire.granularity(c.granularity(), true));
                data.put("set_inductor_config", c.setInductorConfig());
            }
            case Int8DynamicActivationInt8WeightConfig c -> {
                data.set("act_mapping_type", TorchAoWire.enumValue("MappingType", c.actMappingType()));
                data.put("weight_only_decode", c.weightOnlyDecode());
                data.set("granularity", c.granularity().size() == 1
                        ? TorchAoWire.granularity(c.granularity().getFirst(), true)
                        : granularityList(c.granularity()));
                data.put("set_inductor_config", c.setInductorConfig());
                data.put("reduce_range", c.reduceRange());
            }
            case Int8DynamicActivationIntxWeightConfig c -> {
                data.set("weight_dtype", TorchAoWire.torchDtype(c.weightDtypeName()));
                data.set("weight_granularity", TorchAoWire.granularity(c.weightGranularity(), true));
                data.set("weight_mapping_type", TorchAoWire.enumValue("MappingType", c.weightMappingType()));
                data.set("weight_scale_dtype", TorchAoWire.torchDtypeOrNull(c.weightScaleDtype()));
                data.set("act_mapping_type", TorchAoWire.enumValue("MappingType", c.actMappingType()));
                data.set("intx_packing_format", strEnum(bareEnumFields, "intx_packing_format", "IntxPackingFormat",
                        c.intxPackingFormat(), c.intxPackingFormat().wireValue()));
                data.set("intx_choose_qparams_algorithm", strEnum(bareEnumFields, "intx_choose_qparams_algorithm",
                        "IntxChooseQParamsAlgorithm", c.intxChooseQparamsAlgorithm(),
                        c.intxChooseQparamsAlgorithm().wireValue()));
            }
            case Float8WeightOnlyConfig c -> {
                data.set("weight_dtype", TorchAoWire.torchDtype(c.weightDtype()));
                data.put("set_inductor_config", c.setInductorConfig());
                data.set("granularity", TorchAoWire.granularity(c.granularity(), true));
            }
            case Float8DynamicActivationFloat8WeightConfig c -> {
                data.set("activation_dtype", TorchAoWire.torchDtype(c.activationDtype()));
                data.set("weight_dtype", TorchAoWire.torchDtype(c.weightDtype()));
                data.set("granularity", granularityList(c.granularity()));
                data.set("packing_format", strEnum(bareEnumFields, "packing_format", "Float8PackingFormat",
                        c.packingFormat(), c.packingFormat().wireValue()));
                data.set("mm_config", TorchAoWire.mmConfig(c.mmConfig(), true));
                data.set("activation_value_lb", TorchAoWire.doubleOrNull(c.activationValueLb()));
                data.set("activation_value_ub", TorchAoWire.doubleOrNull(c.activationValueUb()));
                data.set("kernel_preference", strEnum(bareEnumFields, "kernel_preference", "KernelPreference",
                        c.kernelPreference(), c.kernelPreference().wireValue()));
                data.put("set_inductor_config", c.setInductorConfig());
                data.put("alg_id", c.algId());
            }
            case MXDynamicActivationMXWeightConfig c -> {
                data.put("block_size", c.blockSize());
                data.set("activation_dtype", TorchAoWire.torchDtype(c.activationDtype()));
                data.set("weight_dtype", TorchAoWire.torchDtype(c.weightDtype()));
                data.set("kernel_preference", strEnum(bareEnumFields, "kernel_preference", "KernelPreference",
                        c.kernelPreference(), c.kernelPreference().wireValue()));
                data.set("scaling_mode", TorchAoWire.enumValue(SCALE_CALCULATION_MODE, c.scalingMode()));
            }
            case NVFP4WeightOnlyConfig c -> data.put("use_dynamic_per_tensor_scale", c.useDynamicPerTensorScale());
        }
        return TorchAoWire.envelope(config.torchaoName(), config.torchaoVersion(), data);
    }

    /** The str-enum fields of a config type (those torchao may write as bare strings). */
    public static List<String> strEnumFields(QuantConfig config) {
        return switch (config) {
            case Int4WeightOnlyConfig c -> List.of("int4_packing_format", "int4_choose_qparams_algorithm");
            case Int8WeightOnlyConfig c -> List.of();
            case Int8DynamicActivationInt8WeightConfig c -> List.of();
            case Int8DynamicActivationIntxWeightConfig c -> List.of("intx_packing_format",
                    "intx_choose_qparams_algorithm");
            case Float8WeightOnlyConfig c -> List.of();
            case Float8DynamicActivationFloat8WeightConfig c -> List.of("packing_format", "kernel_preference");
            case MXDynamicActivationMXWeightConfig c -> List.of("kernel_preference");
            case NVFP4WeightOnlyConfig c -> List.of();
        };
    }

    /** torchao's {@code config_from_dict(node)}; see {@link #decode} for the rules. */
    public static QuantConfig fromDict(JsonNode node, Where where) {
        return decode(node, where).config();
    }

    /**
     * Read a config dict. {@code where} locates {@code node} (e.g. file config.json, JSON path
     * {@code quantization_config.quant_type.default}); every error extends that path.
     *
     * @throws MalformedInputException      if the JSON has the wrong shape (not an object, no {@code _type}, a
     *                                      string where a number belongs)
     * @throws UnsupportedFormatException   for an unknown {@code _type} (listing {@link #knownTypes()}) or a
     *                                      {@code _version} other than 2
     * @throws InvalidConfigException       for values torchao or ao4j rejects (unknown field, group size 48, ...)
     */
    public static Decoded decode(JsonNode node, Where where) {
        ObjectNode o = TorchAoWire.object(node, where);
        String type = TorchAoWire.string(o.get("_type"), child(where, "_type"));
        if (!knownTypes().contains(type)) {
            throw new UnsupportedFormatException("unknown torchao config type '" + type + "'; known types: "
                    + knownTypes(), child(where, "_type"));
        }
        JsonNode version = o.get("_version");
        int expected = VERSION_1_TYPES.contains(type) ? 1 : VERSION;
        // torchao reads a missing _version as 1, which only the prototype configs still are
        boolean ok = version == null ? expected == 1
                : version.isIntegralNumber() && version.canConvertToInt() && version.intValue() == expected;
        if (!ok) {
            throw new UnsupportedFormatException(type + " _version " + (version == null ? "absent (= 1)"
                    : TorchAoWire.kind(version)) + " is not supported; torchao 0.18 reads version " + expected
                    + (expected == VERSION ? " (the version-1 configs were removed)" : ""), child(where, "_version"));
        }
        Where dw = child(where, "_data");
        if (!o.has("_data")) throw new MalformedInputException("config dict has no '_data'", where);
        Data d = new Data(type, TorchAoWire.object(o.get("_data"), dw), dw);
        try {
            QuantConfig config = switch (type) {
                case "Int4WeightOnlyConfig" -> int4WeightOnly(d);
                case "Int8WeightOnlyConfig" -> int8WeightOnly(d);
                case "Int8DynamicActivationInt8WeightConfig" -> int8DynamicActivationInt8Weight(d);
                case "Int8DynamicActivationIntxWeightConfig" -> int8DynamicActivationIntxWeight(d);
                case "Float8WeightOnlyConfig" -> float8WeightOnly(d);
                case "Float8DynamicActivationFloat8WeightConfig" -> float8DynamicActivationFloat8Weight(d);
                case "MXDynamicActivationMXWeightConfig" -> mxDynamicActivationMxWeight(d);
                case "NVFP4WeightOnlyConfig" -> nvfp4WeightOnly(d);
                default -> throw new IllegalStateException("knownTypes() lists " + type + " but decode has no case");
            };
            return new Decoded(config, d.bare);
        } catch (InvalidConfigException e) {
            // A record constructor's message names the field; add where in the file it came from.
            if (!e.where().isEmpty()) throw e;
            throw new InvalidConfigException(e.originalMessage(), dw, e);
        }
    }

    // ---- per-type readers (defaults = torchao's dataclass defaults) -------------------------------------------

    private static Int4WeightOnlyConfig int4WeightOnly(Data d) {
        d.known("group_size", "set_inductor_config", "int4_packing_format", "int4_choose_qparams_algorithm",
                "int4_tile_packed_ntile");
        Int4WeightOnlyConfig def = Int4WeightOnlyConfig.defaults();
        return new Int4WeightOnlyConfig(
                d.integer("group_size", def.groupSize()),
                d.bool("set_inductor_config", def.setInductorConfig()),
                d.strEnum("int4_packing_format", "Int4PackingFormat", Int4PackingFormat.class,
                        Int4PackingFormat::fromWire, def.int4PackingFormat()),
                d.strEnum("int4_choose_qparams_algorithm", "Int4ChooseQParamsAlgorithm",
                        Int4ChooseQParamsAlgorithm.class, Int4ChooseQParamsAlgorithm::fromWire,
                        def.int4ChooseQparamsAlgorithm()),
                d.integer("int4_tile_packed_ntile", def.int4TilePackedNtile()));
    }

    private static Int8WeightOnlyConfig int8WeightOnly(Data d) {
        d.known("group_size", "granularity", "set_inductor_config");
        JsonNode gs = d.get("group_size");
        if (gs != null && !gs.isNull()) {
            throw new InvalidConfigException("Int8WeightOnlyConfig.group_size must be null in version 2 (use "
                    + "granularity PerGroup(" + gs + ")) but was " + gs, d.at("group_size"));
        }
        Int8WeightOnlyConfig def = Int8WeightOnlyConfig.defaults();
        return new Int8WeightOnlyConfig(d.granularity("granularity", def.granularity()),
                d.bool("set_inductor_config", def.setInductorConfig()));
    }

    private static Int8DynamicActivationInt8WeightConfig int8DynamicActivationInt8Weight(Data d) {
        d.known("act_mapping_type", "weight_only_decode", "granularity", "set_inductor_config", "reduce_range");
        Int8DynamicActivationInt8WeightConfig def = Int8DynamicActivationInt8WeightConfig.defaults();
        // torchao treats granularity None as PerRow for both.
        List<Granularity> granularity = d.granularityOneOrList("granularity", def.granularity());
        return new Int8DynamicActivationInt8WeightConfig(
                d.envelopeEnum("act_mapping_type", "MappingType", MappingType.class, def.actMappingType()),
                d.bool("weight_only_decode", def.weightOnlyDecode()),
                granularity,
                d.bool("set_inductor_config", def.setInductorConfig()),
                d.boolOrNullFalse("reduce_range", def.reduceRange()));
    }

    private static Int8DynamicActivationIntxWeightConfig int8DynamicActivationIntxWeight(Data d) {
        d.known("weight_dtype", "weight_granularity", "weight_mapping_type", "weight_scale_dtype", "act_mapping_type",
                "intx_packing_format", "intx_choose_qparams_algorithm");
        Int8DynamicActivationIntxWeightConfig def = Int8DynamicActivationIntxWeightConfig.defaults();
        JsonNode wd = d.get("weight_dtype");
        JsonNode sd = d.get("weight_scale_dtype");
        return new Int8DynamicActivationIntxWeightConfig(
                wd == null ? def.weightBits() : TorchAoWire.intDtypeBits(wd, d.at("weight_dtype")),
                d.granularity("weight_granularity", def.weightGranularity()),
                d.envelopeEnum("weight_mapping_type", "MappingType", MappingType.class, def.weightMappingType()),
                sd == null ? def.weightScaleDtype() : TorchAoWire.torchDtypeOrNull(sd, d.at("weight_scale_dtype")),
                d.envelopeEnum("act_mapping_type", "MappingType", MappingType.class, def.actMappingType()),
                d.strEnum("intx_packing_format", "IntxPackingFormat", IntxPackingFormat.class,
                        IntxPackingFormat::fromWire, def.intxPackingFormat()),
                d.strEnum("intx_choose_qparams_algorithm", "IntxChooseQParamsAlgorithm",
                        IntxChooseQParamsAlgorithm.class, IntxChooseQParamsAlgorithm::fromWire,
                        def.intxChooseQparamsAlgorithm()));
    }

    private static Float8WeightOnlyConfig float8WeightOnly(Data d) {
        d.known("weight_dtype", "set_inductor_config", "granularity");
        Float8WeightOnlyConfig def = Float8WeightOnlyConfig.defaults();
        JsonNode wd = d.get("weight_dtype");
        JsonNode g = d.get("granularity");
        return new Float8WeightOnlyConfig(
                wd == null ? def.weightDtype() : TorchAoWire.torchDtype(wd, d.at("weight_dtype")),
                d.bool("set_inductor_config", def.setInductorConfig()),
                g == null || g.isNull() ? null : TorchAoWire.granularity(g, d.at("granularity")));
    }

    private static Float8DynamicActivationFloat8WeightConfig float8DynamicActivationFloat8Weight(Data d) {
        d.known("activation_dtype", "weight_dtype", "granularity", "packing_format", "mm_config",
                "activation_value_lb", "activation_value_ub", "kernel_preference", "set_inductor_config", "alg_id");
        Float8DynamicActivationFloat8WeightConfig def = Float8DynamicActivationFloat8WeightConfig.defaults();
        JsonNode ad = d.get("activation_dtype");
        JsonNode wd = d.get("weight_dtype");
        JsonNode g = d.get("granularity");
        JsonNode mm = d.get("mm_config");
        List<Granularity> granularity = g == null || g.isNull() ? null : d.granularityOneOrList("granularity", null);
        Float8MMConfig mmConfig = mm == null || mm.isNull() ? null : TorchAoWire.mmConfig(mm, d.at("mm_config"));
        return new Float8DynamicActivationFloat8WeightConfig(
                ad == null ? def.activationDtype() : TorchAoWire.torchDtype(ad, d.at("activation_dtype")),
                wd == null ? def.weightDtype() : TorchAoWire.torchDtype(wd, d.at("weight_dtype")),
                granularity,
                d.strEnum("packing_format", "Float8PackingFormat", Float8PackingFormat.class,
                        Float8PackingFormat::fromWire, def.packingFormat()),
                mmConfig,
                TorchAoWire.optionalDouble(d.get("activation_value_lb"), d.at("activation_value_lb")),
                TorchAoWire.optionalDouble(d.get("activation_value_ub"), d.at("activation_value_ub")),
                d.strEnum("kernel_preference", "KernelPreference", KernelPreference.class,
                        KernelPreference::fromWire, def.kernelPreference()),
                d.bool("set_inductor_config", def.setInductorConfig()),
                d.integer("alg_id", def.algId()));
    }

    private static MXDynamicActivationMXWeightConfig mxDynamicActivationMxWeight(Data d) {
        d.known("block_size", "activation_dtype", "weight_dtype", "kernel_preference", "scaling_mode");
        MXDynamicActivationMXWeightConfig def = MXDynamicActivationMXWeightConfig.defaults();
        JsonNode ad = d.get("activation_dtype");
        JsonNode wd = d.get("weight_dtype");
        return new MXDynamicActivationMXWeightConfig(
                d.integer("block_size", def.blockSize()),
                ad == null ? def.activationDtype() : TorchAoWire.torchDtype(ad, d.at("activation_dtype")),
                wd == null ? def.weightDtype() : TorchAoWire.torchDtype(wd, d.at("weight_dtype")),
                d.strEnum("kernel_preference", "KernelPreference", KernelPreference.class,
                        KernelPreference::fromWire, def.kernelPreference()),
                d.envelopeEnum("scaling_mode", SCALE_CALCULATION_MODE, ScalingMode.class, def.scalingMode()));
    }

    private static NVFP4WeightOnlyConfig nvfp4WeightOnly(Data d) {
        d.known("use_dynamic_per_tensor_scale");
        return new NVFP4WeightOnlyConfig(d.bool("use_dynamic_per_tensor_scale",
                NVFP4WeightOnlyConfig.defaults().useDynamicPerTensorScale()));
    }

    // ---- helpers ----------------------------------------------------------------------------------------------

    private static JsonNode strEnum(Set<String> bare, String field, String enumClass, Enum<?> member, String wire) {
        return bare.contains(field) ? NODES.stringNode(wire) : TorchAoWire.enumValue(enumClass, member);
    }

    private static ArrayNode granularityList(List<Granularity> gs) {
        ArrayNode a = NODES.arrayNode();
        for (Granularity g : gs) a.add(TorchAoWire.granularity(g, true));
        return a;
    }

    /** The {@code _data} object of one config, read field by field with torchao's defaults for absent fields. */
    private static final class Data {
        final String type;
        final ObjectNode data;
        final Where where;
        final Set<String> bare = new LinkedHashSet<>();

        Data(String type, ObjectNode data, Where where) {
            this.type = type;
            this.data = data;
            this.where = where;
        }

        /** Reject fields torchao's constructor would not accept. */
        void known(String... fields) {
            TorchAoWire.requireKnownFields(data, type, List.of(fields), where);
        }

        JsonNode get(String f) {
            return data.get(f);
        }

        Where at(String f) {
            return child(where, f);
        }

        int integer(String f, int def) {
            JsonNode n = data.get(f);
            return n == null ? def : TorchAoWire.integer(n, at(f));
        }

        boolean bool(String f, boolean def) {
            JsonNode n = data.get(f);
            return n == null ? def : TorchAoWire.bool(n, at(f));
        }

        /** An {@code Optional[bool]} torchao treats None like False. */
        boolean boolOrNullFalse(String f, boolean def) {
            JsonNode n = data.get(f);
            return n == null ? def : !n.isNull() && TorchAoWire.bool(n, at(f));
        }

        Granularity granularity(String f, Granularity def) {
            JsonNode n = data.get(f);
            return n == null ? def : TorchAoWire.granularity(n, at(f));
        }

        /** One granularity (kept as a 1-element list) or a list; null means {@code def}. */
        List<Granularity> granularityOneOrList(String f, List<Granularity> def) {
            JsonNode n = data.get(f);
            if (n == null || n.isNull()) return def;
            Where w = at(f);
            if (n.isArray()) {
                List<Granularity> out = new ArrayList<>();
                for (int i = 0; i < n.size(); i++) out.add(TorchAoWire.granularity(n.get(i), index(w, i)));
                return out;
            }
            return List.of(TorchAoWire.granularity(n, w));
        }

        <E extends Enum<E>> E envelopeEnum(String f, String enumClass, Class<E> cls, E def) {
            JsonNode n = data.get(f);
            return n == null ? def : TorchAoWire.enumEnvelope(n, at(f), enumClass, cls);
        }

        <E extends Enum<E>> E strEnum(String f, String enumClass, Class<E> cls, Function<String, E> fromWire, E def) {
            JsonNode n = data.get(f);
            if (n == null) return def;
            return TorchAoWire.strEnum(n, at(f), enumClass, cls, fromWire, () -> bare.add(f));
        }
    }
}
