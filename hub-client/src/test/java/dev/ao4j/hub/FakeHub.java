package dev.ao4j.hub;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * A small stateful Hugging Face Hub for tests and benchmarks, on the JDK's HTTP server: repo creation, info, paginated
 * tree, resolve (regular files served directly, LFS files redirected to an absolute "CDN" URL that honours Range),
 * preupload, LFS batch with basic and multipart transfers to presigned-style URLs, completion, verify, and NDJSON
 * commits with parentCommit (412) and pull requests. It checks what a real Hub checks (part ETags, sha256 of what
 * was uploaded, LFS objects present before a commit references them) and records every request.
 */
public final class FakeHub implements AutoCloseable {
    public static final String TOKEN = "hf_fake_token";
    static final Pattern DEFAULT_LFS = Pattern.compile(".*\\.(safetensors|bin|pt|pth|ckpt|gguf|h5|onnx|msgpack|npz|npy|zip|gz|tar)$");

    /** One request as the server saw it. */
    public record Seen(String method, String path, String authorization) {
    }

    private record Entry(byte[] inline, String sha256, long size, String gitSha1) {
        boolean lfs() {
            return inline == null;
        }

        /** What the resolve endpoint announces as etag: content sha256 for LFS, git sha1 of the content otherwise. */
        String etag() {
            return lfs() ? sha256 : gitSha1;
        }
    }

    private static final class Repo {
        final Map<String, String> refs = new ConcurrentHashMap<>();
        final Map<String, Map<String, Entry>> commits = new ConcurrentHashMap<>();
        boolean isPrivate;
        int prs;
    }

    private record Multipart(String oid, long size, long chunk, int parts, Map<Integer, String> etags) {
    }

    private final HttpServer server;
    private final ExecutorService pool;
    private final Path store;
    private final JsonMapper json = JsonMapper.builder().build();
    private final Map<String, Repo> repos = new ConcurrentHashMap<>();
    private final Map<String, Multipart> uploads = new ConcurrentHashMap<>();
    private final AtomicInteger ids = new AtomicInteger();
    private final AtomicInteger uploadIds = new AtomicInteger();
    public final List<Seen> seen = new CopyOnWriteArrayList<>();
    /** Failures to inject: "method path-prefix" → how many more times to answer with the status. */
    private final Map<String, int[]> faults = new ConcurrentHashMap<>();
    private final Map<String, Integer> faultStatus = new ConcurrentHashMap<>();

    public volatile long lfsThreshold = 10 * 1024 * 1024;
    public volatile long multipartThreshold = 64 * 1024;
    public volatile long chunkSize = 32 * 1024;
    public volatile int treePageSize = 3;
    /** Pause after each 64 KiB of a download (lets two downloads of the same file overlap in tests). */
    public volatile long downloadPauseMillis = 0;

    public FakeHub(Path store) throws IOException {
        this.store = store;
        Files.createDirectories(store);
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
        pool = Executors.newFixedThreadPool(32);
        server.setExecutor(pool);
        server.createContext("/", this::handle);
        server.start();
    }

