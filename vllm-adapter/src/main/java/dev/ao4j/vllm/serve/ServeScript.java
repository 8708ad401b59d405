package dev.ao4j.vllm.serve;

import dev.ao4j.quant.Ao4jException;
import dev.ao4j.quant.Where;
import dev.ao4j.transformers.AtomicFiles;
import dev.ao4j.transformers.pack.PackageCheck;
import dev.ao4j.vllm.validate.Engine;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code serve.sh} in a package: {@code ./serve.sh vllm|sglang [engine args...]} runs the exact launch command for
 * that engine on the directory the script sits in, and for an engine that cannot load the package it prints why
 * and exits 1 instead of letting the engine fail later with a less helpful message.
 *
 * @param commands the engines that load the package, with their launch commands (model dir as
 *                 {@link LaunchCommand#SCRIPT_MODEL_DIR})
 * @param refused  engines that do not load it, with the reason shown to the user
 */
public record ServeScript(List<LaunchCommand> commands, Map<Engine, String> refused) {
    public static final String FILE_NAME = "serve.sh";

    public ServeScript {
        commands = List.copyOf(commands);
        refused = Map.copyOf(new TreeMap<>(refused));
        for (LaunchCommand c : commands) {
            if (refused.containsKey(c.engine())) {
                throw new IllegalArgumentException(c.engine() + " is both launched and refused");
            }
        }
    }

    /** The script's text. */
    public String text() {
        Engine first = commands.isEmpty() ? null : commands.getFirst().engine();
        StringBuilder sb = new StringBuilder();
        sb.append("#!/usr/bin/env bash\n");
        sb.append("# Starts a serving engine on this package (written by ao4j).\n");
        sb.append("# Usage: ./").append(FILE_NAME).append(' ').append(usageEngines())
                .append(" [more engine arguments...]\n");
        for (LaunchCommand c : commands) {
            sb.append("#   ").append(label(c.engine())).append(": ").append(c.shellLine()).append('\n');
        }
        sb.append("set -euo pipefail\n");
        sb.append("MODEL_DIR=\"$(cd \"$(dirname \"${BASH_SOURCE[0]}\")\" && pwd)\"\n");
        sb.append("engine=\"${1:-").append(first == null ? "" : label(first)).append("}\"\n");
        sb.append("[ $# -gt 0 ] && shift\n");
        sb.append("case \"$engine\" in\n");
        for (LaunchCommand c : commands) {
            sb.append("  ").append(label(c.engine())).append(") exec ").append(c.shellLine()).append(" \"$@\" ;;\n");
        }
        refused.forEach((engine, why) -> sb.append("  ").append(label(engine)).append(") echo ")
                .append(LaunchCommand.shellQuote(engine.displayName() + " cannot load this package: " + why))
                .append(" >&2; exit 1 ;;\n"));
        sb.append("  *) echo \"usage: $0 ").append(usageEngines())
                .append(" [more engine arguments...]\" >&2; exit 2 ;;\n");
        sb.append("esac\n");
        return sb.toString();
    }

    /** Writes {@code serve.sh} (executable) into {@code packageDir}, replacing any earlier one atomically. */
    public void writeTo(Path packageDir) {
        Path file = packageDir.resolve(FILE_NAME);
        AtomicFiles.write(file, text().getBytes(StandardCharsets.UTF_8));
        try {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
        } catch (UnsupportedOperationException ignored) {
            // not a POSIX file system: users run it with "bash serve.sh"
        } catch (IOException e) {
            throw new Ao4jException("cannot make " + file + " executable: " + e.getMessage(), Where.file(file), e);
        }
    }

    /** A package step that writes this script into the finished package before it is published. */
    public PackageCheck asPackageStep() {
        return this::writeTo;
    }

    private String usageEngines() {
        StringBuilder sb = new StringBuilder();
        for (LaunchCommand c : commands) sb.append(sb.isEmpty() ? "" : "|").append(label(c.engine()));
        for (Engine e : refused.keySet()) sb.append(sb.isEmpty() ? "" : "|").append(label(e));
        return sb.toString();
    }

    private static String label(Engine engine) {
        return engine.wireName();
    }
}
