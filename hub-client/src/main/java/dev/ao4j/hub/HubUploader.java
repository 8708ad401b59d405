package dev.ao4j.hub;

import dev.ao4j.quant.Where;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import okhttp3.HttpUrl;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okio.BufferedSink;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Creates repositories and commits files to them, speaking the Hub's upload protocol as huggingface_hub does (spec
 * §4): preupload (the server says which files are LFS, which are ignored and which it already has) → LFS batch
 * ({@code basic} and {@code multipart} transfers, no Xet) → PUTs to presigned URLs without credentials, multipart
 * parts in parallel with their exact ETags collected → completion → verify → one NDJSON commit.
 *
 * <p>Re-running an upload that was interrupted only sends what is missing: files whose content the branch already
 * has are dropped after preupload, and LFS objects the server already stores come back from the batch call without
 * an upload action. Thread-safe; shares the {@link HubClient}'s connections and retry policy.
 */
public final class HubUploader {
    private static final MediaType JSON_TYPE = MediaType.get("application/json");
    private static final MediaType LFS_TYPE = MediaType.get("application/vnd.git-lfs+json");
    private static final MediaType NDJSON_TYPE = MediaType.get("application/x-ndjson");
    private static final MediaType OCTETS = MediaType.get("application/octet-stream");
    private static final int PREUPLOAD_BATCH = 256;
    private static final int LFS_BATCH = 256;
    private static final int SAMPLE_BYTES = 512;
    private static final int MAX_RETRIES = 5;
    private static final Duration COMMIT_TIMEOUT = Duration.ofMinutes(5);
    private static final String HF_HOST = "https://huggingface.co";

    private final HubClient client;
    private final OkHttpClient commitHttp;

    public HubUploader(HubClient client) {
        this.client = Objects.requireNonNull(client, "client");
        // the Hub processes every LFS file of a commit before it answers: give it minutes, not seconds
        this.commitHttp = client.http().newBuilder().readTimeout(COMMIT_TIMEOUT).build();
    }

    // ---- repositories ------------------------------------------------------------------------------------------

    /**
     * {@code POST /api/repos/create} (spec §4.1). With {@code existOk}, a repo that already exists is success
     * (409, or 401/402/403 for a namespace the token cannot create in while the repo is readable).
     *
     * @return the repo's web URL
     */
    public String createRepo(String repo, boolean isPrivate, boolean existOk) {
        HubCache.validateRepoId(repo);
        HubHttpException.Request what = new HubHttpException.Request(repo, null, null);
        ObjectNode body = HubClient.JSON.createObjectNode();
        int slash = repo.indexOf('/');
        body.put("name", slash < 0 ? repo : repo.substring(slash + 1));
        if (slash < 0) body.putNull("organization");
        else body.put("organization", repo.substring(0, slash));
        body.put("type", "model");
        body.put("private", isPrivate);
        HttpUrl url = client.apiUrl("repos/create");
        for (int attempt = 0; ; attempt++) {
            Request req = client.request(url).post(RequestBody.create(body.toString(), JSON_TYPE)).build();
            try (Response r = client.send(client.http(), req, false, what)) {
                if (r.isSuccessful()) return HubClient.parseJson(r, what).path("url").asString(client.config().endpoint() + "/" + repo);
                HubHttpException e = HubClient.error(r, what);
                if (r.code() == 409 && String.valueOf(e.serverMessage()).contains("another conflicting operation")
                        && attempt < MAX_RETRIES) {
                    client.pause(HubClient.backoff(attempt), what);
                    continue;
                }
                if (!existOk) throw e;
                if (r.code() == 409) return client.config().endpoint() + "/" + repo;
                if (r.code() == 401 || r.code() == 402 || r.code() == 403) {
                    try {
                        client.modelInfo(repo, "main");
                        return client.config().endpoint() + "/" + repo;
                    } catch (HubException probe) {
                        e.addSuppressed(probe);
                    }
                }
                throw e;
            } catch (IOException e) {
                throw unreachable(e, what);
            }
        }
    }

    // ---- folders -----------------------------------------------------------------------------------------------

