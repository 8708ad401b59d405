package dev.ao4j.transformers.torchao;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import dev.ao4j.quant.config.KernelPreference;
import dev.ao4j.quant.config.MXDynamicActivationMXWeightConfig;
import dev.ao4j.quant.config.MappingType;
import dev.ao4j.quant.config.NVFP4WeightOnlyConfig;
import dev.ao4j.quant.config.QuantConfig;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.mx.ScalingMode;
import dev.ao4j.transformers.TestResources;
import dev.ao4j.transformers.json.PyJson;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.JsonNode;

/**
 * TorchAoConfigCodec against torchao 0.18's {@code config_to_dict} and transformers 5.17's
 * {@code TorchAoConfig.to_dict} (golden configs[], extracted by tools/extract_golden.py).
 */
class TorchAoConfigCodecTest {

    /** The ao4j config each supported golden entry was made from, and its bare-string enum fields. */
    private static final Map<String, Expected> GOLDEN = Map.ofEntries(
            Map.entry("int4wo_g128_plain", new Expected(Int4WeightOnlyConfig.defaults(), Set.of())),
            Map.entry("int4wo_g128_tile_packed_to_4d", new Expected(
                    Int4WeightOnlyConfig.defaults().withInt4PackingFormat(Int4PackingFormat.TILE_PACKED_TO_4D),
                    Set.of("int4_packing_format"))),
            Map.entry("fp8dq_perrow", new Expected(
                    Float8DynamicActivationFloat8WeightConfig.defaults().withGranularity(new Granularity.PerRow()),
                    Set.of())),
            Map.entry("fp8dq_pertensor", new Expected(Float8DynamicActivationFloat8WeightConfig.defaults(), Set.of())),
            Map.entry("fp8wo", new Expected(Float8WeightOnlyConfig.defaults(), Set.of())),
            Map.entry("int8wo", new Expected(Int8WeightOnlyConfig.defaults(), Set.of())),
            Map.entry("int8dq", new Expected(Int8DynamicActivationInt8WeightConfig.defaults(), Set.of())),
            Map.entry("8da4w_g32", new Expected(Int8DynamicActivationIntxWeightConfig.of8da4w(32), Set.of())),
            Map.entry("mxfp8", new Expected(MXDynamicActivationMXWeightConfig.defaults(), Set.of())),
            Map.entry("mxfp4", new Expected(MXDynamicActivationMXWeightConfig.mxfp4(), Set.of())),
            Map.entry("nvfp4_wo", new Expected(NVFP4WeightOnlyConfig.defaults(), Set.of())));

    /** Golden types ao4j deliberately does not model (the intx weight-only config). */
    private static final Set<String> UNSUPPORTED = Set.of("IntxWeightOnlyConfig");

    record Expected(QuantConfig config, Set<String> bare) {}

    record GoldenConfig(String name, String type, String configToDict, String transformers, String sorted) {
        @Override
        public String toString() {
            return name;
        }
    }

    static List<GoldenConfig> golden() {
        JsonNode arr = PyJson.parse(TestResources.text("golden/configs.json"), Where.NOWHERE);
        List<GoldenConfig> out = new ArrayList<>();
        for (JsonNode c : arr.values()) {
            out.add(new GoldenConfig(c.get("name").stringValue(), c.get("type").stringValue(),
                    c.get("config_to_dict").stringValue(), c.get("transformers_quantization_config").stringValue(),
                    c.get("transformers_quantization_config_json_sorted").stringValue()));
        }
        return out;
    }

    static Stream<GoldenConfig> supportedGolden() {
        return golden().stream().filter(g -> !UNSUPPORTED.contains(g.type()));
    }

    static Stream<GoldenConfig> unsupportedGolden() {
        return golden().stream().filter(g -> UNSUPPORTED.contains(g.type()));
    }

