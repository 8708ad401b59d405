package dev.ao4j.cli;

import static dev.ao4j.cli.CliTesting.ao4j;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.pipeline.Sqnr;
import dev.ao4j.quant.sparsity.Sparse24;
import dev.ao4j.quant.sparsity.TopkTies;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.safetensors.ShardedCheckpoint;
import dev.ao4j.safetensors.ShardedWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import tools.jackson.databind.JsonNode;

/** {@code ao4j sparsify}: the 2:4 dense-with-zeros checkpoint, its report, the refusals, and sparsify → quantize. */
class SparsifyCommandTest {
    /** 2 layers x (q, k, v, o, gate, up, down); embeddings, lm_head and norms stay as they are. */
    private static final int LINEAR_WEIGHTS = 14;
    private static final int SOURCE_TENSORS = 21;
    private static final List<String> FILES = List.of("ao4j_report.json", "config.json", "generation_config.json",
            "model.safetensors");

    @TempDir
    static Path shared;
    /** The golden bf16 model sparsified with the defaults (CUDA ties), made once. */
    static Path sparse;
    static CliTesting.Result sparseRun;

    @TempDir
    Path tmp;

    @BeforeAll
    static void sparsifyOnce() {
        sparse = shared.resolve("tiny-sparse24");
        sparseRun = ao4j("sparsify", CliTesting.goldenBf16(), "--out", sparse);
        assertEquals(0, sparseRun.exitCode(), sparseRun::toString);
    }

    private static boolean isLinearWeight(String name, Shape shape) {
        return name.endsWith("_proj.weight") && shape.rank() == 2;
    }

    @Test
    void writesAPlainCheckpointWithTheSourceConfigAndEveryTensorInItsDtype() throws IOException {
        assertEquals(FILES, CliTesting.list(sparse));
        assertEquals(List.of("tiny-sparse24"), CliTesting.list(shared), "staging directory left behind");
        Path src = CliTesting.goldenBf16();
        assertArrayEquals(Files.readAllBytes(src.resolve("config.json")),
                Files.readAllBytes(sparse.resolve("config.json")), "config.json must be the source's");
        assertArrayEquals(Files.readAllBytes(src.resolve("generation_config.json")),
                Files.readAllBytes(sparse.resolve("generation_config.json")));
        Map<String, String> before = CliTesting.tensorDigests(src);
        Map<String, String> after = CliTesting.tensorDigests(sparse);
        assertEquals(before.keySet(), after.keySet());
        int pruned = 0;
        try (ShardedCheckpoint in = ShardedCheckpoint.open(src); ShardedCheckpoint out = ShardedCheckpoint.open(sparse)) {
            assertEquals(in.metadata(), out.metadata(), "shard __metadata__ carried over");
            for (String name : in.names()) {
                assertEquals(in.info(name).dtype(), out.info(name).dtype(), name);
                assertEquals(in.info(name).shape(), out.info(name).shape(), name);
                if (isLinearWeight(name, in.info(name).shape())) {
                    pruned++;
                    assertNotEquals(before.get(name), after.get(name), name + " was not pruned");
                } else {
                    assertEquals(before.get(name), after.get(name), name + " must be byte-identical");
                }
            }
        }
        assertEquals(LINEAR_WEIGHTS, pruned);
    }

    @Test
    void everyGroupOfFourAlongKHasTwoZerosAndTheKeptValuesAreTheSource() {
        try (ShardedCheckpoint in = ShardedCheckpoint.open(CliTesting.goldenBf16());
             ShardedCheckpoint out = ShardedCheckpoint.open(sparse)) {
            for (String name : in.names()) {
                if (!isLinearWeight(name, in.info(name).shape())) continue;
                Tensor w = in.tensor(name);
                Tensor p = out.tensor(name);
                for (long g = 0; g < w.numel() / 4; g++) {
                    int zeroed = 0;
                    int sourceZerosKept = 0;
                    for (int i = 0; i < 4; i++) {
                        long e = 4 * g + i;
                        short pruned = p.data().getAtIndex(Tensor.I16, e);
                        if (p.getFloat(e) == 0f && w.getFloat(e) != 0f) {
                            zeroed++;
                        } else {
                            assertEquals(w.data().getAtIndex(Tensor.I16, e), pruned, name + " element " + e);
                            if (w.getFloat(e) == 0f) sourceZerosKept++;
                        }
                    }
                    // exactly two go, or fewer where the source already had zeros in the group
                    int zeros = zeroed + sourceZerosKept;
                    assertTrue(zeros >= 2 && zeroed <= 2, name + " group " + g + ": " + zeroed + " pruned, "
                            + sourceZerosKept + " zero in the source");
                    if (sourceZerosKept == 0) assertEquals(2, zeroed, name + " group " + g);
                }
            }
        }
    }

