package dev.ao4j.cli;

import static dev.ao4j.cli.CliTesting.ao4j;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import tools.jackson.databind.JsonNode;

/** {@code ao4j quantize --target vllm|sglang} and {@code ao4j validate} on the bundled GQA Llama. */
class CliServingTest {
    /** The bundled model: 2 KV heads, so k/v projections (N = 64) differ from q (N = 128). */
    private static final Path MODEL = Path.of("..", "models", "ao4j-tiny-llama");

    @TempDir
    Path tmp;

    @ParameterizedTest
    @CsvSource({
            "vllm, compressed-tensors, w4a16, compressed-tensors, pack-quantized",
            "vllm, compressed-tensors, w4a16-asym, compressed-tensors, pack-quantized",
            "vllm, compressed-tensors, w8a8, compressed-tensors, int-quantized",
            "vllm, compressed-tensors, fp8-dynamic, compressed-tensors, float-quantized",
            "vllm, compressed-tensors, nvfp4a16, compressed-tensors, nvfp4-pack-quantized",
            "vllm, gptq, w4a16, gptq, ",
            "sglang, awq, w4a16, awq, ",
            "sglang, fp8, fp8-block, fp8, ",
            "sglang, compressed-tensors, w4a16, compressed-tensors, pack-quantized"})
    void writesAValidatedPackageWithAServeScript(String target, String format, String scheme, String method,
                                                 String ctFormat) throws IOException {
        Path out = tmp.resolve("pkg");
        CliTesting.Result r = ao4j("quantize", MODEL, "--target", target, "--format", format, "--scheme", scheme,
                "--out", out, "--quiet");
        assertEquals(0, r.exitCode(), r::toString);
        assertTrue(r.out().contains("validated for " + target), r::toString);
        assertTrue(r.out().contains("serve: "), r::toString);

        JsonNode qc = CliTesting.readJson(out.resolve("config.json")).get("quantization_config");
        assertEquals(method, qc.get("quant_method").asString());
        if (ctFormat != null) assertEquals(ctFormat, qc.get("format").asString());
        String serve = Files.readString(out.resolve("serve.sh"));
        assertTrue(Files.isExecutable(out.resolve("serve.sh")));
        assertTrue(serve.contains(target.equals("vllm") ? "vllm) exec vllm serve" : "sglang) exec python -m sglang"),
                serve);

        CliTesting.Result v = ao4j("validate", out, "--engine", target);
        assertEquals(0, v.exitCode(), v::toString);
        assertTrue(v.out().contains(": loadable"), v::toString);
    }

    @Test
    void anAsymmetricSchemeSglangCannotLoadIsRefusedBeforeAnyWork() {
        Path out = tmp.resolve("pkg");
        CliTesting.Result r = ao4j("quantize", MODEL, "--target", "sglang", "--scheme", "w4a16-asym", "--out", out,
                "--quiet");
        assertEquals(ExitCodes.UNSUPPORTED, r.exitCode(), r::toString);
        assertTrue(r.err().contains("sglang#25291") && r.err().contains("--format awq"), r::toString);
        assertNothingWritten(out);
    }

    @Test
    void theServeScriptOfAVllmOnlyPackageSaysWhySglangWouldFail() throws IOException {
        Path out = tmp.resolve("pkg");
        assertEquals(0, ao4j("quantize", MODEL, "--target", "vllm", "--scheme", "w4a16-asym", "--out", out,
                "--quiet").exitCode());
        String serve = Files.readString(out.resolve("serve.sh"));
        assertTrue(serve.contains("sglang) echo 'SGLang cannot load this package:"), serve);
        CliTesting.Result v = ao4j("validate", out, "--engine", "sglang");
        assertEquals(ExitCodes.UNSUPPORTED, v.exitCode(), v::toString);
        assertTrue(v.out().contains("REJECTED"), v::toString);
    }

