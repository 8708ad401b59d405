package dev.ao4j.hub;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The write side, and push-then-pull, against the stateful {@link FakeHub}. */
class HubUploaderTest {
    private static final String REPO = "org/quantized";

    @TempDir
    Path tmp;
    private FakeHub hub;
    private HubClient client;
    private HubUploader uploader;
    private final List<Duration> sleeps = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() throws IOException {
        hub = new FakeHub(tmp.resolve("server"));
        client = client(tmp.resolve("cache"));
        uploader = new HubUploader(client);
    }

    @AfterEach
    void stop() {
        client.close();
        hub.close();
    }

    @Test
    void createRepoIsIdempotentWithExistOk() {
        assertEquals(hub.url() + "/" + REPO, uploader.createRepo(REPO, true, false));
        assertEquals(hub.url() + "/" + REPO, uploader.createRepo(REPO, true, true));
        HubHttpException e = assertThrows(HubHttpException.class, () -> uploader.createRepo(REPO, true, false));
        assertEquals(409, e.status());
        assertTrue(e.getMessage().contains("already created"), e.getMessage());
        assertTrue(client.modelInfo(REPO, "main").isPrivate());
    }

    @Test
    void multipartUploadRetriesAFailedPartAndSendsTheExactPartEtags() throws IOException {
        uploader.createRepo(REPO, false, true);
        Path dir = Files.createDirectories(tmp.resolve("pkg"));
        byte[] weights = random(200_000, 1); // 7 parts of 32 KiB
        Files.write(dir.resolve("model.safetensors"), weights);
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"llama\"}\n");
        hub.failNext("PUT /fake-s3/part/u1/3", 500, 1);

        CommitInfo c = uploader.uploadFolder(dir, REPO, UploadOptions.of("Upload int4 weights").withWorkers(3));

