package dev.ao4j.cli;

import static dev.ao4j.cli.CliTesting.ao4j;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** {@code ao4j bench --serving}: the serving formats' rows (structure only, never timings) and their usage errors. */
class BenchCommandServingTest {
    private static final Pattern ROW = Pattern.compile("\\| (\\S+) \\| (\\d+\\.\\d{3}) \\| (\\d+\\.\\d{3}) \\| (\\d+\\.\\d{2})x \\|");

    @Test
    void onlyServingFormatsRunWhenNoRecipeIsGiven() {
        List<String> specs = List.of("compressed-tensors:w4a16", "compressed-tensors:fp8-block",
                "compressed-tensors:nvfp4a16", "gptq:w8a16", "awq:w4a16");
        List<String> args = new java.util.ArrayList<>(List.of("bench", "--rows", "64", "--cols", "256", "--warmup",
                "0", "--runs", "1"));
        for (String s : specs) args.addAll(List.of("--serving", s));
        CliTesting.Result r = ao4j(args.toArray());
        assertEquals(0, r.exitCode(), r::toString);
        List<String> lines = r.out().lines().toList();
        assertEquals(3 + specs.size(), lines.size(), r::toString);
        for (int i = 0; i < specs.size(); i++) {
            String line = lines.get(3 + i);
            assertTrue(ROW.matcher(line).matches(), line);
            assertTrue(line.startsWith("| " + specs.get(i) + " |"), line);
        }
    }

    @Test
    void badServingSpecsAreUsageErrorsBeforeAnythingIsTimed() {
        for (String[] bad : List.of(new String[] {"gptq", "--serving takes FORMAT:SCHEME"},
                new String[] {"exl2:w4a16", "must be compressed-tensors, gptq or awq"},
                new String[] {"awq:w8a16", "AWQ packages are 4-bit"},
                new String[] {"compressed-tensors:w5a16", "unknown compressed-tensors scheme"},
                new String[] {"compressed-tensors:nvfp4a16", "would not quantize a bf16 weight [8, 40]"})) {
            CliTesting.Result r = ao4j("bench", "--rows", "8", "--cols", "40", "--runs", "1", "--recipe", "int8wo",
                    "--serving", bad[0]);
            assertEquals(ExitCodes.USAGE, r.exitCode(), () -> bad[0] + ": " + r);
            assertTrue(r.err().contains(bad[1]), () -> bad[0] + ": " + r);
            assertEquals("", r.out(), () -> bad[0] + ": timed something before failing");
        }
    }
}
