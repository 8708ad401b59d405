package dev.ao4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.hub.FakeHub;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** pull, push and {@code quantize REPO --push REPO} against a stateful fake Hub. */
class CliHubTest {
    private static final Path MODEL = Path.of("..", "models", "ao4j-tiny-llama");

    @TempDir
    Path tmp;
    FakeHub hub;

    @BeforeEach
    void start() throws IOException {
        hub = new FakeHub(tmp.resolve("server"));
    }

    @AfterEach
    void stop() {
        hub.close();
    }

    private Map<String, String> env(String hfHome, boolean offline) {
        Map<String, String> env = new HashMap<>();
        env.put("HF_ENDPOINT", hub.url());
        env.put("HF_TOKEN", FakeHub.TOKEN);
        env.put("HF_HOME", tmp.resolve(hfHome).toString());
        if (offline) env.put("HF_HUB_OFFLINE", "1");
        return env;
    }

    private CliTesting.Result ao4j(Map<String, String> env, Object... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        String[] argv = Stream.of(args).map(String::valueOf).toArray(String[]::new);
        int code;
        try (PrintWriter o = new PrintWriter(out); PrintWriter e = new PrintWriter(err)) {
            code = Ao4j.run(o, e, env, argv);
        }
        return new CliTesting.Result(code, out.toString(), err.toString());
    }

    private static Map<String, byte[]> files(Path dir) throws IOException {
        Map<String, byte[]> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                out.put(dir.relativize(p).toString(), Files.readAllBytes(p));
            }
        }
        return out;
    }

    /** Same files, ignoring the .gitattributes a new Hub repository starts with. */
    private static void assertSameFiles(Map<String, byte[]> expected, Map<String, byte[]> actual) {
        actual = new TreeMap<>(actual);
        actual.remove(".gitattributes");
        assertEquals(expected.keySet(), actual.keySet());
        for (var e : expected.entrySet()) assertArrayEquals(e.getValue(), actual.get(e.getKey()), e.getKey());
    }

    @Test
    void quantizeARepoIdAndPushThePackageThenPullItBack() throws IOException {
        CliTesting.Result seed = ao4j(env("hf-seed", false), "push", MODEL, "org/tiny-llama", "--message", "base");
        assertEquals(0, seed.exitCode(), seed::toString);

        Path pkg = tmp.resolve("pkg");
        CliTesting.Result q = ao4j(env("hf-user", false), "quantize", "org/tiny-llama", "--recipe", "int8wo", "--out",
                pkg, "--push", "me/tiny-llama-int8wo", "--quiet");
        assertEquals(0, q.exitCode(), q::toString);
        assertTrue(q.err().contains("fetching it from the Hugging Face Hub"), q::toString);
        String card = Files.readString(pkg.resolve("README.md"));
        assertTrue(card.contains("base_model: org/tiny-llama") && card.contains("base_model_relation: quantized"), card);
        assertSameFiles(files(pkg), hub.files("me/tiny-llama-int8wo", "main"));

        CliTesting.Result pull = ao4j(env("hf-other", false), "pull", "me/tiny-llama-int8wo");
        assertEquals(0, pull.exitCode(), pull::toString);
        Path snapshot = Path.of(pull.out().strip());
        assertTrue(snapshot.startsWith(tmp.resolve("hf-other").resolve("hub")), snapshot.toString());
        assertSameFiles(files(pkg), files(snapshot));
    }

    @Test
    void aRepoIdInTheCacheQuantizesOffline() throws IOException {
        assertEquals(0, ao4j(env("hf-seed", false), "push", MODEL, "org/tiny-llama").exitCode());
        assertEquals(0, ao4j(env("hf-user", false), "pull", "org/tiny-llama").exitCode());
        hub.close();
        Path pkg = tmp.resolve("pkg");
        CliTesting.Result q = ao4j(env("hf-user", true), "quantize", "org/tiny-llama", "--recipe", "int8wo", "--out",
                pkg, "--quiet");
        assertEquals(0, q.exitCode(), q::toString);
        assertTrue(Files.isRegularFile(pkg.resolve("model.safetensors")));

        CliTesting.Result missing = ao4j(env("hf-user", true), "quantize", "org/not-cached", "--recipe", "int8wo",
                "--out", tmp.resolve("pkg2"), "--quiet");
        assertTrue(missing.exitCode() != 0, missing::toString);
        assertTrue(missing.err().contains("org/not-cached"), missing::toString);
    }
}
