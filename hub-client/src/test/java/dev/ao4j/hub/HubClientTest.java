package dev.ao4j.hub;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.absent;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.head;
import static com.github.tomakehurst.wiremock.client.WireMock.headRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static com.github.tomakehurst.wiremock.stubbing.Scenario.STARTED;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The download side against a WireMock "Hub" (and a second WireMock as CDN, another host by port). */
class HubClientTest {
    private static final String REPO = "org/model";
    private static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";
    private static final String TOKEN = "hf_secret_token";
    private static final String FILE = "model.safetensors";
    private static final String RESOLVE = "/" + REPO + "/resolve/main/" + FILE;

    @TempDir
    Path tmp;
    private WireMockServer hub;
    private WireMockServer cdn;
    private final List<Duration> sleeps = new CopyOnWriteArrayList<>();
    private HubClient client;
    private byte[] content;
    private String sha256;

    @BeforeEach
    void start() throws Exception {
        hub = server();
        cdn = server();
        content = new byte[5000];
        new Random(42).nextBytes(content);
        sha256 = hex(MessageDigest.getInstance("SHA-256").digest(content));
        client = client(false);
    }

    @AfterEach
    void stop() {
        client.close();
        hub.stop();
        cdn.stop();
    }

    @Test
    void downloadsLfsFileIntoPythonsCacheLayout() throws IOException {
        hub.stubFor(head(urlPathEqualTo(RESOLVE)).willReturn(lfsHeaders(200)));
        hub.stubFor(get(urlPathEqualTo(RESOLVE)).willReturn(aResponse().withStatus(200).withBody(content)));

        Path pointer = client.download(REPO, "main", FILE);

        Path repoDir = cache().resolve("models--org--model");
        assertEquals(repoDir.resolve("snapshots").resolve(COMMIT).resolve(FILE), pointer);
        assertTrue(Files.isSymbolicLink(pointer));
        assertEquals(Path.of("../../blobs/" + sha256), Files.readSymbolicLink(pointer));
        assertArrayEquals(content, Files.readAllBytes(repoDir.resolve("blobs").resolve(sha256)));
        assertArrayEquals(content, Files.readAllBytes(pointer));
        assertArrayEquals(COMMIT.getBytes(StandardCharsets.US_ASCII), Files.readAllBytes(repoDir.resolve("refs/main")),
                "refs/main holds the bare commit, no newline");
        assertEquals(List.of(sha256), names(repoDir.resolve("blobs")));
        assertTrue(Files.exists(cache().resolve(".locks/models--org--model/" + sha256 + ".lock")));
        hub.verify(headRequestedFor(urlPathEqualTo(RESOLVE))
                .withHeader("Authorization", equalTo("Bearer " + TOKEN))
                .withHeader("Accept-Encoding", equalTo("identity")));

        // cached: a second call only asks for the metadata, and a commit-hash revision asks nothing at all
        assertEquals(pointer, client.download(REPO, "main", FILE));
        hub.verify(1, getRequestedFor(urlPathEqualTo(RESOLVE)));
        int before = hub.getAllServeEvents().size();
        assertEquals(pointer, client.download(REPO, COMMIT, FILE));
        assertEquals(before, hub.getAllServeEvents().size());
        assertTrue(sleeps.isEmpty());
    }

    @Test
    void regularFileInSubfolderIsCheckedAgainstItsGitBlobSha1() throws Exception {
        byte[] json = "{\"a\": 1}\n".getBytes(StandardCharsets.UTF_8);
        MessageDigest sha1 = MessageDigest.getInstance("SHA-1");
        sha1.update(("blob " + json.length + "\0").getBytes(StandardCharsets.US_ASCII));
        String gitSha1 = hex(sha1.digest(json));
        String path = "/" + REPO + "/resolve/v1.0/sub/dir/config%20x.json";
        hub.stubFor(head(urlPathEqualTo(path)).willReturn(aResponse().withStatus(200)
                .withHeader("X-Repo-Commit", COMMIT).withHeader("ETag", "\"" + gitSha1 + "\"")
                .withHeader("Content-Length", String.valueOf(json.length))));
        hub.stubFor(get(urlPathEqualTo(path)).willReturn(aResponse().withStatus(200).withBody(json)));

        Path pointer = client.download(REPO, "v1.0", "sub/dir/config x.json");

        assertEquals(Path.of("../../../../blobs/" + gitSha1), Files.readSymbolicLink(pointer));
        assertArrayEquals(json, Files.readAllBytes(pointer));
        assertEquals(COMMIT, Files.readString(cache().resolve("models--org--model/refs/v1.0")));
    }