    @Test
    void everyGoldenEntryIsClassified() {
        for (GoldenConfig g : golden()) {
            assertTrue(GOLDEN.containsKey(g.name()) || UNSUPPORTED.contains(g.type()), "unclassified " + g.name());
        }
        assertEquals(GOLDEN.size(), supportedGolden().count());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("supportedGolden")
    void toDictIsByteIdenticalToConfigToDict(GoldenConfig g) {
        Expected e = GOLDEN.get(g.name());
        assertEquals(g.configToDict(), PyJson.dumps(TorchAoConfigCodec.toDict(e.config(), e.bare())));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("supportedGolden")
    void transformersDictIsByteIdentical(GoldenConfig g) {
        Expected e = GOLDEN.get(g.name());
        TorchAoQuantizationConfig q = TorchAoQuantizationConfig.of(e.config()).withBareEnumFields(e.bare());
        assertEquals(g.transformers(), PyJson.dumps(q.toJson()));
        assertEquals(g.sorted(), PyJson.dumps(q.toJson(), 2, true));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("supportedGolden")
    void goldenDictsDecodeToTheExpectedConfig(GoldenConfig g) {
        Expected e = GOLDEN.get(g.name());
        TorchAoConfigCodec.Decoded d = TorchAoConfigCodec.decode(PyJson.parse(g.configToDict(), Where.NOWHERE),
                Where.NOWHERE);
        assertEquals(e.config(), d.config());
        assertEquals(e.bare(), d.bareEnumFields());
        TorchAoQuantizationConfig q = TorchAoQuantizationConfig.fromJson(PyJson.parse(g.sorted(), Where.NOWHERE),
                Where.NOWHERE);
        assertEquals(TorchAoQuantizationConfig.of(e.config()).withBareEnumFields(e.bare()), q);
        assertEquals(g.transformers(), PyJson.dumps(q.toJson()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("unsupportedGolden")
    void unsupportedGoldenTypesAreRejectedWithTheKnownTypes(GoldenConfig g) {
        Where w = Where.json(Path.of("config.json"), "quantization_config.quant_type.default");
        var e = assertThrows(UnsupportedFormatException.class,
                () -> TorchAoConfigCodec.fromDict(PyJson.parse(g.configToDict(), Where.NOWHERE), w));
        assertEquals("config.json: field 'quantization_config.quant_type.default._type': unknown torchao config type '"
                + g.type() + "'; known types: [Int4WeightOnlyConfig, Int8WeightOnlyConfig, "
                + "Int8DynamicActivationInt8WeightConfig, Int8DynamicActivationIntxWeightConfig, "
                + "Float8WeightOnlyConfig, Float8DynamicActivationFloat8WeightConfig, "
                + "MXDynamicActivationMXWeightConfig, NVFP4WeightOnlyConfig]", e.getMessage());
    }

    static Stream<Arguments> roundTrips() {
        return Stream.of(
                Int4WeightOnlyConfig.defaults(),
                Int4WeightOnlyConfig.defaults().withGroupSize(32).withSetInductorConfig(false)
                        .withInt4PackingFormat(Int4PackingFormat.TILE_PACKED_TO_4D)
                        .withInt4ChooseQparamsAlgorithm(Int4ChooseQParamsAlgorithm.HQQ).withInt4TilePackedNtile(16),
                Int4WeightOnlyConfig.defaults().withInt4PackingFormat(Int4PackingFormat.PLAIN_INT32),
                Int8WeightOnlyConfig.defaults(),
                Int8WeightOnlyConfig.defaults().withGranularity(new Granularity.PerGroup(64)),
                Int8WeightOnlyConfig.defaults().withGranularity(new Granularity.PerTensor()).withSetInductorConfig(false),
                Int8DynamicActivationInt8WeightConfig.defaults(),
                Int8DynamicActivationInt8WeightConfig.defaults().withActMappingType(MappingType.ASYMMETRIC)
                        .withGranularity(new Granularity.PerRow(), new Granularity.PerTensor()).withReduceRange(true)
                        .withWeightOnlyDecode(true),
                Int8DynamicActivationIntxWeightConfig.defaults(),
                Int8DynamicActivationIntxWeightConfig.of8da4w(128).withWeightScaleDtype(DType.F32)
                        .withWeightMappingType(MappingType.ASYMMETRIC),
                Int8DynamicActivationIntxWeightConfig.defaults().withWeightBits(2)
                        .withWeightGranularity(new Granularity.PerAxis(0))
                        .withIntxChooseQparamsAlgorithm(IntxChooseQParamsAlgorithm.HQQ_SCALE_ONLY),
                Float8WeightOnlyConfig.defaults(),
                Float8WeightOnlyConfig.defaults().withWeightDtype(DType.F8_E5M2)
                        .withGranularity(new Granularity.PerGroup(128)),
                Float8DynamicActivationFloat8WeightConfig.defaults(),
                Float8DynamicActivationFloat8WeightConfig.defaults()
                        .withGranularity(Float8DynamicActivationFloat8WeightConfig.BLOCK_1X128,
                                Float8DynamicActivationFloat8WeightConfig.BLOCK_128X128)
                        .withMmConfig(null),
                Float8DynamicActivationFloat8WeightConfig.defaults().withActivationValueLb(1e-12)
                        .withActivationValueUb(1200.5).withKernelPreference(KernelPreference.TORCH)
                        .withPackingFormat(Float8PackingFormat.SPARSE_1D_DATA_1D_METADATA).withAlgId(3)
                        .withMmConfig(new Float8MMConfig(true, false, true)).withActivationDtype(DType.F8_E5M2),
                MXDynamicActivationMXWeightConfig.defaults(),
                MXDynamicActivationMXWeightConfig.mxfp4().withScalingMode(ScalingMode.FLOOR)
                        .withKernelPreference(KernelPreference.EMULATED),
                MXDynamicActivationMXWeightConfig.defaults().withElementDtype(DType.F8_E5M2)
                        .withScalingMode(ScalingMode.EVEN),
                NVFP4WeightOnlyConfig.defaults(),
                NVFP4WeightOnlyConfig.defaults().withUseDynamicPerTensorScale(false))
                .map(Arguments::of);
    }

    @ParameterizedTest
    @MethodSource("roundTrips")
    void fromDictOfToDictIsIdentity(QuantConfig c) {
        String text = PyJson.dumps(TorchAoConfigCodec.toDict(c));
        assertEquals(c, TorchAoConfigCodec.fromDict(PyJson.parse(text, Where.NOWHERE), Where.NOWHERE));
        for (String bare : TorchAoConfigCodec.strEnumFields(c)) {
            TorchAoConfigCodec.Decoded d = TorchAoConfigCodec.decode(
                    TorchAoConfigCodec.toDict(c, Set.of(bare)), Where.NOWHERE);
            assertEquals(c, d.config());
            assertEquals(Set.of(bare), d.bareEnumFields());
        }
    }

    @Test
    void everyPermitHasARoundTripCase() {
        Set<Class<?>> covered = new java.util.HashSet<>();
        roundTrips().forEach(a -> covered.add(a.get()[0].getClass()));
        assertEquals(Set.of(QuantConfig.class.getPermittedSubclasses()), covered);
        assertEquals(Arrays.stream(QuantConfig.class.getPermittedSubclasses()).map(Class::getSimpleName).toList(),
                TorchAoConfigCodec.knownTypes());
    }

    @Test
    void blockwiseDefaultsToNoFastAccumulation() {
        String text = "{\"_type\": \"Float8DynamicActivationFloat8WeightConfig\", \"_version\": 2, \"_data\": "
                + "{\"granularity\": [{\"_type\": \"PerBlock\", \"_version\": 1, \"_data\": {\"block_size\": [1, 128]}}, "
                + "{\"_type\": \"PerBlock\", \"_version\": 1, \"_data\": {\"block_size\": [128, 128]}}]}}";
        var c = (Float8DynamicActivationFloat8WeightConfig) TorchAoConfigCodec.fromDict(
                PyJson.parse(text, Where.NOWHERE), Where.NOWHERE);
        assertEquals(new Float8MMConfig(false, false, false), c.mmConfig());
    }

    @Test
    void missingFieldsTakeTorchaoDefaults() {
        // e.g. a 0.16 checkpoint written before int4_tile_packed_ntile existed
        String text = "{\"_type\": \"Int4WeightOnlyConfig\", \"_version\": 2, \"_data\": {\"group_size\": 64}}";
        assertEquals(Int4WeightOnlyConfig.defaults().withGroupSize(64),
                TorchAoConfigCodec.fromDict(PyJson.parse(text, Where.NOWHERE), Where.NOWHERE));
    }

    @Test
    void kernelPreferenceAcceptsTheBareString() {
        String text = "{\"_type\": \"Float8DynamicActivationFloat8WeightConfig\", \"_version\": 2, \"_data\": "
                + "{\"kernel_preference\": \"torch\", \"packing_format\": \"plain\"}}";
        var d = TorchAoConfigCodec.decode(PyJson.parse(text, Where.NOWHERE), Where.NOWHERE);
        assertEquals(Float8DynamicActivationFloat8WeightConfig.defaults().withKernelPreference(KernelPreference.TORCH),
                d.config());
        assertEquals(Set.of("kernel_preference", "packing_format"), d.bareEnumFields());
    }

    // ---- errors -----------------------------------------------------------------------------------------------

    private static final Where W = Where.json(Path.of("config.json"), "quantization_config.quant_type.default");

    private static QuantConfig decode(String text) {
        return TorchAoConfigCodec.fromDict(PyJson.parse(text, Where.NOWHERE), W);
    }

    @Test
    void badGroupSizeNamesFieldExpectedAndFound() {
        var e = assertThrows(InvalidConfigException.class, () -> decode(
                "{\"_type\": \"Int4WeightOnlyConfig\", \"_version\": 2, \"_data\": {\"group_size\": 48}}"));
        assertEquals("config.json: field 'quantization_config.quant_type.default._data': "
                + "Int4WeightOnlyConfig.groupSize (group_size) must be one of [32, 64, 128, 256] but was 48",
                e.getMessage());
    }

    @Test
    void unknownFieldIsRejected() {
        var e = assertThrows(InvalidConfigException.class, () -> decode(
                "{\"_type\": \"Int4WeightOnlyConfig\", \"_version\": 2, \"_data\": {\"use_hqq\": false}}"));
        assertEquals("config.json: field 'quantization_config.quant_type.default._data.use_hqq': unknown field "
                + "'use_hqq' for Int4WeightOnlyConfig; known fields: [group_size, set_inductor_config, "
                + "int4_packing_format, int4_choose_qparams_algorithm, int4_tile_packed_ntile]", e.getMessage());
    }

    @Test
    void version1IsRejected() {
        var e = assertThrows(UnsupportedFormatException.class, () -> decode(
                "{\"_type\": \"Int8WeightOnlyConfig\", \"_data\": {}}"));
        assertEquals("config.json: field 'quantization_config.quant_type.default._version': Int8WeightOnlyConfig "
                + "_version absent (= 1) is not supported; torchao 0.18 reads version 2 (the version-1 configs were "
                + "removed)", e.getMessage());
    }

    /** The prototype MX / NVFP4 configs are still version 1 in torchao 0.18, so 1 (or absent) is what they read. */
    @Test
    void prototypeConfigsAreVersion1() {
        assertEquals(NVFP4WeightOnlyConfig.defaults(),
                decode("{\"_type\": \"NVFP4WeightOnlyConfig\", \"_data\": {}}"));
        var e = assertThrows(UnsupportedFormatException.class, () -> decode(
                "{\"_type\": \"MXDynamicActivationMXWeightConfig\", \"_version\": 2, \"_data\": {}}"));
        assertEquals("config.json: field 'quantization_config.quant_type.default._version': "
                + "MXDynamicActivationMXWeightConfig _version number 2 is not supported; torchao 0.18 reads version 1",
                e.getMessage());
    }

    @Test
    void mxDtypesMustMatch() {
        var e = assertThrows(InvalidConfigException.class, () -> decode(
                "{\"_type\": \"MXDynamicActivationMXWeightConfig\", \"_version\": 1, \"_data\": "
                        + "{\"weight_dtype\": {\"_type\": \"torch.dtype\", \"_data\": \"float4_e2m1fn_x2\"}}}"));
        assertEquals("config.json: field 'quantization_config.quant_type.default._data': "
                + "MXDynamicActivationMXWeightConfig.activationDtype (activation_dtype) must equal weightDtype "
                + "(weight_dtype) float4_e2m1fn_x2 but was float8_e4m3fn", e.getMessage());
    }

    @Test
    void unknownEnumMemberListsMembers() {
        var e = assertThrows(InvalidConfigException.class, () -> decode("{\"_type\": \"Int4WeightOnlyConfig\", "
                + "\"_version\": 2, \"_data\": {\"int4_packing_format\": {\"_type\": \"Int4PackingFormat\", "
                + "\"_data\": \"MARLIN_SPARSE\"}}}"));
        assertEquals("config.json: field 'quantization_config.quant_type.default._data.int4_packing_format._data': "
                + "unknown Int4PackingFormat member 'MARLIN_SPARSE'; members: [PLAIN, PRESHUFFLED, PLAIN_INT32, "
                + "TILE_PACKED_TO_4D]", e.getMessage());
    }

    @Test
    void unknownBareEnumValueListsValues() {
        var e = assertThrows(InvalidConfigException.class, () -> decode("{\"_type\": \"Int4WeightOnlyConfig\", "
                + "\"_version\": 2, \"_data\": {\"int4_packing_format\": \"PLAIN\"}}"));
        assertEquals("config.json: field 'quantization_config.quant_type.default._data.int4_packing_format': "
                + "unknown Int4PackingFormat value 'PLAIN'; legal values: [plain, preshuffled, plain_int32, "
                + "tile_packed_to_4d]", e.getMessage());
    }

    @Test
    void wrongJsonTypeIsMalformed() {
        var e = assertThrows(MalformedInputException.class, () -> decode(
                "{\"_type\": \"Int4WeightOnlyConfig\", \"_version\": 2, \"_data\": {\"group_size\": \"128\"}}"));
        assertEquals("config.json: field 'quantization_config.quant_type.default._data.group_size': expected an "
                + "integer but found string \"128\"", e.getMessage());
        var e2 = assertThrows(MalformedInputException.class, () -> decode("[1]"));
        assertEquals("config.json: field 'quantization_config.quant_type.default': expected a JSON object but found "
                + "array [1]", e2.getMessage());
    }

    @Test
    void badFloat8PairNamesTheAllowedPairs() {
        var e = assertThrows(InvalidConfigException.class, () -> decode(
                "{\"_type\": \"Float8DynamicActivationFloat8WeightConfig\", \"_version\": 2, \"_data\": "
                        + "{\"granularity\": [{\"_type\": \"PerRow\", \"_version\": 1, \"_data\": {\"dim\": -1}}, "
                        + "{\"_type\": \"PerTensor\", \"_version\": 1, \"_data\": {}}]}}"));
        assertEquals("config.json: field 'quantization_config.quant_type.default._data': "
                + "Float8DynamicActivationFloat8WeightConfig.granularity (granularity) must be one of the pairs "
                + "[PerTensor, PerTensor], [PerRow, PerRow] or [PerBlock([1, 128]), PerBlock([128, 128])] but was "
                + "[PerRow[dim=-1], PerTensor[]]", e.getMessage());
    }

    @Test
    void unknownGranularityListsKnownOnes() {
        var e = assertThrows(UnsupportedFormatException.class, () -> decode(
                "{\"_type\": \"Int8WeightOnlyConfig\", \"_version\": 2, \"_data\": "
                        + "{\"granularity\": {\"_type\": \"PerToken\", \"_version\": 1, \"_data\": {}}}}"));
        assertEquals("config.json: field 'quantization_config.quant_type.default._data.granularity._type': unknown "
                + "granularity type 'PerToken'; known types: [PerTensor, PerRow, PerGroup, PerAxis, PerBlock]",
                e.getMessage());
    }

    @Test
    void int8WeightOnlyGroupSizeMustBeNull() {
        var e = assertThrows(InvalidConfigException.class, () -> decode(
                "{\"_type\": \"Int8WeightOnlyConfig\", \"_version\": 2, \"_data\": {\"group_size\": 64}}"));
        assertEquals("config.json: field 'quantization_config.quant_type.default._data.group_size': "
                + "Int8WeightOnlyConfig.group_size must be null in version 2 (use granularity PerGroup(64)) but was 64",
                e.getMessage());
    }

    @Test
    void bareFieldMustBeAStrEnumField() {
        var e = assertThrows(InvalidConfigException.class,
                () -> TorchAoConfigCodec.toDict(Int8WeightOnlyConfig.defaults(), Set.of("granularity")));
        assertEquals("bare enum field 'granularity' is not a str-enum field of Int8WeightOnlyConfig; its str-enum "
                + "fields: []", e.getMessage());
    }

    @Test
    void transformersStringQuantTypeIsRejected() {
        var e = assertThrows(UnsupportedFormatException.class, () -> TorchAoQuantizationConfig.fromJson(
                PyJson.parse("{\"quant_method\": \"torchao\", \"quant_type\": \"int4_weight_only\"}", Where.NOWHERE),
                Where.json(Path.of("config.json"), "quantization_config")));
        assertEquals("config.json: field 'quantization_config.quant_type': string quant_type 'int4_weight_only' is "
                + "the transformers 4.x form, which transformers 5 rejects; expected {\"default\": <torchao config "
                + "dict>}", e.getMessage());
        var e2 = assertThrows(UnsupportedFormatException.class, () -> TorchAoQuantizationConfig.fromJson(
                PyJson.parse("{\"quant_method\": \"gptq\"}", Where.NOWHERE),
                Where.json(Path.of("config.json"), "quantization_config")));
        assertEquals("config.json: field 'quantization_config.quant_method': quant_method is 'gptq'; only 'torchao' "
                + "is a TorchAoConfig", e2.getMessage());
    }

    @Test
    void modulesToNotConvertRoundTrips() {
        TorchAoQuantizationConfig q = TorchAoQuantizationConfig.of(Int8WeightOnlyConfig.defaults())
                .withModulesToNotConvert(List.of("lm_head", "model.layers.0.mlp.down_proj"))
                .withIncludeInputOutputEmbeddings(true).withUntieEmbeddingWeights(true);
        String text = PyJson.dumps(q.toJson());
        assertTrue(text.contains("\"modules_to_not_convert\": [\"lm_head\", \"model.layers.0.mlp.down_proj\"], "
                + "\"include_input_output_embeddings\": true, \"untie_embedding_weights\": true}"), text);
        assertEquals(q, TorchAoQuantizationConfig.fromJson(PyJson.parse(text, Where.NOWHERE), Where.NOWHERE));
    }
}