    /**
     * Uploads every file under {@code folder} that {@code options.filter()} keeps, at its relative path, in one
     * commit or (with {@code filesPerCommit}) in a chain of commits. Python's local state
     * ({@code .cache/huggingface/}) and {@code .git/} are never uploaded.
     *
     * @return the last commit, or the branch head with {@code committed == false} when nothing changed
     */
    public CommitInfo uploadFolder(Path folder, String repo, UploadOptions options) {
        Objects.requireNonNull(options, "options");
        Path root = folder.toAbsolutePath().normalize();
        if (!Files.isDirectory(root)) {
            throw new HubException("the folder to upload does not exist: " + root, repo, options.revision(), null);
        }
        List<CommitOperation> adds = new ArrayList<>();
        try (Stream<Path> walk = Files.walk(root)) {
            walk.filter(Files::isRegularFile).sorted().forEach(p -> {
                String rel = root.relativize(p).toString().replace('\\', '/');
                if (rel.startsWith(".cache/huggingface/") || rel.startsWith(".git/") || !options.filter().test(rel)) return;
                adds.add(new CommitOperation.Add(rel, p));
            });
        } catch (IOException | UncheckedIOException e) {
            throw new HubException("cannot list " + root + ": " + e, repo, options.revision(), null, Where.file(root), e);
        }
        if (options.filesPerCommit() == 0 || adds.size() <= options.filesPerCommit()) {
            return commit(repo, adds, options);
        }
        CommitInfo last = null;
        String parent = options.parentCommit();
        for (int i = 0; i < adds.size(); i += options.filesPerCommit()) {
            List<CommitOperation> chunk = adds.subList(i, Math.min(adds.size(), i + options.filesPerCommit()));
            int part = i / options.filesPerCommit() + 1;
            int parts = (adds.size() + options.filesPerCommit() - 1) / options.filesPerCommit();
            CommitInfo c = commit(repo, chunk, options.withParentCommit(parent)
                    .withDescription(options.description() + (options.description().isEmpty() ? "" : "\n\n")
                            + "part " + part + " of " + parts));
            if (c.committed()) {
                parent = c.commitOid();
                last = c;
            } else if (last == null) {
                last = c;
            }
        }
        return last;
    }

    // ---- commits -----------------------------------------------------------------------------------------------

    /**
     * Commits {@code operations} to {@code options.revision()} (spec §4.2): preupload, LFS upload of what the server
     * lacks, NDJSON commit. Adds whose content is already at that path are dropped; when nothing is left, no commit
     * is made and the branch head is returned.
     *
     * @throws ConcurrentCommitException the branch moved past {@code options.parentCommit()} (HTTP 412)
     */
    public CommitInfo commit(String repo, List<CommitOperation> operations, UploadOptions options) {
        HubCache.validateRepoId(repo);
        Objects.requireNonNull(options, "options");
        if (client.config().offline()) {
            throw new HubException("offline mode is on (HF_HUB_OFFLINE): cannot upload", repo, options.revision(), null);
        }
        List<LocalFile> adds = new ArrayList<>();
        for (CommitOperation op : operations) {
            if (op instanceof CommitOperation.Add a) adds.add(LocalFile.of(a, repo, options.revision()));
        }
        preupload(repo, adds, options);
        List<LocalFile> toSend = adds.stream().filter(f -> !f.ignored).toList();
        HubClient.forEachInParallel(toSend, options.workers(), LocalFile::hash);
        List<LocalFile> changed = toSend.stream().filter(f -> !f.unchanged()).toList();
        toSend.stream().filter(LocalFile::unchanged).forEach(f -> options.listener().finished(f.path));
        List<CommitOperation> deletes = operations.stream().filter(op -> !(op instanceof CommitOperation.Add)).toList();
        if (changed.isEmpty() && deletes.isEmpty()) {
            return new CommitInfo(client.modelInfo(repo, options.revision()).sha(), null, null, false);
        }
        uploadLfs(repo, changed.stream().filter(f -> f.lfs).toList(), options);
        CommitInfo done = postCommit(repo, changed, deletes, options);
        changed.stream().filter(f -> !f.lfs).forEach(f -> options.listener().finished(f.path)); // sent inline
        return done;
    }