    @Test
    void getAnswered429WaitsRetryAfterPlusOneSecondThenSucceeds() throws IOException {
        hub.stubFor(head(urlPathEqualTo(RESOLVE)).willReturn(lfsHeaders(200)));
        hub.stubFor(get(urlPathEqualTo(RESOLVE)).inScenario("429").whenScenarioStateIs(STARTED).willSetStateTo("ok")
                .willReturn(aResponse().withStatus(429).withHeader("Retry-After", "3")));
        hub.stubFor(get(urlPathEqualTo(RESOLVE)).inScenario("429").whenScenarioStateIs("ok")
                .willReturn(aResponse().withStatus(200).withBody(content)));

        Path pointer = client.download(REPO, "main", FILE);

        assertArrayEquals(content, Files.readAllBytes(pointer));
        assertEquals(List.of(Duration.ofSeconds(4)), sleeps);
        hub.verify(2, getRequestedFor(urlPathEqualTo(RESOLVE)));
    }

    @Test
    void metadataRetriesHonourRateLimitResetThenBackOffExponentially() {
        hub.stubFor(head(urlPathEqualTo(RESOLVE)).inScenario("s").whenScenarioStateIs(STARTED).willSetStateTo("503")
                .willReturn(aResponse().withStatus(429).withHeader("RateLimit", "\"resolvers\";r=0;t=7")));
        hub.stubFor(head(urlPathEqualTo(RESOLVE)).inScenario("s").whenScenarioStateIs("503").willSetStateTo("ok")
                .willReturn(aResponse().withStatus(503)));
        hub.stubFor(head(urlPathEqualTo(RESOLVE)).inScenario("s").whenScenarioStateIs("ok").willReturn(lfsHeaders(200)));

        FileMetadata meta = client.fileMetadata(REPO, "main", FILE);

        assertEquals(new FileMetadata(COMMIT, sha256, content.length, hub.baseUrl() + RESOLVE), meta);
        assertTrue(meta.isLfs());
        assertEquals(List.of(Duration.ofSeconds(8), Duration.ofSeconds(2)), sleeps);
    }

    @Test
    void persistentServerErrorGivesUpAfterFiveRetries() {
        hub.stubFor(head(urlPathEqualTo(RESOLVE)).willReturn(aResponse().withStatus(502)));

        HubHttpException e = assertThrows(HubHttpException.class, () -> client.fileMetadata(REPO, "main", FILE));

        assertEquals(502, e.status());
        assertEquals(Stream.of(1, 2, 4, 8, 8).map(Duration::ofSeconds).toList(), sleeps);
        hub.verify(6, headRequestedFor(urlPathEqualTo(RESOLVE)));
    }

