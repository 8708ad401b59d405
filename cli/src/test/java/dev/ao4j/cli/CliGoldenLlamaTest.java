package dev.ao4j.cli;

import static dev.ao4j.cli.CliTesting.ao4j;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.safetensors.SafetensorsFile;
import dev.ao4j.safetensors.TensorInfo;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The acceptance test: for the same bf16 input, {@code ao4j quantize} writes what torchao 0.18 + transformers 5.17
 * wrote, tensor for tensor. The golden packages (tiny Llama, 2 layers, quantized on CUDA and saved with
 * {@code save_pretrained}) are not copied here; {@code golden-llama/digests.json}, made by
 * {@code golden-llama/make_digests.py}, holds each tensor's dtype, shape and sha256, every safetensors metadata
 * entry, the config.json {@code quantization_config} and the config.json's sha256.
 *
 * <p>On this bf16 model the CPU and CUDA division conventions happen to give the same bytes for every tensor (their
 * last-bit differences show up in the f32 golden cases, which the numerics modules test), so the {@code --division}
 * default is exercised here but not told apart.
 */
class CliGoldenLlamaTest {
    private static final List<String> AUX_FILES = List.of("generation_config.json", "tokenizer.json",
            "tokenizer_config.json");
    /** 2 layers x (q, k, v, o, gate, up, down); embeddings, lm_head and norms stay bf16. */
    private static final int LINEAR_WEIGHTS = 14;
    private static final int SOURCE_TENSORS = 21;

    @TempDir
    static Path tmp;
    static Path model;
    static JsonNode digests;

    @BeforeAll
    static void setUp() throws IOException {
        digests = CliTesting.readJson(CliTesting.resource("/golden-llama/digests.json"));
        // the golden model has no tokenizer; give the copy one (and a README, which a package does not carry)
        model = CliTesting.copyOfBf16(tmp.resolve("tiny-llama"));
        Files.writeString(model.resolve("tokenizer.json"), "{\"version\": \"1.0\", \"model\": {\"type\": \"BPE\"}}\n");
        Files.writeString(model.resolve("tokenizer_config.json"), "{\"model_max_length\": 256}\n");
        Files.writeString(model.resolve("README.md"), "# tiny llama\n");
    }

