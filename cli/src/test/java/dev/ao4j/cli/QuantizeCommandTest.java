package dev.ao4j.cli;

import static dev.ao4j.cli.CliTesting.ao4j;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.pipeline.Recipes;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.safetensors.SafetensorsFile;
import dev.ao4j.safetensors.SafetensorsWriter;
import dev.ao4j.safetensors.ShardedCheckpoint;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/** {@code ao4j quantize}: options, refusals and their exit codes/messages, atomic output, sharding. */
class QuantizeCommandTest {
    @TempDir
    static Path shared;
    /** A finished int8wo package of the golden bf16 model, made once. */
    static Path int8Package;

    @TempDir
    Path tmp;

    @BeforeAll
    static void quantizeOnce() {
        int8Package = shared.resolve("tiny-int8wo");
        CliTesting.Result r = ao4j("quantize", CliTesting.goldenBf16(), "--recipe", "int8wo", "--out", int8Package,
                "--quiet", "--no-error-report");
        assertEquals(0, r.exitCode(), r::toString);
    }

    private Path out() {
        return tmp.resolve("out");
    }

    /** A failed run must leave neither the package nor its staging directory behind. */
    private void assertNothingWritten(Path out) {
        assertFalse(Files.exists(out), () -> out + " exists after a failed run");
        assertFalse(Files.exists(out.resolveSibling(out.getFileName() + ".partial")), ".partial left behind");
    }

    private static void assertFailure(int code, CliTesting.Result r, String... messageParts) {
        assertEquals(code, r.exitCode(), r::toString);
        assertTrue(r.err().startsWith("ao4j: error: "), r::toString);
        for (String part : messageParts) assertTrue(r.err().contains(part), () -> "'" + part + "' missing from " + r);
        assertFalse(r.err().contains("\tat "), () -> "stack trace printed: " + r);
    }

    @Test
    void missingModelDirectoryIsAUsageErrorNamingIt() {
        Path missing = tmp.resolve("no-such-model");
        CliTesting.Result r = ao4j("quantize", missing, "--recipe", "int8wo", "--out", out());
        assertFailure(ExitCodes.USAGE, r, missing.toString(), "no such model directory");
        assertNothingWritten(out());
    }