    @Test
    void connectionCutMidBodyIsResumedWithRange() throws IOException {
        int half = content.length / 2;
        hub.stubFor(head(urlPathEqualTo(RESOLVE)).willReturn(lfsHeaders(200)));
        // announces the whole file but sends half: the server then has to drop the connection
        hub.stubFor(get(urlPathEqualTo(RESOLVE)).withHeader("Range", absent()).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Length", String.valueOf(content.length)).withBody(Arrays.copyOf(content, half))));
        hub.stubFor(get(urlPathEqualTo(RESOLVE)).withHeader("Range", equalTo("bytes=" + half + "-"))
                .willReturn(aResponse().withStatus(206)
                        .withHeader("Content-Range", "bytes " + half + "-" + (content.length - 1) + "/" + content.length)
                        .withBody(Arrays.copyOfRange(content, half, content.length))));

        Path pointer = client.download(REPO, "main", FILE);

        assertArrayEquals(content, Files.readAllBytes(pointer));
        hub.verify(1, getRequestedFor(urlPathEqualTo(RESOLVE)).withHeader("Range", equalTo("bytes=" + half + "-")));
        assertEquals(List.of(Duration.ofSeconds(1)), sleeps);
        assertEquals(List.of(sha256), names(cache().resolve("models--org--model/blobs")));
    }

    @Test
    void partialFileOfAnEarlierRunIsResumed() throws IOException {
        Path blobs = Files.createDirectories(cache().resolve("models--org--model/blobs"));
        Files.write(blobs.resolve(sha256 + HubClient.RESUME_SUFFIX), Arrays.copyOf(content, 1000));
        hub.stubFor(head(urlPathEqualTo(RESOLVE)).willReturn(lfsHeaders(200)));
        hub.stubFor(get(urlPathEqualTo(RESOLVE)).withHeader("Range", equalTo("bytes=1000-"))
                .willReturn(aResponse().withStatus(206)
                        .withHeader("Content-Range", "bytes 1000-" + (content.length - 1) + "/" + content.length)
                        .withBody(Arrays.copyOfRange(content, 1000, content.length))));

        assertArrayEquals(content, Files.readAllBytes(client.download(REPO, "main", FILE)));
        hub.verify(1, getRequestedFor(urlPathEqualTo(RESOLVE)));
        assertEquals(List.of(sha256), names(blobs));
    }

    @Test
    void redirectToAnotherHostGetsNoAuthorization() throws IOException {
        String cdnPath = "/repos/ab/cd/" + sha256;
        hub.stubFor(head(urlPathEqualTo(RESOLVE)).willReturn(lfsHeaders(302)
                .withHeader("Location", cdn.baseUrl() + cdnPath + "?X-Amz-Signature=abc")
                .withHeader("Content-Length", "1234"))); // the redirect's own length: must be ignored
        cdn.stubFor(get(urlPathEqualTo(cdnPath)).willReturn(aResponse().withStatus(200).withBody(content)));

        Path pointer = client.download(REPO, "main", FILE);

        assertArrayEquals(content, Files.readAllBytes(pointer));
        hub.verify(0, getRequestedFor(urlPathEqualTo(RESOLVE)));
        hub.verify(headRequestedFor(urlPathEqualTo(RESOLVE)).withHeader("Authorization", equalTo("Bearer " + TOKEN)));
        cdn.verify(1, getRequestedFor(urlPathEqualTo(cdnPath)).withQueryParam("X-Amz-Signature", equalTo("abc"))
                .withoutHeader("Authorization"));
    }

    @Test
    void relativeRedirectOfRenamedRepoIsFollowedWithAuthorization() {
        String old = "/old-org/model/resolve/main/" + FILE;
        hub.stubFor(head(urlPathEqualTo(old)).willReturn(aResponse().withStatus(307).withHeader("Location", RESOLVE)));
        hub.stubFor(head(urlPathEqualTo(RESOLVE)).willReturn(lfsHeaders(200)));

        FileMetadata meta = client.fileMetadata("old-org/model", "main", FILE);

        assertEquals(hub.baseUrl() + RESOLVE, meta.downloadUrl());
        hub.verify(headRequestedFor(urlPathEqualTo(RESOLVE)).withHeader("Authorization", equalTo("Bearer " + TOKEN)));
    }

    @Test
    void corruptedBodyIsRejectedAndNothingEntersTheCache() throws IOException {
        byte[] corrupted = content.clone();
        corrupted[1234] ^= 1;
        hub.stubFor(head(urlPathEqualTo(RESOLVE)).willReturn(lfsHeaders(200)));
        hub.stubFor(get(urlPathEqualTo(RESOLVE)).willReturn(aResponse().withStatus(200).withBody(corrupted)));

        ChecksumMismatchException e = assertThrows(ChecksumMismatchException.class, () -> client.download(REPO, "main", FILE));

        assertEquals(sha256, e.expected());
        assertTrue(e.getMessage().contains("repo 'org/model'") && e.getMessage().contains("file '" + FILE + "'"), e.getMessage());
        Path repoDir = cache().resolve("models--org--model");
        assertEquals(List.of(), names(repoDir.resolve("blobs")), "no blob and no .incomplete left");
        assertFalse(Files.exists(repoDir.resolve("snapshots").resolve(COMMIT).resolve(FILE), LinkOption.NOFOLLOW_LINKS));
    }

    static Stream<Arguments> errors() {
        return Stream.of(
                Arguments.of(404, "RepoNotFound", "Repository not found", RepositoryNotFoundException.class),
                Arguments.of(401, null, null, RepositoryNotFoundException.class),
                Arguments.of(401, null, "Invalid credentials in Authorization header", UnauthorizedException.class),
                Arguments.of(401, "GatedRepo", "Access to model org/model is restricted", GatedRepoException.class),
                Arguments.of(403, "GatedRepo", "not approved", GatedRepoException.class),
                Arguments.of(403, null, "Access to this resource is disabled.", DisabledRepoException.class),
                Arguments.of(403, null, "no read scope", ForbiddenException.class),
                Arguments.of(404, "RevisionNotFound", "Invalid rev id: main", RevisionNotFoundException.class),
                Arguments.of(400, null, "bad", HubHttpException.class));
    }

    @ParameterizedTest
    @MethodSource("errors")
    void errorAnswersBecomeTypedExceptionsNamingRepoRevisionAndFile(int status, String code, String message,
                                                                     Class<? extends HubHttpException> expected) {
        ResponseDefinitionBuilder answer = aResponse().withStatus(status).withHeader("X-Request-Id", "req-1");
        if (code != null) answer = answer.withHeader("X-Error-Code", code);
        if (message != null) answer = answer.withHeader("X-Error-Message", message);
        hub.stubFor(head(urlPathEqualTo(RESOLVE)).willReturn(answer));

        HubHttpException e = assertThrows(HubHttpException.class, () -> client.download(REPO, "main", FILE));

        assertEquals(expected, e.getClass());
        assertEquals(status, e.status());
        assertEquals("req-1", e.requestId());
        assertTrue(e.getMessage().startsWith("repo 'org/model', revision 'main', file '" + FILE + "': "), e.getMessage());
        assertInstanceOf(dev.ao4j.quant.Ao4jException.class, e);
        assertTrue(sleeps.isEmpty(), "not retried");
        hub.verify(1, headRequestedFor(urlPathEqualTo(RESOLVE)));
    }

    @Test
    void entryNotFoundLeavesANoExistMarker() {
        hub.stubFor(head(urlPathEqualTo("/" + REPO + "/resolve/main/missing.json")).willReturn(aResponse().withStatus(404)
                .withHeader("X-Error-Code", "EntryNotFound").withHeader("X-Repo-Commit", COMMIT)));

        EntryNotFoundException e = assertThrows(EntryNotFoundException.class, () -> client.download(REPO, "main", "missing.json"));

        assertEquals(COMMIT, e.commit());
        Path repoDir = cache().resolve("models--org--model");
        assertTrue(Files.isRegularFile(repoDir.resolve(".no_exist").resolve(COMMIT).resolve("missing.json")));
        assertTrue(Files.isRegularFile(repoDir.resolve("refs/main")));
    }

    @Test
    void offlineModeResolvesFromRefsAndSnapshotsWithoutAnyRequest() {
        hub.stubFor(head(urlPathEqualTo(RESOLVE)).willReturn(lfsHeaders(200)));
        hub.stubFor(get(urlPathEqualTo(RESOLVE)).willReturn(aResponse().withStatus(200).withBody(content)));
        Path online = client.download(REPO, "main", FILE);
        hub.resetRequests();

        try (HubClient offline = client(true)) {
            assertEquals(online, offline.download(REPO, "main", FILE));
            assertThrows(LocalEntryNotFoundException.class, () -> offline.download(REPO, "main", "other.bin"));
            assertThrows(LocalEntryNotFoundException.class, () -> offline.download(REPO, "dev", FILE));
            assertThrows(HubException.class, () -> offline.fileMetadata(REPO, "main", FILE));
        }
        assertEquals(0, hub.getAllServeEvents().size());
    }

    @Test
    void unreachableHubFallsBackToTheCachedFile() {
        hub.stubFor(head(urlPathEqualTo(RESOLVE)).willReturn(lfsHeaders(200)));
        hub.stubFor(get(urlPathEqualTo(RESOLVE)).willReturn(aResponse().withStatus(200).withBody(content)));
        Path online = client.download(REPO, "main", FILE);
        hub.stop();

        assertEquals(online, client.download(REPO, "main", FILE));
        assertTrue(sleeps.isEmpty(), "a cached copy answers at once");
    }

    @Test
    void unreachableHubWithoutCacheIsLocalEntryNotFoundAfterRetries() {
        hub.stop();

        assertThrows(LocalEntryNotFoundException.class, () -> client.download(REPO, "main", FILE));
        assertEquals(5, sleeps.size());
    }

    @Test
    void resolveUrlEncodesLikePythonsQuote() {
        assertEquals(hub.baseUrl() + "/org/model/resolve/refs%2Fpr%2F1/a%20b/c%2Bd.json",
                client.resolveUrl(REPO, "refs/pr/1", "a b/c+d.json").toString());
    }

    @Test
    void fileNamesThatLeaveTheRepoAreRefused() {
        for (String bad : List.of("../x", "a/../../x", "/etc/passwd", "C:x", "a\\..\\x", "")) {
            assertThrows(IllegalArgumentException.class, () -> client.download(REPO, "main", bad), bad);
        }
        assertThrows(IllegalArgumentException.class, () -> client.download("a/b/c", "main", FILE));
        assertEquals(0, hub.getAllServeEvents().size());
    }

    private ResponseDefinitionBuilder lfsHeaders(int status) {
        return aResponse().withStatus(status)
                .withHeader("X-Repo-Commit", COMMIT)
                .withHeader("X-Linked-Etag", "\"" + sha256 + "\"")
                .withHeader("ETag", "W/\"not-the-content-hash\"")
                .withHeader("X-Linked-Size", String.valueOf(content.length));
    }

    private HubClient client(boolean offline) {
        HubConfig config = new HubConfig(hub.baseUrl(), TOKEN, tmp.resolve("hf"), cache(), offline,
                Duration.ofSeconds(5), Duration.ofSeconds(5));
        return HubClient.builder().config(config).sleeper(sleeps::add).build();
    }

    private Path cache() {
        return tmp.resolve("hf/hub");
    }

    private static WireMockServer server() {
        WireMockServer s = new WireMockServer(options().dynamicPort().bindAddress("127.0.0.1").gzipDisabled(true)
                .jettyAcceptors(1));
        s.start();
        return s;
    }

    private static List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static String hex(byte[] bytes) {
        return HexFormat.of().formatHex(bytes);
    }
}
