package dev.ao4j.vllm.compressed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.Ao4jException;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.pipeline.ModuleSelector;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.safetensors.SafetensorsFile;
import dev.ao4j.safetensors.SafetensorsWriter;
import dev.ao4j.safetensors.ShardedCheckpoint;
import dev.ao4j.transformers.ModelConfig;
import dev.ao4j.transformers.json.PyJson;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/** What a serving-ready compressed-tensors package contains besides the numbers (serving-formats §9, §10). */
class CompressedTensorsPackageTest {
    static final Path MODEL = CompressedTensorsRoundTripTest.MODEL;

    @TempDir
    Path tmp;

    @Test
    void w4a16PackageHasTheFilesKeysAndTensorsVllmReads() throws IOException {
        Path out = tmp.resolve("w4a16");
        CompressedTensorsPackager.write(MODEL, out, CompressedTensorsPackager.Options.of(
                CompressedTensorsScheme.parse("w4a16-g128-asym")));
        assertFalse(Files.exists(tmp.resolve("w4a16.partial")));
        for (String f : List.of("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                "generation_config.json")) {
            assertTrue(Files.exists(out.resolve(f)), f);
        }
        for (String f : List.of("tokenizer.json", "tokenizer_config.json", "generation_config.json")) {
            assertEquals(-1L, Files.mismatch(MODEL.resolve(f), out.resolve(f)), f + " copied byte for byte");
        }
        ModelConfig config = ModelConfig.read(out.resolve("config.json"));
        ModelConfig source = ModelConfig.read(MODEL.resolve("config.json"));
        assertEquals("bfloat16", config.get("dtype").orElseThrow().asString());
        assertEquals("bfloat16", config.get("torch_dtype").orElseThrow().asString());
        assertEquals(source.without("quantization_config"), config.without("quantization_config"),
                "architecture fields unchanged");
        assertEquals(PyJson.parse("""
                {"config_groups": {"group_0": {"format": "pack-quantized", "input_activations": null,
                  "output_activations": null, "targets": ["Linear"],
                  "weights": {"actorder": null, "block_structure": null, "dynamic": false, "group_size": 128,
                    "num_bits": 4, "observer": "minmax", "observer_kwargs": {}, "strategy": "group",
                    "symmetric": false, "type": "int"}}},
                 "format": "pack-quantized", "global_compression_ratio": null, "ignore": ["lm_head"],
                 "kv_cache_scheme": null, "quant_method": "compressed-tensors", "quantization_status": "compressed",
                 "sparsity_config": {}, "transform_config": {}, "version": "0.12.2"}""", null),
                config.get("quantization_config").orElseThrow());
        String text = Files.readString(out.resolve("config.json"));
        assertFalse(text.contains("scale_dtype") || text.contains("zp_dtype"), "CT 0.13-only keys break old vLLM");

        try (SafetensorsFile f = SafetensorsFile.open(out.resolve("model.safetensors"))) {
            assertEquals(Map.of("format", "pt"), f.metadata());
            String q = "model.layers.0.self_attn.q_proj.";
            assertFalse(f.contains(q + "weight"));
            expect(f, q + "weight_packed", DType.I32, Shape.of(128, 16));
            expect(f, q + "weight_scale", DType.BF16, Shape.of(128, 1));
            expect(f, q + "weight_shape", DType.I64, Shape.of(2));
            expect(f, q + "weight_zero_point", DType.I32, Shape.of(16, 1));
            assertEquals(128, f.tensor(q + "weight_shape").getLong(0));
            assertEquals(128, f.tensor(q + "weight_shape").getLong(1));
            String k = "model.layers.0.self_attn.k_proj.";
            expect(f, k + "weight_packed", DType.I32, Shape.of(64, 16));
            expect(f, k + "weight_zero_point", DType.I32, Shape.of(8, 1));
            String down = "model.layers.3.mlp.down_proj.";
            expect(f, down + "weight_packed", DType.I32, Shape.of(128, 48));
            expect(f, down + "weight_scale", DType.BF16, Shape.of(128, 3));
            expect(f, down + "weight_zero_point", DType.I32, Shape.of(16, 3));
            expect(f, "lm_head.weight", DType.BF16, Shape.of(258, 128));
            expect(f, "model.embed_tokens.weight", DType.BF16, Shape.of(258, 128));
            expect(f, "model.norm.weight", DType.BF16, Shape.of(128));
        }
    }

    @Test
    void shardedPackageIndexCountsTensorBytes() throws IOException {
        Path out = tmp.resolve("sharded");
        CompressedTensorsPackager.write(MODEL, out, CompressedTensorsPackager.Options.of(
                CompressedTensorsScheme.parse("w8a8")).withMaxShardBytes(200_000));
        JsonNode index = PyJson.read(out.resolve("model.safetensors.index.json"));
        long sum = 0;
        int mapped = 0;
        try (ShardedCheckpoint c = ShardedCheckpoint.open(out)) {
            assertTrue(c.isSharded());
            for (SafetensorsFile f : c.shards()) {
                assertEquals(Map.of("format", "pt"), f.metadata());
                assertTrue(f.path().getFileName().toString().matches("model-\\d{5}-of-\\d{5}\\.safetensors"));
                sum += f.dataSize();
            }
            for (String n : c.names()) {
                assertEquals(c.fileOf(n).getFileName().toString(), index.get("weight_map").get(n).asString(), n);
                mapped++;
            }
        }
        assertEquals(sum, index.get("metadata").get("total_size").asLong());
        assertEquals(mapped, index.get("weight_map").size());
        try (Stream<Path> files = Files.list(out)) {
            assertEquals(0, files.filter(p -> p.getFileName().toString().equals("model.safetensors")).count());
        }
    }

    @Test
    void nvfp4FusedMembersShareTheGroupGlobalScale() {
        Path out = tmp.resolve("nvfp4");
        CompressedTensorsPackager.write(MODEL, out, CompressedTensorsPackager.Options.of(
                CompressedTensorsScheme.parse("nvfp4a16")));
        int differingAlone = 0;
        try (CompressedTensorsReader r = CompressedTensorsReader.open(out);
             ShardedCheckpoint src = ShardedCheckpoint.open(MODEL)) {
            for (int layer = 0; layer < 4; layer++) {
                String p = "model.layers." + layer + ".";
                for (List<String> group : List.of(List.of("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"),
                        List.of("mlp.gate_proj", "mlp.up_proj"))) {
                    float amax = 0f;
                    for (String m : group) amax = Math.max(amax, Fp4Rtn.amax(src.tensor(p + m + ".weight")));
                    float shared = Fp4Rtn.globalScale(amax, DType.BF16);
                    for (String m : group) {
                        float g = ((CompressedLinear.Nvfp4) r.linear(p + m)).globalScale();
                        assertEquals(shared, g, p + m);
                        if (Fp4Rtn.globalScale(Fp4Rtn.amax(src.tensor(p + m + ".weight")), DType.BF16) != g) {
                            differingAlone++;
                        }
                    }
                }
                // o_proj and down_proj are not fused: their own amax
                for (String m : List.of("self_attn.o_proj", "mlp.down_proj")) {
                    assertEquals(Fp4Rtn.globalScale(Fp4Rtn.amax(src.tensor(p + m + ".weight")), DType.BF16),
                            ((CompressedLinear.Nvfp4) r.linear(p + m)).globalScale(), p + m);
                }
            }
        }
        assertNotEquals(0, differingAlone, "the tiny model must have fused members whose own scale would differ");
    }

    @Test
    void aKeptFusedMemberKeepsItsWholeGroupAndIsIgnored() {
        Path out = tmp.resolve("kept");
        CompressedTensorsPackager.write(MODEL, out, CompressedTensorsPackager.Options.of(
                CompressedTensorsScheme.parse("fp8-dynamic")).withSelector(
                new ModuleSelector(List.of("model.layers.1.self_attn.k_proj"), false)));
        try (CompressedTensorsReader r = CompressedTensorsReader.open(out)) {
            // lm_head first, then the kept Linears in checkpoint order
            assertEquals(List.of("lm_head", "model.layers.1.self_attn.k_proj", "model.layers.1.self_attn.q_proj",
                    "model.layers.1.self_attn.v_proj"), r.quantizationConfig().ignore());
            assertEquals(25, r.linears().size());
            assertEquals(DType.BF16, r.stored("model.layers.1.self_attn.q_proj.weight").dtype());
            assertFalse(r.storedNames().contains("model.layers.1.self_attn.v_proj.weight_scale"));
        }
    }

    @Test
    void tiedEmbeddingsDropTheStrayLmHead() throws IOException {
        Path model = tmp.resolve("tied");
        Files.createDirectories(model);
        ModelConfig.read(MODEL.resolve("config.json")).with("tie_word_embeddings",
                tools.jackson.databind.node.JsonNodeFactory.instance.booleanNode(true))
                .write(model.resolve("config.json"));
        copyTensors(MODEL, model, Map.of());
        Path out = tmp.resolve("tied-out");
        CompressedTensorsPackager.write(model, out, CompressedTensorsPackager.Options.of(
                CompressedTensorsScheme.parse("w8a16-channel")));
        try (CompressedTensorsReader r = CompressedTensorsReader.open(out)) {
            assertFalse(r.storedNames().contains("lm_head.weight"));
            assertTrue(r.storedNames().contains("model.embed_tokens.weight"));
            assertEquals(List.of("lm_head"), r.quantizationConfig().ignore());
            assertTrue(r.config().tieWordEmbeddings());
        }
    }

    @Test
    void aRefusingCheckPublishesNothing() {
        Path out = tmp.resolve("refused");
        var options = CompressedTensorsPackager.Options.of(CompressedTensorsScheme.parse("fp8"))
                .withCheck(dir -> {
                    assertTrue(Files.exists(dir.resolve("config.json")));
                    throw new Ao4jException("refused by the check", dev.ao4j.quant.Where.file(dir));
                });
        assertThrows(Ao4jException.class, () -> CompressedTensorsPackager.write(MODEL, out, options));
        assertFalse(Files.exists(out));
        assertFalse(Files.exists(tmp.resolve("refused.partial")));
    }

    static void expect(SafetensorsFile f, String name, DType dtype, Shape shape) {
        assertTrue(f.contains(name), name + " missing");
        assertEquals(dtype, f.info(name).dtype(), name);
        assertEquals(shape, f.info(name).shape(), name);
    }

    /** Copies {@code from}'s tensors into {@code to}/model.safetensors, replacing or (null) dropping some. */
    static void copyTensors(Path from, Path to, Map<String, Tensor> changes) {
        try (ShardedCheckpoint c = ShardedCheckpoint.open(from)) {
            Map<String, Tensor> all = new LinkedHashMap<>();
            for (String n : c.names()) all.put(n, c.tensor(n));
            for (Map.Entry<String, Tensor> e : changes.entrySet()) {
                if (e.getValue() == null) all.remove(e.getKey());
                else all.put(e.getKey(), e.getValue());
            }
            SafetensorsWriter.write(to.resolve("model.safetensors"), all, Map.of("format", "pt"));
        }
    }
}
