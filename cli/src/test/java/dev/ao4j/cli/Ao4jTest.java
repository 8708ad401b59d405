package dev.ao4j.cli;

import static dev.ao4j.cli.CliTesting.ao4j;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.InvalidConfigException;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The top-level command, and the size syntax of {@code --max-shard-size}. */
class Ao4jTest {

    @Test
    void helpListsTheSubcommands() {
        CliTesting.Result r = ao4j("--help");
        assertEquals(0, r.exitCode(), r::toString);
        for (String sub : List.of("quantize", "inspect", "bench")) {
            assertTrue(Pattern.compile("(?m)^ +" + sub + " ").matcher(r.out()).find(), r::toString);
        }
    }

    @Test
    void versionNamesTheTool() {
        CliTesting.Result r = ao4j("--version");
        assertEquals(0, r.exitCode(), r::toString);
        assertTrue(r.out().startsWith("ao4j "), r::toString);
    }

    @Test
    void unknownSubcommandIsAUsageError() {
        CliTesting.Result r = ao4j("quantise", "x");
        assertEquals(ExitCodes.USAGE, r.exitCode(), r::toString);
        assertTrue(r.err().contains("quantise"), r::toString);
    }

    @Test
    void sizesUseTransformersUnits() {
        assertEquals(5_000_000_000L, Sizes.parse("5GB", "--max-shard-size"));
        assertEquals(500L << 20, Sizes.parse("500MiB", "--max-shard-size"));
        assertEquals(1_500L, Sizes.parse("1.5kb", "--max-shard-size"));
        assertEquals(2L << 30, Sizes.parse(" 2 GiB ", "--max-shard-size"));
        assertEquals(123L, Sizes.parse("123", "--max-shard-size"));
        assertEquals("999 B", Sizes.human(999));
        assertEquals("1.00 kB", Sizes.human(1000));
        assertEquals("3.15 MB", Sizes.human(3_150_520));
        assertEquals("5.00 GB", Sizes.human(5_000_000_000L));
    }

    @Test
    void badSizesNameTheOption() {
        for (String bad : List.of("", "GB", "5 XB", "-1MB", "0", "0.0001B")) {
            InvalidConfigException e = assertThrows(InvalidConfigException.class,
                    () -> Sizes.parse(bad, "--max-shard-size"), bad);
            assertTrue(e.getMessage().startsWith("--max-shard-size"), e::getMessage);
        }
    }
}