    @Test
    void aPackageTheEngineWouldRejectIsNeverPublished() throws IOException {
        Path out = Files.createDirectories(tmp.resolve("pkg"));
        Files.writeString(out.resolve("keep.txt"), "an earlier package");
        // tp 4 splits k_proj's 64 output rows into 16 per GPU, below Marlin's 64-row tile
        CliTesting.Result r = ao4j("quantize", MODEL, "--target", "vllm", "--scheme", "w4a16", "--tp", "4", "--out",
                out, "--force", "--quiet");
        assertEquals(ExitCodes.UNSUPPORTED, r.exitCode(), r::toString);
        assertTrue(r.err().contains("k_proj") && r.err().contains("64"), r::toString);
        assertEquals("an earlier package", Files.readString(out.resolve("keep.txt")));
        assertFalse(Files.exists(tmp.resolve("pkg.partial")), ".partial left behind");
    }

    @Test
    void optionsOfTheOtherTargetAreUsageErrors() {
        Path out = tmp.resolve("pkg");
        CliTesting.Result recipe = ao4j("quantize", MODEL, "--target", "vllm", "--recipe", "int4wo-128", "--out", out);
        assertEquals(ExitCodes.USAGE, recipe.exitCode(), recipe::toString);
        assertTrue(recipe.err().contains("--recipe applies to --target transformers"), recipe::toString);
        CliTesting.Result scheme = ao4j("quantize", MODEL, "--recipe", "int4wo-128", "--scheme", "w4a16", "--out", out);
        assertEquals(ExitCodes.USAGE, scheme.exitCode(), scheme::toString);
        CliTesting.Result noRecipe = ao4j("quantize", MODEL, "--out", out);
        assertEquals(ExitCodes.USAGE, noRecipe.exitCode(), noRecipe::toString);
        assertTrue(noRecipe.err().contains("--recipe is required"), noRecipe::toString);
        CliTesting.Result gptqAsym = ao4j("quantize", MODEL, "--target", "vllm", "--format", "gptq", "--asym",
                "--out", out);
        assertEquals(ExitCodes.USAGE, gptqAsym.exitCode(), gptqAsym::toString);
        CliTesting.Result engine = ao4j("quantize", MODEL, "--target", "tgi", "--out", out);
        assertEquals(ExitCodes.USAGE, engine.exitCode(), engine::toString);
        assertNothingWritten(out);
    }

    @ParameterizedTest
    @CsvSource({"compressed-tensors, w4a16", "gptq, w4a16", "awq, w4a16", "fp8, fp8-block"})
    void noErrorReportSkipsTheSqnrForEveryFormat(String format, String scheme) {
        Path out = tmp.resolve("pkg");
        assertEquals(0, ao4j("quantize", MODEL, "--target", "vllm", "--format", format, "--scheme", scheme, "--out",
                out, "--quiet", "--no-error-report").exitCode());
        JsonNode report = CliTesting.readJson(out.resolve("ao4j_report.json"));
        int quantized = 0;
        for (JsonNode t : report.get("tensors")) {
            if (t.has("quantized_as")) quantized++;
            assertFalse(t.has("sqnr_db"), t.toString());
        }
        assertTrue(quantized > 0, report.toString());
    }

    @Test
    void validateExplainsWhySglangCannotLoadATorchaoPackage() {
        Path out = tmp.resolve("int8wo");
        assertEquals(0, ao4j("quantize", MODEL, "--recipe", "int8wo", "--out", out, "--quiet").exitCode());
        CliTesting.Result v = ao4j("validate", out, "--engine", "sglang");
        assertEquals(ExitCodes.UNSUPPORTED, v.exitCode(), v::toString);
        assertTrue(v.out().contains("torchao") && v.out().contains("--torchao-config"), v::toString);
        CliTesting.Result missing = ao4j("validate", tmp.resolve("nope"));
        assertEquals(ExitCodes.USAGE, missing.exitCode(), missing::toString);
    }

    private static void assertNothingWritten(Path out) {
        assertFalse(Files.exists(out), () -> out + " exists after a failed run");
        assertFalse(Files.exists(out.resolveSibling(out.getFileName() + ".partial")), ".partial left behind");
    }
}
