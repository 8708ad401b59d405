package dev.ao4j.vllm.gptq;

import static dev.ao4j.vllm.gptq.PackageFixtures.editQuantizationConfig;
import static dev.ao4j.vllm.gptq.PackageFixtures.editTensors;
import static dev.ao4j.vllm.gptq.PackageFixtures.json;
import static dev.ao4j.vllm.gptq.PackageFixtures.tinyLlama;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.Ao4jException;
import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.MalformedInputException;
import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.pipeline.QuantReport;
import dev.ao4j.quant.pipeline.Sqnr;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.safetensors.SafetensorsFile;
import dev.ao4j.safetensors.ShardedCheckpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.JsonNode;

/** GPTQ packages of the bundled tiny GQA Llama: round trips for every variant, completeness, malformed packages. */
class GptqPackageTest {
    private static final List<String> PROJECTIONS = List.of("self_attn.q_proj", "self_attn.k_proj",
            "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj");

    @TempDir
    Path tmp;

    static Stream<Arguments> variants() {
        List<Arguments> a = new ArrayList<>();
        for (int bits : new int[] {4, 8}) {
            for (int group : new int[] {32, 64, 128, -1}) {
                for (GptqCheckpointFormat f : GptqCheckpointFormat.values()) a.add(Arguments.of(bits, group, f));
            }
        }
        return a.stream();
    }

    @ParameterizedTest(name = "w{0} g{1} {2}")
    @MethodSource("variants")
    void roundTripRecoversTheCodesExactly(int bits, int group, GptqCheckpointFormat format) {
        Path out = tmp.resolve("pkg");
        QuantReport report = GptqPackager.write(tinyLlama(), out,
                GptqOptions.defaults().withBits(bits).withGroupSize(group).withFormat(format));
        assertEquals(28, report.quantizedCount());
        double minSqnr = bits == 4 ? 16.0 : 40.0;
        try (GptqReader r = GptqReader.open(out); ShardedCheckpoint src = ShardedCheckpoint.open(tinyLlama())) {
            assertEquals(bits, r.quantizationConfig().bits());
            assertEquals(group, r.quantizationConfig().groupSize());
            assertEquals(format, r.quantizationConfig().checkpointFormat());
            assertEquals(28, r.quantizedModules().size());
            for (int layer = 0; layer < 4; layer++) {
                for (String p : PROJECTIONS) {
                    String m = "model.layers." + layer + "." + p;
                    Tensor w = src.tensor(m + ".weight");
                    IntWeightLinear expected = GptqRtn.quantize(w, bits, group);
                    IntWeightLinear got = r.linear(m);
                    assertTrue(got.codes().contentEquals(expected.codes()), m + " codes");
                    assertTrue(got.zeros().contentEquals(expected.zeros()), m + " zeros");
                    assertTrue(got.scales().contentEquals(expected.scales()), m + " scales");
                    long k = w.shape().dim(1);
                    long n = w.shape().dim(0);
                    long groups = group == -1 ? 1 : k / group;
                    assertEquals(Shape.of(k * bits / 32, n), r.stored(m + ".qweight").shape());
                    assertEquals(Shape.of(groups, n * bits / 32), r.stored(m + ".qzeros").shape());
                    assertEquals(Shape.of(groups, n), r.stored(m + ".scales").shape());
                    assertEquals(DType.F16, r.stored(m + ".scales").dtype());
                    assertEquals(Shape.of(k), r.stored(m + ".g_idx").shape());
                    assertEquals(group == -1 ? 0 : (k - 1) / group, r.stored(m + ".g_idx").getLong(k - 1));
                    long word = bits == 4 ? (format == GptqCheckpointFormat.V1 ? 0x77777777L : 0x88888888L)
                            : (format == GptqCheckpointFormat.V1 ? 0x7F7F7F7FL : 0x80808080L);
                    Tensor qz = r.stored(m + ".qzeros");
                    for (long i = 0; i < qz.numel(); i++) assertEquals((int) word, (int) qz.getLong(i), m + " qzeros");
                    double sqnr = Sqnr.db(w, r.dequantized(m));
                    assertTrue(sqnr > minSqnr, m + " SQNR " + sqnr + " dB");
                }
            }
            // GQA: k/v have half of q's outputs
            assertEquals(Shape.of(128 * bits / 32, 64), r.stored("model.layers.0.self_attn.k_proj.qweight").shape());
        }
    }

