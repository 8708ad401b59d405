package dev.ao4j.transformers.torchao;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.MalformedInputException;
import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.quant.Where;
import dev.ao4j.quant.config.Float8MMConfig;
import dev.ao4j.quant.config.Granularity;
import dev.ao4j.quant.config.KernelPreference;
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
import dev.ao4j.safetensors.SafetensorsFile;
import dev.ao4j.transformers.TestResources;
import dev.ao4j.transformers.json.PyJson;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import tools.jackson.databind.JsonNode;

/**
 * TorchAoSafetensorsLayout against files torchao 0.18's {@code flatten_tensor_state_dict} wrote (golden
 * serialization/, one Linear(512 -> 256) named 'proj', saved through transformers on CUDA) and the headers of the
 * tiny Llama checkpoints transformers 5.17 saved.
 */
class TorchAoSafetensorsLayoutTest {

    static Stream<Arguments> serializationFiles() {
        return Stream.of(
                Arguments.of("int8wo", Int8Tensor.class, List.of("qdata", "scale", "zero_point")),
                Arguments.of("int8dq", Int8Tensor.class, List.of("qdata", "scale", "zero_point")),
                Arguments.of("8da4w_g32", IntxUnpackedToInt8Tensor.class, List.of("qdata", "scale", "zero_point")),
                Arguments.of("intx_wo_int4_g32", IntxUnpackedToInt8Tensor.class,
                        List.of("qdata", "scale", "zero_point")),
                Arguments.of("fp8wo", Float8Tensor.class, List.of("qdata", "scale")),
                Arguments.of("fp8dq_perrow", Float8Tensor.class, List.of("qdata", "scale")),
                Arguments.of("fp8dq_pertensor", Float8Tensor.class, List.of("qdata", "scale")),
                Arguments.of("int4wo_g128_tile_packed_to_4d", Int4TilePackedTo4dTensor.class,
                        List.of("qdata", "scale_and_zero")),
                Arguments.of("mxfp8", MXTensor.class, List.of("qdata", "scale")),
                Arguments.of("mxfp4", MXTensor.class, List.of("qdata", "scale")),
                Arguments.of("nvfp4_wo", NVFP4Tensor.class, List.of("qdata", "scale", "per_tensor_scale")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("serializationFiles")
    void unflattenThenFlattenReproducesTheFile(String name, Class<?> type, List<String> fields) {
        try (SafetensorsFile f = SafetensorsFile.open(TestResources.path("golden/serialization/" + name
                + ".safetensors"))) {
            Function<String, Tensor> lookup = n -> f.contains(n) ? f.tensor(n) : null;
            List<StateDictEntry> entries = TorchAoSafetensorsLayout.unflatten(f.metadata(), lookup,
                    Where.file(f.path()));
            assertEquals(1, entries.size());
            var q = assertInstanceOf(StateDictEntry.Quantized.class, entries.getFirst());
            assertEquals("proj.weight", q.key());
            assertInstanceOf(type, q.tensor());
            assertEquals(List.of(256L, 512L), List.of(q.tensor().shape().dim(0), q.tensor().shape().dim(1)));

            TorchAoSafetensorsLayout.Flattened flat = TorchAoSafetensorsLayout.flatten("proj.weight", q.tensor());
            assertEquals(f.metadata().get("proj.weight"), flat.metadata());
            // torchao's order: required tensor_data_names, then present optional ones
            assertEquals(fields.stream().map(s -> "proj._weight_" + s).toList(),
                    flat.tensors().stream().map(TorchAoSafetensorsLayout.NamedTensor::name).toList());
            assertEquals(f.names().size(), flat.tensors().size());
            for (TorchAoSafetensorsLayout.NamedTensor t : flat.tensors()) {
                assertTrue(t.tensor().contentEquals(f.tensor(t.name())), t.name());
            }
            assertEquals(f.metadata(), TorchAoSafetensorsLayout.fileMetadata(List.of(flat)));
            assertTrue(TorchAoSafetensorsLayout.isTorchAoMetadata(f.metadata()));
        }
    }

    @Test
    void goldenAttributesDecodeToTheExpectedRecords() {
        try (SafetensorsFile f = SafetensorsFile.open(TestResources.path("golden/serialization/fp8dq_perrow.safetensors"))) {
            var e = (StateDictEntry.Quantized) TorchAoSafetensorsLayout.unflatten("proj.weight",
                    f.metadata().get("proj.weight"), f::tensor, Where.file(f.path()));
            Float8Tensor t = (Float8Tensor) e.tensor();
            assertEquals(Shape.of(1, 512), t.blockSize());
            assertEquals(new Float8MMConfig(false, true, false), t.mmConfig());
            assertEquals(new Float8Tensor.ActivationQuant(DType.F8_E4M3, new Granularity.PerRow(), null, null, null,
                    KernelPreference.AUTO), t.activationQuant());
            assertEquals(KernelPreference.AUTO, t.kernelPreference());
            assertEquals(DType.BF16, t.originalDtype());
        }
        try (SafetensorsFile f = SafetensorsFile.open(TestResources.path("golden/serialization/int8dq.safetensors"))) {
            var e = (StateDictEntry.Quantized) TorchAoSafetensorsLayout.unflatten("proj.weight",
                    f.metadata().get("proj.weight"), f::tensor, Where.file(f.path()));
            Int8Tensor t = (Int8Tensor) e.tensor();
            assertEquals(new Int8Tensor.ActivationQuant(new Granularity.PerRow(), MappingType.SYMMETRIC, false),
                    t.activationQuant());
            assertEquals(Shape.of(256, 1), t.zeroPoint().shape());
        }
        try (SafetensorsFile f = SafetensorsFile.open(TestResources.path("golden/serialization/8da4w_g32.safetensors"))) {
            var e = (StateDictEntry.Quantized) TorchAoSafetensorsLayout.unflatten("proj.weight",
                    f.metadata().get("proj.weight"), f::tensor, Where.file(f.path()));
            IntxUnpackedToInt8Tensor t = (IntxUnpackedToInt8Tensor) e.tensor();
            assertEquals(4, t.bits());
            assertEquals("int8_asym_per_token", t.activationQuantization());
            assertEquals(Shape.of(1, 32), t.blockSize());
        }
    }

    /** The worked example of the spec (§12.3): Int4Tensor has no golden file (its kernels were not installed). */
    @Test
    void int4PlainMetadataMatchesTheSpecExample() {
        Int4Tensor t = new Int4Tensor(Tensor.allocate(DType.I8, Shape.of(256, 256)),
                Tensor.allocate(DType.BF16, Shape.of(4, 256)), Tensor.allocate(DType.BF16, Shape.of(4, 256)),
                Shape.of(1, 128), Shape.of(256, 512), DType.BF16);
        var flat = TorchAoSafetensorsLayout.flatten("model.layers.0.mlp.down_proj.weight", t);
        assertEquals("{\"_type\": \"Int4Tensor\", \"_data\": {\"activation_dtype\": {\"_type\": \"torch.dtype\", "
                + "\"_data\": \"bfloat16\"}, \"block_size\": [1, 128], \"shape\": [256, 512]}, \"_tensor_data_names\": "
                + "[\"qdata\", \"scale\", \"zero_point\"]}", flat.metadata());
        assertEquals(List.of("model.layers.0.mlp.down_proj._weight_qdata", "model.layers.0.mlp.down_proj._weight_scale",
                "model.layers.0.mlp.down_proj._weight_zero_point"),
                flat.tensors().stream().map(TorchAoSafetensorsLayout.NamedTensor::name).toList());
        Map<String, Tensor> byName = new HashMap<>();
        flat.tensors().forEach(n -> byName.put(n.name(), n.tensor()));
        var back = (StateDictEntry.Quantized) TorchAoSafetensorsLayout.unflatten(flat.key(), flat.metadata(),
                byName::get, Where.NOWHERE);
        assertEquals(flat.metadata(), TorchAoSafetensorsLayout.metadataJson(back.tensor()));
    }

    static Stream<String> llamaVariants() {
        return Stream.of("8da4w_g32", "fp8dq_perrow", "int4wo_g128_tile_packed_to_4d", "int8wo");
    }

    /** Whole-model headers: tensor_names, every entry's metadata, and the flattened tensor names. */
    @ParameterizedTest
    @MethodSource("llamaVariants")
    void llamaCheckpointMetadataIsReproduced(String variant) {
        JsonNode header = PyJson.parse(TestResources.text("golden/llama/" + variant + "/header.json"), Where.NOWHERE);
        Map<String, String> metadata = new LinkedHashMap<>();
        header.get("__metadata__").properties().forEach(e -> metadata.put(e.getKey(), e.getValue().stringValue()));
        Map<String, Tensor> zeros = new HashMap<>();
        header.properties().forEach(e -> {
            if (e.getKey().equals("__metadata__")) return;
            long[] dims = new long[e.getValue().get("shape").size()];
            for (int i = 0; i < dims.length; i++) dims[i] = e.getValue().get("shape").get(i).longValue();
            zeros.put(e.getKey(), Tensor.allocate(DType.fromSafetensors(e.getValue().get("dtype").stringValue()),
                    Shape.of(dims)));
        });
        List<StateDictEntry> entries = TorchAoSafetensorsLayout.unflatten(metadata, zeros::get, Where.NOWHERE);
        assertEquals(21, entries.size());
        List<TorchAoSafetensorsLayout.Flattened> flat = new ArrayList<>();
        for (StateDictEntry e : entries) {
            flat.add(switch (e) {
                case StateDictEntry.Plain p -> TorchAoSafetensorsLayout.plain(p.key(), p.tensor());
                case StateDictEntry.Quantized q -> TorchAoSafetensorsLayout.flatten(q.key(), q.tensor());
            });
        }
        assertEquals(metadata, TorchAoSafetensorsLayout.fileMetadata(flat));
        assertEquals(zeros.keySet(), flat.stream().flatMap(f -> f.tensors().stream())
                .map(TorchAoSafetensorsLayout.NamedTensor::name).collect(java.util.stream.Collectors.toSet()));
        assertEquals(14, entries.stream().filter(e -> e instanceof StateDictEntry.Quantized).count());
    }

    // ---- errors -----------------------------------------------------------------------------------------------

    private static final String FP8_META = "{\"_type\": \"Float8Tensor\", \"_data\": {\"block_size\": [1, 512], "
            + "\"mm_config\": null, \"act_quant_kwargs\": null, \"kernel_preference\": {\"_type\": \"KernelPreference\", "
            + "\"_data\": \"AUTO\"}, \"dtype\": {\"_type\": \"torch.dtype\", \"_data\": \"bfloat16\"}}, "
            + "\"_tensor_data_names\": [\"qdata\", \"scale\"]}";

    private static Map<String, Tensor> fp8Parts() {
        return Map.of("proj._weight_qdata", Tensor.allocate(DType.F8_E4M3, Shape.of(256, 512)),
                "proj._weight_scale", Tensor.allocate(DType.F32, Shape.of(256, 1)));
    }

    @Test
    void missingPartNamesTheFlattenedTensor() {
        Map<String, Tensor> parts = new HashMap<>(fp8Parts());
        parts.remove("proj._weight_scale");
        var e = assertThrows(MalformedInputException.class, () -> TorchAoSafetensorsLayout.unflatten("proj.weight",
                FP8_META, parts::get, Where.NOWHERE));
        assertEquals("tensor 'proj._weight_scale': tensor 'proj._weight_scale' (field 'scale' of Float8Tensor) is "
                + "missing", e.getMessage());
    }

    @Test
    void mxAndNvfp4AttributesDecodeToTheExpectedRecords() {
        try (SafetensorsFile f = SafetensorsFile.open(TestResources.path("golden/serialization/mxfp4.safetensors"))) {
            var e = (StateDictEntry.Quantized) TorchAoSafetensorsLayout.unflatten("proj.weight",
                    f.metadata().get("proj.weight"), f::tensor, Where.file(f.path()));
            MXTensor t = (MXTensor) e.tensor();
            assertEquals(MxElement.FP4_E2M1, t.element());
            assertEquals(32, t.blockSize());
            assertEquals(DType.BF16, t.originalDtype());
            assertEquals(KernelPreference.AUTO, t.kernelPreference());
            assertEquals(new MXTensor.ActivationQuant(MxElement.FP4_E2M1, 32, ScalingMode.RCEIL, KernelPreference.AUTO,
                    true), t.activationQuant());
            assertTrue(t.swizzledScales());
            assertEquals(Shape.of(256, 512), t.shape());
        }
        try (SafetensorsFile f = SafetensorsFile.open(
                TestResources.path("golden/serialization/nvfp4_wo.safetensors"))) {
            var e = (StateDictEntry.Quantized) TorchAoSafetensorsLayout.unflatten("proj.weight",
                    f.metadata().get("proj.weight"), f::tensor, Where.file(f.path()));
            NVFP4Tensor t = (NVFP4Tensor) e.tensor();
            assertEquals(16, t.blockSize());
            assertTrue(t.swizzledScales());
            assertFalse(t.useTritonKernel());
            assertEquals(Shape.of(), t.perTensorScale().shape());
            assertEquals(Shape.of(256, 512), t.shape());
            // without the optional per-tensor scale, the data names shrink to the required ones
            NVFP4Tensor noPts = new NVFP4Tensor(t.qdata(), t.scale(), null, 16, DType.BF16, true, false);
            var flat = TorchAoSafetensorsLayout.flatten("proj.weight", noPts);
            assertTrue(flat.metadata().endsWith("\"_tensor_data_names\": [\"qdata\", \"scale\"]}"), flat.metadata());
            Map<String, Tensor> byName = new HashMap<>();
            flat.tensors().forEach(n -> byName.put(n.name(), n.tensor()));
            var back = (StateDictEntry.Quantized) TorchAoSafetensorsLayout.unflatten(flat.key(), flat.metadata(),
                    byName::get, Where.NOWHERE);
            assertEquals(null, ((NVFP4Tensor) back.tensor()).perTensorScale());
        }
    }

    @Test
    void nvfp4ActivationKwargsAreUnsupported() {
        String md = "{\"_type\": \"NVFP4Tensor\", \"_data\": {\"is_swizzled_scales\": true, \"use_triton_kernel\": "
                + "true, \"act_quant_kwargs\": {\"_type\": \"QuantizeTensorToNVFP4Kwargs\", \"_data\": {}}, "
                + "\"block_size\": 16, \"orig_dtype\": {\"_type\": \"torch.dtype\", \"_data\": \"bfloat16\"}}, "
                + "\"_tensor_data_names\": [\"qdata\", \"scale\"]}";
        Map<String, Tensor> parts = Map.of("proj._weight_qdata", Tensor.allocate(DType.U8, Shape.of(128, 64)),
                "proj._weight_scale", Tensor.allocate(DType.F8_E4M3, Shape.of(128, 8)));
        var e = assertThrows(UnsupportedFormatException.class, () -> TorchAoSafetensorsLayout.unflatten("proj.weight",
                md, parts::get, Where.NOWHERE));
        assertEquals("tensor 'proj.weight': field '__metadata__.proj.weight._data.act_quant_kwargs': NVFP4Tensor with "
                + "act_quant_kwargs (dynamic NVFP4 activations) is not supported by ao4j; supported: the weight-only "
                + "form (None)", e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"Int4PlainInt32Tensor", "FancyTensor"})
    void unknownTypesAreUnsupported(String type) {
        String md = FP8_META.replace("Float8Tensor", type);
        var e = assertThrows(UnsupportedFormatException.class, () -> TorchAoSafetensorsLayout.unflatten("proj.weight",
                md, fp8Parts()::get, Where.NOWHERE));
        String why = type.equals("FancyTensor") ? "unknown torchao tensor type 'FancyTensor'"
                : "torchao type '" + type + "' is not supported by ao4j";
        assertEquals("tensor 'proj.weight': field '__metadata__.proj.weight._type': " + why + "; supported: "
                + "[Float8Tensor, Int4Tensor, Int4TilePackedTo4dTensor, IntxUnpackedToInt8Tensor, Int8Tensor, "
                + "MXTensor, NVFP4Tensor] and "
                + "Tensor", e.getMessage());
    }

    @Test
    void unmodelledOptionalFieldIsUnsupported() {
        String md = "{\"_type\": \"Int4TilePackedTo4dTensor\", \"_data\": {\"block_size\": [1, 128], \"shape\": "
                + "[256, 512]}, \"_tensor_data_names\": [\"act_pre_scale\", \"qdata\", \"scale_and_zero\"]}";
        Map<String, Tensor> parts = Map.of("proj._weight_qdata", Tensor.allocate(DType.I32, Shape.of(32, 8, 32, 4)),
                "proj._weight_scale_and_zero", Tensor.allocate(DType.BF16, Shape.of(8, 256, 2)),
                "proj._weight_act_pre_scale", Tensor.allocate(DType.BF16, Shape.of(512)));
        var e = assertThrows(UnsupportedFormatException.class, () -> TorchAoSafetensorsLayout.unflatten("proj.weight",
                md, parts::get, Where.NOWHERE));
        assertTrue(e.getMessage().contains("Int4TilePackedTo4dTensor data field 'act_pre_scale' is not supported"),
                e.getMessage());
    }

    @Test
    void wrongPartDtypeIsMalformed() {
        Map<String, Tensor> parts = Map.of("proj._weight_qdata", Tensor.allocate(DType.I8, Shape.of(256, 512)),
                "proj._weight_scale", Tensor.allocate(DType.F32, Shape.of(256, 1)));
        var e = assertThrows(MalformedInputException.class, () -> TorchAoSafetensorsLayout.unflatten("proj.weight",
                FP8_META, parts::get, Where.NOWHERE));
        assertEquals("tensor 'proj.weight': field '__metadata__.proj.weight._tensor_data_names': Float8Tensor field "
                + "'qdata' has dtype I8; expected one of [F8_E4M3, F8_E5M2]", e.getMessage());
    }

    @Test
    void missingTensorNamesAndUnknownAttributes() {
        var e = assertThrows(MalformedInputException.class, () -> TorchAoSafetensorsLayout.unflatten(
                Map.of("format", "pt"), n -> null, Where.NOWHERE));
        assertEquals("field '__metadata__': no 'tensor_names' in __metadata__: not a torchao flattened state dict",
                e.getMessage());
        String md = FP8_META.replace("\"mm_config\": null", "\"mm_cfg\": null");
        var e2 = assertThrows(UnsupportedFormatException.class, () -> TorchAoSafetensorsLayout.unflatten("proj.weight",
                md, fp8Parts()::get, Where.NOWHERE));
        assertEquals("tensor 'proj.weight': field '__metadata__.proj.weight._data.mm_cfg': unknown attribute 'mm_cfg' "
                + "of Float8Tensor; known: [block_size, mm_config, act_quant_kwargs, kernel_preference, dtype]",
                e2.getMessage());
    }

    @Test
    void keyWithoutDotCannotBeFlattened() {
        var e = assertThrows(InvalidConfigException.class, () -> TorchAoSafetensorsLayout.flattenedName("weight", "qdata"));
        assertEquals("state-dict key 'weight' cannot be flattened: torchao needs '<module>.<param>' (it splits at "
                + "the last dot)", e.getMessage());
        assertEquals("model.layers.0.self_attn.q_proj._weight_scale_and_zero",
                TorchAoSafetensorsLayout.flattenedName("model.layers.0.self_attn.q_proj.weight", "scale_and_zero"));
    }

    @Test
    void isTorchAoMetadataFollowsTransformers() {
        assertFalse(TorchAoSafetensorsLayout.isTorchAoMetadata(Map.of("format", "pt")));
        assertFalse(TorchAoSafetensorsLayout.isTorchAoMetadata(Map.of("tensor_names", "[]")));
        assertFalse(TorchAoSafetensorsLayout.isTorchAoMetadata(Map.of("tensor_names", "[\"a.weight\"]")));
        assertFalse(TorchAoSafetensorsLayout.isTorchAoMetadata(Map.of("tensor_names", "[\"a.weight\"]",
                "a.weight", "{\"_type\": \"Parameter\"}")));
        assertTrue(TorchAoSafetensorsLayout.isTorchAoMetadata(Map.of("tensor_names", "[\"a.weight\"]",
                "a.weight", "{\"_type\": \"MXTensor\"}")));
        assertTrue(TorchAoSafetensorsLayout.isTorchAoMetadata(Map.of("tensor_names", "[\"a.weight\"]",
                "a.weight", TorchAoSafetensorsLayout.PLAIN_TENSOR_METADATA)));
    }

    @Test
    void activationBoundsKeepTheirDecimal() {
        Float8Tensor t = new Float8Tensor(Tensor.allocate(DType.F8_E4M3, Shape.of(16, 32)),
                Tensor.allocate(DType.F32, Shape.of(16, 1)), Shape.of(1, 32), new Float8MMConfig(false, true, false),
                new Float8Tensor.ActivationQuant(DType.F8_E4M3, new Granularity.PerRow(), null, 1e-12f, 1200.5f,
                        KernelPreference.AUTO), KernelPreference.AUTO, DType.BF16);
        String md = TorchAoSafetensorsLayout.metadataJson(t);
        assertTrue(md.contains("\"hp_value_lb\": 1e-12, \"hp_value_ub\": 1200.5"), md);
        var flat = TorchAoSafetensorsLayout.flatten("m.weight", t);
        Map<String, Tensor> byName = new HashMap<>();
        flat.tensors().forEach(n -> byName.put(n.name(), n.tensor()));
        QuantizedTensor back = ((StateDictEntry.Quantized) TorchAoSafetensorsLayout.unflatten("m.weight", md,
                byName::get, Where.NOWHERE)).tensor();
        assertEquals(md, TorchAoSafetensorsLayout.metadataJson(back));
    }
}