    public String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
        pool.shutdownNow();
    }

    /** The next {@code times} requests whose "METHOD raw-path" starts with {@code prefix} get {@code status}. */
    public void failNext(String prefix, int status, int times) {
        failNextAfter(prefix, 0, status, times);
    }

    /** Lets {@code skip} matching requests through, then answers the next {@code times} with {@code status}. */
    public void failNextAfter(String prefix, int skip, int status, int times) {
        faults.put(prefix, new int[] {skip, times});
        faultStatus.put(prefix, status);
    }

    public String head(String repo, String branch) {
        return repos.get(repo).refs.get(branch);
    }

    /** Files of the branch head: path → content (read from the store for LFS). */
    public Map<String, byte[]> files(String repo, String branch) throws IOException {
        Map<String, byte[]> out = new TreeMap<>();
        for (var e : repos.get(repo).commits.get(head(repo, branch)).entrySet()) {
            out.put(e.getKey(), e.getValue().lfs() ? Files.readAllBytes(store.resolve(e.getValue().sha256)) : e.getValue().inline);
        }
        return out;
    }

    /**
     * Creates {@code repo} holding {@code files} in one commit with the given id on {@code main} (replacing the repo
     * if it exists), so that two runs (or this hub and another implementation) agree on the commit; files matching
     * the LFS patterns or larger than {@link #lfsThreshold} are stored as LFS objects.
     */
    public void seed(String repo, String commit, Map<String, byte[]> files) throws IOException {
        if (!commit.matches("[0-9a-f]{40}")) throw new IllegalArgumentException("commit must be 40 hex: " + commit);
        Map<String, Entry> entries = new TreeMap<>();
        for (var f : files.entrySet()) {
            byte[] bytes = f.getValue();
            if (DEFAULT_LFS.matcher(f.getKey()).matches() || bytes.length > lfsThreshold) {
                String oid = HexFormat.of().formatHex(digest("SHA-256", bytes));
                Path tmp = store.resolve(oid + ".tmp" + ids.incrementAndGet());
                Files.write(tmp, bytes);
                Files.move(tmp, store.resolve(oid), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                entries.put(f.getKey(), new Entry(null, oid, bytes.length, null));
            } else {
                entries.put(f.getKey(), regular(bytes));
            }
        }
        Repo r = new Repo();
        r.commits.put(commit, entries);
        r.refs.put("main", commit);
        repos.put(repo, r);
    }

    public boolean isLfs(String repo, String branch, String path) {
        return repos.get(repo).commits.get(head(repo, branch)).get(path).lfs();
    }

    public long count(String method, String pathPrefix) {
        return seen.stream().filter(s -> s.method.equals(method) && s.path.startsWith(pathPrefix)).count();
    }

    // ---- dispatch ----------------------------------------------------------------------------------------------

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String method = ex.getRequestMethod();
            String raw = ex.getRequestURI().getRawPath();
            seen.add(new Seen(method, raw, ex.getRequestHeaders().getFirst("Authorization")));
            for (var f : faults.entrySet()) {
                if ((method + " " + raw).startsWith(f.getKey())) {
                    boolean fire;
                    synchronized (f.getValue()) {
                        int[] left = f.getValue();
                        fire = left[0] == 0 && left[1] > 0;
                        if (left[0] > 0) left[0]--;
                        else if (fire) left[1]--;
                    }
                    if (fire) {
                        ex.getRequestBody().readAllBytes();
                        int status = faultStatus.get(f.getKey());
                        if (status == 429) ex.getResponseHeaders().add("Retry-After", "2");
                        sendJson(ex, status, json.createObjectNode().put("error", "injected " + status));
                        return;
                    }
                }
            }
            List<String> seg = segments(raw);
            if (seg.size() >= 2 && seg.get(0).equals("api")) {
                api(ex, method, seg);
            } else if (seg.size() >= 2 && seg.get(0).equals("fake-s3")) {
                s3(ex, method, seg);
            } else if (seg.size() == 2 && seg.get(0).equals("fake-cdn")) {
                serve(ex, Files.size(store.resolve(seg.get(1))), store.resolve(seg.get(1)), null, method.equals("HEAD"));
            } else if (seg.size() >= 5 && seg.get(2).equals("resolve")) {
                resolve(ex, method, seg);
            } else if (seg.size() >= 6 && seg.get(1).endsWith(".git") && seg.get(2).equals("info")) {
                lfs(ex, seg);
            } else {
                sendJson(ex, 404, json.createObjectNode().put("error", "no route " + raw));
            }
        } catch (RuntimeException e) {
            e.printStackTrace();
            throw e;
        }
    }

    private void api(HttpExchange ex, String method, List<String> seg) throws IOException {
        if (seg.get(1).equals("repos") && seg.get(2).equals("create")) {
            if (!authorized(ex)) return;
            JsonNode body = json.readTree(ex.getRequestBody());
            String repo = (body.path("organization").isNull() ? "me" : body.path("organization").asString()) + "/"
                    + body.path("name").asString();
            ObjectNode answer = json.createObjectNode().put("url", url() + "/" + repo).put("id", repo);
            if (repos.containsKey(repo)) {
                sendJson(ex, 409, answer.put("error", "You already created this model repo"));
                return;
            }
            Repo r = new Repo();
            r.isPrivate = body.path("private").asBoolean(false);
            byte[] attrs = "*.safetensors filter=lfs diff=lfs merge=lfs -text\n*.bin filter=lfs diff=lfs merge=lfs -text\n"
                    .getBytes(StandardCharsets.UTF_8);
            Map<String, Entry> files = new TreeMap<>();
            files.put(".gitattributes", regular(attrs));
            String commit = newCommitId();
            r.commits.put(commit, files);
            r.refs.put("main", commit);
            repos.put(repo, r);
            sendJson(ex, 200, answer);
            return;
        }
        // /api/models/{org}/{name}/{action}/{rev}[/...]
        String repoId = seg.get(2) + "/" + seg.get(3);
        Repo repo = repos.get(repoId);
        if (repo == null) {
            ex.getRequestBody().readAllBytes();
            ex.getResponseHeaders().add("X-Error-Code", "RepoNotFound");
            sendJson(ex, 404, json.createObjectNode().put("error", "Repository not found"));
            return;
        }
        String action = seg.get(4);
        String rev = seg.size() > 5 ? seg.get(5) : "main";
        String commit = repo.commits.containsKey(rev) ? rev : repo.refs.get(rev);
        if (commit == null) {
            ex.getRequestBody().readAllBytes();
            ex.getResponseHeaders().add("X-Error-Code", "RevisionNotFound");
            sendJson(ex, 404, json.createObjectNode().put("error", "Invalid rev id: " + rev));
            return;
        }
        switch (action) {
            case "revision" -> info(ex, repoId, repo, commit);
            case "tree" -> tree(ex, repo, commit, seg.size() > 6 ? String.join("/", seg.subList(6, seg.size())) : "");
            case "preupload" -> preupload(ex, repo, commit);
            case "commit" -> commit(ex, repoId, repo, rev, commit);
            default -> sendJson(ex, 404, json.createObjectNode().put("error", "no api " + action));
        }
    }

    private void info(HttpExchange ex, String repoId, Repo repo, String commit) throws IOException {
        ObjectNode o = json.createObjectNode().put("id", repoId).put("sha", commit).put("private", repo.isPrivate)
                .put("gated", false).put("disabled", false).put("lastModified", "2026-01-01T00:00:00.000Z");
        o.putArray("tags").add("ao4j");
        ArrayNode siblings = o.putArray("siblings");
        repo.commits.get(commit).forEach((path, e) -> {
            ObjectNode s = siblings.addObject().put("rfilename", path).put("size", e.size).put("blobId", blobId(e));
            if (e.lfs()) s.putObject("lfs").put("sha256", e.sha256).put("size", e.size).put("pointerSize", pointer(e).length);
        });
        sendJson(ex, 200, o);
    }

    private void tree(HttpExchange ex, Repo repo, String commit, String base) throws IOException {
        Map<String, String> q = query(ex);
        boolean recursive = "true".equals(q.get("recursive"));
        int cursor = Integer.parseInt(q.getOrDefault("cursor", "0"));
        Map<String, Entry> files = repo.commits.get(commit);
        String prefix = base.isEmpty() ? "" : base + "/";
        TreeSet<String> dirs = new TreeSet<>();
        List<ObjectNode> all = new ArrayList<>();
        for (var e : files.entrySet()) {
            if (!e.getKey().startsWith(prefix)) continue;
            String rest = e.getKey().substring(prefix.length());
            String[] parts = rest.split("/");
            for (int i = 1; i < parts.length; i++) {
                if (!recursive && i > 1) break;
                dirs.add(prefix + String.join("/", Arrays.asList(parts).subList(0, i)));
            }
            if (!recursive && parts.length > 1) continue;
            ObjectNode o = json.createObjectNode().put("type", "file").put("path", e.getKey())
                    .put("oid", blobId(e.getValue())).put("size", e.getValue().size);
            if (e.getValue().lfs()) {
                o.putObject("lfs").put("oid", e.getValue().sha256).put("size", e.getValue().size)
                        .put("pointerSize", pointer(e.getValue()).length);
            }
            all.add(o);
        }
        if (!base.isEmpty() && all.isEmpty() && dirs.isEmpty()) {
            ex.getResponseHeaders().add("X-Error-Code", "EntryNotFound");
            sendJson(ex, 404, json.createObjectNode().put("error", "not a folder: " + base));
            return;
        }
        for (String d : dirs) all.add(json.createObjectNode().put("type", "directory").put("path", d).put("oid", "0".repeat(40)).put("size", 0));
        ArrayNode page = json.createArrayNode();
        int end = Math.min(all.size(), cursor + treePageSize);
        for (int i = cursor; i < end; i++) page.add(all.get(i));
        if (end < all.size()) {
            String next = url() + ex.getRequestURI().getRawPath() + "?recursive=" + recursive + "&expand=false&cursor=" + end;
            ex.getResponseHeaders().add("Link", "<" + next + ">; rel=\"next\"");
        }
        sendJson(ex, 200, page);
    }

    private void preupload(HttpExchange ex, Repo repo, String commit) throws IOException {
        if (!authorized(ex)) return;
        JsonNode body = json.readTree(ex.getRequestBody());
        Map<String, Entry> files = repo.commits.get(commit);
        ObjectNode answer = json.createObjectNode();
        ArrayNode out = answer.putArray("files");
        for (JsonNode f : body.path("files")) {
            String path = f.path("path").asString();
            long size = f.path("size").asLong();
            Base64.getDecoder().decode(f.path("sample").asString()); // must be base64
            boolean lfs = DEFAULT_LFS.matcher(path).matches() || size > lfsThreshold;
            Entry existing = files.get(path);
            ObjectNode o = out.addObject().put("path", path).put("uploadMode", lfs ? "lfs" : "regular")
                    .put("shouldIgnore", path.endsWith(".ignored"));
            if (existing == null) o.putNull("oid");
            else o.put("oid", existing.etag());
        }
        sendJson(ex, 200, answer);
    }

    private void commit(HttpExchange ex, String repoId, Repo repo, String rev, String head) throws IOException {
        if (!authorized(ex)) return;
        String[] lines = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8).split("\n");
        JsonNode header = json.readTree(lines[0]);
        if (!header.path("key").asString().equals("header") || header.path("value").path("summary").asString("").isEmpty()) {
            sendJson(ex, 400, json.createObjectNode().put("error", "first line must be a header with a summary"));
            return;
        }
        boolean pr = "1".equals(query(ex).get("create_pr"));
        String parent = header.path("value").path("parentCommit").asString(null);
        synchronized (repo) {
            head = repo.commits.containsKey(rev) ? rev : repo.refs.get(rev);
            if (parent != null && !pr && !head.startsWith(parent)) {
                sendJson(ex, 412, json.createObjectNode().put("error", "A commit has happened since. Please refresh and try again."));
                return;
            }
            Map<String, Entry> files = new TreeMap<>(repo.commits.get(pr && parent != null ? parent : head));
            for (int i = 1; i < lines.length; i++) {
                if (lines[i].isBlank()) continue;
                JsonNode line = json.readTree(lines[i]);
                JsonNode v = line.path("value");
                String path = v.path("path").asString();
                switch (line.path("key").asString()) {
                    case "file" -> files.put(path, regular(Base64.getDecoder().decode(v.path("content").asString())));
                    case "lfsFile" -> {
                        String oid = v.path("oid").asString();
                        Path obj = store.resolve(oid);
                        if (!Files.exists(obj) || Files.size(obj) != v.path("size").asLong()) {
                            sendJson(ex, 422, json.createObjectNode().put("error", "LFS object " + oid + " was not uploaded"));
                            return;
                        }
                        files.put(path, new Entry(null, oid, Files.size(obj), null));
                    }
                    case "deletedFile" -> {
                        if (files.remove(path) == null) {
                            sendJson(ex, 404, json.createObjectNode().put("error", "A file with this name doesn't exist: " + path));
                            return;
                        }
                    }
                    case "deletedFolder" -> files.keySet().removeIf(p -> p.startsWith(path));
                    default -> {
                        sendJson(ex, 400, json.createObjectNode().put("error", "unknown key " + line.path("key")));
                        return;
                    }
                }
            }
            String commit = newCommitId();
            repo.commits.put(commit, files);
            String prUrl = null;
            if (pr) {
                int n = ++repo.prs;
                repo.refs.put("refs/pr/" + n, commit);
                prUrl = url() + "/" + repoId + "/discussions/" + n;
            } else {
                repo.refs.put(rev, commit);
            }
            ObjectNode answer = json.createObjectNode().put("commitOid", commit)
                    .put("commitUrl", url() + "/" + repoId + "/commit/" + commit);
            if (prUrl == null) answer.putNull("pullRequestUrl");
            else answer.put("pullRequestUrl", prUrl);
            sendJson(ex, 200, answer);
        }
    }

    // ---- LFS ---------------------------------------------------------------------------------------------------

    private void lfs(HttpExchange ex, List<String> seg) throws IOException {
        if (!authorized(ex)) return;
        String repoId = seg.get(0) + "/" + seg.get(1).substring(0, seg.get(1).length() - 4);
        JsonNode body = json.readTree(ex.getRequestBody());
        if (seg.get(seg.size() - 1).equals("verify")) {
            Path obj = store.resolve(body.path("oid").asString());
            boolean ok = Files.exists(obj) && Files.size(obj) == body.path("size").asLong();
            sendJson(ex, ok ? 200 : 404, json.createObjectNode().put("message", ok ? "ok" : "object not found"));
            return;
        }
        if (!repos.containsKey(repoId)) {
            sendJson(ex, 404, json.createObjectNode().put("message", "Repository not found"));
            return;
        }
        boolean multipartOffered = false;
        for (JsonNode t : body.path("transfers")) multipartOffered |= t.asString().equals("multipart");
        ObjectNode answer = json.createObjectNode().put("transfer", "basic");
        ArrayNode objects = answer.putArray("objects");
        for (JsonNode o : body.path("objects")) {
            String oid = o.path("oid").asString();
            long size = o.path("size").asLong();
            ObjectNode out = objects.addObject().put("oid", oid).put("size", size);
            if (!oid.matches("[0-9a-f]{64}")) {
                out.putObject("error").put("code", 422).put("message", "invalid oid");
                continue;
            }
            if (Files.exists(store.resolve(oid))) continue; // already stored: no actions
            out.put("authenticated", true);
            ObjectNode actions = out.putObject("actions");
            ObjectNode upload = actions.putObject("upload");
            if (multipartOffered && size > multipartThreshold) {
                String id = "u" + uploadIds.incrementAndGet();
                int parts = (int) ((size + chunkSize - 1) / chunkSize);
                uploads.put(id, new Multipart(oid, size, chunkSize, parts, new ConcurrentHashMap<>()));
                upload.put("href", url() + "/fake-s3/complete/" + id);
                ObjectNode header = upload.putObject("header").put("chunk_size", String.valueOf(chunkSize));
                for (int n = 1; n <= parts; n++) header.put(String.format("%05d", n), url() + "/fake-s3/part/" + id + "/" + n);
                header.put("upload_id", id);
            } else {
                upload.put("href", url() + "/fake-s3/put/" + oid);
            }
            actions.putObject("verify").put("href", url() + "/" + repoId + ".git/info/lfs/objects/verify");
        }
        sendJson(ex, 200, answer);
    }

    private void s3(HttpExchange ex, String method, List<String> seg) throws IOException {
        if (ex.getRequestHeaders().getFirst("Authorization") != null) {
            sendJson(ex, 400, json.createObjectNode().put("error", "presigned URLs take no Authorization header"));
            return;
        }
        switch (seg.get(1)) {
            case "put" -> {
                String oid = seg.get(2);
                Path tmp = store.resolve(oid + ".tmp" + ids.incrementAndGet());
                try (InputStream in = ex.getRequestBody()) {
                    Files.copy(in, tmp);
                }
                if (!sha256(tmp).equals(oid)) {
                    Files.delete(tmp);
                    sendJson(ex, 400, json.createObjectNode().put("error", "sha256 mismatch"));
                    return;
                }
                Files.move(tmp, store.resolve(oid), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                ex.getResponseHeaders().add("ETag", "\"" + oid.substring(0, 32) + "\"");
                ex.sendResponseHeaders(200, -1);
            }
            case "part" -> {
                Multipart m = uploads.get(seg.get(2));
                int n = Integer.parseInt(seg.get(3));
                byte[] bytes = ex.getRequestBody().readAllBytes();
                long expected = Math.min(m.chunk, m.size - (n - 1) * m.chunk);
                if (bytes.length != expected) {
                    sendJson(ex, 400, json.createObjectNode().put("error", "part " + n + " has " + bytes.length + " bytes, expected " + expected));
                    return;
                }
                Files.write(store.resolve(seg.get(2) + ".part" + n), bytes);
                String etag = "\"" + HexFormat.of().formatHex(digest("MD5", bytes)) + "-" + n + "\"";
                m.etags.put(n, etag);
                ex.getResponseHeaders().add("ETag", etag);
                ex.sendResponseHeaders(200, -1);
            }
            case "complete" -> {
                Multipart m = uploads.get(seg.get(2));
                JsonNode body = json.readTree(ex.getRequestBody());
                JsonNode parts = body.path("parts");
                if (!body.path("oid").asString().equals(m.oid) || parts.size() != m.parts) {
                    sendJson(ex, 400, json.createObjectNode().put("error", "completion lists " + parts.size() + " parts of " + m.parts));
                    return;
                }
                Path tmp = store.resolve(m.oid + ".tmp" + ids.incrementAndGet());
                try (OutputStream out = Files.newOutputStream(tmp)) {
                    for (int i = 0; i < m.parts; i++) {
                        JsonNode p = parts.get(i);
                        if (p.path("partNumber").asInt() != i + 1 || !p.path("etag").asString().equals(m.etags.get(i + 1))) {
                            sendJson(ex, 400, json.createObjectNode().put("error", "part " + (i + 1) + " etag mismatch: "
                                    + p.path("etag").asString() + " vs " + m.etags.get(i + 1)));
                            return;
                        }
                        Files.copy(store.resolve(seg.get(2) + ".part" + (i + 1)), out);
                    }
                }
                if (!sha256(tmp).equals(m.oid)) {
                    sendJson(ex, 400, json.createObjectNode().put("error", "sha256 of the assembled object differs"));
                    return;
                }
                Files.move(tmp, store.resolve(m.oid), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                sendJson(ex, 200, json.createObjectNode().put("message", "ok"));
            }
            default -> sendJson(ex, 404, json.createObjectNode().put("error", "no s3 route"));
        }
    }

    // ---- resolve -----------------------------------------------------------------------------------------------

    private void resolve(HttpExchange ex, String method, List<String> seg) throws IOException {
        String repoId = seg.get(0) + "/" + seg.get(1);
        Repo repo = repos.get(repoId);
        if (repo == null) {
            ex.getResponseHeaders().add("X-Error-Code", "RepoNotFound");
            sendEmpty(ex, 404, method);
            return;
        }
        String rev = seg.get(3);
        String commit = repo.commits.containsKey(rev) ? rev : repo.refs.get(rev);
        if (commit == null) {
            ex.getResponseHeaders().add("X-Error-Code", "RevisionNotFound");
            sendEmpty(ex, 404, method);
            return;
        }
        String path = String.join("/", seg.subList(4, seg.size()));
        Entry e = repo.commits.get(commit).get(path);
        ex.getResponseHeaders().add("X-Repo-Commit", commit);
        if (e == null) {
            ex.getResponseHeaders().add("X-Error-Code", "EntryNotFound");
            sendEmpty(ex, 404, method);
            return;
        }
        if (e.lfs()) {
            ex.getResponseHeaders().add("X-Linked-Etag", "\"" + e.sha256 + "\"");
            ex.getResponseHeaders().add("X-Linked-Size", String.valueOf(e.size));
            ex.getResponseHeaders().add("ETag", "\"" + blobId(e) + "\"");
            ex.getResponseHeaders().add("Location", url() + "/fake-cdn/" + e.sha256);
            sendEmpty(ex, 302, method);
            return;
        }
        ex.getResponseHeaders().add("ETag", "\"" + e.gitSha1 + "\"");
        serve(ex, e.size, null, e.inline, method.equals("HEAD"));
    }

    /** Serves bytes (from a file or an array) with Range support. */
    private void serve(HttpExchange ex, long size, Path file, byte[] inline, boolean headOnly) throws IOException {
        long start = 0;
        String range = ex.getRequestHeaders().getFirst("Range");
        int status = 200;
        if (range != null && range.startsWith("bytes=") && range.endsWith("-")) {
            start = Long.parseLong(range.substring(6, range.length() - 1));
            status = 206;
            ex.getResponseHeaders().add("Content-Range", "bytes " + start + "-" + (size - 1) + "/" + size);
        }
        long length = size - start;
        if (headOnly) {
            ex.getResponseHeaders().add("Content-Length", String.valueOf(length));
            ex.sendResponseHeaders(status, -1);
            return;
        }
        ex.sendResponseHeaders(status, length == 0 ? -1 : length);
        if (length == 0) return;
        try (OutputStream out = ex.getResponseBody();
             InputStream in = inline != null ? new java.io.ByteArrayInputStream(inline) : Files.newInputStream(file, StandardOpenOption.READ)) {
            in.skipNBytes(start);
            byte[] buf = new byte[64 * 1024];
            for (int n; (n = in.read(buf)) > 0; ) {
                out.write(buf, 0, n);
                if (downloadPauseMillis > 0) {
                    out.flush();
                    try {
                        Thread.sleep(downloadPauseMillis);
                    } catch (InterruptedException ie) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
            }
        }
    }

    // ---- helpers -----------------------------------------------------------------------------------------------

    private boolean authorized(HttpExchange ex) throws IOException {
        if (("Bearer " + TOKEN).equals(ex.getRequestHeaders().getFirst("Authorization"))) return true;
        ex.getRequestBody().readAllBytes();
        ex.getResponseHeaders().add("X-Error-Message", "Invalid credentials in Authorization header");
        sendJson(ex, 401, json.createObjectNode().put("error", "Invalid credentials in Authorization header"));
        return false;
    }

    private Entry regular(byte[] content) {
        return new Entry(content, HexFormat.of().formatHex(digest("SHA-256", content)), content.length, gitSha1(content));
    }

    private byte[] pointer(Entry e) {
        return ("version https://git-lfs.github.com/spec/v1\noid sha256:" + e.sha256 + "\nsize " + e.size + "\n")
                .getBytes(StandardCharsets.US_ASCII);
    }

    /** The git blob id: of the content for regular files, of the pointer file for LFS ones. */
    private String blobId(Entry e) {
        return e.lfs() ? gitSha1(pointer(e)) : e.gitSha1;
    }

    static String gitSha1(byte[] content) {
        byte[] header = ("blob " + content.length + "\0").getBytes(StandardCharsets.US_ASCII);
        byte[] all = new byte[header.length + content.length];
        System.arraycopy(header, 0, all, 0, header.length);
        System.arraycopy(content, 0, all, header.length, content.length);
        return HexFormat.of().formatHex(digest("SHA-1", all));
    }

    static String sha256(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 20];
            for (int n; (n = in.read(buf)) > 0; ) d.update(buf, 0, n);
            return HexFormat.of().formatHex(d.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] digest(String algo, byte[] bytes) {
        try {
            return MessageDigest.getInstance(algo).digest(bytes);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private String newCommitId() {
        return HexFormat.of().formatHex(digest("SHA-1", ("commit " + ids.incrementAndGet() + System.nanoTime())
                .getBytes(StandardCharsets.US_ASCII)));
    }

    private static List<String> segments(String rawPath) {
        List<String> out = new ArrayList<>();
        for (String s : rawPath.split("/")) {
            if (!s.isEmpty()) out.add(URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8));
        }
        return out;
    }

    private static Map<String, String> query(HttpExchange ex) {
        Map<String, String> q = new LinkedHashMap<>();
        String raw = ex.getRequestURI().getRawQuery();
        if (raw == null) return q;
        for (String kv : raw.split("&")) {
            int i = kv.indexOf('=');
            q.put(i < 0 ? kv : kv.substring(0, i), i < 0 ? "" : URLDecoder.decode(kv.substring(i + 1), StandardCharsets.UTF_8));
        }
        return q;
    }

    private void sendJson(HttpExchange ex, int status, JsonNode body) throws IOException {
        byte[] bytes = json.writeValueAsBytes(body);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    private static void sendEmpty(HttpExchange ex, int status, String method) throws IOException {
        ex.sendResponseHeaders(status, -1);
    }

    static Set<String> names(Path dir) throws IOException {
        try (var s = Files.list(dir)) {
            return new TreeSet<>(s.map(p -> p.getFileName().toString()).toList());
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }
}