    /** Asks the server, 256 files at a time, how each file goes up (spec §4.3). */
    private void preupload(String repo, List<LocalFile> files, UploadOptions options) {
        HubHttpException.Request what = new HubHttpException.Request(repo, options.revision(), null);
        String gitIgnore = null;
        for (LocalFile f : files) {
            if (f.path.equals(".gitignore")) gitIgnore = readText(f, what);
        }
        for (int i = 0; i < files.size(); i += PREUPLOAD_BATCH) {
            List<LocalFile> batch = files.subList(i, Math.min(files.size(), i + PREUPLOAD_BATCH));
            ObjectNode body = HubClient.JSON.createObjectNode();
            ArrayNode list = body.putArray("files");
            for (LocalFile f : batch) {
                list.addObject().put("path", f.path).put("size", f.size)
                        .put("sample", Base64.getEncoder().encodeToString(f.sample));
            }
            if (gitIgnore != null) body.put("gitIgnore", gitIgnore);
            HttpUrl url = withCreatePr(client.apiUrl("models/" + repo + "/preupload/"
                    + UrlQuote.quote(options.revision(), false)), options.createPr());
            JsonNode answer = postJson(url, body, true, what);
            Map<String, LocalFile> byPath = new LinkedHashMap<>();
            batch.forEach(f -> byPath.put(f.path, f));
            for (JsonNode a : answer.path("files")) {
                LocalFile f = byPath.remove(a.path("path").asString());
                if (f == null) continue;
                String mode = a.path("uploadMode").asString();
                if (!mode.equals("lfs") && !mode.equals("regular")) {
                    throw new HubException("preupload answered uploadMode '" + mode + "' (expected 'regular' or 'lfs')",
                            repo, options.revision(), f.path);
                }
                f.lfs = mode.equals("lfs") && f.size > 0; // S3 refuses empty objects: empty files go inline
                f.ignored = a.path("shouldIgnore").asBoolean(false);
                f.remoteOid = a.path("oid").asString(null);
            }
            if (!byPath.isEmpty()) {
                throw new HubException("preupload did not answer for " + byPath.keySet(), repo, options.revision(), null);
            }
        }
    }

    // ---- LFS ---------------------------------------------------------------------------------------------------

    /** One object of an LFS batch answer that still needs its bytes sent. */
    private record Transfer(LocalFile file, JsonNode upload, JsonNode verify) {
    }

    private void uploadLfs(String repo, List<LocalFile> files, UploadOptions options) {
        HubHttpException.Request what = new HubHttpException.Request(repo, options.revision(), null);
        List<Transfer> transfers = new ArrayList<>();
        for (int i = 0; i < files.size(); i += LFS_BATCH) {
            List<LocalFile> batch = files.subList(i, Math.min(files.size(), i + LFS_BATCH));
            ObjectNode body = HubClient.JSON.createObjectNode();
            body.put("operation", "upload");
            body.putArray("transfers").add("basic").add("multipart");
            ArrayNode objects = body.putArray("objects");
            for (LocalFile f : batch) objects.addObject().put("oid", f.sha256).put("size", f.size);
            body.put("hash_algo", "sha256");
            if (!options.createPr()) body.putObject("ref").put("name", options.revision()); // PR authors may lack write access
            HttpUrl url = HttpUrl.get(client.config().endpoint() + "/" + repo + ".git/info/lfs/objects/batch");
            Request req = client.request(url).post(RequestBody.create(body.toString(), LFS_TYPE))
                    .header("Accept", "application/vnd.git-lfs+json").build();
            JsonNode answer = execute(req, true, what);
            Map<String, LocalFile> byOid = new LinkedHashMap<>();
            batch.forEach(f -> byOid.put(f.sha256, f));
            List<String> errors = new ArrayList<>();
            for (JsonNode o : answer.path("objects")) {
                LocalFile f = byOid.remove(o.path("oid").asString());
                if (f == null) continue;
                if (o.has("error")) {
                    errors.add(f.path + ": " + o.path("error").path("message").asString("") + " (code "
                            + o.path("error").path("code").asString("?") + ")");
                    continue;
                }
                JsonNode upload = o.path("actions").path("upload");
                if (upload.isMissingNode()) {
                    options.listener().finished(f.path); // the server already stores these bytes
                } else {
                    transfers.add(new Transfer(f, upload, o.path("actions").path("verify")));
                }
            }
            if (!errors.isEmpty()) throw new HubException("the LFS batch refused " + errors, repo, options.revision(), null);
            if (!byOid.isEmpty()) {
                throw new HubException("the LFS batch did not answer for " + byOid.values().stream().map(f -> f.path).toList(),
                        repo, options.revision(), null);
            }
        }
        // Every PUT (whole file or part) is one task of one bounded pool; a file's completion and verify run on
        // the thread that finishes its last part.
        List<Runnable> tasks = new ArrayList<>();
        for (Transfer t : transfers) tasks.addAll(tasksFor(repo, t, options));
        HubClient.forEachInParallel(tasks, options.workers(), Runnable::run);
    }