    @Test
    void packageIsCompleteForVllmAndTransformers() throws Exception {
        Path out = tmp.resolve("pkg");
        GptqPackager.write(tinyLlama(), out, GptqOptions.defaults());
        JsonNode config = json(out.resolve("config.json"));
        assertEquals("bfloat16", config.get("dtype").stringValue());
        assertEquals("bfloat16", config.get("torch_dtype").stringValue());
        JsonNode q = config.get("quantization_config");
        assertEquals("gptq", q.get("quant_method").stringValue());
        assertEquals(4, q.get("bits").intValue());
        assertEquals(128, q.get("group_size").intValue());
        assertFalse(q.get("desc_act").booleanValue());
        assertTrue(q.get("sym").booleanValue());
        assertEquals("gptq", q.get("checkpoint_format").stringValue());
        assertFalse(q.get("lm_head").booleanValue());
        assertEquals("rtn", q.get("meta").get("method").stringValue());
        assertFalse(q.has("dynamic"));
        for (String f : List.of("tokenizer.json", "tokenizer_config.json", "generation_config.json")) {
            assertEquals(-1L, Files.mismatch(tinyLlama().resolve(f), out.resolve(f)), f);
        }
        assertTrue(Files.exists(out.resolve("ao4j_report.json")));
        assertFalse(Files.exists(tmp.resolve("pkg.partial")));
        try (SafetensorsFile f = SafetensorsFile.open(out.resolve("model.safetensors"));
             SafetensorsFile src = SafetensorsFile.open(tinyLlama().resolve("model.safetensors"))) {
            assertEquals("pt", f.metadata().get("format"));
            for (String name : f.names()) {
                assertFalse(name.startsWith("model.layers.") && name.endsWith("_proj.weight"), name);
            }
            for (String plain : List.of("model.embed_tokens.weight", "lm_head.weight", "model.norm.weight",
                    "model.layers.3.input_layernorm.weight", "model.layers.3.post_attention_layernorm.weight")) {
                assertTrue(f.tensor(plain).contentEquals(src.tensor(plain)), plain);
            }
            assertEquals(3 + 4 * (2 + 7 * 4), f.names().size()); // embed, lm_head, norm; 2 norms + 7 x 4 parts
        }
    }

    @Test
    void shardedPackageHasAConsistentIndexAndReadsBack() throws Exception {
        Path out = tmp.resolve("pkg");
        GptqPackager.write(tinyLlama(), out, GptqOptions.defaults().withMaxShardBytes(200_000));
        assertFalse(Files.exists(out.resolve("model.safetensors")));
        JsonNode index = json(out.resolve("model.safetensors.index.json"));
        long total = 0;
        List<String> shards = new ArrayList<>();
        try (Stream<Path> files = Files.list(out)) {
            files.filter(p -> p.getFileName().toString().endsWith(".safetensors")).forEach(p -> shards.add(
                    p.getFileName().toString()));
        }
        assertTrue(shards.size() > 1, shards.toString());
        for (String s : shards) {
            try (SafetensorsFile f = SafetensorsFile.open(out.resolve(s))) {
                assertEquals("pt", f.metadata().get("format"), s);
                total += f.dataSize();
                for (String n : f.names()) assertEquals(s, index.get("weight_map").get(n).stringValue(), n);
            }
        }
        assertEquals(total, index.get("metadata").get("total_size").longValue());
        try (GptqReader r = GptqReader.open(out); ShardedCheckpoint src = ShardedCheckpoint.open(tinyLlama())) {
            String m = "model.layers.2.mlp.down_proj";
            assertTrue(r.linear(m).codes().contentEquals(GptqRtn.quantize(src.tensor(m + ".weight"), 4, 128).codes()));
        }
    }

