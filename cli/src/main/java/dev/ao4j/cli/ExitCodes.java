package dev.ao4j.cli;

import dev.ao4j.hub.HubException;
import dev.ao4j.quant.Ao4jException;
import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.MalformedInputException;
import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.vllm.validate.PackageRejectedException;
import java.io.IOException;
import java.io.UncheckedIOException;
import picocli.CommandLine;
import picocli.CommandLine.ParseResult;

/** Maps exceptions to exit codes and one clear message on stderr (no stack trace unless AO4J_DEBUG is set). */
final class ExitCodes {
    static final int USAGE = 2;
    static final int BAD_INPUT = 3;
    static final int UNSUPPORTED = 4;
    static final int IO = 5;
    static final int INTERNAL = 70;

    private ExitCodes() {}

    static int handle(Exception e, CommandLine cmd, ParseResult parsed) {
        int code = codeOf(e);
        String msg = e instanceof Ao4jException || e instanceof IOException || e instanceof UncheckedIOException
                ? e.getMessage() : e.toString();
        cmd.getErr().println("ao4j: error: " + msg);
        if (System.getenv("AO4J_DEBUG") != null) e.printStackTrace(cmd.getErr());
        return code;
    }

    static int codeOf(Throwable e) {
        return switch (e) {
            case InvalidConfigException x -> USAGE;
            case MalformedInputException x -> BAD_INPUT;
            case UnsupportedFormatException x -> UNSUPPORTED;
            case PackageRejectedException x -> UNSUPPORTED;
            case HubException x when causedByIo(x) -> IO; // Hub unreachable, cache unwritable
            case Ao4jException x -> BAD_INPUT;
            case IOException x -> IO;
            case UncheckedIOException x -> IO;
            case IllegalArgumentException x -> USAGE;
            default -> INTERNAL;
        };
    }

    private static boolean causedByIo(Throwable e) {
        for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
            if (c instanceof IOException || c instanceof UncheckedIOException) return true;
        }
        return false;
    }
}