    private List<Runnable> tasksFor(String repo, Transfer t, UploadOptions options) {
        LocalFile f = t.file;
        HubHttpException.Request what = new HubHttpException.Request(repo, options.revision(), f.path);
        HttpUrl href = href(t.upload.path("href"), what);
        JsonNode header = t.upload.path("header");
        options.listener().started(f.path, f.size);
        if (!header.has("chunk_size")) {
            return List.of(() -> {
                put(href, f.source, 0, f.size, what);
                options.listener().progressed(f.path, f.size);
                finish(t, null, what, options);
            });
        }
        long chunk;
        try {
            chunk = Long.parseLong(header.path("chunk_size").asString().trim());
        } catch (NumberFormatException e) {
            throw new HubException("multipart chunk_size '" + header.path("chunk_size") + "' is not a number", what.repo(),
                    what.revision(), what.path());
        }
        TreeMap<Integer, HttpUrl> partUrls = new TreeMap<>();
        for (Map.Entry<String, JsonNode> e : header.properties()) {
            if (e.getKey().matches("\\d+")) partUrls.put(Integer.parseInt(e.getKey()), href(e.getValue(), what));
        }
        long expected = chunk <= 0 ? -1 : (f.size + chunk - 1) / chunk;
        if (partUrls.size() != expected || !partUrls.isEmpty() && partUrls.lastKey() != expected || partUrls.firstKey() != 1) {
            throw new HubException("invalid multipart answer: " + f.size + " bytes in chunks of " + chunk + " need "
                    + expected + " parts numbered 1.." + expected + " but the server sent part numbers "
                    + partUrls.keySet(), what.repo(), what.revision(), what.path());
        }
        String[] etags = new String[partUrls.size()];
        AtomicInteger remaining = new AtomicInteger(partUrls.size());
        List<Runnable> tasks = new ArrayList<>();
        for (Map.Entry<Integer, HttpUrl> e : partUrls.entrySet()) {
            int n = e.getKey();
            long start = (n - 1) * chunk;
            long length = Math.min(chunk, f.size - start);
            tasks.add(() -> {
                etags[n - 1] = put(e.getValue(), f.source, start, length, what);
                options.listener().progressed(f.path, length);
                if (remaining.decrementAndGet() == 0) finish(t, etags, what, options);
            });
        }
        return tasks;
    }

    /** After the bytes: completion of a multipart upload (no credentials, signed URL), then verify if asked. */
    private void finish(Transfer t, String[] partEtags, HubHttpException.Request what, UploadOptions options) {
        if (partEtags != null) {
            ObjectNode body = HubClient.JSON.createObjectNode();
            body.put("oid", t.file.sha256);
            ArrayNode parts = body.putArray("parts");
            for (int i = 0; i < partEtags.length; i++) parts.addObject().put("partNumber", i + 1).put("etag", partEtags[i]);
            Request req = client.bareRequest(href(t.upload.path("href"), what))
                    .post(RequestBody.create(body.toString(), LFS_TYPE)).header("Accept", "application/vnd.git-lfs+json").build();
            try (Response r = client.send(client.http(), req, true, what)) {
                if (!r.isSuccessful()) throw HubClient.error(r, what);
            } catch (IOException e) {
                throw unreachable(e, what);
            }
        }
        if (t.verify.isObject()) {
            ObjectNode body = HubClient.JSON.createObjectNode().put("oid", t.file.sha256).put("size", t.file.size);
            Request req = client.request(href(t.verify.path("href"), what))
                    .post(RequestBody.create(body.toString(), LFS_TYPE)).header("Accept", "application/vnd.git-lfs+json").build();
            execute(req, true, what);
        }
        options.listener().finished(t.file.path);
    }

    /** PUTs {@code length} bytes of {@code file} from {@code start}; returns the answer's ETag exactly as sent. */
    private String put(HttpUrl url, Path file, long start, long length, HubHttpException.Request what) {
        Request req = client.bareRequest(url).put(new FileSlice(file, start, length)).build();
        try (Response r = client.send(client.http(), req, true, what)) {
            if (!r.isSuccessful()) throw HubClient.error(r, what);
            String etag = r.header("ETag");
            if (etag == null || etag.isEmpty()) {
                throw new HubException("the upload of bytes " + start + ".." + (start + length) + " was accepted without"
                        + " an ETag (needed to complete a multipart upload)", what.repo(), what.revision(), what.path());
            }
            return etag;
        } catch (IOException e) {
            throw unreachable(e, what);
        }
    }

