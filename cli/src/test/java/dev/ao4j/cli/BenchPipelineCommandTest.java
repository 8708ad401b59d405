package dev.ao4j.cli;

import static dev.ao4j.cli.CliTesting.ao4j;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code ao4j bench-pipeline} on a tiny synthetic model: structure of the table and cleanup, never timings. */
class BenchPipelineCommandTest {
    private static final Pattern ROW = Pattern.compile(
            "\\| (\\S+) \\| [\\d.]+ [kMG]?B \\| \\d+\\.\\d{2} \\| \\d+\\.\\d{3} \\| [\\d.]+ [kMG]?B \\| \\d+\\.\\d{2} \\|");
    private static final Pattern COLD = Pattern.compile(
            "# --cold, (\\S+): 2 source files, [\\d.]+ [kMG]?B; in the page cache before ([\\d.]+ [kMG]?B), after "
                    + "([\\d.]+ [kMG]?B)");
    private static final Object[] TINY = {"--hidden", "64", "--intermediate", "128", "--layers", "2", "--heads", "4",
            "--kv-heads", "2", "--vocab", "96"};

    @TempDir
    Path tmp;

    private static Object[] args(Object[] tiny, Object... more) {
        Object[] all = new Object[tiny.length + more.length + 1];
        all[0] = "bench-pipeline";
        System.arraycopy(tiny, 0, all, 1, tiny.length);
        System.arraycopy(more, 0, all, 1 + tiny.length, more.length);
        return all;
    }

    @Test
    void quantizesASyntheticModelPerRecipeAndReportsPeakMemory() throws IOException {
        Path work = tmp.resolve("work");
        CliTesting.Result r = ao4j(args(TINY, "--recipe", "int8wo", "--recipe", "int4wo-32", "--work-dir", work));
        assertEquals(0, r.exitCode(), r::toString);
        List<String> lines = r.out().lines().toList();
        assertTrue(lines.get(0).startsWith("# synthetic Llama: hidden 64, intermediate 128, 2 layers, vocab 96"),
                r::toString);
        assertTrue(lines.get(1).startsWith("# largest tensor 16.38 kB"), r::toString); // gate/up/down: 128 x 64 bf16
        // the defaults are ao4j quantize's
        assertEquals("# overlap write-behind; device auto; page cache as it is", lines.get(2));
        assertEquals("| recipe | model | seconds | GB/s of input | peak anon RSS | peak / largest tensor |", lines.get(3));
        assertTrue(ROW.matcher(lines.get(5)).matches() && lines.get(5).startsWith("| int8wo |"), lines.get(5));
        assertTrue(ROW.matcher(lines.get(6)).matches() && lines.get(6).startsWith("| int4wo-32 |"), lines.get(6));
        // the synthetic model stays for reuse; the packages are removed after being measured
        assertTrue(Files.exists(work.resolve("synthetic/model.safetensors")));
        assertEquals(List.of("synthetic"), CliTesting.list(work));
    }

    @Test
    void coldRunsDropTheSourceFromThePageCacheBeforeEachRecipeAndSaySo() throws IOException {
        Path work = tmp.resolve("work");
        CliTesting.Result r = ao4j(args(TINY, "--recipe", "int8wo", "--recipe", "fp8dq-row", "--overlap", "serial",
                "--device", "cpu", "--cold", "--work-dir", work));
        assertEquals(0, r.exitCode(), r::toString);
        List<String> lines = r.out().lines().toList();
        assertEquals("# overlap serial; device cpu; cold: the source's page cache dropped before each run",
                lines.get(2));
        assertTrue(ROW.matcher(lines.get(5)).matches() && lines.get(5).startsWith("| int8wo |"), lines.get(5));
        assertTrue(ROW.matcher(lines.get(6)).matches() && lines.get(6).startsWith("| fp8dq-row |"), lines.get(6));
        // one line per run on stderr: the synthetic model (config.json + model.safetensors) was cached before the
        // first run (just written) and is not afterwards
        List<String> cold = r.err().lines().filter(l -> l.startsWith("# --cold") && !l.contains("kernel kept"))
                .toList();
        List<String> kept = r.err().lines().filter(l -> l.contains("kernel kept")).toList();
        assertEquals(2, cold.size(), r::toString);
        // a tmpfs holds its files in memory: there the command must say that the runs were not cold
        boolean tmpfs = Files.getFileStore(tmp).type().equals("tmpfs");
        assertEquals(tmpfs ? 2 : 0, kept.size(), r::toString);
        for (int i = 0; i < 2; i++) {
            Matcher m = COLD.matcher(cold.get(i));
            assertTrue(m.matches(), cold.get(i));
            assertEquals(i == 0 ? "int8wo" : "fp8dq-row", m.group(1));
            assertTrue(tmpfs != m.group(3).equals("0 B"), cold.get(i));
            if (i == 0) assertTrue(!m.group(2).equals("0 B"), cold.get(i)); // just written: cached
        }
    }

    @Test
    void repeatedOverlapsRunEachRecipeInEachModeInTheOrderGiven() {
        CliTesting.Result r = ao4j(args(TINY, "--recipe", "int8wo", "--recipe", "int4wo-32", "--device", "cpu",
                "--overlap", "serial", "--overlap", "write-behind", "--overlap", "write-behind-no-read-ahead",
                "--overlap", "SERIAL"));
        assertEquals(0, r.exitCode(), r::toString);
        List<String> lines = r.out().lines().toList();
        assertEquals("# overlap serial, write-behind, write-behind-no-read-ahead, serial; device cpu; page cache as "
                + "it is", lines.get(2));
        List<String> labels = lines.subList(5, lines.size()).stream().map(l -> {
            Matcher m = ROW.matcher(l);
            assertTrue(m.matches(), l);
            return m.group(1);
        }).toList();
        assertEquals(List.of("int8wo/serial", "int8wo/write-behind", "int8wo/write-behind-no-read-ahead",
                "int8wo/serial", "int4wo-32/serial", "int4wo-32/write-behind", "int4wo-32/write-behind-no-read-ahead",
                "int4wo-32/serial"), labels);
    }

    @Test
    void unknownOverlapOrDeviceIsAUsageError() {
        CliTesting.Result r = ao4j(args(TINY, "--recipe", "int8wo", "--overlap", "parallel"));
        assertEquals(ExitCodes.USAGE, r.exitCode(), r::toString);
        assertTrue(r.err().contains("--overlap must be serial, write-behind or write-behind-no-read-ahead but was "
                + "'parallel'"), r::toString);
        r = ao4j(args(TINY, "--recipe", "int8wo", "--device", "tpu"));
        assertEquals(ExitCodes.USAGE, r.exitCode(), r::toString);
        assertTrue(r.err().contains("--device must be auto, cpu or cuda but was 'tpu'"), r::toString);
    }
}