    @Test
    void keptDecoderLinearIsListedAsADynamicSkip() {
        Path out = tmp.resolve("pkg");
        GptqPackager.write(tinyLlama(), out,
                GptqOptions.defaults().withModulesToNotConvert(List.of("model.layers.1.mlp.down_proj")));
        JsonNode dynamic = json(out.resolve("config.json")).get("quantization_config").get("dynamic");
        assertEquals(1, dynamic.size());
        assertTrue(dynamic.has("-:^model\\.layers\\.1\\.mlp\\.down_proj$"), dynamic.toString());
        try (GptqReader r = GptqReader.open(out)) {
            assertEquals(27, r.quantizedModules().size());
            assertTrue(r.plainNames().contains("model.layers.1.mlp.down_proj.weight"));
            assertEquals(List.of("^model\\.layers\\.1\\.mlp\\.down_proj$"), r.quantizationConfig().skipPatterns());
        }
    }

    @Test
    void partlyQuantizedFusedGroupIsRefusedAndNothingIsPublished() {
        Path out = tmp.resolve("pkg");
        InvalidConfigException e = assertThrows(InvalidConfigException.class, () -> GptqPackager.write(tinyLlama(), out,
                GptqOptions.defaults().withModulesToNotConvert(List.of("model.layers.0.self_attn.k_proj"))));
        assertTrue(e.getMessage().contains("model.layers.0.self_attn.k_proj"), e.getMessage());
        assertFalse(Files.exists(out));
        assertFalse(Files.exists(tmp.resolve("pkg.partial")));
    }

    @Test
    void packageCheckRunsOnTheCompletePackageAndCanRefuseIt() {
        Path out = tmp.resolve("pkg");
        List<Path> seen = new ArrayList<>();
        Ao4jException e = assertThrows(Ao4jException.class, () -> GptqPackager.write(tinyLlama(), out,
                GptqOptions.defaults().withCheck(dir -> {
                    seen.add(dir);
                    assertTrue(Files.exists(dir.resolve("config.json")));
                    assertTrue(Files.exists(dir.resolve("model.safetensors")));
                    throw new Ao4jException("refused by the check", dev.ao4j.quant.Where.file(dir));
                })));
        assertEquals("refused by the check", e.originalMessage());
        assertEquals(1, seen.size());
        assertFalse(Files.exists(out));
        assertFalse(Files.exists(tmp.resolve("pkg.partial")));
    }

    @Test
    void tiedModelGetsNoLmHeadWeight() throws Exception {
        Path model = tmp.resolve("tied");
        Files.createDirectories(model);
        try (Stream<Path> files = Files.list(tinyLlama())) {
            for (Path f : files.filter(Files::isRegularFile).toList()) Files.copy(f, model.resolve(f.getFileName()));
        }
        Path configFile = model.resolve("config.json");
        dev.ao4j.transformers.ModelConfig.read(configFile).withTieWordEmbeddings(true).write(configFile);
        Path out = tmp.resolve("pkg");
        GptqPackager.write(model, out, GptqOptions.defaults());
        try (GptqReader r = GptqReader.open(out)) {
            assertFalse(r.plainNames().contains("lm_head.weight"));
            assertTrue(r.plainNames().contains("model.embed_tokens.weight"));
            assertTrue(r.config().tieWordEmbeddings());
        }
    }

    @Test
    void refusesAnAlreadyQuantizedSourceAndUnsupportedOptions() {
        Path out = tmp.resolve("pkg");
        GptqPackager.write(tinyLlama(), out, GptqOptions.defaults());
        assertThrows(InvalidConfigException.class, () -> GptqPackager.write(out, tmp.resolve("again"),
                GptqOptions.defaults()));
        assertThrows(InvalidConfigException.class, () -> GptqOptions.defaults().withBits(3));
        assertThrows(InvalidConfigException.class, () -> GptqOptions.defaults().withGroupSize(256));
    }

    // ---- malformed packages -------------------------------------------------------------------------------------

    private Path written() {
        Path out = tmp.resolve("pkg");
        GptqPackager.write(tinyLlama(), out, GptqOptions.defaults());
        return out;
    }

    @Test
    void missingQzerosIsNamed() {
        Path out = written();
        editTensors(out, t -> t.remove("model.layers.0.self_attn.q_proj.qzeros"));
        try (GptqReader r = GptqReader.open(out)) {
            MalformedInputException e = assertThrows(MalformedInputException.class,
                    () -> r.linear("model.layers.0.self_attn.q_proj"));
            assertEquals("model.layers.0.self_attn.q_proj.qzeros", e.where().tensor());
            assertTrue(e.where().file().toString().endsWith("model.safetensors"));
        }
    }

