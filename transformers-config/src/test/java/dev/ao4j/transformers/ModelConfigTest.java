package dev.ao4j.transformers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.MalformedInputException;
import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.quant.Where;
import dev.ao4j.quant.config.Float8DynamicActivationFloat8WeightConfig;
import dev.ao4j.quant.config.Granularity;
import dev.ao4j.quant.config.Int4PackingFormat;
import dev.ao4j.quant.config.Int4WeightOnlyConfig;
import dev.ao4j.quant.config.Int8DynamicActivationIntxWeightConfig;
import dev.ao4j.quant.config.Int8WeightOnlyConfig;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.transformers.torchao.TorchAoQuantizationConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.node.JsonNodeFactory;

/** ModelConfig against config.json files transformers 5.17 wrote (golden llama/, bf16 and four quantized). */
class ModelConfigTest {

    private static final Map<String, TorchAoQuantizationConfig> QUANTIZED = Map.of(
            "int8wo", TorchAoQuantizationConfig.of(Int8WeightOnlyConfig.defaults()),
            "fp8dq_perrow", TorchAoQuantizationConfig.of(
                    Float8DynamicActivationFloat8WeightConfig.defaults().withGranularity(new Granularity.PerRow())),
            "8da4w_g32", TorchAoQuantizationConfig.of(Int8DynamicActivationIntxWeightConfig.of8da4w(32)),
            "int4wo_g128_tile_packed_to_4d", TorchAoQuantizationConfig.of(
                    Int4WeightOnlyConfig.defaults().withInt4PackingFormat(Int4PackingFormat.TILE_PACKED_TO_4D))
                    .withBareEnumFields(Set.of("int4_packing_format")));

    static Stream<String> variants() {
        return QUANTIZED.keySet().stream().sorted();
    }

    @Test
    void typedAccessors() {
        ModelConfig c = ModelConfig.read(TestResources.path("golden/llama/bf16/config.json"));
        assertEquals(Optional.of("llama"), c.modelType());
        assertEquals(List.of("LlamaForCausalLM"), c.architectures());
        assertEquals(OptionalInt.of(256), c.hiddenSize());
        assertEquals(OptionalInt.of(2), c.numHiddenLayers());
        assertFalse(c.tieWordEmbeddings());
        assertEquals(Optional.of(DType.BF16), c.dtype());
        assertFalse(c.isQuantized());
        assertEquals(Optional.empty(), c.torchAoQuantizationConfig());
    }

    @Test
    void bf16ConfigIsRewrittenByteForByte() throws Exception {
        Path p = TestResources.path("golden/llama/bf16/config.json");
        assertEquals(Files.readString(p), ModelConfig.read(p).toJsonString());
    }

    /** bf16 config + quantization_config = what transformers wrote after quantizing, to the byte. */
    @ParameterizedTest
    @MethodSource("variants")
    void addingTheQuantizationConfigGivesTransformersOutput(String variant, @TempDir Path dir) throws Exception {
        ModelConfig bf16 = ModelConfig.read(TestResources.path("golden/llama/bf16/config.json"));
        Path golden = TestResources.path("golden/llama/" + variant + "/config.json");
        ModelConfig q = bf16.withQuantizationConfig(QUANTIZED.get(variant));
        assertEquals(Files.readString(golden), q.toJsonString());

        Path out = dir.resolve("pkg").resolve("config.json");
        q.write(out);
        assertArrayEquals(Files.readAllBytes(golden), Files.readAllBytes(out));
        try (Stream<Path> files = Files.list(out.getParent())) {
            assertEquals(List.of(out), files.toList(), "no temporary files left behind");
        }
    }

    @ParameterizedTest
    @MethodSource("variants")
    void readingAQuantizedConfig(String variant) {
        ModelConfig c = ModelConfig.read(TestResources.path("golden/llama/" + variant + "/config.json"));
        assertTrue(c.isQuantized());
        assertEquals(Optional.of(QUANTIZED.get(variant)), c.torchAoQuantizationConfig());
        ModelConfig bf16 = ModelConfig.read(TestResources.path("golden/llama/bf16/config.json"));
        assertEquals(bf16, c.withoutQuantizationConfig());
    }