    @ParameterizedTest(name = "--division {0}")
    @CsvSource({"cuda, CUDA_RECIPROCAL", "cpu, TRUE_DIV"})
    void theMaskIsSparse24MagnitudeMaskOfTheDivisionConvention(String division, DivMode mode) {
        Path out = tmp.resolve("sparse-" + division);
        CliTesting.Result r = ao4j("sparsify", CliTesting.goldenBf16(), "--out", out, "--division", division);
        assertEquals(0, r.exitCode(), r::toString);
        TopkTies ties = TopkTies.of(mode);
        try (ShardedCheckpoint in = ShardedCheckpoint.open(CliTesting.goldenBf16());
             ShardedCheckpoint o = ShardedCheckpoint.open(out)) {
            for (String name : in.names()) {
                if (!isLinearWeight(name, in.info(name).shape())) continue;
                Tensor w = in.tensor(name);
                Tensor mask = Sparse24.magnitudeMask(w, ties);
                Tensor p = o.tensor(name);
                for (long e = 0; e < w.numel(); e++) {
                    if (mask.getByte(e) == 1) {
                        assertEquals(w.data().getAtIndex(Tensor.I16, e), p.data().getAtIndex(Tensor.I16, e), name);
                    } else {
                        assertEquals(0f, Math.abs(p.getFloat(e)), name + " element " + e + " not pruned");
                    }
                }
            }
        }
    }

    @Test
    void theTwoTieRulesGiveDifferentCheckpointsOnThisModel() {
        // bf16 squares tie often; the CPU's introselect and CUDA's lowest-index rule then zero different elements
        Path cpu = tmp.resolve("cpu");
        assertEquals(0, ao4j("sparsify", CliTesting.goldenBf16(), "--out", cpu, "--division", "cpu").exitCode());
        assertNotEquals(CliTesting.tensorDigests(sparse), CliTesting.tensorDigests(cpu));
        assertEquals("CPU_INTROSELECT", CliTesting.readJson(cpu.resolve("ao4j_report.json")).get("tie_rule")
                .stringValue());
    }

    @Test
    void reportGivesSparsityAndSqnrPerPrunedWeightAndWhyTheOthersWereKept() {
        JsonNode report = CliTesting.readJson(sparse.resolve("ao4j_report.json"));
        assertEquals("sparse24", report.get("transform").stringValue());
        assertEquals("CUDA_LOWEST_INDEX", report.get("tie_rule").stringValue());
        assertEquals(SOURCE_TENSORS, report.get("tensors_total").intValue());
        assertEquals(LINEAR_WEIGHTS, report.get("tensors_pruned").intValue());
        int seen = 0;
        try (ShardedCheckpoint in = ShardedCheckpoint.open(CliTesting.goldenBf16());
             ShardedCheckpoint out = ShardedCheckpoint.open(sparse)) {
            for (JsonNode t : report.get("tensors")) {
                String name = t.get("name").stringValue();
                assertEquals("bfloat16", t.get("dtype").stringValue(), name);
                if (!isLinearWeight(name, in.info(name).shape())) {
                    assertTrue(t.has("kept_because") && !t.has("sparsity"), name);
                    continue;
                }
                seen++;
                Tensor p = out.tensor(name);
                long zeros = 0;
                for (long e = 0; e < p.numel(); e++) if (p.getFloat(e) == 0f) zeros++;
                assertEquals(zeros, t.get("zeros").longValue(), name);
                assertEquals((double) zeros / p.numel(), t.get("sparsity").doubleValue(), name);
                assertTrue(t.get("sparsity").doubleValue() >= 0.5, name);
                double sqnr = Math.round(Sqnr.db(in.tensor(name), p) * 1000) / 1000.0;
                assertEquals(sqnr, t.get("sqnr_db").doubleValue(), name);
            }
        }
        assertEquals(LINEAR_WEIGHTS, seen);
        assertTrue(report.get("tensors").get(0).has("kept_because"), "embed_tokens comes first and is kept");
        String out = sparseRun.out();
        assertTrue(out.contains("14 of 21 tensors pruned to 2:4"), out);
        assertTrue(out.contains("weight SQNR: mean"), out);
        assertTrue(out.contains("model.embed_tokens.weight: input/output embedding"), out);
        assertTrue(out.contains("ao4j quantize"), out);
    }

