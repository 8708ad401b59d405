package dev.ao4j.hub;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.tomakehurst.wiremock.WireMockServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** modelInfo and the tree API (WireMock), snapshotDownload in cache and local_dir modes (FakeHub). */
class HubReadSideTest {
    private static final String REPO = "org/model";
    private static final String SHA = "89abcdef0123456789abcdef0123456789abcdef";

    @TempDir
    Path tmp;
    private FakeHub fake;
    private HubClient client;

    @BeforeEach
    void start() throws IOException {
        fake = new FakeHub(tmp.resolve("server"));
        client = client(fake.url(), tmp.resolve("cache"), false);
        HubUploader up = new HubUploader(client);
        up.createRepo(REPO, false, false);
        Path pkg = Files.createDirectories(tmp.resolve("pkg/sub/deeper"));
        Files.write(pkg.getParent().getParent().resolve("model.safetensors"), HubUploaderTest.random(100_000, 1));
        Files.writeString(pkg.getParent().getParent().resolve("config.json"), "{\"a\": 1}\n");
        Files.writeString(pkg.getParent().getParent().resolve("README.md"), "# card\n");
        Files.writeString(pkg.getParent().resolve("x.json"), "{}\n");
        Files.write(pkg.resolve("w.bin"), HubUploaderTest.random(3000, 2));
        up.uploadFolder(tmp.resolve("pkg"), REPO, UploadOptions.of("files"));
    }

    @AfterEach
    void stop() {
        client.close();
        fake.close();
    }

    @Test
    void modelInfoAndTreePagesFromWireMock() {
        WireMockServer hub = new WireMockServer(options().dynamicPort());
        hub.start();
        try (HubClient c = client(hub.baseUrl(), tmp.resolve("c2"), false)) {
            hub.stubFor(get(urlPathEqualTo("/api/models/org/model/revision/refs%2Fpr%2F1")).willReturn(aResponse()
                    .withHeader("Content-Type", "application/json").withBody("""
                            {"id": "Org/Model", "sha": "%s", "private": true, "gated": "manual", "disabled": false,
                             "library_name": "transformers", "pipeline_tag": "text-generation", "tags": ["a", "b"],
                             "cardData": {"license": "apache-2.0", "language": ["en"], "base_model": null},
                             "siblings": [{"rfilename": "config.json", "size": 10, "blobId": "b1"},
                                          {"rfilename": "m.safetensors", "size": 99, "blobId": "b2",
                                           "lfs": {"sha256": "%s", "size": 99, "pointerSize": 130}}]}
                            """.formatted(SHA, "e".repeat(64)))));
            RepoInfo info = c.modelInfo(REPO, "refs/pr/1");
            assertEquals("Org/Model", info.id());
            assertEquals(SHA, info.sha());
            assertTrue(info.isPrivate());
            assertEquals("manual", info.gated());
            assertEquals(Map.of("license", "apache-2.0", "language", List.of("en")), info.cardData());
            assertEquals(List.of(new RepoInfo.Sibling("config.json", 10, "b1", null),
                    new RepoInfo.Sibling("m.safetensors", 99, "b2", "e".repeat(64))), info.siblings());
            hub.verify(getRequestedFor(urlPathEqualTo("/api/models/org/model/revision/refs%2Fpr%2F1"))
                    .withQueryParam("blobs", equalTo("true")).withHeader("Authorization", equalTo("Bearer " + FakeHub.TOKEN)));

            hub.stubFor(get(urlPathEqualTo("/api/models/org/model/tree/main")).withQueryParam("cursor", equalTo("p2"))
                    .willReturn(aResponse().withBody("[{\"type\": \"file\", \"path\": \"d/b.bin\", \"oid\": \"o2\", \"size\": 5,"
                            + " \"lfs\": {\"oid\": \"" + "f".repeat(64) + "\", \"size\": 5, \"pointerSize\": 128}}]")));
            hub.stubFor(get(urlPathEqualTo("/api/models/org/model/tree/main")).withQueryParam("cursor", equalTo("p1"))
                    .willReturn(aResponse().withHeader("Link", "</api/models/org/model/tree/main?recursive=true&cursor=p2>; rel=\"next\"")
                            .withBody("[{\"type\": \"directory\", \"path\": \"d\", \"oid\": \"t1\", \"size\": 0}]")));
            hub.stubFor(get(urlPathEqualTo("/api/models/org/model/tree/main")).withQueryParam("expand", equalTo("false"))
                    .willReturn(aResponse().withHeader("Link", "<" + hub.baseUrl()
                                    + "/api/models/org/model/tree/main?recursive=true&cursor=p1>; rel=\"next\", <x>; rel=\"last\"")
                            .withBody("[{\"type\": \"file\", \"path\": \"a.json\", \"oid\": \"o1\", \"size\": 3}]")));
            List<TreeEntry> tree = c.listTree(REPO, "main", null, true);
            assertEquals(List.of(new TreeEntry(false, "a.json", "o1", 3, null, null), new TreeEntry(true, "d", "t1", 0, null, null),
                    new TreeEntry(false, "d/b.bin", "o2", 5, "f".repeat(64), null)), tree);
            assertEquals("f".repeat(64), tree.get(2).etag());
        } finally {
            hub.stop();
        }
    }

    @Test
    void treeOfAFolderNonRecursiveAndMissingFolder() {
        List<TreeEntry> sub = client.listTree(REPO, "main", "sub", false);
        assertEquals(List.of("sub/x.json", "sub/deeper"), sub.stream().map(TreeEntry::path).toList());
        assertTrue(sub.get(1).directory());
        assertEquals(6, client.listTree(REPO, "main", null, true).stream().filter(e -> !e.directory()).count(),
                "5 files and .gitattributes, over pages of 3 entries");
        assertThrows(EntryNotFoundException.class, () -> client.listTree(REPO, "main", "nope", true));
    }