    /** An LFS action URL; Hub-hosted ones are moved to the configured endpoint (mirrors, proxies), as Python does. */
    private HttpUrl href(JsonNode node, HubHttpException.Request what) {
        String s = node.asString(null);
        HttpUrl url = s == null ? null : HttpUrl.parse(rewriteHost(s));
        if (url == null) {
            throw new HubException("the LFS answer has no usable href ('" + s + "')", what.repo(), what.revision(), what.path());
        }
        return url;
    }

    private String rewriteHost(String href) {
        String endpoint = client.config().endpoint();
        if (!endpoint.equals(HF_HOST) && href.startsWith(HF_HOST + "/")) return endpoint + href.substring(HF_HOST.length());
        return href;
    }

    // ---- the commit call ---------------------------------------------------------------------------------------

    private CommitInfo postCommit(String repo, List<LocalFile> adds, List<CommitOperation> deletes, UploadOptions options) {
        HubHttpException.Request what = new HubHttpException.Request(repo, options.revision(), null);
        StringBuilder ndjson = new StringBuilder();
        ObjectNode header = HubClient.JSON.createObjectNode();
        header.put("key", "header");
        ObjectNode value = header.putObject("value");
        value.put("summary", options.summary());
        value.put("description", options.description());
        if (options.parentCommit() != null) value.put("parentCommit", options.parentCommit());
        ndjson.append(header).append('\n');
        for (LocalFile f : adds) {
            ObjectNode line = HubClient.JSON.createObjectNode();
            if (f.lfs) {
                line.put("key", "lfsFile");
                line.putObject("value").put("path", f.path).put("algo", "sha256").put("oid", f.sha256).put("size", f.size);
            } else {
                line.put("key", "file");
                line.putObject("value").put("path", f.path).put("content", Base64.getEncoder().encodeToString(f.bytes(what)))
                        .put("encoding", "base64");
            }
            ndjson.append(line).append('\n');
        }
        for (CommitOperation d : deletes) {
            ObjectNode line = HubClient.JSON.createObjectNode();
            line.put("key", d instanceof CommitOperation.DeleteFolder ? "deletedFolder" : "deletedFile");
            line.putObject("value").put("path", d.pathInRepo());
            ndjson.append(line).append('\n');
        }
        HttpUrl url = withCreatePr(client.apiUrl("models/" + repo + "/commit/" + UrlQuote.quote(options.revision(), false)),
                options.createPr());
        Request req = client.request(url).post(RequestBody.create(ndjson.toString(), NDJSON_TYPE)).build();
        // Not retried on errors that may have reached the server (a duplicate commit or PR); a 429 was refused
        // before any work, so waiting and asking again is safe.
        for (int attempt = 0; ; attempt++) {
            try (Response r = client.send(commitHttp, req, false, what)) {
                if (r.code() == 429 && attempt < MAX_RETRIES) {
                    client.pause(HubClient.waitBefore(r, attempt), what);
                    continue;
                }
                if (!r.isSuccessful()) throw HubClient.error(r, what);
                JsonNode answer = HubClient.parseJson(r, what);
                String oid = answer.path("commitOid").asString(null);
                if (!HubCache.isHex(oid, 40)) {
                    throw new HubException("the commit answer has no 40-hex commitOid (found '" + oid + "')", repo,
                            options.revision(), null);
                }
                return new CommitInfo(oid, answer.path("commitUrl").asString(null),
                        answer.path("pullRequestUrl").asString(null), true);
            } catch (IOException e) {
                throw unreachable(e, what);
            }
        }
    }

    // ---- plumbing ----------------------------------------------------------------------------------------------

    private JsonNode postJson(HttpUrl url, ObjectNode body, boolean retry, HubHttpException.Request what) {
        Request req = client.request(url).post(RequestBody.create(body.toString(), JSON_TYPE))
                .header("Accept", "application/json").build();
        return execute(req, retry, what);
    }

    private JsonNode execute(Request req, boolean retry, HubHttpException.Request what) {
        try (Response r = client.send(client.http(), req, retry, what)) {
            if (!r.isSuccessful()) throw HubClient.error(r, what);
            String text = r.body().string();
            return text.isBlank() ? HubClient.JSON.createObjectNode() : HubClient.JSON.readTree(text);
        } catch (IOException e) {
            throw unreachable(e, what);
        }
    }

