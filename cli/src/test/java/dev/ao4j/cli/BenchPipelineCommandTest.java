package dev.ao4j.cli;

import static dev.ao4j.cli.CliTesting.ao4j;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code ao4j bench-pipeline} on a tiny synthetic model: structure of the table and cleanup, never timings. */
class BenchPipelineCommandTest {
    private static final Pattern ROW = Pattern.compile(
            "\\| (\\S+) \\| [\\d.]+ [kMG]?B \\| \\d+\\.\\d{2} \\| \\d+\\.\\d{3} \\| [\\d.]+ [kMG]?B \\| \\d+\\.\\d{2} \\|");

    @TempDir
    Path tmp;

    @Test
    void quantizesASyntheticModelPerRecipeAndReportsPeakMemory() throws IOException {
        Path work = tmp.resolve("work");
        CliTesting.Result r = ao4j("bench-pipeline", "--hidden", "64", "--intermediate", "128", "--layers", "2",
                "--heads", "4", "--kv-heads", "2", "--vocab", "96", "--recipe", "int8wo", "--recipe", "int4wo-32",
                "--work-dir", work);
        assertEquals(0, r.exitCode(), r::toString);
        List<String> lines = r.out().lines().toList();
        assertTrue(lines.get(0).startsWith("# synthetic Llama: hidden 64, intermediate 128, 2 layers, vocab 96"),
                r::toString);
        assertTrue(lines.get(1).startsWith("# largest tensor 16.38 kB"), r::toString); // gate/up/down: 128 x 64 bf16
        assertEquals("| recipe | model | seconds | GB/s of input | peak anon RSS | peak / largest tensor |", lines.get(2));
        assertTrue(ROW.matcher(lines.get(4)).matches() && lines.get(4).startsWith("| int8wo |"), lines.get(4));
        assertTrue(ROW.matcher(lines.get(5)).matches() && lines.get(5).startsWith("| int4wo-32 |"), lines.get(5));
        // the synthetic model stays for reuse; the packages are removed after being measured
        assertTrue(Files.exists(work.resolve("synthetic/model.safetensors")));
        assertEquals(List.of("synthetic"), CliTesting.list(work));
    }
}