    @Test
    void unknownFieldsSurviveAndUnicodeIsEscapedLikePython() {
        String text = TestResources.text("pyjson/sample.json");
        ModelConfig c = ModelConfig.parse(text, Where.NOWHERE);
        assertEquals(TestResources.text("pyjson/sample.pretty"), c.toJsonString());
        ModelConfig changed = c.with("hidden_size", JsonNodeFactory.instance.numberNode(64)).withDtype(DType.F16)
                .withTieWordEmbeddings(false);
        assertEquals(OptionalInt.of(64), changed.hiddenSize());
        assertEquals(Optional.of(DType.F16), changed.dtype());
        assertFalse(changed.tieWordEmbeddings());
        assertEquals(c.tree().get("unicode"), changed.tree().get("unicode"));
        assertTrue(c.tieWordEmbeddings(), "transformers' default when absent");
    }

    @Test
    void legacyTorchDtypeIsRead() {
        ModelConfig c = ModelConfig.parse("{\"torch_dtype\": \"float16\"}", Where.NOWHERE);
        assertEquals(Optional.of(DType.F16), c.dtype());
        assertEquals("{\n  \"dtype\": \"bfloat16\"\n}\n", c.withDtype(DType.BF16).toJsonString());
        assertEquals(Optional.empty(), ModelConfig.parse("{\"dtype\": \"auto\"}", Where.NOWHERE).dtype());
    }

    @Test
    void badJsonNamesFileAndPath(@TempDir Path dir) throws Exception {
        Path p = Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"llama\",\n \"rope_scaling\": "
                + "{\"factor\": 8.0, \"type\": }}");
        var e = assertThrows(MalformedInputException.class, () -> ModelConfig.read(p));
        assertEquals(p, e.where().file());
        assertEquals("rope_scaling.type", e.where().jsonPath());
        assertTrue(e.getMessage().startsWith(p + ": field 'rope_scaling.type': invalid JSON (line 2, column "),
                e.getMessage());
    }

    @Test
    void wrongTypesNameTheField(@TempDir Path dir) throws Exception {
        Path p = Files.writeString(dir.resolve("config.json"), "{\"hidden_size\": \"256\", \"architectures\": "
                + "[\"A\", 3], \"dtype\": \"float8_e4m3fnuz\"}");
        ModelConfig c = ModelConfig.read(p);
        var e1 = assertThrows(MalformedInputException.class, c::hiddenSize);
        assertEquals(p + ": field 'hidden_size': expected an integer but found STRING \"256\"", e1.getMessage());
        var e2 = assertThrows(MalformedInputException.class, c::architectures);
        assertEquals(p + ": field 'architectures[1]': expected a string but found NUMBER", e2.getMessage());
        var e3 = assertThrows(UnsupportedFormatException.class, c::dtype);
        assertTrue(e3.getMessage().startsWith(p + ": field 'dtype': unknown torch dtype 'float8_e4m3fnuz'"),
                e3.getMessage());
        var e4 = assertThrows(MalformedInputException.class, () -> ModelConfig.parse("[1, 2]", Where.file(p)));
        assertEquals(p + ": a config.json must hold a JSON object but holds ARRAY", e4.getMessage());
    }

    @Test
    void otherQuantMethodIsReportedNotMisread() {
        ModelConfig c = ModelConfig.parse("{\"quantization_config\": {\"quant_method\": \"fp8\", "
                + "\"weight_block_size\": [128, 128]}}", Where.file(Path.of("config.json")));
        assertTrue(c.isQuantized());
        var e = assertThrows(UnsupportedFormatException.class, c::torchAoQuantizationConfig);
        assertEquals("config.json: field 'quantization_config.quant_method': quant_method is 'fp8'; only 'torchao' "
                + "is a TorchAoConfig", e.getMessage());
    }

    @Test
    void withReturnsCopies() {
        ModelConfig c = ModelConfig.parse("{\"a\": {\"b\": 1}}", Where.NOWHERE);
        var tree = c.tree();
        ((tools.jackson.databind.node.ObjectNode) tree.get("a")).put("b", 2);
        assertEquals("{\n  \"a\": {\n    \"b\": 1\n  }\n}\n", c.toJsonString());
    }
}
