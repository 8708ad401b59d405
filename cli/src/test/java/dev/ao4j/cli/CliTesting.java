package dev.ao4j.cli;

import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.safetensors.ShardedCheckpoint;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** Runs the CLI in-process with captured output, and small file helpers for the CLI tests. */
final class CliTesting {
    static final JsonMapper JSON = JsonMapper.builder().build();

    private CliTesting() {}

    /** What one {@code ao4j} invocation returned and printed. */
    record Result(int exitCode, String out, String err) {
        @Override
        public String toString() {
            return "exit " + exitCode + "\n--- stdout ---\n" + out + "--- stderr ---\n" + err;
        }
    }

    static Result ao4j(Object... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        String[] argv = Stream.of(args).map(String::valueOf).toArray(String[]::new);
        int code;
        try (PrintWriter o = new PrintWriter(out); PrintWriter e = new PrintWriter(err)) {
            code = Ao4j.run(o, e, argv);
        }
        return new Result(code, out.toString(), err.toString());
    }

    /** The bf16 tiny Llama torchao's golden packages were made from (read-only test resource). */
    static Path goldenBf16() {
        return resource("/golden-llama/bf16");
    }

    static Path resource(String name) {
        try {
            return Path.of(CliTesting.class.getResource(name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A writable copy of the golden bf16 model directory, so tests can add or damage files. */
    static Path copyOfBf16(Path dir) {
        try {
            Files.createDirectories(dir);
            try (Stream<Path> files = Files.list(goldenBf16())) {
                for (Path f : files.toList()) Files.copy(f, dir.resolve(f.getFileName()));
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static JsonNode readJson(Path file) {
        try {
            return JSON.readTree(Files.readString(file));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String sha256(Tensor t) {
        return sha256(t.data());
    }

    static String sha256(MemorySegment bytes) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(bytes.asByteBuffer());
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Names of the entries of {@code dir}, sorted. */
    static List<String> list(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The sha256 of every tensor of the checkpoint at {@code dirOrFile}, by name. */
    static Map<String, String> tensorDigests(Path dirOrFile) {
        Map<String, String> m = new TreeMap<>();
        try (ShardedCheckpoint ck = ShardedCheckpoint.open(dirOrFile)) {
            for (String n : ck.names()) m.put(n, sha256(ck.tensor(n)));
        }
        return m;
    }
}