    @Test
    void modulesToNotConvertStayDenseAndByteIdentical() {
        Path out = tmp.resolve("out");
        CliTesting.Result r = ao4j("sparsify", CliTesting.goldenBf16(), "--out", out,
                "--modules-to-not-convert", "mlp.down_proj");
        assertEquals(0, r.exitCode(), r::toString);
        Map<String, String> before = CliTesting.tensorDigests(CliTesting.goldenBf16());
        Map<String, String> after = CliTesting.tensorDigests(out);
        for (String name : List.of("model.layers.0.mlp.down_proj.weight", "model.layers.1.mlp.down_proj.weight")) {
            assertEquals(before.get(name), after.get(name), name);
            assertTrue(r.out().contains(name + ": in modules_to_not_convert ('mlp.down_proj')"), r::toString);
        }
        assertEquals(LINEAR_WEIGHTS - 2, CliTesting.readJson(out.resolve("ao4j_report.json")).get("tensors_pruned")
                .intValue());
    }

    @Test
    void weightsWhoseKIsNotAMultipleOfFourAreKeptWithTheReasonAndF32IsPrunedInF32() throws IOException {
        Path model = Files.createDirectories(tmp.resolve("ragged"));
        Files.writeString(model.resolve("config.json"), "{\"model_type\": \"llama\"}\n");
        Tensor ragged = Tensor.allocate(DType.BF16, Shape.of(4, 6));
        Tensor f32 = Tensor.allocate(DType.F32, Shape.of(2, 8));
        for (int i = 0; i < 24; i++) ragged.setFloat(i, i + 1);
        for (int i = 0; i < 16; i++) f32.setFloat(i, (i % 3 - 1) * (i + 0.5f));
        try (ShardedWriter w = ShardedWriter.create(model, 1L << 30, Map.of("format", "pt"))) {
            w.add("model.layers.0.mlp.up_proj.weight", ragged);
            w.add("model.layers.0.mlp.down_proj.weight", f32);
            w.commit();
        }
        Path out = tmp.resolve("out");
        CliTesting.Result r = ao4j("sparsify", model, "--out", out);
        assertEquals(0, r.exitCode(), r::toString);
        assertTrue(r.out().contains("model.layers.0.mlp.up_proj.weight: K = 6 is not a multiple of 4"), r::toString);
        try (ShardedCheckpoint o = ShardedCheckpoint.open(out)) {
            assertEquals(CliTesting.sha256(ragged), CliTesting.sha256(o.tensor("model.layers.0.mlp.up_proj.weight")));
            Tensor p = o.tensor("model.layers.0.mlp.down_proj.weight");
            assertEquals(DType.F32, p.dtype());
            assertEquals(CliTesting.sha256(Sparse24.prune(f32, TopkTies.CUDA_LOWEST_INDEX)), CliTesting.sha256(p));
        }
        JsonNode report = CliTesting.readJson(out.resolve("ao4j_report.json"));
        assertEquals(1, report.get("tensors_pruned").intValue());
        for (JsonNode t : report.get("tensors")) {
            if (t.get("name").stringValue().equals("model.layers.0.mlp.up_proj.weight")) {
                assertEquals("K = 6 is not a multiple of 4", t.get("kept_because").stringValue());
            } else {
                assertEquals("float32", t.get("dtype").stringValue());
                assertEquals(0.5, t.get("sparsity").doubleValue());
            }
        }
    }

    @Test
    void compressedFormatIsRefusedPlainlyWithExit4AndNothingWritten() {
        for (String format : List.of("compressed", "cutlass")) {
            Path out = tmp.resolve("out-" + format);
            CliTesting.Result r = ao4j("sparsify", CliTesting.goldenBf16(), "--out", out, "--format", format);
            assertEquals(ExitCodes.UNSUPPORTED, r.exitCode(), r::toString);
            for (String part : List.of("no engine ao4j targets loads a CUTLASS-compressed 2:4 checkpoint",
                    "SemiSparseWeightConfig", "torchao.sparsity", "vLLM", "sparse-24-bitmask", "nothing was written",
                    "--format dense", "Sparse24.compress")) {
                assertTrue(r.err().contains(part), () -> "missing '" + part + "' in " + r);
            }
            assertNothingWritten(out);
        }
    }

    @Test
    void badOptionsAndQuantizedInputsAreUsageErrors() throws IOException {
        Path out = tmp.resolve("out");
        CliTesting.Result format = ao4j("sparsify", CliTesting.goldenBf16(), "--out", out, "--format", "csr");
        assertEquals(ExitCodes.USAGE, format.exitCode(), format::toString);
        assertTrue(format.err().contains("--format must be dense"), format::toString);
        CliTesting.Result division = ao4j("sparsify", CliTesting.goldenBf16(), "--out", out, "--division", "tpu");
        assertEquals(ExitCodes.USAGE, division.exitCode(), division::toString);
        assertTrue(division.err().contains("--division must be cuda or cpu"), division::toString);
        CliTesting.Result missing = ao4j("sparsify", tmp.resolve("no-such-model"), "--out", out);
        assertEquals(ExitCodes.USAGE, missing.exitCode(), missing::toString);

        Path int8 = tmp.resolve("int8");
        assertEquals(0, ao4j("quantize", CliTesting.goldenBf16(), "--recipe", "int8wo", "--out", int8, "--quiet",
                "--no-error-report").exitCode());
        CliTesting.Result again = ao4j("sparsify", int8, "--out", out);
        assertEquals(ExitCodes.USAGE, again.exitCode(), again::toString);
        assertTrue(again.err().contains("the model is already quantized"), again::toString);
        assertNothingWritten(out);
    }

