package dev.ao4j.cli;

import static dev.ao4j.cli.CliTesting.ao4j;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** MXFP6 is numerics only: quantize says plainly that no loader reads it; bench times it. */
class CliMxfp6Test {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"mxfp6-e2m3", "mxfp6-e3m2"})
    void quantizeRefusesWithTheReasonAndWritesNothing(String recipe) {
        Path out = tmp.resolve("pkg");
        CliTesting.Result r = ao4j("quantize", CliTesting.goldenBf16(), "--recipe", recipe, "--out", out, "--quiet");
        assertEquals(ExitCodes.UNSUPPORTED, r.exitCode(), r::toString);
        assertTrue(r.err().contains("no package any loader reads") && r.err().contains("use mxfp8 or mxfp4"),
                r::toString);
        assertFalse(Files.exists(out) || Files.exists(tmp.resolve("pkg.partial")));
    }

    @ParameterizedTest
    @ValueSource(strings = {"mxfp6-e2m3", "mxfp6-e3m2"})
    void benchTimesBothKernels(String recipe) {
        CliTesting.Result r = ao4j("bench", "--recipe", recipe, "--rows", "8", "--cols", "64", "--warmup", "0",
                "--runs", "1");
        assertEquals(0, r.exitCode(), r::toString);
        assertTrue(r.out().contains("| " + recipe + " | "), r::toString);
        CliTesting.Result ragged = ao4j("bench", "--recipe", recipe, "--rows", "8", "--cols", "48");
        assertEquals(ExitCodes.USAGE, ragged.exitCode(), ragged::toString);
    }
}