        assertTrue(c.committed());
        assertEquals(c.commitOid(), hub.head(REPO, "main"));
        assertArrayEquals(weights, hub.files(REPO, "main").get("model.safetensors"));
        assertTrue(hub.isLfs(REPO, "main", "model.safetensors"));
        assertFalse(hub.isLfs(REPO, "main", "config.json"));
        assertEquals(8, hub.count("PUT", "/fake-s3/part/u1/"), "7 parts + one retry of part 3");
        assertEquals(1, hub.count("POST", "/fake-s3/complete/u1"));
        assertEquals(1, hub.count("POST", "/org/quantized.git/info/lfs/objects/verify"));
        assertEquals(List.of(Duration.ofSeconds(1)), sleeps, "one backoff for the failed part");
        for (FakeHub.Seen s : hub.seen) {
            if (s.path().startsWith("/fake-s3/")) assertNull(s.authorization(), "no token on presigned URLs: " + s);
            if (s.path().startsWith("/api/models/") || s.path().contains(".git/info/lfs")) {
                assertEquals("Bearer " + FakeHub.TOKEN, s.authorization(), s.toString());
            }
        }
    }

    @Test
    void basicUploadAndSecondRunSkipsWhatTheServerHas() throws IOException {
        uploader.createRepo(REPO, false, true);
        hub.multipartThreshold = Long.MAX_VALUE;
        Path dir = Files.createDirectories(tmp.resolve("pkg"));
        Files.write(dir.resolve("a.safetensors"), random(5000, 2));
        Files.write(dir.resolve("b.safetensors"), random(6000, 3));
        Files.writeString(dir.resolve("README.md"), "hello\n");
        Files.writeString(dir.resolve("notes.ignored"), "server-side .gitignore says no\n");
        Files.createDirectories(dir.resolve(".cache/huggingface/upload"));
        Files.writeString(dir.resolve(".cache/huggingface/upload/x.metadata"), "local state\n");

        CommitInfo first = uploader.uploadFolder(dir, REPO, UploadOptions.of("first"));
        assertEquals(2, hub.count("PUT", "/fake-s3/put/"));
        assertEquals(List.of(".gitattributes", "README.md", "a.safetensors", "b.safetensors"),
                List.copyOf(hub.files(REPO, "main").keySet()));

        // unchanged folder: nothing to send, nothing committed, the head comes back
        CommitInfo again = uploader.uploadFolder(dir, REPO, UploadOptions.of("again"));
        assertFalse(again.committed());
        assertEquals(first.commitOid(), again.commitOid());
        assertEquals(2, hub.count("PUT", "/fake-s3/put/"));
        assertEquals(1, hub.count("POST", "/api/models/org/quantized/commit/"));

        // one file changed: only its bytes travel
        Files.write(dir.resolve("b.safetensors"), random(6000, 4));
        CommitInfo third = uploader.uploadFolder(dir, REPO, UploadOptions.of("third"));
        assertTrue(third.committed());
        assertEquals(3, hub.count("PUT", "/fake-s3/put/"));
    }

    @Test
    void interruptedLargeFolderUploadResumesWithoutResendingStoredObjects() throws IOException {
        uploader.createRepo(REPO, false, true);
        hub.multipartThreshold = Long.MAX_VALUE;
        Path dir = Files.createDirectories(tmp.resolve("pkg"));
        for (int i = 0; i < 5; i++) Files.write(dir.resolve("shard-" + i + ".safetensors"), random(3000, 10 + i));
        // the second chunk's commit fails: its objects are uploaded but not committed
        UploadOptions options = UploadOptions.of("bulk").withFilesPerCommit(2);
        hub.failNextAfter("POST /api/models/org/quantized/commit/", 1, 500, 1);
        assertThrows(HubHttpException.class, () -> uploader.uploadFolder(dir, REPO, options));
        assertEquals(4, hub.count("PUT", "/fake-s3/put/"));
        assertEquals(List.of(".gitattributes", "shard-0.safetensors", "shard-1.safetensors"),
                List.copyOf(hub.files(REPO, "main").keySet()));

        CommitInfo done = uploader.uploadFolder(dir, REPO, options);

        assertTrue(done.committed());
        assertEquals(5, hub.count("PUT", "/fake-s3/put/"), "shards 2 and 3 were stored already, only shard 4 is sent");
        assertEquals(6, hub.files(REPO, "main").size());
    }

    @Test
    void commitOnAMovedBranchFailsWith412AndCommitsNothing() throws IOException {
        uploader.createRepo(REPO, false, true);
        String base = hub.head(REPO, "main");
        Path file = Files.writeString(tmp.resolve("x.json"), "{}\n");
        uploader.commit(REPO, List.of(new CommitOperation.Add("x.json", file)), UploadOptions.of("someone else"));
        String moved = hub.head(REPO, "main");

        Path mine = Files.writeString(tmp.resolve("y.json"), "{\"y\": 1}\n");
        ConcurrentCommitException e = assertThrows(ConcurrentCommitException.class, () -> uploader.commit(REPO,
                List.of(new CommitOperation.Add("y.json", mine)), UploadOptions.of("mine").withParentCommit(base)));

        assertEquals(412, e.status());
        assertTrue(e.getMessage().contains("A commit has happened since"), e.getMessage());
        assertTrue(e.getMessage().contains("repo 'org/quantized'"), e.getMessage());
        assertEquals(moved, hub.head(REPO, "main"));
        assertEquals(2, hub.count("POST", "/api/models/org/quantized/commit/main"), "the other commit, then one try of ours: a 412 is not retried");
    }

    @Test
    void rateLimitedCallsWaitAsToldAndSucceed() throws IOException {
        uploader.createRepo(REPO, false, true);
        hub.failNext("POST /api/models/org/quantized/preupload/", 429, 1);
        hub.failNext("POST /api/models/org/quantized/commit/", 429, 1);
        Path file = Files.writeString(tmp.resolve("x.json"), "{}\n");

        CommitInfo c = uploader.commit(REPO, List.of(new CommitOperation.Add("x.json", file)), UploadOptions.of("x"));

        assertTrue(c.committed());
        assertEquals(List.of(Duration.ofSeconds(3), Duration.ofSeconds(3)), sleeps, "Retry-After: 2, plus 1 s");
        assertArrayEquals("{}\n".getBytes(StandardCharsets.UTF_8), hub.files(REPO, "main").get("x.json"));
    }

    @Test
    void pullRequestDeletesAndFolderDeletes() throws IOException {
        uploader.createRepo(REPO, false, true);
        Path a = Files.writeString(tmp.resolve("a.txt"), "a\n");
        uploader.commit(REPO, List.of(new CommitOperation.Add("docs/a.txt", a), new CommitOperation.Add("docs/b.txt", a),
                new CommitOperation.Add("c.txt", a)), UploadOptions.of("docs"));
        String main = hub.head(REPO, "main");

        CommitInfo pr = uploader.commit(REPO, List.of(new CommitOperation.DeleteFolder("docs"), new CommitOperation.Delete("c.txt")),
                UploadOptions.of("cleanup").withCreatePr(true));

        assertEquals(hub.url() + "/" + REPO + "/discussions/1", pr.pullRequestUrl());
        assertEquals(main, hub.head(REPO, "main"), "the branch itself is untouched");
        assertEquals(pr.commitOid(), hub.head(REPO, "refs/pr/1"));
        assertEquals(List.of(".gitattributes"), List.copyOf(hub.files(REPO, "refs/pr/1").keySet()));
        assertTrue(hub.seen.stream().anyMatch(s -> s.path().equals("/api/models/org/quantized/commit/main")));
        assertThrows(IllegalArgumentException.class, () -> new CommitOperation.Delete(".git/config"));
        assertThrows(IllegalArgumentException.class, () -> new CommitOperation.Add("a/../../b", a));
        assertEquals("x/y.txt", new CommitOperation.Add("/./x/y.txt", a).pathInRepo());
    }

    /**
     * Push a package folder, pull it into an empty cache, and check the cache is what huggingface_hub builds:
     * blobs named by sha256 (LFS) or git blob sha1 (regular), relative snapshot symlinks, refs/main without newline.
     */
    @Test
    void pushedPackagePullsBackByteIdenticalIntoAPythonShapedCache() throws IOException {
        Path pkg = Files.createDirectories(tmp.resolve("pkg"));
        Files.write(pkg.resolve("model.safetensors"), random(150_000, 7));
        Files.writeString(pkg.resolve("config.json"), "{\"architectures\": [\"LlamaForCausalLM\"]}\n");
        Files.writeString(pkg.resolve("ao4j_report.json"), "{\"recipe\": \"int4wo-128\"}\n");
        Files.createDirectories(pkg.resolve("sub"));
        Files.writeString(pkg.resolve("sub/tokenizer.json"), "{\"model\": {}}\n");
        Files.write(pkg.resolve("empty.txt"), new byte[0]);

        uploader.createRepo(REPO, false, true);
        CommitInfo c = uploader.uploadFolder(pkg, REPO, UploadOptions.of("push"));

        Path cache = tmp.resolve("fresh-cache");
        Path snapshot;
        try (HubClient puller = client(cache)) {
            snapshot = puller.snapshotDownload(REPO, "main", SnapshotOptions.defaults().withWorkers(4));
        }
        Path repoDir = cache.resolve("models--org--quantized");
        assertEquals(repoDir.resolve("snapshots").resolve(c.commitOid()), snapshot);
        assertArrayEquals(c.commitOid().getBytes(StandardCharsets.US_ASCII), Files.readAllBytes(repoDir.resolve("refs/main")));

        Map<String, byte[]> expected = new TreeMap<>(hub.files(REPO, "main"));
        assertEquals(expected.keySet(), relativeFiles(snapshot).keySet());
        List<String> expectedBlobs = new ArrayList<>();
        for (var e : expected.entrySet()) {
            Path link = snapshot.resolve(e.getKey());
            assertTrue(Files.isSymbolicLink(link), e.getKey());
            boolean lfs = hub.isLfs(REPO, "main", e.getKey());
            String blob = lfs ? sha256(e.getValue()) : FakeHub.gitSha1(e.getValue());
            assertEquals(lfs ? 64 : 40, blob.length());
            String up = "../".repeat(e.getKey().split("/").length + 1);
            assertEquals(Path.of(up + "blobs/" + blob), Files.readSymbolicLink(link), e.getKey());
            assertArrayEquals(e.getValue(), Files.readAllBytes(link), e.getKey());
            expectedBlobs.add(blob);
        }
        for (String name : List.of("model.safetensors", "config.json", "ao4j_report.json", "sub/tokenizer.json", "empty.txt")) {
            assertArrayEquals(Files.readAllBytes(pkg.resolve(name)), Files.readAllBytes(snapshot.resolve(name)), name);
        }
        assertEquals(expectedBlobs.stream().sorted().distinct().toList(),
                FakeHub.names(repoDir.resolve("blobs")).stream().toList(), "exactly one blob per content, no temp files");
        assertEquals(List.of("blobs", "refs", "snapshots"), FakeHub.names(repoDir).stream().toList());
        assertEquals(List.of(".locks", "models--org--quantized"), FakeHub.names(cache).stream().toList());
    }

    private Map<String, Path> relativeFiles(Path root) throws IOException {
        Map<String, Path> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(root)) {
            s.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS) || Files.isSymbolicLink(p))
                    .forEach(p -> out.put(root.relativize(p).toString(), p));
        }
        return out;
    }

    private HubClient client(Path cache) {
        HubConfig config = new HubConfig(hub.url(), FakeHub.TOKEN, tmp.resolve("hf"), cache, false,
                Duration.ofSeconds(10), Duration.ofSeconds(10));
        return HubClient.builder().config(config).sleeper(sleeps::add).build();
    }

    static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    static String sha256(byte[] b) {
        return HexFormat.of().formatHex(FakeHub.digest("SHA-256", b));
    }
}
