package dev.ao4j.cli;

import static dev.ao4j.cli.CliTesting.ao4j;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** {@code ao4j bench} with tiny sizes: the table's structure only, never its timings. */
class BenchCommandTest {
    private static final Pattern ROW = Pattern.compile("\\| (\\S+) \\| (\\d+\\.\\d{3}) \\| (\\d+\\.\\d{3}) \\| (\\d+\\.\\d{2})x \\|");

    @Test
    void printsOneTableRowPerRecipe() {
        CliTesting.Result r = ao4j("bench", "--rows", "64", "--cols", "256", "--warmup", "0", "--runs", "1",
                "--recipe", "int8wo", "--recipe", "int4wo-128");
        assertEquals(0, r.exitCode(), r::toString);
        List<String> lines = r.out().lines().toList();
        assertEquals(5, lines.size(), r::toString);
        assertTrue(lines.get(0).startsWith("# bf16 weight [64, 256] = 0.0 MB; median of 1 runs after 0 warm-up"),
                r::toString);
        assertEquals("| recipe | reference GB/s | vector GB/s | speed-up |", lines.get(1));
        assertEquals("|---|---:|---:|---:|", lines.get(2));
        for (int i = 3; i < 5; i++) assertTrue(ROW.matcher(lines.get(i)).matches(), lines.get(i));
        assertTrue(lines.get(3).startsWith("| int8wo |"), r::toString);
        assertTrue(lines.get(4).startsWith("| int4wo-128 |"), r::toString);
    }

    @Test
    void unknownRecipeIsAUsageError() {
        CliTesting.Result r = ao4j("bench", "--rows", "8", "--cols", "32", "--runs", "1", "--recipe", "int8wo",
                "--recipe", "int9");
        assertEquals(ExitCodes.USAGE, r.exitCode(), r::toString);
        assertTrue(r.err().contains("unknown recipe 'int9'"), r::toString);
        assertEquals("", r.out(), "timed the good recipe before rejecting the bad one");
    }

    @Test
    void nonPositiveSizesAndRunsAreUsageErrorsNamingTheOption() {
        for (String[] bad : List.of(new String[] {"--runs", "0"}, new String[] {"--rows", "0"},
                new String[] {"--cols", "-4"}, new String[] {"--warmup", "-1"})) {
            Map<String, String> options = new LinkedHashMap<>(Map.of("--rows", "8", "--cols", "32", "--runs", "1",
                    "--warmup", "0"));
            options.put(bad[0], bad[1]);
            List<String> args = new ArrayList<>(List.of("bench", "--recipe", "int8wo"));
            options.forEach((k, v) -> args.addAll(List.of(k, v)));
            CliTesting.Result r = ao4j(args.toArray());
            String what = String.join(" ", bad);
            assertEquals(ExitCodes.USAGE, r.exitCode(), () -> what + ": " + r);
            assertTrue(r.err().contains(bad[0] + " must be at least"), () -> what + ": " + r);
            assertTrue(r.err().contains("but was " + bad[1]), () -> what + ": " + r);
            assertEquals("", r.out(), () -> what + ": printed a table header before failing");
        }
    }

    @Test
    void weightTheRecipeWouldNotQuantizeIsAUsageError() {
        // int4 groups of 128 need in-features divisible by 128; the bench must say so, not crash or time garbage
        CliTesting.Result r = ao4j("bench", "--rows", "8", "--cols", "96", "--runs", "1", "--recipe", "int4wo-128");
        assertEquals(ExitCodes.USAGE, r.exitCode(), r::toString);
        assertTrue(r.err().contains("recipe 'int4wo-128' would not quantize a bf16 weight [8, 96]"), r::toString);
        assertTrue(r.err().contains("in-features 96 not a multiple of group_size 128"), r::toString);
        assertEquals("", r.out(), r::toString);
    }
}
