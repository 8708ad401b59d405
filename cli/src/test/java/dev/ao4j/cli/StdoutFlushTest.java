package dev.ao4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What main() prints reaches stdout before the process exits, including text written without a newline call. */
class StdoutFlushTest {
    @TempDir
    Path tmp;

    @Test
    void theValidateReportIsFlushedBeforeRunReturns() {
        Path pkg = tmp.resolve("pkg");
        assertEquals(0, CliTesting.ao4j("quantize", Path.of("..", "models", "ao4j-tiny-llama"), "--target", "vllm",
                "--out", pkg, "--quiet").exitCode());
        PrintStream original = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        int code;
        try {
            System.setOut(new PrintStream(captured, false, StandardCharsets.UTF_8));
            code = Ao4j.run("validate", pkg.toString(), "--engine", "vllm");
        } finally {
            System.setOut(original);
        }
        assertEquals(0, code);
        String out = captured.toString(StandardCharsets.UTF_8);
        assertTrue(out.contains(": loadable"), out);
    }
}
