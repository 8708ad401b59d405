package dev.ao4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * A second implementation of the serving formats, written in Python from the format specification
 * (tools/python/decode_serving_packages.py, torch only), decodes the packages ao4j writes: the per-layer SQNR it
 * finds against the bf16 source must equal the one ao4j measured (a pack-order, zero-point or interleave mistake
 * on either side shows up as a different, usually near-zero, SQNR).
 */
class IndependentDecoderTest {
    private static final Path MODEL = Path.of("..", "models", "ao4j-tiny-llama");
    private static final Path DECODER = Path.of("..", "tools", "python", "decode_serving_packages.py");
    private static String python;

    @TempDir
    Path tmp;

    @BeforeAll
    static void findPythonWithTorch() {
        for (String candidate : List.of("python3", "/usr/bin/python3")) {
            try {
                Process p = new ProcessBuilder(candidate, "-c", "import torch").redirectErrorStream(true).start();
                p.getInputStream().readAllBytes();
                if (p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0) {
                    python = candidate;
                    return;
                }
            } catch (IOException | InterruptedException e) {
                // try the next one
            }
        }
    }

    @Test
    void thePythonDecoderFindsTheSqnrAo4jMeasured() throws Exception {
        assumeTrue(python != null, "skipped: no python3 with torch here (Debian: apt-get install python3-torch)");
        Map<String, String> schemes = new HashMap<>();
        schemes.put("ct-w4a16", "compressed-tensors:w4a16");
        schemes.put("ct-w4a16-asym-g32", "compressed-tensors:w4a16-g32-asym");
        schemes.put("ct-w8a16-channel", "compressed-tensors:w8a16-channel");
        schemes.put("ct-w8a8", "compressed-tensors:w8a8");
        schemes.put("gptq-w4a16-g64", "gptq:w4a16:64");
        schemes.put("gptq-w8a16", "gptq:w8a16");
        schemes.put("awq-w4a16", "awq:w4a16");
        List<String> args = new ArrayList<>(List.of(python, DECODER.toString(), "--sqnr-only", "--base",
                MODEL.toString()));
        for (var e : schemes.entrySet()) {
            String[] f = e.getValue().split(":");
            List<Object> cli = new ArrayList<>(List.of("quantize", MODEL, "--target", "vllm", "--format", f[0],
                    "--scheme", f[1], "--out", tmp.resolve(e.getKey()), "--quiet"));
            if (f.length > 2) cli.addAll(List.of("--group-size", f[2]));
            CliTesting.Result r = CliTesting.ao4j(cli.toArray());
            assertEquals(0, r.exitCode(), r::toString);
            args.add(e.getKey() + "=" + tmp.resolve(e.getKey()));
        }
        Process p = new ProcessBuilder(args).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "decoder timed out");
        assertEquals(0, p.exitValue(), err);
        JsonNode python = CliTesting.JSON.readTree(out);
        for (String label : schemes.keySet()) {
            JsonNode report = CliTesting.readJson(tmp.resolve(label).resolve("ao4j_report.json"));
            int compared = 0;
            for (JsonNode t : report.get("tensors")) {
                if (!t.has("sqnr_db")) continue;
                double ours = t.get("sqnr_db").asDouble();
                JsonNode theirs = python.get(label).get(t.get("name").asString());
                assertTrue(theirs != null, label + ": the decoder found no quantized " + t.get("name"));
                // ao4j's report has three decimals
                assertEquals(ours, theirs.asDouble(), 0.002, label + " " + t.get("name"));
                compared++;
            }
            assertEquals(28, compared, label + ": quantized Linear weights (4 layers x 7)");
        }
    }
}
