package dev.ao4j.hub;

import dev.ao4j.quant.Where;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import okhttp3.HttpUrl;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import okhttp3.ResponseBody;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Downloads files from the Hugging Face Hub into huggingface_hub's cache, speaking the protocol the way the Python
 * client does (spec: {@code hub-protocol.md} §2.4–§2.7, §3): a metadata HEAD with manual redirects, a GET that never
 * carries {@code Authorization} to another host, retries with backoff, {@code Range} resume, and a hash check of
 * every downloaded blob against its etag before it enters the cache.
 *
 * <p>Build one per process with {@link #builder()} and share it: it owns OkHttp's connection pool. Thread-safe.
 */
public final class HubClient implements AutoCloseable {
    private static final int MAX_RETRIES = 5;
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(8);
    private static final int MAX_REDIRECTS = 10;
    private static final int MAX_RESUME_FAILURES = 5;
    private static final Duration RESUME_PAUSE = Duration.ofSeconds(1);
    private static final Duration SECOND_HEAD_TIMEOUT = Duration.ofSeconds(60);
    private static final Set<Integer> RETRY_STATUSES = Set.of(408, 429, 500, 502, 503, 504);
    private static final Pattern RATE_LIMIT = Pattern.compile("r=(\\d+);\\s*t=(\\d+)");
    private static final Pattern CONTENT_RANGE_START = Pattern.compile("bytes (\\d+)-");
    /** Our resumable temp name: never Python's legacy {@code {etag}.incomplete}, but still pruned by hf cache tools. */
    static final String RESUME_SUFFIX = ".ao4j-resume.incomplete";
    static final JsonMapper JSON = JsonMapper.builder().build();
    private static final Pattern LINK_NEXT = Pattern.compile("<([^>]+)>\\s*;[^,]*rel=\"?next\"?");

    private final HubConfig config;
    private final HubCache cache;
    private final OkHttpClient http;
    private final OkHttpClient headHttp;
    private final Sleeper sleeper;
    private final HttpUrl endpoint;
    private final String userAgent;
    private final ConcurrentHashMap<Path, ReentrantLock> blobLocks = new ConcurrentHashMap<>();

    private HubClient(Builder b) {
        this.config = b.config;
        this.cache = new HubCache(b.config.hubCache(), b.config.disableSymlinks());
        this.sleeper = b.sleeper;
        this.endpoint = HttpUrl.get(b.config.endpoint() + "/");
        // Redirects are ours to follow: only that way can Authorization be kept off other hosts.
        this.http = new OkHttpClient.Builder()
                .followRedirects(false)
                .followSslRedirects(false)
                .connectTimeout(b.config.downloadTimeout())
                .readTimeout(b.config.downloadTimeout()) // per read: "no byte for N seconds", not a deadline
                .writeTimeout(b.config.downloadTimeout())
                .build();
        this.headHttp = http.newBuilder().readTimeout(b.config.etagTimeout()).build();
        String version = Objects.requireNonNullElse(HubClient.class.getPackage().getImplementationVersion(), "dev");
        this.userAgent = "ao4j/" + version + "; hub-client/" + version + "; java/" + Runtime.version().feature();
    }

    public static Builder builder() {
        return new Builder();
    }

    public HubConfig config() {
        return config;
    }

    public HubCache cache() {
        return cache;
    }

    /**
     * The commit, etag, size and download URL of {@code path} at {@code revision}, from a HEAD on the resolve URL.
     * Relative redirects (renamed repos) are followed; an absolute one is where the bytes live and is not followed.
     * Retried with backoff on network errors, 408, 429 and 5xx.
     */
    public FileMetadata fileMetadata(String repo, String revision, String path) {
        check(repo, revision, path);
        if (config.offline()) {
            throw new HubException("offline mode is on (HF_HUB_OFFLINE): no request may be sent", repo, revision, path);
        }
        try {
            return metadata(repo, revision, path, headHttp, true);
        } catch (IOException e) {
            throw new HubException("cannot reach " + config.endpoint() + ": " + e, repo, revision, path, Where.NOWHERE, e);
        }
    }

    /**
     * Downloads {@code path} at {@code revision} into the cache (unless it is there) and returns its snapshot path,
     * {@code snapshots/{commit}/{path}}, a relative symlink to {@code blobs/{etag}}; {@code refs/{revision}} is set to
     * the commit. In offline mode, or when the Hub cannot be reached, the file is resolved from the cache alone.
     *
     * @throws EntryNotFoundException       the file does not exist at the revision (a {@code .no_exist} marker is left)
     * @throws ChecksumMismatchException    the bytes do not hash to the etag; nothing was placed in the cache
     * @throws LocalEntryNotFoundException  offline or unreachable, and not in the cache
     * @throws HubHttpException             any other error answer (repo not found, gated, 401/403, ...)
     */
    public Path download(String repo, String revision, String path) {
        return download(repo, revision, path, TransferListener.NONE);
    }

    /** {@link #download(String, String, String)} reporting the bytes as they come to {@code listener}. */
    public Path download(String repo, String revision, String path, TransferListener listener) {
        check(repo, revision, path);
        Objects.requireNonNull(listener, "listener");
        // A full commit hash that is cached needs no request at all.
        if (HubCache.isHex(revision, 40)) {
            Path pointer = cache.pointer(repo, revision, path);
            if (Files.exists(pointer)) return pointer;
        }
        if (config.offline()) {
            return cache.resolve(repo, revision, path).orElseThrow(() -> new LocalEntryNotFoundException(
                    "not in the cache " + cache.root() + " and offline mode is on (HF_HUB_OFFLINE)", repo, revision, path, null));
        }
        FileMetadata meta = metadataOrCache(repo, revision, path);
        if (meta == null) return cache.resolve(repo, revision, path).orElseThrow();
        try {
            Path blob = cache.blob(repo, meta.etag());
            Path pointer = cache.pointer(repo, meta.commit(), path);
            cache.writeRef(repo, revision, meta.commit());
            if (Files.exists(pointer)) return pointer;
            Files.createDirectories(blob.getParent());
            withBlobLock(repo, meta.etag(), () -> {
                if (Files.exists(pointer)) return; // another thread or process placed it while we waited
                boolean fresh = !Files.exists(blob);
                if (fresh) fetchBlob(repo, revision, path, meta, blob, listener);
                cache.place(pointer, blob, fresh);
            });
            listener.finished(path);
            return pointer;
        } catch (IOException e) {
            throw new HubException("cannot write to the cache " + cache.root() + ": " + e, repo, revision, path,
                    Where.NOWHERE, e);
        }
    }

    // ---- read side: info, tree, snapshot ---------------------------------------------------------------------

    /**
     * {@code GET /api/models/{repo}/revision/{rev}?blobs=true}: the commit the revision stands for, the files
     * (with sizes and LFS sha256) and the card data. Retried with backoff like every idempotent call.
     */
    public RepoInfo modelInfo(String repo, String revision) {
        HubCache.validateRepoId(repo);
        Objects.requireNonNull(revision, "revision");
        HubHttpException.Request what = new HubHttpException.Request(repo, revision, null);
        HttpUrl url = apiUrl("models/" + repo + "/revision/" + UrlQuote.quote(revision, false))
                .newBuilder().addQueryParameter("blobs", "true").build();
        JsonNode json = getJson(url, what).body();
        String sha = json.path("sha").asString(null);
        if (!HubCache.isHex(sha, 40)) {
            throw new HubException("the repo info has no 40-hex 'sha' (found '" + sha + "')", repo, revision, null);
        }
        List<RepoInfo.Sibling> siblings = new ArrayList<>();
        for (JsonNode s : json.path("siblings")) {
            JsonNode lfs = s.path("lfs");
            siblings.add(new RepoInfo.Sibling(s.path("rfilename").asString(), s.path("size").asLong(-1),
                    s.path("blobId").asString(null), lfs.isObject() ? lfs.path("sha256").asString(null) : null));
        }
        List<String> tags = new ArrayList<>();
        json.path("tags").forEach(t -> tags.add(t.asString()));
        JsonNode gated = json.path("gated");
        @SuppressWarnings("unchecked")
        Map<String, Object> card = json.path("cardData").isObject()
                ? JSON.convertValue(json.path("cardData"), LinkedHashMap.class) : Map.of();
        return new RepoInfo(json.path("id").asString(repo), sha, json.path("private").asBoolean(false),
                gated.isString() ? gated.asString() : null, json.path("disabled").asBoolean(false),
                json.path("lastModified").asString(null), json.path("library_name").asString(null),
                json.path("pipeline_tag").asString(null), tags, nullValuesDropped(card), siblings);
    }

    /**
     * {@code GET /api/models/{repo}/tree/{rev}[/{path}]?recursive=...}, every page: the server cuts long listings
     * and links the next page with an RFC 8288 {@code Link: <url>; rel="next"} header (spec §2.3).
     *
     * @param pathInRepo folder to list, or null for the root
     */
    public List<TreeEntry> listTree(String repo, String revision, String pathInRepo, boolean recursive) {
        HubCache.validateRepoId(repo);
        Objects.requireNonNull(revision, "revision");
        if (pathInRepo != null) HubCache.validateRelativePath(pathInRepo, "folder");
        HubHttpException.Request what = new HubHttpException.Request(repo, revision, pathInRepo);
        HttpUrl url = apiUrl("models/" + repo + "/tree/" + UrlQuote.quote(revision, false)
                + (pathInRepo == null ? "" : "/" + UrlQuote.quote(pathInRepo, false)))
                .newBuilder().addQueryParameter("recursive", String.valueOf(recursive))
                .addQueryParameter("expand", "false").build();
        List<TreeEntry> entries = new ArrayList<>();
        while (url != null) {
            JsonResponse page = getJson(url, what);
            if (!page.body().isArray()) throw new HubException("the tree listing is not a JSON array", repo, revision, pathInRepo);
            for (JsonNode e : page.body()) {
                JsonNode lfs = e.path("lfs");
                entries.add(new TreeEntry("directory".equals(e.path("type").asString()), e.path("path").asString(),
                        e.path("oid").asString(null), e.path("size").asLong(0),
                        lfs.isObject() ? lfs.path("oid").asString(null) : null, e.path("xetHash").asString(null)));
            }
            url = nextPage(url, page.link());
        }
        return entries;
    }

    /**
     * Downloads every file of {@code repo} at {@code revision} that {@code options.filter()} keeps, with
     * {@code options.workers()} files in flight, as Python's {@code snapshot_download} (spec §2.8): the revision is
     * pinned to one commit first, so all files come from the same commit; {@code refs/{revision}} records it.
     * Offline, or when the Hub cannot be reached, the cached snapshot of that revision is returned if there is one.
     *
     * @return {@code snapshots/{commit}} in the cache, or the local folder in {@code local_dir} mode
     */
    public Path snapshotDownload(String repo, String revision, SnapshotOptions options) {
        HubCache.validateRepoId(repo);
        Objects.requireNonNull(revision, "revision");
        Objects.requireNonNull(options, "options");
        String commit;
        if (config.offline()) {
            return cachedSnapshot(repo, revision, options, "offline mode is on (HF_HUB_OFFLINE)", null);
        } else if (HubCache.isHex(revision, 40)) {
            commit = revision;
        } else {
            try {
                commit = modelInfo(repo, revision).sha();
            } catch (RevisionNotFoundException | RepositoryNotFoundException | GatedRepoException e) {
                throw e;
            } catch (HubException e) {
                boolean transientFailure = e.getCause() instanceof IOException
                        || e instanceof HubHttpException h && RETRY_STATUSES.contains(h.status());
                if (!transientFailure) throw e;
                return cachedSnapshot(repo, revision, options, "the Hub cannot be reached: " + e.getMessage(), e);
            }
        }
        List<TreeEntry> files = listTree(repo, commit, null, true).stream()
                .filter(e -> !e.directory() && options.filter().test(e.path())).toList();
        try {
            if (options.localDir() == null) {
                Path snapshot = cache.repoFolder(repo).resolve("snapshots").resolve(commit);
                Files.createDirectories(snapshot); // an empty selection is still a snapshot folder, as in Python
                cache.writeRef(repo, revision, commit);
            } else {
                Files.createDirectories(options.localDir());
            }
        } catch (IOException e) {
            throw new HubException("cannot write to " + (options.localDir() == null ? cache.root() : options.localDir())
                    + ": " + e, repo, revision, null, Where.NOWHERE, e);
        }
        LocalDirDownloads local = options.localDir() == null ? null : new LocalDirDownloads(this, options.localDir());
        forEachInParallel(files, options.workers(), e -> {
            if (local == null) download(repo, commit, e.path(), options.listener());
            else local.download(repo, commit, e.path(), options.listener());
        });
        return options.localDir() == null
                ? cache.repoFolder(repo).resolve("snapshots").resolve(commit)
                : options.localDir().toAbsolutePath().normalize();
    }

    private Path cachedSnapshot(String repo, String revision, SnapshotOptions options, String why, Exception cause) {
        if (options.localDir() != null) {
            Path dir = options.localDir().toAbsolutePath().normalize();
            if (Files.isDirectory(dir)) return dir; // Python returns the folder as it is
            throw new LocalEntryNotFoundException("local folder " + dir + " does not exist and " + why, repo, revision, null, cause);
        }
        Optional<Path> snapshot = cache.commitOf(repo, revision)
                .map(c -> cache.repoFolder(repo).resolve("snapshots").resolve(c)).filter(Files::isDirectory);
        return snapshot.orElseThrow(() -> new LocalEntryNotFoundException("no snapshot in the cache " + cache.root()
                + " and " + why, repo, revision, null, cause));
    }

    /**
     * Runs {@code action} on each item with at most {@code workers} at once; the first failure cancels what has not
     * started and is rethrown (the others are attached as suppressed).
     */
    static <T> void forEachInParallel(List<T> items, int workers, java.util.function.Consumer<T> action) {
        if (items.isEmpty()) return;
        ExecutorService pool = Executors.newFixedThreadPool(Math.min(workers, items.size()), r -> {
            Thread t = new Thread(r, "hub-worker");
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (T item : items) futures.add(pool.submit(() -> action.accept(item)));
            RuntimeException failure = null;
            for (Future<?> f : futures) {
                try {
                    if (failure == null) f.get();
                    else f.cancel(false);
                } catch (ExecutionException e) {
                    RuntimeException cause = e.getCause() instanceof RuntimeException re ? re
                            : new IllegalStateException(e.getCause());
                    if (failure == null) failure = cause;
                    else failure.addSuppressed(cause);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while waiting for transfers", e);
                }
            }
            if (failure != null) throw failure;
        } finally {
            pool.shutdownNow();
        }
    }

    // ---- JSON API plumbing ------------------------------------------------------------------------------------

    /** A parsed JSON answer and its {@code Link} header (for pagination). */
    record JsonResponse(JsonNode body, String link) {
    }

    HttpUrl apiUrl(String pathAfterApi) {
        return HttpUrl.get(config.endpoint() + "/api/" + pathAfterApi);
    }

    HttpUrl endpoint() {
        return endpoint;
    }

    OkHttpClient http() {
        return http;
    }

    /** GET with retries; any status other than 2xx becomes the matching {@link HubHttpException}. */
    JsonResponse getJson(HttpUrl url, HubHttpException.Request what) {
        if (config.offline()) {
            throw new HubException("offline mode is on (HF_HUB_OFFLINE): no request may be sent", what.repo(),
                    what.revision(), what.path());
        }
        try (Response r = send(http, request(url).get().header("Accept", "application/json").build(), true, what)) {
            if (!r.isSuccessful()) throw error(r, what);
            return new JsonResponse(parseJson(r, what), r.header("Link"));
        } catch (IOException e) {
            throw new HubException("cannot reach " + config.endpoint() + ": " + e, what.repo(), what.revision(),
                    what.path(), Where.NOWHERE, e);
        }
    }

    static JsonNode parseJson(Response r, HubHttpException.Request what) throws IOException {
        String text = r.body().string();
        try {
            return JSON.readTree(text);
        } catch (JacksonException e) {
            throw new HubException("the answer to " + r.request().method() + " " + redact(r.request().url())
                    + " is not JSON: " + e.getOriginalMessage(), what.repo(), what.revision(), what.path());
        }
    }

    /** The {@code rel="next"} target of a {@code Link} header, resolved against the page's URL; null when none. */
    static HttpUrl nextPage(HttpUrl current, String link) {
        if (link == null) return null;
        Matcher m = LINK_NEXT.matcher(link);
        return m.find() ? current.resolve(m.group(1)) : null;
    }

    private static Map<String, Object> nullValuesDropped(Map<String, Object> map) {
        Map<String, Object> out = new LinkedHashMap<>();
        map.forEach((k, v) -> {
            if (v != null) out.put(k, v);
        });
        return out;
    }

    @Override
    public void close() {
        http.dispatcher().executorService().shutdown();
        http.connectionPool().evictAll();
    }

    // ---- metadata -------------------------------------------------------------------------------------------

    /**
     * Python's order (§2.7): one quick HEAD without retries; on failure, a cached copy wins; else, if the failure
     * may be transient, one more HEAD with backoff and a longer timeout. Returns null when the cache should answer.
     */
    private FileMetadata metadataOrCache(String repo, String revision, String path) {
        Exception first;
        try {
            return metadata(repo, revision, path, headHttp, false);
        } catch (EntryNotFoundException e) {
            if (e.commit() != null && HubCache.isHex(e.commit(), 40)) {
                try {
                    cache.markNoExist(repo, e.commit(), path);
                    cache.writeRef(repo, revision, e.commit());
                } catch (IOException io) {
                    e.addSuppressed(io);
                }
            }
            throw e;
        } catch (RevisionNotFoundException e) {
            throw e;
        } catch (IOException | HubException e) {
            first = e;
        }
        if (cache.resolve(repo, revision, path).isPresent()) return null;
        boolean transientFailure = first instanceof IOException
                || first instanceof HubHttpException h && RETRY_STATUSES.contains(h.status());
        if (!transientFailure) throw (HubException) first;
        try {
            Duration timeout = config.etagTimeout().compareTo(SECOND_HEAD_TIMEOUT) > 0 ? config.etagTimeout() : SECOND_HEAD_TIMEOUT;
            return metadata(repo, revision, path, http.newBuilder().readTimeout(timeout).build(), true);
        } catch (IOException e) {
            throw new LocalEntryNotFoundException("not in the cache " + cache.root() + " and the Hub at "
                    + config.endpoint() + " cannot be reached: " + e, repo, revision, path, e);
        }
    }

    private FileMetadata metadata(String repo, String revision, String path, OkHttpClient client, boolean retry)
            throws IOException {
        HubHttpException.Request what = new HubHttpException.Request(repo, revision, path);
        HttpUrl url = resolveUrl(repo, revision, path);
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            try (Response r = send(client, request(url).head().build(), retry, what)) {
                int code = r.code();
                if (code >= 300 && code < 400) {
                    String location = r.header("Location");
                    HttpUrl target = location == null ? null : url.resolve(location);
                    if (target == null) {
                        throw new HubException("redirect " + code + " without a usable Location ('" + location + "')",
                                repo, revision, path);
                    }
                    if (isRelative(location)) { // renamed repo or same-origin hop: ask again there
                        url = target;
                        continue;
                    }
                    return metadataFrom(r, target, false, what); // CDN / presigned URL: that is the download URL
                }
                if (code >= 200 && code < 300) return metadataFrom(r, url, true, what);
                throw error(r, what);
            }
        }
        throw new HubException("more than " + MAX_REDIRECTS + " relative redirects from " + resolveUrl(repo, revision, path),
                repo, revision, path);
    }

    private static FileMetadata metadataFrom(Response r, HttpUrl downloadUrl, boolean direct, HubHttpException.Request what) {
        String commit = r.header("X-Repo-Commit");
        String etag = normalizeEtag(Optional.ofNullable(r.header("X-Linked-Etag")).orElse(r.header("ETag")));
        // A redirect's Content-Length describes the redirect, not the file.
        String size = Optional.ofNullable(r.header("X-Linked-Size")).orElse(direct ? r.header("Content-Length") : null);
        if (commit == null || etag == null || size == null) {
            throw new HubException("the metadata answer lacks " + (commit == null ? "X-Repo-Commit " : "")
                    + (etag == null ? "X-Linked-Etag/ETag " : "") + (size == null ? "X-Linked-Size/Content-Length " : "")
                    + "(is " + r.request().url().host() + " a Hub, or a proxy in the way?)", what.repo(), what.revision(), what.path());
        }
        if (!HubCache.isHex(commit, 40)) {
            throw new HubException("X-Repo-Commit must be 40 hex digits but was '" + commit + "'", what.repo(), what.revision(), what.path());
        }
        try {
            HubCache.validateEtag(etag);
            return new FileMetadata(commit, etag, Long.parseLong(size.trim()), downloadUrl.toString());
        } catch (IllegalArgumentException e) { // NumberFormatException included
            throw new HubException("bad metadata: " + e.getMessage(), what.repo(), what.revision(), what.path());
        }
    }

    // ---- blob transfer --------------------------------------------------------------------------------------

    /**
     * Downloads into {@code blobs/{etag}.ao4j-resume.incomplete} (resuming what a previous run left), checks size
     * and hash, and renames it into place. A hash or size mismatch deletes the temp file; a transfer that keeps
     * failing leaves it for the next run to resume.
     */
    private void fetchBlob(String repo, String revision, String path, FileMetadata meta, Path blob,
                           TransferListener listener) throws IOException {
        Path tmp = blob.resolveSibling(meta.etag() + RESUME_SUFFIX);
        fetchVerified(meta, tmp, new HubHttpException.Request(repo, revision, path), listener);
        if (Files.exists(blob)) { // another writer (e.g. a Python process) finished first: keep its blob
            Files.delete(tmp);
        } else {
            Files.move(tmp, blob, StandardCopyOption.ATOMIC_MOVE);
        }
    }

    /** Downloads into {@code tmp} (resuming what is there), then checks its size and hash; a mismatch deletes it. */
    void fetchVerified(FileMetadata meta, Path tmp, HubHttpException.Request what, TransferListener listener)
            throws IOException {
        transfer(meta, tmp, what, listener);
        long written = Files.size(tmp);
        if (written != meta.size()) {
            Files.deleteIfExists(tmp);
            throw new HubException("consistency check failed: expected " + meta.size() + " bytes but got " + written,
                    what.repo(), what.revision(), what.path(), Where.file(tmp), null);
        }
        verify(meta, tmp, what);
    }

    private void transfer(FileMetadata meta, Path tmp, HubHttpException.Request what, TransferListener listener)
            throws IOException {
        try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            if (out.size() > meta.size()) out.truncate(0); // not a prefix of this file: start over
            listener.started(what.path(), meta.size());
            if (out.size() > 0) listener.progressed(what.path(), out.size());
            int failures = 0;
            while (out.size() < meta.size()) {
                long before = out.size();
                try {
                    long end = fetchFrom(meta, out, before, what, listener);
                    if (end < meta.size()) throw new EOFException("the body ended at byte " + end + " of " + meta.size());
                } catch (IOException e) {
                    // the counter restarts whenever bytes came in, so a slow but moving download never gives up
                    failures = out.size() > before ? 1 : failures + 1;
                    if (failures > MAX_RESUME_FAILURES) {
                        throw new HubException("download failed " + failures + " times in a row at byte " + out.size()
                                + " of " + meta.size() + " (kept for resume): " + e, what.repo(), what.revision(),
                                what.path(), Where.file(tmp), e);
                    }
                    pause(RESUME_PAUSE, what);
                }
            }
        }
    }

    /** One GET from byte {@code start} (with Range when > 0), following redirects; returns the file size reached. */
    private long fetchFrom(FileMetadata meta, FileChannel out, long start, HubHttpException.Request what,
                           TransferListener listener) throws IOException {
        HttpUrl url = HttpUrl.get(meta.downloadUrl());
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            Request.Builder get = request(url).get();
            if (start > 0) get.header("Range", "bytes=" + start + "-");
            try (Response r = send(http, get.build(), true, what)) {
                int code = r.code();
                if (code >= 300 && code < 400 && r.header("Location") != null) {
                    HttpUrl next = url.resolve(r.header("Location"));
                    if (next == null) throw new HubException("bad redirect Location " + r.header("Location"), what.repo(), what.revision(), what.path());
                    url = next;
                    continue;
                }
                if (code < 200 || code >= 300) throw error(r, what);
                long pos = start;
                if (start > 0 && code == 200) { // the server ignored Range: take the whole body from byte 0
                    out.truncate(0);
                    listener.progressed(what.path(), -start);
                    pos = 0;
                } else if (code == 206) {
                    Matcher m = CONTENT_RANGE_START.matcher(Objects.requireNonNullElse(r.header("Content-Range"), ""));
                    if (!m.lookingAt() || Long.parseLong(m.group(1)) != start) {
                        throw new HubException("asked for bytes from " + start + " but got Content-Range '"
                                + r.header("Content-Range") + "'", what.repo(), what.revision(), what.path());
                    }
                }
                out.position(pos);
                ResponseBody body = r.body();
                byte[] buf = new byte[1 << 20];
                try (InputStream in = body.byteStream()) {
                    for (int n; (n = in.read(buf)) > 0; ) {
                        if (pos + n > meta.size()) {
                            out.truncate(0); // not the announced file: nothing worth resuming
                            throw new HubException("the server sent more than the announced " + meta.size() + " bytes",
                                    what.repo(), what.revision(), what.path());
                        }
                        ByteBuffer bb = ByteBuffer.wrap(buf, 0, n);
                        while (bb.hasRemaining()) out.write(bb);
                        pos += n;
                        listener.progressed(what.path(), n);
                    }
                }
                return pos;
            }
        }
        throw new HubException("more than " + MAX_REDIRECTS + " redirects from " + meta.downloadUrl(), what.repo(), what.revision(), what.path());
    }

    /** 64-hex etags are the sha256 of the content, 40-hex ones the git blob sha1; other etags carry no hash. */
    private static void verify(FileMetadata meta, Path file, HubHttpException.Request what) throws IOException {
        String algorithm;
        MessageDigest digest;
        try {
            if (HubCache.isHex(meta.etag(), 64)) {
                algorithm = "sha256";
                digest = MessageDigest.getInstance("SHA-256");
            } else if (HubCache.isHex(meta.etag(), 40)) {
                algorithm = "git blob sha1";
                digest = MessageDigest.getInstance("SHA-1");
                digest.update(("blob " + Files.size(file) + "\0").getBytes(StandardCharsets.US_ASCII));
            } else {
                return;
            }
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK must provide SHA-256 and SHA-1", e);
        }
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 20];
            for (int n; (n = in.read(buf)) > 0; ) digest.update(buf, 0, n);
        }
        String found = HexFormat.of().formatHex(digest.digest());
        if (!found.equalsIgnoreCase(meta.etag())) {
            Files.deleteIfExists(file);
            throw new ChecksumMismatchException(what.repo(), what.revision(), what.path(), file, algorithm, meta.etag(), found);
        }
    }

    // ---- HTTP plumbing --------------------------------------------------------------------------------------

    /** Sends {@code req}; with {@code retry}, network errors, 408, 429 and 5xx are retried up to 5 times. */
    Response send(OkHttpClient client, Request req, boolean retry, HubHttpException.Request what) throws IOException {
        for (int attempt = 0; ; attempt++) {
            Response r;
            try {
                r = client.newCall(req).execute();
            } catch (IOException e) {
                if (!retry || attempt >= MAX_RETRIES) throw e;
                pause(backoff(attempt), what);
                continue;
            }
            if (!retry || attempt >= MAX_RETRIES || !RETRY_STATUSES.contains(r.code())) return r;
            Duration wait = waitBefore(r, attempt);
            r.close();
            pause(wait, what);
        }
    }

    /** 1, 2, 4, 8, 8 s; a 429 waits as long as the server asks (RateLimit reset, else Retry-After) plus 1 s. */
    static Duration waitBefore(Response r, int attempt) {
        if (r.code() == 429) {
            Matcher m = RATE_LIMIT.matcher(Objects.requireNonNullElse(r.header("RateLimit"), ""));
            if (m.find() && Long.parseLong(m.group(1)) == 0) return Duration.ofSeconds(Long.parseLong(m.group(2)) + 1);
            String retryAfter = r.header("Retry-After");
            if (retryAfter != null && retryAfter.trim().matches("\\d{1,9}")) {
                return Duration.ofSeconds(Long.parseLong(retryAfter.trim()) + 1); // the HTTP-date form is ignored, as in Python
            }
        }
        return backoff(attempt);
    }

    static Duration backoff(int attempt) {
        Duration d = Duration.ofSeconds(1L << Math.min(attempt, 4));
        return d.compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : d;
    }

    void pause(Duration d, HubHttpException.Request what) {
        try {
            sleeper.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HubException("interrupted while waiting to retry", what.repo(), what.revision(), what.path(), Where.NOWHERE, e);
        }
    }

    /** Common headers; Authorization only for the Hub's own origin (scheme, host and port), never a CDN's. */
    Request.Builder request(HttpUrl url) {
        Request.Builder b = new Request.Builder().url(url)
                .header("User-Agent", userAgent)
                .header("Accept-Encoding", "identity") // real sizes, and CDNs honour Range only without gzip
                .header("X-Amzn-Trace-Id", UUID.randomUUID().toString());
        if (config.token() != null && sameOrigin(url, endpoint)) b.header("Authorization", "Bearer " + config.token());
        return b;
    }

    /** Headers for presigned upload URLs: never Authorization, whatever the host (Python sends none there). */
    Request.Builder bareRequest(HttpUrl url) {
        return new Request.Builder().url(url).header("User-Agent", userAgent)
                .header("X-Amzn-Trace-Id", UUID.randomUUID().toString());
    }

    static boolean sameOrigin(HttpUrl a, HttpUrl b) {
        return a.scheme().equals(b.scheme()) && a.host().equalsIgnoreCase(b.host()) && a.port() == b.port();
    }

    private static boolean isRelative(String location) {
        return !location.startsWith("//") && !location.matches("^[A-Za-z][A-Za-z0-9+.-]*:.*");
    }

    HttpUrl resolveUrl(String repo, String revision, String path) {
        return HttpUrl.get(config.endpoint() + "/" + repo + "/resolve/" + UrlQuote.quote(revision, false) + "/"
                + UrlQuote.quote(path, true));
    }

    /** Maps an error answer to huggingface_hub's error kinds, in its order (§2.6). */
    static HubHttpException error(Response r, HubHttpException.Request what) {
        int status = r.code();
        String code = r.header("X-Error-Code");
        String header = r.header("X-Error-Message");
        String message = combine(header, bodyMessage(r));
        String requestId = Optional.ofNullable(r.header("X-Request-Id"))
                .or(() -> Optional.ofNullable(r.header("X-Amzn-Trace-Id")))
                .orElse(r.header("X-Amz-Cf-Id"));
        if ("RevisionNotFound".equals(code)) return new RevisionNotFoundException(what, status, message, requestId);
        if ("EntryNotFound".equals(code)) {
            return new EntryNotFoundException(what, status, message, requestId, r.header("X-Repo-Commit"));
        }
        if ("GatedRepo".equals(code)) return new GatedRepoException(what, status, message, requestId);
        if ("Access to this resource is disabled.".equals(header)) {
            return new DisabledRepoException(what, status, message, requestId);
        }
        boolean badToken = "Invalid credentials in Authorization header".equals(header);
        if ("RepoNotFound".equals(code) || status == 401 && !badToken) {
            return new RepositoryNotFoundException(what, status, message, requestId);
        }
        if (status == 401) return new UnauthorizedException(what, status, message, requestId);
        if (status == 403) return new ForbiddenException(what, status, message, requestId);
        if (status == 412) return new ConcurrentCommitException(what, status, message, requestId);
        String detail = status == 416 ? "range not satisfiable: asked " + r.request().header("Range")
                + ", server has " + r.header("Content-Range") : "request failed: " + r.request().method() + " " + redact(r.request().url());
        return new HubHttpException(detail, what, status, message, requestId);
    }

    /**
     * The error text of a body as Python collects it: {@code error} (string or list), {@code error_description},
     * {@code errors[].message} of a JSON body, else the raw text unless it is HTML; null when there is none.
     */
    private static String bodyMessage(Response r) {
        try {
            String text = r.peekBody(64 * 1024).string().strip();
            if (text.isEmpty()) return null;
            String type = Objects.requireNonNullElse(r.header("Content-Type"), "");
            if (type.contains("html") || text.startsWith("<")) return null;
            if (!text.startsWith("{")) return text.length() > 500 ? text.substring(0, 500) + "..." : text;
            JsonNode json = JSON.readTree(text);
            List<String> parts = new ArrayList<>();
            JsonNode error = json.path("error");
            if (error.isString()) parts.add(error.asString());
            if (error.isArray()) error.forEach(e -> parts.add(e.asString()));
            if (json.path("error_description").isString()) parts.add(json.path("error_description").asString());
            json.path("errors").forEach(e -> { if (e.path("message").isString()) parts.add(e.path("message").asString()); });
            return parts.isEmpty() ? null : String.join("; ", parts);
        } catch (IOException | JacksonException e) {
            return null; // no readable body: the status and headers still say what failed
        }
    }

    private static String combine(String header, String body) {
        if (header == null) return body;
        if (body == null || body.equals(header)) return header;
        return header + "; " + body;
    }

    /** Presigned CDN URLs carry credentials in the query; error messages show the path only. */
    private static String redact(HttpUrl url) {
        return url.newBuilder().query(null).build().toString();
    }

    private void withBlobLock(String repo, String etag, IoAction action) throws IOException {
        Path lockFile = cache.lockFile(repo, etag);
        Files.createDirectories(lockFile.getParent());
        // FileChannel locks belong to the JVM: threads of this process queue on a ReentrantLock first.
        ReentrantLock local = blobLocks.computeIfAbsent(lockFile, k -> new ReentrantLock());
        local.lock();
        try {
            boolean created = !Files.exists(lockFile);
            try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                FileLock lock = ch.lock(); // an fcntl lock: excludes other JVMs, not Python's flock (spec §3.3)
                try {
                    if (created) groupWritable(lockFile);
                    action.run();
                } finally {
                    lock.release();
                }
            }
        } finally {
            local.unlock();
        }
    }

    /** Python creates lock files 0664 so that a group can share one cache. */
    private static void groupWritable(Path lockFile) {
        try {
            Files.setPosixFilePermissions(lockFile, PosixFilePermissions.fromString("rw-rw-r--"));
        } catch (UnsupportedOperationException | IOException e) {
            // not POSIX, or not our file: the lock still works
        }
    }

    private static String normalizeEtag(String etag) {
        if (etag == null) return null;
        String e = etag.trim();
        if (e.startsWith("W/")) e = e.substring(2);
        if (e.length() >= 2 && e.startsWith("\"") && e.endsWith("\"")) e = e.substring(1, e.length() - 1);
        return e.isEmpty() ? null : e;
    }

    private static void check(String repo, String revision, String path) {
        HubCache.validateRepoId(repo);
        Objects.requireNonNull(revision, "revision");
        if (revision.isEmpty()) throw new IllegalArgumentException("revision must not be empty");
        HubCache.validateRelativePath(path, "file name");
    }

    @FunctionalInterface
    private interface IoAction {
        void run() throws IOException;
    }

    /** Builds a {@link HubClient}; the defaults are {@link HubConfig#fromEnvironment()} and real sleeping. */
    public static final class Builder {
        private HubConfig config;
        private Sleeper sleeper = Sleeper.SYSTEM;

        private Builder() {
        }

        public Builder config(HubConfig config) {
            this.config = Objects.requireNonNull(config, "config");
            return this;
        }

        /** Where retry and resume waits go; tests record them instead of sleeping. */
        public Builder sleeper(Sleeper sleeper) {
            this.sleeper = Objects.requireNonNull(sleeper, "sleeper");
            return this;
        }

        public HubClient build() {
            if (config == null) config = HubConfig.fromEnvironment();
            return new HubClient(this);
        }
    }
}