    static Stream<Arguments> recipes() {
        List<Arguments> cases = new ArrayList<>();
        String[][] recipeToGolden = {
                {"int8wo", "int8wo"},
                {"fp8dq-row", "fp8dq_perrow"},
                {"8da4w-32", "8da4w_g32"},
                {"int4wo-128", "int4wo_g128_tile_packed_to_4d"}};
        for (String[] r : recipeToGolden) {
            // defaults (--division cuda, --kernel vector), then the reference loops with the division spelled out
            cases.add(Arguments.of(r[0], r[1], List.of()));
            cases.add(Arguments.of(r[0], r[1], List.of("--kernel", "reference", "--division", "cuda")));
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} {2} = torchao {1}")
    @MethodSource("recipes")
    void quantizeMatchesTorchaoTensorForTensor(String recipe, String variant, List<String> options) throws IOException {
        JsonNode golden = digests.required(variant);
        Path out = tmp.resolve(recipe + "-" + options.size());
        List<Object> args = new ArrayList<>(List.of("quantize", model, "--recipe", recipe, "--out", out, "--quiet"));
        args.addAll(options);
        CliTesting.Result r = ao4j(args.toArray());

        assertEquals(0, r.exitCode(), r::toString);
        assertEquals("", r.err(), "--quiet run printed on stderr");
        assertTrue(r.out().contains("recipe " + recipe + ": " + LINEAR_WEIGHTS + " of " + SOURCE_TENSORS
                + " tensors quantized"), r::toString);
        assertEquals(List.of("ao4j_report.json", "config.json", "generation_config.json", "model.safetensors",
                "tokenizer.json", "tokenizer_config.json"), CliTesting.list(out), "package files");
        assertFalse(Files.exists(out.resolveSibling(out.getFileName() + ".partial")), "left a .partial directory");

        try (SafetensorsFile f = SafetensorsFile.open(out.resolve("model.safetensors"))) {
            assertTensorsMatch(golden.required("tensors"), f);
            assertMetadataMatches(golden.required("metadata"), f.metadata());
        }

        ObjectNode config = (ObjectNode) CliTesting.readJson(out.resolve("config.json"));
        assertEquals(golden.required("quantization_config"), config.get("quantization_config"),
                "config.json quantization_config");
        config.remove("quantization_config");
        assertEquals(CliTesting.readJson(model.resolve("config.json")), config,
                "config.json apart from quantization_config must be the source's");
        // and formatted as transformers writes it (sorted keys, indent 2, final newline): byte for byte
        assertEquals(golden.required("config_json_sha256").asString(),
                CliTesting.sha256(MemorySegment.ofArray(Files.readAllBytes(out.resolve("config.json")))),
                "config.json bytes");

        for (String aux : AUX_FILES) {
            assertEquals(-1L, Files.mismatch(model.resolve(aux), out.resolve(aux)), aux + " not copied unchanged");
        }
        assertReport(out.resolve("ao4j_report.json"), recipe, golden.required("metadata"));
    }

    /**
     * An f32 checkpoint quantized with {@code --dtype bfloat16} is what transformers' {@code from_pretrained(dtype=
     * torch.bfloat16)} + torchao make of it: the same bytes as quantizing the bf16 model (bf16 -> f32 is exact).
     */
    @Test
    void f32CheckpointCastToBf16MatchesTorchao() throws IOException {
        Path f32 = tmp.resolve("tiny-llama-f32");
        Files.createDirectories(f32);
        ObjectNode cfg = (ObjectNode) CliTesting.readJson(model.resolve("config.json"));
        cfg.put("dtype", "float32");
        Files.writeString(f32.resolve("config.json"), cfg.toString());
        Map<String, dev.ao4j.quant.tensor.Tensor> tensors = new java.util.LinkedHashMap<>();
        try (SafetensorsFile src = SafetensorsFile.open(model.resolve("model.safetensors"))) {
            for (String n : src.names()) tensors.put(n, src.tensor(n).to(dev.ao4j.quant.dtype.DType.F32));
            dev.ao4j.safetensors.SafetensorsWriter.write(f32.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
        }

        Path kept = tmp.resolve("f32-fp8-auto");
        CliTesting.Result r = ao4j("quantize", f32, "--recipe", "fp8dq-row", "--out", kept, "--quiet");
        assertEquals(0, r.exitCode(), r::toString);
        assertTrue(r.out().contains("0 of 21 tensors quantized"), r::toString);
        assertTrue(r.out().contains("model.layers.0.mlp.up_proj.weight: dtype float32 not supported by this config"),
                r::toString);

        Path out = tmp.resolve("f32-int8wo-bf16");
        r = ao4j("quantize", f32, "--recipe", "int8wo", "--dtype", "bfloat16", "--out", out, "--quiet");
        assertEquals(0, r.exitCode(), r::toString);
        try (SafetensorsFile f = SafetensorsFile.open(out.resolve("model.safetensors"))) {
            assertTensorsMatch(digests.required("int8wo").required("tensors"), f);
        }
        assertEquals("bfloat16", CliTesting.readJson(out.resolve("config.json")).required("dtype").asString());
    }

    private static void assertTensorsMatch(JsonNode golden, SafetensorsFile f) {
        assertEquals(new TreeSet<>(golden.propertyNames()), new TreeSet<>(f.names()), "tensor names");
        List<String> mismatches = new ArrayList<>();
        for (String name : f.names()) {
            JsonNode g = golden.required(name);
            TensorInfo info = f.info(name);
            long[] goldenShape = g.required("shape").valueStream().mapToLong(JsonNode::asLong).toArray();
            assertEquals(g.required("dtype").asString(), info.dtype().safetensorsName(), name + " dtype");
            assertArrayEquals(goldenShape, info.shape().dims(), name + " shape");
            if (!g.required("sha256").asString().equals(CliTesting.sha256(f.tensor(name)))) mismatches.add(name);
        }
        assertEquals(List.of(), mismatches, "tensors whose bytes differ from torchao's");
    }

    /**
     * Every metadata entry must equal torchao's string for string, except {@code tensor_names}: torchao lists the
     * state dict in nn.Module definition order (q, k, v, o, gate, up, down, ...), which a checkpoint alone cannot
     * tell us, so there only the set of names (and no duplicates) is compared. transformers does not depend on
     * that order when it loads the package.
     */
    private static void assertMetadataMatches(JsonNode golden, Map<String, String> ours) {
        assertEquals(new HashSet<>(golden.propertyNames()), ours.keySet(), "metadata keys");
        for (String key : golden.propertyNames()) {
            String expected = golden.required(key).asString();
            if (key.equals("tensor_names")) {
                List<String> g = CliTesting.JSON.readTree(expected).valueStream().map(JsonNode::asString).toList();
                List<String> o = CliTesting.JSON.readTree(ours.get(key)).valueStream().map(JsonNode::asString)
                        .toList();
                assertEquals(o.size(), new HashSet<>(o).size(), "tensor_names has duplicates: " + o);
                assertEquals(new TreeSet<>(g), new TreeSet<>(o), "tensor_names (as a set)");
            } else {
                assertEquals(expected, ours.get(key), "metadata entry '" + key + "'");
            }
        }
    }

    private static void assertReport(Path file, String recipe, JsonNode goldenMetadata) {
        JsonNode report = CliTesting.readJson(file);
        assertEquals(recipe, report.required("recipe").asString());
        assertEquals(SOURCE_TENSORS, report.required("tensors_total").asInt());
        assertEquals(LINEAR_WEIGHTS, report.required("tensors_quantized").asInt());
        JsonNode tensors = report.required("tensors");
        assertEquals(SOURCE_TENSORS, tensors.size());
        int quantized = 0;
        for (JsonNode t : tensors) {
            String name = t.required("name").asString();
            // torchao's metadata names the subclass each state-dict entry became ("Tensor" for plain ones)
            String goldenType = CliTesting.JSON.readTree(goldenMetadata.required(name).asString())
                    .required("_type").asString();
            if (t.has("quantized_as")) {
                quantized++;
                assertEquals(goldenType, t.required("quantized_as").asString(), name);
                assertTrue(t.required("sqnr_db").asDouble() > 10, () -> name + " SQNR " + t.get("sqnr_db"));
            } else {
                assertEquals("Tensor", goldenType, name + " kept in high precision but torchao quantized it");
                assertFalse(t.required("kept_because").asString().isBlank(), name);
            }
        }
        assertEquals(LINEAR_WEIGHTS, quantized);
    }
}