    private static HttpUrl withCreatePr(HttpUrl url, boolean createPr) {
        return createPr ? url.newBuilder().addQueryParameter("create_pr", "1").build() : url;
    }

    private HubException unreachable(IOException e, HubHttpException.Request what) {
        return new HubException("cannot reach " + client.config().endpoint() + ": " + e, what.repo(), what.revision(),
                what.path(), Where.NOWHERE, e);
    }

    private static String readText(LocalFile f, HubHttpException.Request what) {
        return new String(f.bytes(what), StandardCharsets.UTF_8);
    }

    /** A request body that reads a byte range of a file each time it is written, so a retry sends it again whole. */
    private static final class FileSlice extends RequestBody {
        private final Path file;
        private final long start;
        private final long length;

        FileSlice(Path file, long start, long length) {
            this.file = file;
            this.start = start;
            this.length = length;
        }

        @Override
        public MediaType contentType() {
            return OCTETS;
        }

        @Override
        public long contentLength() {
            return length;
        }

        @Override
        public void writeTo(BufferedSink sink) throws IOException {
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                ByteBuffer buf = ByteBuffer.allocate((int) Math.min(1 << 20, Math.max(1, length)));
                long pos = start;
                long end = start + length;
                while (pos < end) {
                    buf.clear().limit((int) Math.min(buf.capacity(), end - pos));
                    int n = ch.read(buf, pos);
                    if (n < 0) throw new IOException(file + " ended at byte " + pos + ", expected " + end);
                    buf.flip();
                    sink.write(buf);
                    pos += n;
                }
            }
        }
    }

    /** A file to add, and what the server and hashing found out about it. */
    private static final class LocalFile {
        final String path;
        final Path source;
        final long size;
        final byte[] sample;
        final String repo;
        final String revision;
        boolean lfs;
        boolean ignored;
        String remoteOid;
        String sha256;
        String gitSha1;

        private LocalFile(String path, Path source, long size, byte[] sample, String repo, String revision) {
            this.path = path;
            this.source = source;
            this.size = size;
            this.sample = sample;
            this.repo = repo;
            this.revision = revision;
        }

        static LocalFile of(CommitOperation.Add add, String repo, String revision) {
            try (InputStream in = Files.newInputStream(add.source())) {
                return new LocalFile(add.pathInRepo(), add.source(), Files.size(add.source()), in.readNBytes(SAMPLE_BYTES),
                        repo, revision);
            } catch (IOException e) {
                throw new HubException("cannot read the file to upload: " + e, repo, revision, add.pathInRepo(),
                        Where.file(add.source()), e);
            }
        }

        /** sha256 for LFS files (their oid); the git blob sha1 for regular ones only when the server has a file there. */
        void hash() {
            boolean needSha1 = !lfs && remoteOid != null;
            if (!lfs && !needSha1) return;
            try {
                MessageDigest sha = MessageDigest.getInstance(lfs ? "SHA-256" : "SHA-1");
                if (!lfs) sha.update(("blob " + size + "\0").getBytes(StandardCharsets.US_ASCII));
                try (InputStream in = Files.newInputStream(source)) {
                    byte[] buf = new byte[1 << 20];
                    long total = 0;
                    for (int n; (n = in.read(buf)) > 0; ) {
                        sha.update(buf, 0, n);
                        total += n;
                    }
                    if (total != size) {
                        throw new HubException("the file changed while it was being uploaded (" + size + " bytes, now "
                                + total + ")", repo, revision, path, Where.file(source), null);
                    }
                }
                String hex = HexFormat.of().formatHex(sha.digest());
                if (lfs) sha256 = hex;
                else gitSha1 = hex;
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("the JDK must provide SHA-256 and SHA-1", e);
            } catch (IOException e) {
                throw new HubException("cannot read the file to upload: " + e, repo, revision, path, Where.file(source), e);
            }
        }

        /** The branch already has exactly this content at this path (sha256 for LFS, git sha1 otherwise). */
        boolean unchanged() {
            if (remoteOid == null) return false;
            return remoteOid.equalsIgnoreCase(lfs ? sha256 : gitSha1);
        }

        byte[] bytes(HubHttpException.Request what) {
            try {
                return Files.readAllBytes(source);
            } catch (IOException e) {
                throw new HubException("cannot read the file to upload: " + e, repo, revision, path, Where.file(source), e);
            }
        }

        @Override
        public String toString() {
            return path;
        }
    }
}