    @Test
    void outputIsPublishedAtomicallyAndReplacedOnlyWithForce() throws IOException {
        Path out = Files.createDirectories(tmp.resolve("out"));
        Path marker = Files.writeString(out.resolve("keep-me.txt"), "an earlier checkpoint\n");
        CliTesting.Result refused = ao4j("sparsify", CliTesting.goldenBf16(), "--out", out);
        assertEquals(ExitCodes.USAGE, refused.exitCode(), refused::toString);
        assertTrue(refused.err().contains("--force"), refused::toString);
        assertEquals("an earlier checkpoint\n", Files.readString(marker));

        Path stale = Files.createDirectories(tmp.resolve("out.partial"));
        Files.writeString(stale.resolve("model.safetensors.shard1-0123"), "half-written");
        CliTesting.Result forced = ao4j("sparsify", CliTesting.goldenBf16(), "--out", out, "--force");
        assertEquals(0, forced.exitCode(), forced::toString);
        assertEquals(FILES, CliTesting.list(out));
        assertEquals(List.of("out"), CliTesting.list(tmp), "staging or moved-aside directories left behind");
        assertEquals(CliTesting.tensorDigests(sparse), CliTesting.tensorDigests(out));
    }

    @Test
    void aDamagedSourceLeavesNothingBehind() throws IOException {
        Path model = CliTesting.copyOfBf16(tmp.resolve("model"));
        try (var ch = java.nio.channels.FileChannel.open(model.resolve("model.safetensors"),
                java.nio.file.StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() - 1000);
        }
        Path out = tmp.resolve("out");
        CliTesting.Result r = ao4j("sparsify", model, "--out", out);
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode(), r::toString);
        assertNothingWritten(out);
    }

    @Test
    void sparsifyThenQuantizeInt8woKeepsTheZerosInTheCodes() {
        Path int8 = tmp.resolve("sparse-int8wo");
        CliTesting.Result r = ao4j("quantize", sparse, "--recipe", "int8wo", "--out", int8, "--quiet");
        assertEquals(0, r.exitCode(), r::toString);
        int checked = 0;
        try (ShardedCheckpoint s = ShardedCheckpoint.open(sparse); ShardedCheckpoint q = ShardedCheckpoint.open(int8)) {
            for (String name : s.names()) {
                if (!isLinearWeight(name, s.info(name).shape())) continue;
                String module = name.substring(0, name.length() - ".weight".length());
                Tensor w = s.tensor(name);
                Tensor codes = q.tensor(module + "._weight_qdata");
                assertEquals(DType.I8, codes.dtype(), name);
                long zeros = 0;
                for (long e = 0; e < w.numel(); e++) {
                    if (w.getFloat(e) == 0f) {
                        assertEquals(0, codes.getByte(e), name + " element " + e);
                        zeros++;
                    }
                }
                assertTrue(zeros >= w.numel() / 2, name);
                checked++;
            }
        }
        assertEquals(LINEAR_WEIGHTS, checked);
    }

    @Test
    void theSparse24RecipeWritesWhatSparsifyThenQuantizeWrites() {
        Path twoSteps = tmp.resolve("two-steps");
        assertEquals(0, ao4j("quantize", sparse, "--recipe", "int8wo", "--out", twoSteps, "--quiet").exitCode());
        Path oneStep = tmp.resolve("one-step");
        CliTesting.Result r = ao4j("quantize", CliTesting.goldenBf16(), "--recipe", "sparse24+int8wo", "--out", oneStep,
                "--quiet");
        assertEquals(0, r.exitCode(), r::toString);
        assertEquals(CliTesting.tensorDigests(twoSteps), CliTesting.tensorDigests(oneStep));
        CliTesting.Result nested = ao4j("quantize", CliTesting.goldenBf16(), "--recipe", "sparse24+sparse24+int8wo",
                "--out", tmp.resolve("nested"), "--quiet");
        assertEquals(ExitCodes.USAGE, nested.exitCode(), nested::toString);
        assertTrue(nested.err().contains("is not sparse24+<recipe>"), nested::toString);
    }

    private static void assertNothingWritten(Path out) {
        assertFalse(Files.exists(out), () -> out + " exists after a failed run");
        assertFalse(Files.exists(out.resolveSibling(out.getFileName() + ".partial")), ".partial left behind");
    }
}
