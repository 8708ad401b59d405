package dev.ao4j.hub;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * The reverse direction of the Python cache interop check: {@code python-cache/cacheB-manifest.json} describes, entry
 * by entry, the cache that huggingface_hub 1.33 built for {@link PythonInteropRepo} (tools/hub-interop/
 * check_python_interop.py; report in docs/verification/hub-python-interop.json). The cache is rebuilt from it (file
 * bytes inline, the one large blob taken from the bundled model by sha256) and read with our client.
 */
class PythonCacheInteropTest {
    private static final Path MODEL = Path.of("..", "models", "ao4j-tiny-llama");
    private static JsonNode manifest;
    private static Map<String, byte[]> files;

    @TempDir
    Path tmp;

    @BeforeAll
    static void load() throws IOException {
        try (InputStream in = PythonCacheInteropTest.class.getResourceAsStream("/python-cache/cacheB-manifest.json")) {
            manifest = HubClient.JSON.readTree(in);
        }
        files = PythonInteropRepo.files(MODEL);
        assertEquals(PythonInteropRepo.COMMIT, manifest.path("commit").asString(), "the manifest is of another commit");
    }

    @Test
    void offlineClientResolvesEveryFileOfPythonsCache() throws IOException {
        Path cacheB = rebuildPythonCache(tmp.resolve("B"));
        HubConfig config = HubConfig.fromEnvironment(Map.of("HOME", tmp.toString(), "HF_HOME", tmp.resolve("hf").toString(),
                "HF_HUB_CACHE", cacheB.toString(), "HF_HUB_OFFLINE", "1", "HF_ENDPOINT", "http://127.0.0.1:9"));
        assertTrue(config.offline());
        try (HubClient client = HubClient.builder().config(config).build()) {
            Path snapshot = client.snapshotDownload(PythonInteropRepo.REPO, "main", SnapshotOptions.defaults());
            assertEquals(cacheB.resolve("models--ao4j-interop--tiny-llama/snapshots").resolve(PythonInteropRepo.COMMIT), snapshot);
            for (var f : files.entrySet()) {
                for (String revision : List.of("main", PythonInteropRepo.COMMIT)) {
                    Path p = client.download(PythonInteropRepo.REPO, revision, f.getKey());
                    assertEquals(snapshot.resolve(f.getKey()), p, f.getKey());
                    assertArrayEquals(f.getValue(), Files.readAllBytes(p), f.getKey() + " @" + revision);
                }
                assertEquals(snapshot.resolve(f.getKey()), client.cache().resolve(PythonInteropRepo.REPO, "main", f.getKey()).orElseThrow());
                assertArrayEquals(f.getValue(), Files.readAllBytes(snapshot.resolve(f.getKey())), f.getKey() + " through the snapshot");
            }
            assertEquals(PythonInteropRepo.COMMIT, client.cache().commitOf(PythonInteropRepo.REPO, "main").orElseThrow());
            assertTrue(Files.exists(client.cache().noExistMarker(PythonInteropRepo.REPO, PythonInteropRepo.COMMIT, PythonInteropRepo.MISSING)));
            assertThrows(LocalEntryNotFoundException.class,
                    () -> client.download(PythonInteropRepo.REPO, "main", PythonInteropRepo.MISSING));
        }
    }

    @Test
    void ourCacheOfTheSameRepoHasPythonsLayoutExactly() throws IOException {
        Path ours = tmp.resolve("ours");
        try (FakeHub hub = PythonInteropRepo.serve(tmp.resolve("store"), files);
             HubClient client = client(hub, ours)) {
            client.snapshotDownload(PythonInteropRepo.REPO, "main", SnapshotOptions.defaults());
            assertThrows(EntryNotFoundException.class, () -> client.download(PythonInteropRepo.REPO, "main", PythonInteropRepo.MISSING));
        }
        Map<String, String> python = new TreeMap<>();
        manifest.path("entries").properties().forEach(e -> {
            if (!pythonOnly(e.getKey())) python.put(e.getKey(), describe(e.getValue()));
        });
        assertEquals(python, walk(ours), "entries (path -> type, symlink target, size, sha256) of Python's cache vs ours");
    }