    @Test
    void bitsMismatchBetweenConfigAndTensorsIsNamed() {
        Path out = written();
        editQuantizationConfig(out, q -> q.put("bits", 8));
        try (GptqReader r = GptqReader.open(out)) {
            MalformedInputException e = assertThrows(MalformedInputException.class,
                    () -> r.linear("model.layers.0.mlp.up_proj"));
            assertTrue(e.getMessage().contains("bits = 8"), e.getMessage());
            assertEquals("model.layers.0.mlp.up_proj.g_idx", e.where().tensor());
        }
    }

    @Test
    void wrongShapesAndDtypesAreNamed() {
        Path out = written();
        editTensors(out, t -> {
            t.put("model.layers.0.mlp.up_proj.qweight", Tensor.allocate(DType.I32, Shape.of(16, 300)));
            t.put("model.layers.1.mlp.up_proj.qzeros", Tensor.allocate(DType.I32, Shape.of(1, 47)));
            t.put("model.layers.2.mlp.up_proj.qweight", Tensor.allocate(DType.F16, Shape.of(16, 384)));
            t.put("model.layers.3.mlp.up_proj.g_idx", Tensor.allocate(DType.I32, Shape.of(64)));
        });
        try (GptqReader r = GptqReader.open(out)) {
            assertEquals("model.layers.0.mlp.up_proj.scales",
                    assertThrows(MalformedInputException.class, () -> r.linear("model.layers.0.mlp.up_proj"))
                            .where().tensor());
            assertEquals("model.layers.1.mlp.up_proj.qzeros",
                    assertThrows(MalformedInputException.class, () -> r.linear("model.layers.1.mlp.up_proj"))
                            .where().tensor());
            assertEquals("model.layers.2.mlp.up_proj.qweight",
                    assertThrows(MalformedInputException.class, () -> r.linear("model.layers.2.mlp.up_proj"))
                            .where().tensor());
            assertEquals("model.layers.3.mlp.up_proj.g_idx",
                    assertThrows(MalformedInputException.class, () -> r.linear("model.layers.3.mlp.up_proj"))
                            .where().tensor());
        }
    }

    @Test
    void malformedConfigsAreNamedByField() {
        Path out = written();
        editQuantizationConfig(out, q -> q.remove("desc_act"));
        MalformedInputException missing = assertThrows(MalformedInputException.class, () -> GptqReader.open(out));
        assertEquals("quantization_config.desc_act", missing.where().jsonPath());
        editQuantizationConfig(out, q -> q.put("desc_act", false).put("checkpoint_format", "marlin"));
        assertEquals("quantization_config.checkpoint_format",
                assertThrows(UnsupportedFormatException.class, () -> GptqReader.open(out)).where().jsonPath());
        editQuantizationConfig(out, q -> q.put("checkpoint_format", "gptq").put("group_size", "128"));
        assertEquals("quantization_config.group_size",
                assertThrows(MalformedInputException.class, () -> GptqReader.open(out)).where().jsonPath());
        editQuantizationConfig(out, q -> q.put("group_size", 128).put("quant_method", "awq"));
        assertThrows(UnsupportedFormatException.class, () -> GptqReader.open(out));
    }

    @Test
    void v2PackageReadAsV1ShiftsEveryZeroByOne() {
        Path out = tmp.resolve("pkg");
        GptqPackager.write(tinyLlama(), out, GptqOptions.defaults().withFormat(GptqCheckpointFormat.V2));
        editQuantizationConfig(out, q -> q.put("checkpoint_format", "gptq"));
        try (GptqReader r = GptqReader.open(out)) {
            assertEquals(9, r.linear("model.layers.0.self_attn.o_proj").zeros().getLong(0));
        }
        editQuantizationConfig(out, q -> q.remove("checkpoint_format"));
        try (GptqReader r = GptqReader.open(out)) {
            assertNull(r.config().tree().get("quantization_config").get("checkpoint_format"));
            assertEquals(GptqCheckpointFormat.V1, r.quantizationConfig().checkpointFormat());
        }
    }
}
