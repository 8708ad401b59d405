package dev.ao4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ao4j.hub.HubException;
import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.MalformedInputException;
import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.quant.Where;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import org.junit.jupiter.api.Test;

class ExitCodesTest {
    @Test
    void eachErrorCategoryHasItsCode() {
        assertEquals(ExitCodes.USAGE, ExitCodes.codeOf(new InvalidConfigException("x")));
        assertEquals(ExitCodes.BAD_INPUT, ExitCodes.codeOf(new MalformedInputException("x", Where.NOWHERE)));
        assertEquals(ExitCodes.UNSUPPORTED, ExitCodes.codeOf(new UnsupportedFormatException("x")));
        assertEquals(ExitCodes.IO, ExitCodes.codeOf(new UncheckedIOException(new IOException("disk full"))));
        assertEquals(ExitCodes.INTERNAL, ExitCodes.codeOf(new NullPointerException()));
    }

    @Test
    void aHubErrorCausedByTheNetworkIsAnIoErrorEvenWhenWrapped() {
        HubException unreachable = new HubException("cannot reach https://huggingface.co", "org/m", "main", null,
                Where.NOWHERE, new ConnectException("refused"));
        HubException noSnapshot = new HubException("no snapshot in the cache and the Hub cannot be reached", "org/m",
                "main", null, Where.NOWHERE, unreachable);
        assertEquals(ExitCodes.IO, ExitCodes.codeOf(unreachable));
        assertEquals(ExitCodes.IO, ExitCodes.codeOf(noSnapshot));
        assertEquals(ExitCodes.BAD_INPUT, ExitCodes.codeOf(new HubException("the tree listing is not a JSON array",
                "org/m", "main", null)));
    }
}