    @Test
    void directoryWithoutConfigJsonIsRefused() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("weights-only"));
        Files.copy(CliTesting.goldenBf16().resolve("model.safetensors"), dir.resolve("model.safetensors"));
        CliTesting.Result r = ao4j("quantize", dir, "--recipe", "int8wo", "--out", out());
        assertFailure(ExitCodes.USAGE, r, dir.toString(), "no config.json");
        assertNothingWritten(out());
    }

    @Test
    void directoryWithoutWeightsIsMalformedInput() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("config-only"));
        Files.copy(CliTesting.goldenBf16().resolve("config.json"), dir.resolve("config.json"));
        CliTesting.Result r = ao4j("quantize", dir, "--recipe", "int8wo", "--out", out());
        assertFailure(ExitCodes.BAD_INPUT, r, dir.toString(), "model.safetensors", "model.safetensors.index.json");
        assertNothingWritten(out());
    }

    @Test
    void unknownRecipeListsTheKnownOnes() {
        CliTesting.Result r = ao4j("quantize", CliTesting.goldenBf16(), "--recipe", "int3wo", "--out", out());
        assertFailure(ExitCodes.USAGE, r, "unknown recipe 'int3wo'");
        for (String known : Recipes.NAMES) assertTrue(r.err().contains(known), () -> known + " not listed: " + r);
        assertNothingWritten(out());
    }

    @Test
    void unsupportedGroupSizeNamesTheRecipe() {
        CliTesting.Result r = ao4j("quantize", CliTesting.goldenBf16(), "--recipe", "int4wo-100", "--out", out());
        assertFailure(ExitCodes.USAGE, r, "int4wo-100", "group size", "100");
        assertNothingWritten(out());
    }

    @Test
    void badDivisionKernelAndShardSizeAreUsageErrors() {
        Path bf16 = CliTesting.goldenBf16();
        assertFailure(ExitCodes.USAGE, ao4j("quantize", bf16, "--recipe", "int8wo", "--out", out(),
                "--division", "gpu"), "--division", "cuda or cpu", "'gpu'");
        assertFailure(ExitCodes.USAGE, ao4j("quantize", bf16, "--recipe", "int8wo", "--out", out(),
                "--kernel", "simd"), "--kernel", "vector or reference", "'simd'");
        assertFailure(ExitCodes.USAGE, ao4j("quantize", bf16, "--recipe", "int8wo", "--out", out(),
                "--max-shard-size", "lots"), "--max-shard-size", "'lots'");
        assertFailure(ExitCodes.USAGE, ao4j("quantize", bf16, "--recipe", "int8wo", "--out", out(),
                "--max-shard-size", "0MB"), "--max-shard-size", "positive");
        assertNothingWritten(out());
    }

    @Test
    void missingRecipeIsAPicocliUsageError() {
        CliTesting.Result r = ao4j("quantize", CliTesting.goldenBf16(), "--out", out());
        assertEquals(ExitCodes.USAGE, r.exitCode(), r::toString);
        assertTrue(r.err().contains("--recipe"), r::toString);
        assertNothingWritten(out());
    }

    @Test
    void existingOutputNeedsForceAndIsThenReplacedWhole() throws IOException {
        Path out = Files.createDirectories(out());
        Path marker = Files.writeString(out.resolve("keep-me.txt"), "an earlier package\n");

        CliTesting.Result refused = ao4j("quantize", CliTesting.goldenBf16(), "--recipe", "int8wo", "--out", out,
                "--quiet", "--no-error-report");
        assertFailure(ExitCodes.USAGE, refused, out.toString(), "already exists", "--force");
        assertEquals("an earlier package\n", Files.readString(marker), "refused run touched the existing output");
        assertFalse(Files.exists(tmp.resolve("out.partial")));

        CliTesting.Result forced = ao4j("quantize", CliTesting.goldenBf16(), "--recipe", "int8wo", "--out", out,
                "--quiet", "--no-error-report", "--force");
        assertEquals(0, forced.exitCode(), forced::toString);
        assertFalse(Files.exists(marker), "--force kept a file of the old package");
        assertEquals(List.of("ao4j_report.json", "config.json", "generation_config.json", "model.safetensors"),
                CliTesting.list(out));
        assertEquals(List.of("out"), CliTesting.list(tmp), "staging or moved-aside directories left behind");
        assertEquals(CliTesting.tensorDigests(int8Package), CliTesting.tensorDigests(out));
    }

    @Test
    void staleStagingDirectoryFromAnInterruptedRunIsReplaced() throws IOException {
        Path stale = Files.createDirectories(tmp.resolve("out.partial"));
        Files.writeString(stale.resolve("model.safetensors.shard1-0123"), "half-written");
        CliTesting.Result r = ao4j("quantize", CliTesting.goldenBf16(), "--recipe", "int8wo", "--out", out(),
                "--quiet", "--no-error-report");
        assertEquals(0, r.exitCode(), r::toString);
        assertEquals(List.of("out"), CliTesting.list(tmp));
        assertEquals(List.of("ao4j_report.json", "config.json", "generation_config.json", "model.safetensors"),
                CliTesting.list(out()));
    }

    @Test
    void truncatedSafetensorsIsMalformedInputNamingTheFile() throws IOException {
        Path model = CliTesting.copyOfBf16(tmp.resolve("model"));
        Path weights = model.resolve("model.safetensors");
        try (FileChannel ch = FileChannel.open(weights, StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() - 1000); // header intact, the last tensors' bytes cut off
        }
        CliTesting.Result r = ao4j("quantize", model, "--recipe", "int8wo", "--out", out());
        assertFailure(ExitCodes.BAD_INPUT, r, weights.toString());
        assertNothingWritten(out());
    }

    @Test
    void garbageHeaderIsMalformedInputNamingTheFile() throws IOException {
        Path model = CliTesting.copyOfBf16(tmp.resolve("model"));
        Path weights = model.resolve("model.safetensors");
        byte[] bytes = Files.readAllBytes(weights);
        bytes[8] = 'X'; // the JSON header's opening brace
        Files.write(weights, bytes);
        CliTesting.Result r = ao4j("quantize", model, "--recipe", "int8wo", "--out", out());
        assertFailure(ExitCodes.BAD_INPUT, r, weights.toString(), "header");
        assertNothingWritten(out());
    }

    @Test
    void alreadyQuantizedModelIsRefused() {
        CliTesting.Result r = ao4j("quantize", int8Package, "--recipe", "int4wo-128", "--out", out());
        assertFailure(ExitCodes.USAGE, r, int8Package.resolve("config.json").toString(), "already quantized",
                "quantization_config");
        assertNothingWritten(out());
    }

    /**
     * A run that fails after the staging directory exists: the source holds a plain tensor named like one of the
     * parts torchao's layout gives a quantized weight ({@code <module>._weight_scale}), so the second write of
     * that name fails half-way through. Nothing may be left behind.
     */
    @Test
    void failureHalfWayLeavesNoOutputAndNoPartialDirectory() throws IOException {
        Path model = Files.createDirectories(tmp.resolve("clash"));
        Files.copy(CliTesting.goldenBf16().resolve("config.json"), model.resolve("config.json"));
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("model.layers.0.mlp.down_proj._weight_scale", Tensor.allocate(DType.BF16, Shape.of(16, 1)));
        Tensor w = Tensor.allocate(DType.BF16, Shape.of(16, 32));
        for (long i = 0; i < w.numel(); i++) w.setFloat(i, (i % 7) - 3);
        tensors.put("model.layers.0.mlp.down_proj.weight", w);
        SafetensorsWriter.write(model.resolve("model.safetensors"), tensors, Map.of());

        CliTesting.Result r = ao4j("quantize", model, "--recipe", "int8wo", "--out", out(), "--quiet");
        // named in the source's terms: both tensors and the model directory, as malformed input
        assertFailure(ExitCodes.BAD_INPUT, r, model.toString(), "'model.layers.0.mlp.down_proj._weight_scale'",
                "'model.layers.0.mlp.down_proj.weight'", "ambiguous");
        assertNothingWritten(out());
        assertEquals(List.of("clash"), CliTesting.list(tmp));
    }

    @Test
    void modulesToNotConvertKeepsThoseWeightsAndSaysWhy() {
        CliTesting.Result r = ao4j("quantize", CliTesting.goldenBf16(), "--recipe", "int8wo", "--out", out(),
                "--quiet", "--modules-to-not-convert", "mlp.down_proj");
        assertEquals(0, r.exitCode(), r::toString);
        assertTrue(r.out().contains("recipe int8wo: 12 of 21 tensors quantized"), r::toString);
        String reason = "in modules_to_not_convert ('mlp.down_proj')";
        assertTrue(r.out().contains("model.layers.1.mlp.down_proj.weight: " + reason), r::toString);

        JsonNode report = CliTesting.readJson(out().resolve("ao4j_report.json"));
        assertEquals(12, report.required("tensors_quantized").asInt());
        int kept = 0;
        for (JsonNode t : report.required("tensors")) {
            boolean downProj = t.required("name").asString().endsWith("mlp.down_proj.weight");
            if (downProj) {
                kept++;
                assertEquals(reason, t.path("kept_because").asString(), t.toString());
                assertFalse(t.has("quantized_as"), t.toString());
            }
        }
        assertEquals(2, kept);

        JsonNode qc = CliTesting.readJson(out().resolve("config.json")).required("quantization_config");
        assertEquals(List.of("mlp.down_proj"), qc.required("modules_to_not_convert").valueStream()
                .map(JsonNode::asString).toList());
        try (SafetensorsFile src = SafetensorsFile.open(CliTesting.goldenBf16().resolve("model.safetensors"));
             SafetensorsFile f = SafetensorsFile.open(out().resolve("model.safetensors"))) {
            for (String name : List.of("model.layers.0.mlp.down_proj.weight", "model.layers.1.mlp.down_proj.weight")) {
                assertEquals(DType.BF16, f.info(name).dtype(), name);
                assertEquals(CliTesting.sha256(src.tensor(name)), CliTesting.sha256(f.tensor(name)), name);
                assertEquals("{\"_type\": \"Tensor\"}", f.metadata().get(name), name);
                assertFalse(f.contains(name.replace(".weight", "._weight_qdata")), name);
            }
            assertTrue(f.contains("model.layers.0.mlp.up_proj._weight_qdata"), "other MLP weights still quantized");
        }
    }

    @Test
    void progressGoesToStderrOneLinePerTensor() {
        CliTesting.Result r = ao4j("quantize", CliTesting.goldenBf16(), "--recipe", "8da4w-32", "--out", out(),
                "--no-error-report");
        assertEquals(0, r.exitCode(), r::toString);
        List<String> lines = r.err().lines().toList();
        Pattern progress = Pattern.compile("\\[(\\d+)/21 +\\d+%] \\S+ -> (kept|IntxUnpackedToInt8Tensor)");
        List<String> tensorLines = lines.stream().filter(l -> progress.matcher(l).matches()).toList();
        assertEquals(21, tensorLines.size(), r::toString);
        assertTrue(tensorLines.getLast().startsWith("[21/21 100%]"), r::toString);
        assertTrue(lines.getLast().startsWith("done in "), r::toString);
        assertFalse(r.err().contains("\033["), "terminal escapes in redirected progress output");
        assertTrue(r.out().startsWith("wrote " + out().toAbsolutePath().normalize()), r::toString);
    }

    @Test
    void maxShardSizeWritesShardsThatEachCarryTheFullTorchaoMetadata() throws IOException {
        CliTesting.Result r = ao4j("quantize", CliTesting.goldenBf16(), "--recipe", "int8wo", "--out", out(),
                "--quiet", "--no-error-report", "--max-shard-size", "1MB");
        assertEquals(0, r.exitCode(), r::toString);

        List<String> files = CliTesting.list(out());
        List<String> shards = files.stream().filter(f -> f.endsWith(".safetensors")).toList();
        int n = shards.size();
        assertTrue(n >= 2, () -> "expected several shards of at most 1 MB: " + files);
        for (int i = 0; i < n; i++) {
            assertEquals(String.format("model-%05d-of-%05d.safetensors", i + 1, n), shards.get(i));
        }
        assertTrue(files.contains("model.safetensors.index.json"), files::toString);
        assertFalse(files.contains("model.safetensors"), files::toString);

        JsonNode golden = CliTesting.readJson(CliTesting.resource("/golden-llama/digests.json")).required("int8wo");
        JsonNode index = CliTesting.readJson(out().resolve("model.safetensors.index.json"));
        JsonNode weightMap = index.required("weight_map");
        assertEquals(new HashSet<>(golden.required("tensors").propertyNames()), new HashSet<>(weightMap.propertyNames()));
        long total = 0;
        Map<String, String> firstMetadata = null;
        for (String shard : shards) {
            try (SafetensorsFile f = SafetensorsFile.open(out().resolve(shard))) {
                assertTrue(f.dataSize() <= 1_000_000, () -> shard + " holds " + f.dataSize() + " bytes");
                total += f.dataSize();
                for (String name : f.names()) assertEquals(shard, weightMap.required(name).asString(), name);
                // transformers writes the same __metadata__ into every shard; torchao's loader needs all of it in each
                if (firstMetadata == null) firstMetadata = f.metadata();
                assertEquals(firstMetadata, f.metadata(), shard + " metadata differs from the first shard's");
            }
        }
        assertEquals(total, index.required("metadata").required("total_size").asLong());
        assertEquals(new HashSet<>(golden.required("metadata").propertyNames()), firstMetadata.keySet());
        for (String key : golden.required("metadata").propertyNames()) {
            if (!key.equals("tensor_names")) {
                assertEquals(golden.required("metadata").required(key).asString(), firstMetadata.get(key), key);
            }
        }
        // the same tensors as the single-file package, byte for byte
        assertEquals(CliTesting.tensorDigests(int8Package), CliTesting.tensorDigests(out()));
        try (ShardedCheckpoint ck = ShardedCheckpoint.open(out())) {
            assertTrue(ck.isSharded());
            assertTrue(ck.conflictingMetadataKeys().isEmpty(), ck.conflictingMetadataKeys()::toString);
        }

        CliTesting.Result inspect = ao4j("inspect", out());
        assertEquals(0, inspect.exitCode(), inspect::toString);
        for (String shard : shards) assertTrue(inspect.out().contains(shard), inspect::toString);
        assertTrue(inspect.out().contains("tensors: 49,"), inspect::toString);
        assertTrue(inspect.out().contains("14 x Int8Tensor"), inspect::toString);
    }
}
