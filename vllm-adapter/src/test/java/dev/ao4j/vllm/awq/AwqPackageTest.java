package dev.ao4j.vllm.awq;

import static dev.ao4j.vllm.gptq.PackageFixtures.editQuantizationConfig;
import static dev.ao4j.vllm.gptq.PackageFixtures.editTensors;
import static dev.ao4j.vllm.gptq.PackageFixtures.json;
import static dev.ao4j.vllm.gptq.PackageFixtures.tinyLlama;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.MalformedInputException;
import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.pipeline.QuantReport;
import dev.ao4j.quant.pipeline.Sqnr;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.safetensors.SafetensorsFile;
import dev.ao4j.safetensors.ShardedCheckpoint;
import dev.ao4j.vllm.gptq.IntWeightLinear;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import tools.jackson.databind.JsonNode;

/** AWQ packages of the bundled tiny GQA Llama: round trips, completeness, malformed packages. */
class AwqPackageTest {
    private static final List<String> PROJECTIONS = List.of("self_attn.q_proj", "self_attn.k_proj",
            "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj");

    @TempDir
    Path tmp;

    @ParameterizedTest(name = "g{0}")
    @ValueSource(ints = {32, 64, 128, -1})
    void roundTripRecoversTheCodesExactly(int group) {
        Path out = tmp.resolve("pkg");
        QuantReport report = AwqPackager.write(tinyLlama(), out, AwqOptions.defaults().withGroupSize(group));
        assertEquals(28, report.quantizedCount());
        try (AwqReader r = AwqReader.open(out); ShardedCheckpoint src = ShardedCheckpoint.open(tinyLlama())) {
            assertEquals(group, r.quantizationConfig().groupSize());
            assertEquals(28, r.quantizedModules().size());
            for (int layer = 0; layer < 4; layer++) {
                for (String p : PROJECTIONS) {
                    String m = "model.layers." + layer + "." + p;
                    Tensor w = src.tensor(m + ".weight");
                    IntWeightLinear expected = AwqRtn.quantize(w, group);
                    IntWeightLinear got = r.linear(m);
                    assertTrue(got.codes().contentEquals(expected.codes()), m + " codes");
                    assertTrue(got.zeros().contentEquals(expected.zeros()), m + " zeros");
                    assertTrue(got.scales().contentEquals(expected.scales()), m + " scales");
                    long n = w.shape().dim(0);
                    long k = w.shape().dim(1);
                    long groups = group == -1 ? 1 : k / group;
                    assertEquals(Shape.of(k, n / 8), r.stored(m + ".qweight").shape());
                    assertEquals(Shape.of(groups, n / 8), r.stored(m + ".qzeros").shape());
                    assertEquals(Shape.of(groups, n), r.stored(m + ".scales").shape());
                    assertEquals(DType.F16, r.stored(m + ".scales").dtype());
                    double sqnr = Sqnr.db(w, r.dequantized(m));
                    assertTrue(sqnr > 16.0, m + " SQNR " + sqnr + " dB");
                }
            }
            assertEquals(Shape.of(128, 8), r.stored("model.layers.0.self_attn.v_proj.qweight").shape()); // GQA
        }
    }

    @Test
    void packageIsCompleteForVllmAndTransformers() throws Exception {
        Path out = tmp.resolve("pkg");
        AwqPackager.write(tinyLlama(), out, AwqOptions.defaults());
        JsonNode config = json(out.resolve("config.json"));
        assertEquals("bfloat16", config.get("dtype").stringValue());
        assertEquals("bfloat16", config.get("torch_dtype").stringValue());
        JsonNode q = config.get("quantization_config");
        assertEquals("awq", q.get("quant_method").stringValue());
        assertEquals(4, q.get("bits").intValue());
        assertEquals(128, q.get("group_size").intValue());
        assertTrue(q.get("zero_point").booleanValue());
        assertEquals("gemm", q.get("version").stringValue());
        assertTrue(q.get("modules_to_not_convert").isNull());
        for (String f : List.of("tokenizer.json", "tokenizer_config.json", "generation_config.json")) {
            assertEquals(-1L, Files.mismatch(tinyLlama().resolve(f), out.resolve(f)), f);
        }
        try (SafetensorsFile f = SafetensorsFile.open(out.resolve("model.safetensors"));
             SafetensorsFile src = SafetensorsFile.open(tinyLlama().resolve("model.safetensors"))) {
            assertEquals("pt", f.metadata().get("format"));
            assertEquals(3 + 4 * (2 + 7 * 3), f.names().size()); // embed, lm_head, norm; 2 norms + 7 x 3 parts
            for (String plain : List.of("model.embed_tokens.weight", "lm_head.weight", "model.norm.weight",
                    "model.layers.0.input_layernorm.weight")) {
                assertTrue(f.tensor(plain).contentEquals(src.tensor(plain)), plain);
            }
            assertFalse(f.contains("model.layers.0.mlp.up_proj.weight"));
            assertFalse(f.contains("model.layers.0.mlp.up_proj.g_idx"));
        }
    }

