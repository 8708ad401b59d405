package dev.ao4j.cli;

import static dev.ao4j.cli.CliTesting.ao4j;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code ao4j inspect} on a quantized package, a plain checkpoint file, and bad paths. */
class InspectCommandTest {
    @TempDir
    static Path shared;
    static Path fp8Package;

    @TempDir
    Path tmp;

    @BeforeAll
    static void quantizeOnce() {
        fp8Package = shared.resolve("tiny-fp8");
        CliTesting.Result r = ao4j("quantize", CliTesting.goldenBf16(), "--recipe", "fp8dq-row", "--out", fp8Package,
                "--quiet", "--no-error-report");
        assertEquals(0, r.exitCode(), r::toString);
    }

    @Test
    void quantizedPackageShowsConfigAndTorchaoSubclasses() {
        CliTesting.Result r = ao4j("inspect", fp8Package);
        assertEquals(0, r.exitCode(), r::toString);
        assertEquals("", r.err());
        String out = r.out();
        assertTrue(out.contains("model: llama [LlamaForCausalLM], dtype bfloat16"), out);
        assertTrue(out.contains("quantization_config: quant_method=torchao"), out);
        assertTrue(out.contains("\"_type\": \"Float8DynamicActivationFloat8WeightConfig\""), out);
        assertTrue(out.contains("checkpoint: " + fp8Package.resolve("model.safetensors")), out);
        assertTrue(out.contains("tensors: 35,"), out);
        assertTrue(out.contains("torchao state dict (21 entries):"), out);
        assertTrue(out.contains("14 x Float8Tensor"), out);
        assertTrue(out.contains("7 x Tensor"), out);
        // one line per subclass entry, with its torchao attributes
        assertTrue(Pattern.compile("(?m)^  model\\.layers\\.0\\.self_attn\\.q_proj\\.weight +Float8Tensor \\{.*\"block_size\": \\[1, 256]")
                .matcher(out).find(), out);
        assertTrue(Pattern.compile("(?m)^  model\\.layers\\.0\\.self_attn\\.q_proj\\._weight_qdata +F8_E4M3 +\\[256, 256]")
                .matcher(out).find(), out);
        assertTrue(Pattern.compile("(?m)^  F8_E4M3 +14 tensors").matcher(out).find(), out);
    }

    @Test
    void noTensorsLeavesOutThePerTensorList() {
        CliTesting.Result r = ao4j("inspect", fp8Package, "--no-tensors");
        assertEquals(0, r.exitCode(), r::toString);
        assertTrue(r.out().contains("14 x Float8Tensor"), r::toString);
        assertFalse(r.out().contains("tensor list:"), r::toString);
        assertFalse(r.out().contains("_weight_qdata"), r::toString);
    }

    @Test
    void plainSafetensorsFile() {
        Path file = CliTesting.goldenBf16().resolve("model.safetensors");
        CliTesting.Result r = ao4j("inspect", file);
        assertEquals(0, r.exitCode(), r::toString);
        String out = r.out();
        // the config.json beside the file is shown too
        assertTrue(out.contains("quantization_config: none (not quantized)"), out);
        assertTrue(out.contains("checkpoint: " + file), out);
        assertTrue(out.contains("tensors: 21,"), out);
        assertTrue(Pattern.compile("(?m)^  BF16 +21 tensors").matcher(out).find(), out);
        assertTrue(Pattern.compile("(?m)^  model\\.layers\\.1\\.mlp\\.down_proj\\.weight +BF16 +\\[256, 512]")
                .matcher(out).find(), out);
        assertFalse(out.contains("torchao state dict"), out);
    }

    @Test
    void fileWithoutConfigBesideIt() throws IOException {
        Path file = tmp.resolve("weights.safetensors");
        Files.copy(CliTesting.goldenBf16().resolve("model.safetensors"), file);
        CliTesting.Result r = ao4j("inspect", file);
        assertEquals(0, r.exitCode(), r::toString);
        assertFalse(r.out().contains("quantization_config"), r::toString);
        assertTrue(r.out().contains("tensors: 21,"), r::toString);
    }

    @Test
    void missingPathIsAUsageErrorNamingIt() {
        Path missing = tmp.resolve("nothing-here");
        CliTesting.Result r = ao4j("inspect", missing);
        assertEquals(ExitCodes.USAGE, r.exitCode(), r::toString);
        assertTrue(r.err().contains(missing.toString()), r::toString);
        assertTrue(r.err().contains("no such file or directory"), r::toString);
    }

    @Test
    void truncatedFileIsMalformedInputNamingIt() throws IOException {
        Path file = tmp.resolve("model.safetensors");
        Files.copy(CliTesting.goldenBf16().resolve("model.safetensors"), file);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() / 2);
        }
        CliTesting.Result r = ao4j("inspect", file);
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode(), r::toString);
        assertTrue(r.err().contains(file.toString()), r::toString);
    }

    @Test
    void directoryWithoutCheckpoint() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("empty"));
        CliTesting.Result r = ao4j("inspect", dir);
        assertEquals(ExitCodes.BAD_INPUT, r.exitCode(), r::toString);
        assertTrue(r.err().contains(dir.toString()), r::toString);
        assertTrue(r.err().contains("model.safetensors"), r::toString);
    }
}