    @Test
    void snapshotDownloadFiltersAndPinsOneCommit() throws IOException {
        String head = fake.head(REPO, "main");
        AtomicLong bytes = new AtomicLong();
        Set<String> finished = ConcurrentHashMap.newKeySet();
        TransferListener listener = new TransferListener() {
            @Override
            public void progressed(String path, long n) {
                bytes.addAndGet(n);
            }

            @Override
            public void finished(String path) {
                finished.add(path);
            }
        };
        Path snap = client.snapshotDownload(REPO, "main", SnapshotOptions.defaults()
                .withPatterns(List.of("*.json", "sub/", "*.safetensors"), List.of("sub/deeper/*")).withWorkers(3).withListener(listener));

        assertEquals(tmp.resolve("cache/models--org--model/snapshots").resolve(head), snap);
        assertEquals(new TreeSet<>(List.of("config.json", "model.safetensors", "sub/x.json")), files(snap));
        assertEquals(100_000 + 9 + 3, bytes.get());
        assertEquals(Set.of("config.json", "model.safetensors", "sub/x.json"), finished);
        assertEquals(head, Files.readString(tmp.resolve("cache/models--org--model/refs/main")));

        // offline: the cached snapshot answers; a revision never fetched does not
        try (HubClient offline = client(fake.url(), tmp.resolve("cache"), true)) {
            assertEquals(snap, offline.snapshotDownload(REPO, "main", SnapshotOptions.defaults()));
            assertThrows(LocalEntryNotFoundException.class, () -> offline.snapshotDownload(REPO, "v2", SnapshotOptions.defaults()));
        }
    }

    @Test
    void localDirModeWritesPlainFilesAndPythonMetadata() throws IOException {
        Path dir = tmp.resolve("local");
        Path out = client.snapshotDownload(REPO, "main", SnapshotOptions.defaults().withLocalDir(dir));

        assertEquals(dir.toAbsolutePath(), out);
        String head = fake.head(REPO, "main");
        for (var e : fake.files(REPO, "main").entrySet()) {
            Path f = dir.resolve(e.getKey());
            assertFalse(Files.isSymbolicLink(f), e.getKey());
            assertArrayEquals(e.getValue(), Files.readAllBytes(f), e.getKey());
            List<String> meta = Files.readAllLines(dir.resolve(".cache/huggingface/download/" + e.getKey() + ".metadata"));
            assertEquals(3, meta.size());
            assertEquals(head, meta.get(0));
            boolean lfs = fake.isLfs(REPO, "main", e.getKey());
            assertEquals(lfs ? HubUploaderTest.sha256(e.getValue()) : FakeHub.gitSha1(e.getValue()), meta.get(1));
            assertTrue(meta.get(2).matches("\\d+\\.\\d+"), meta.get(2));
        }
        assertEquals("*", Files.readString(dir.resolve(".cache/huggingface/.gitignore")));
        assertFalse(Files.exists(tmp.resolve("cache/models--org--model/blobs")), "local_dir mode leaves the cache alone");
        try (var s = Files.list(dir.resolve(".cache/huggingface/download"))) {
            assertTrue(s.noneMatch(p -> p.toString().endsWith(".incomplete")));
        }

        // second run with the commit: trusted metadata, no request at all
        int before = fake.seen.size();
        client.snapshotDownload(REPO, head, SnapshotOptions.defaults().withLocalDir(dir));
        assertEquals(List.of(), fake.seen.subList(before, fake.seen.size()).stream()
                .filter(r -> !r.path().startsWith("/api/models/org/model/tree/")).toList(), "only the tree listing (3 pages)");
        // a file edited locally is replaced by the Hub's version
        Files.writeString(dir.resolve("config.json"), "{\"edited\": true}\n");
        Files.setLastModifiedTime(dir.resolve("config.json"), java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 5000));
        client.snapshotDownload(REPO, "main", SnapshotOptions.defaults().withLocalDir(dir));
        assertEquals("{\"a\": 1}\n", Files.readString(dir.resolve("config.json")));
    }

    @Test
    void withoutSymlinksSnapshotsHoldTheFilesThemselves() throws IOException {
        HubConfig config = client.config().withHubCache(tmp.resolve("nolinks")).withDisableSymlinks(true);
        try (HubClient c = HubClient.builder().config(config).build()) {
            Path snap = c.snapshotDownload(REPO, "main", SnapshotOptions.defaults());
            for (var e : fake.files(REPO, "main").entrySet()) {
                Path f = snap.resolve(e.getKey());
                assertTrue(Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS), e.getKey());
                assertArrayEquals(e.getValue(), Files.readAllBytes(f), e.getKey());
            }
            assertEquals(List.of(), FakeHub.names(tmp.resolve("nolinks/models--org--model/blobs")).stream().toList(),
                    "fresh blobs are moved into the snapshot, as Python does");
        }
    }

    private static TreeSet<String> files(Path root) throws IOException {
        TreeSet<String> out = new TreeSet<>();
        try (var s = Files.walk(root)) {
            s.filter(p -> !Files.isDirectory(p)).forEach(p -> out.add(root.relativize(p).toString()));
        }
        return out;
    }

    private static HubClient client(String url, Path cache, boolean offline) {
        HubConfig config = new HubConfig(url, FakeHub.TOKEN, cache.resolveSibling("hf"), cache, offline,
                Duration.ofSeconds(10), Duration.ofSeconds(10));
        return HubClient.builder().config(config).sleeper(d -> { }).build();
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