    @Test
    void onlineClientTakesPythonsCacheAsCompleteAndLeavesItUntouched() throws IOException {
        Path cacheB = rebuildPythonCache(tmp.resolve("B"));
        Map<String, String> before = walk(cacheB);
        try (FakeHub hub = PythonInteropRepo.serve(tmp.resolve("store"), files);
             HubClient client = client(hub, cacheB)) {
            Path snapshot = client.snapshotDownload(PythonInteropRepo.REPO, "main", SnapshotOptions.defaults());
            assertEquals(cacheB.resolve("models--ao4j-interop--tiny-llama/snapshots").resolve(PythonInteropRepo.COMMIT), snapshot);
            assertEquals(0, hub.seen.stream().filter(s -> s.path().contains("/resolve/") || s.path().startsWith("/fake-cdn/")).count(),
                    "file requests although every file is cached: " + hub.seen);
        }
        assertEquals(before, walk(cacheB));
    }

    // ---- helpers ---------------------------------------------------------------------------------------------

    private HubClient client(FakeHub hub, Path cache) {
        return HubClient.builder().config(new HubConfig(hub.url(), FakeHub.TOKEN, tmp.resolve("hf"), cache, false,
                Duration.ofSeconds(30), Duration.ofSeconds(30))).build();
    }

    /** Entries only huggingface_hub writes, both optional in the cache layout: the cache tag and tree listings. */
    private static boolean pythonOnly(String rel) {
        String[] parts = rel.split("/");
        return rel.equals("CACHEDIR.TAG") || parts.length >= 2 && parts[0].startsWith("models--") && parts[1].equals("trees");
    }

    private static String describe(JsonNode e) {
        return switch (e.path("type").asString()) {
            case "dir" -> "dir";
            case "symlink" -> "symlink -> " + e.path("target").asString();
            default -> "file " + e.path("size").asLong() + " " + e.path("sha256").asString();
        };
    }

    /** Path (relative, with /) → the same description as {@link #describe}; links are not followed. */
    private static Map<String, String> walk(Path root) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : (Iterable<Path>) all::iterator) {
                if (p.equals(root)) continue;
                String rel = root.relativize(p).toString().replace('\\', '/');
                if (Files.isSymbolicLink(p)) out.put(rel, "symlink -> " + Files.readSymbolicLink(p));
                else if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) out.put(rel, "dir");
                else out.put(rel, "file " + Files.size(p) + " " + sha256(Files.readAllBytes(p)));
            }
        }
        return out;
    }

    /** Recreates Python's cache under {@code root}: folders, relative symlinks with Python's exact targets, files. */
    private static Path rebuildPythonCache(Path root) throws IOException {
        Map<String, byte[]> bySha = new TreeMap<>();
        files.values().forEach(b -> bySha.put(sha256(b), b));
        for (var e : manifest.path("entries").properties()) { // sorted: a folder comes before what it holds
            Path p = root.resolve(e.getKey());
            JsonNode v = e.getValue();
            switch (v.path("type").asString()) {
                case "dir" -> Files.createDirectories(p);
                case "symlink" -> {
                    Files.createDirectories(p.getParent());
                    Files.createSymbolicLink(p, Path.of(v.path("target").asString()));
                }
                default -> {
                    String sha = v.path("sha256").asString();
                    byte[] bytes = v.has("base64") ? Base64.getDecoder().decode(v.path("base64").asString()) : bySha.get(sha);
                    assertTrue(bytes != null && sha256(bytes).equals(sha), "no content with sha256 " + sha + " for " + e.getKey());
                    Files.createDirectories(p.getParent());
                    Files.write(p, bytes);
                    Files.setPosixFilePermissions(p, permissions(v.path("mode").asString()));
                }
            }
        }
        return root;
    }

    private static Set<PosixFilePermission> permissions(String pythonOctal) {
        int mode = Integer.parseInt(pythonOctal.replace("0o", ""), 8);
        StringBuilder s = new StringBuilder();
        for (int shift = 6; shift >= 0; shift -= 3) {
            s.append((mode >> shift & 4) != 0 ? 'r' : '-').append((mode >> shift & 2) != 0 ? 'w' : '-')
                    .append((mode >> shift & 1) != 0 ? 'x' : '-');
        }
        return PosixFilePermissions.fromString(s.toString());
    }

    private static String sha256(byte[] bytes) {
        return HexFormat.of().formatHex(FakeHub.digest("SHA-256", bytes));
    }
}