    @Test
    void keptLinearsAreListedWithLmHead() {
        Path out = tmp.resolve("pkg");
        AwqPackager.write(tinyLlama(), out, AwqOptions.defaults().withModulesToNotConvert(List.of("o_proj")));
        JsonNode skip = json(out.resolve("config.json")).get("quantization_config").get("modules_to_not_convert");
        List<String> names = skip.valueStream().map(JsonNode::stringValue).toList();
        assertTrue(names.contains("model.layers.2.self_attn.o_proj"), names.toString());
        assertTrue(names.contains("lm_head"), names.toString());
        try (AwqReader r = AwqReader.open(out)) {
            assertEquals(24, r.quantizedModules().size());
            assertEquals(names, r.quantizationConfig().modulesToNotConvert());
        }
    }

    @Test
    void shardedPackageReadsBack() {
        Path out = tmp.resolve("pkg");
        AwqPackager.write(tinyLlama(), out, AwqOptions.defaults().withMaxShardBytes(150_000));
        assertTrue(Files.exists(out.resolve("model.safetensors.index.json")));
        try (AwqReader r = AwqReader.open(out); ShardedCheckpoint src = ShardedCheckpoint.open(tinyLlama())) {
            String m = "model.layers.3.self_attn.k_proj";
            assertTrue(r.linear(m).codes().contentEquals(AwqRtn.quantize(src.tensor(m + ".weight"), 128).codes()));
        }
    }

    @Test
    void malformedTensorsAreNamed() {
        Path out = tmp.resolve("pkg");
        AwqPackager.write(tinyLlama(), out, AwqOptions.defaults());
        editTensors(out, t -> {
            t.remove("model.layers.0.mlp.down_proj.qzeros");
            t.put("model.layers.1.mlp.down_proj.scales", Tensor.allocate(DType.F16, Shape.of(2, 128)));
            t.put("model.layers.2.mlp.down_proj.qweight", Tensor.allocate(DType.I32, Shape.of(384, 32)));
        });
        try (AwqReader r = AwqReader.open(out)) {
            MalformedInputException missing = assertThrows(MalformedInputException.class,
                    () -> r.linear("model.layers.0.mlp.down_proj"));
            assertEquals("model.layers.0.mlp.down_proj.qzeros", missing.where().tensor());
            assertEquals("model.layers.1.mlp.down_proj.scales",
                    assertThrows(MalformedInputException.class, () -> r.linear("model.layers.1.mlp.down_proj"))
                            .where().tensor());
            // 32 words per row hold 256 output columns, but scales say 128: a width mismatch
            MalformedInputException width = assertThrows(MalformedInputException.class,
                    () -> r.linear("model.layers.2.mlp.down_proj"));
            assertTrue(width.getMessage().contains("[3, 256]"), width.getMessage());
        }
    }

    @Test
    void malformedConfigsAreNamedByField() {
        Path out = tmp.resolve("pkg");
        AwqPackager.write(tinyLlama(), out, AwqOptions.defaults());
        editQuantizationConfig(out, q -> q.put("bits", 8));
        assertEquals("quantization_config.bits",
                assertThrows(UnsupportedFormatException.class, () -> AwqReader.open(out)).where().jsonPath());
        editQuantizationConfig(out, q -> q.put("bits", 4).put("version", "gemv"));
        assertEquals("quantization_config.version",
                assertThrows(UnsupportedFormatException.class, () -> AwqReader.open(out)).where().jsonPath());
        editQuantizationConfig(out, q -> q.put("version", "GEMM").remove("zero_point"));
        assertEquals("quantization_config.zero_point",
                assertThrows(MalformedInputException.class, () -> AwqReader.open(out)).where().jsonPath());
        // AutoAWQ's side-file spelling is accepted
        editQuantizationConfig(out, q -> q.put("zero_point", true).put("w_bit", 4).put("q_group_size", 128)
                .remove(List.of("bits", "group_size")));
        try (AwqReader r = AwqReader.open(out)) {
            assertEquals(128, r.quantizationConfig().groupSize());
            assertNull(r.quantizationConfig().modulesToNotConvert());
        }
    }
}
