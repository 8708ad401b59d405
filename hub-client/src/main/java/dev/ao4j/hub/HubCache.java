package dev.ao4j.hub;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HexFormat;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;

/**
 * The huggingface_hub cache layout of model repos (hub-docs {@code local-cache.md}), byte-compatible with Python:
 * <pre>
 * {root}/models--{org}--{name}/blobs/{etag}
 *                             /refs/{revision}            40-hex commit, no newline
 *                             /snapshots/{commit}/{path}  relative symlink to ../../blobs/{etag}
 *                             /.no_exist/{commit}/{path}  empty marker: the file is absent at that commit
 * {root}/.locks/models--{org}--{name}/{etag}.lock
 * </pre>
 * Every path that comes from a server (file names, etags, revisions) is validated before it touches the disk.
 */
public final class HubCache {
    private static final Pattern REPO_PART = Pattern.compile("[A-Za-z0-9_.-]{1,96}");
    private static final Pattern ETAG = Pattern.compile("[0-9A-Za-z._-]+");
    private static final Pattern WINDOWS_DRIVE = Pattern.compile("^[A-Za-z]:.*");

    private final Path root;
    private final boolean symlinksDisabled;
    private volatile Boolean symlinks; // probed once, before any worker places a file

    public HubCache(Path root) {
        this(root, false);
    }

    /** With {@code symlinksDisabled} ({@code HF_HUB_DISABLE_SYMLINKS}) snapshots hold copies, never links. */
    public HubCache(Path root, boolean symlinksDisabled) {
        this.root = root.toAbsolutePath().normalize();
        this.symlinksDisabled = symlinksDisabled;
    }

    public Path root() {
        return root;
    }

    /** {@code models--org--name}: the repo id with every {@code /} replaced by {@code --}, casing kept. */
    public static String repoFolderName(String repo) {
        validateRepoId(repo);
        return "models--" + repo.replace("/", "--");
    }

    public Path repoFolder(String repo) {
        return root.resolve(repoFolderName(repo));
    }

    public Path blob(String repo, String etag) {
        validateEtag(etag);
        return repoFolder(repo).resolve("blobs").resolve(etag);
    }

    /** {@code refs/{revision}}; a revision with {@code /} (such as {@code refs/pr/1}) becomes nested folders. */
    public Path ref(String repo, String revision) {
        validateRelativePath(revision, "revision");
        return repoFolder(repo).resolve("refs").resolve(revision);
    }

    public Path pointer(String repo, String commit, String path) {
        return under(repoFolder(repo).resolve("snapshots"), commit, path);
    }

    public Path noExistMarker(String repo, String commit, String path) {
        return under(repoFolder(repo).resolve(".no_exist"), commit, path);
    }

    public Path lockFile(String repo, String etag) {
        validateEtag(etag);
        return root.resolve(".locks").resolve(repoFolderName(repo)).resolve(etag + ".lock");
    }

    /**
     * The commit a revision stands for in the cache: the revision itself when it is a full commit hash, else the
     * content of {@code refs/{revision}} read verbatim (as Python does: a trailing newline would not match).
     */
    public Optional<String> commitOf(String repo, String revision) {
        if (isHex(revision, 40)) return Optional.of(revision);
        Path ref = ref(repo, revision);
        if (!Files.isRegularFile(ref)) return Optional.empty();
        try {
            String commit = Files.readString(ref, StandardCharsets.UTF_8);
            return isHex(commit, 40) ? Optional.of(commit) : Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + ref, e);
        }
    }

    /** Resolution from the cache only, as huggingface_hub does offline: refs, then the snapshot entry. */
    public Optional<Path> resolve(String repo, String revision, String path) {
        validateRelativePath(path, "file name");
        return commitOf(repo, revision).map(commit -> pointer(repo, commit, path)).filter(Files::exists);
    }

    /** Writes {@code refs/{revision}} atomically, and only when its content changes (caches may be read-only). */
    void writeRef(String repo, String revision, String commit) throws IOException {
        if (revision.equals(commit)) return;
        Path ref = ref(repo, revision);
        if (Files.isRegularFile(ref) && Files.readString(ref, StandardCharsets.UTF_8).equals(commit)) return;
        Files.createDirectories(ref.getParent());
        Path tmp = ref.resolveSibling(ref.getFileName() + "." + randomHex8() + ".tmp");
        try {
            Files.writeString(tmp, commit, StandardCharsets.US_ASCII);
            Files.move(tmp, ref, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Points {@code pointer} at {@code blob} with a relative symlink, replacing whatever was there. */
    static void link(Path pointer, Path blob) throws IOException {
        Files.createDirectories(pointer.getParent());
        Path target = pointer.getParent().relativize(blob);
        if (Files.exists(pointer, LinkOption.NOFOLLOW_LINKS)) Files.delete(pointer);
        Files.createSymbolicLink(pointer, target);
    }

    /**
     * Makes {@code snapshots/.../path} resolve to {@code blob}: a relative symlink where the file system allows it;
     * otherwise, as Python does, a blob just downloaded is moved into the snapshot (it is not kept in
     * {@code blobs/}) and one that was already there is copied (other snapshots may share it).
     */
    void place(Path pointer, Path blob, boolean freshlyDownloaded) throws IOException {
        if (symlinksSupported()) {
            link(pointer, blob);
            return;
        }
        Files.createDirectories(pointer.getParent());
        Path tmp = pointer.resolveSibling(pointer.getFileName() + "." + randomHex8() + ".tmp");
        try {
            if (freshlyDownloaded) {
                Files.move(blob, tmp, StandardCopyOption.ATOMIC_MOVE);
            } else {
                Files.copy(blob, tmp);
            }
            Files.move(tmp, pointer, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * Whether relative symlinks can be made under this cache: false when disabled, else probed once by making one
     * in a throw-away folder under {@code .locks/} (the only root entry besides repo folders Python tolerates).
     */
    public boolean symlinksSupported() {
        Boolean known = symlinks;
        if (known != null) return known;
        synchronized (this) {
            if (symlinks == null) symlinks = !symlinksDisabled && probeSymlinks();
            return symlinks;
        }
    }

    private boolean probeSymlinks() {
        Path dir = root.resolve(".locks").resolve(".symlink-probe-" + randomHex8());
        try {
            Files.createDirectories(dir);
            Path target = Files.createFile(dir.resolve("target"));
            Files.createSymbolicLink(dir.resolve("link"), target.getFileName());
            return true;
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return false; // Windows without developer mode reports a FileSystemException, not an access error
        } finally {
            try {
                Files.deleteIfExists(dir.resolve("link"));
                Files.deleteIfExists(dir.resolve("target"));
                Files.deleteIfExists(dir);
            } catch (IOException ignored) {
                // a leftover probe folder under .locks is harmless
            }
        }
    }

    void markNoExist(String repo, String commit, String path) throws IOException {
        Path marker = noExistMarker(repo, commit, path);
        Files.createDirectories(marker.getParent());
        if (!Files.exists(marker, LinkOption.NOFOLLOW_LINKS)) Files.createFile(marker);
    }

    static String randomHex8() {
        return HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
    }

    static boolean isHex(String s, int length) {
        if (s == null || s.length() != length) return false;
        for (int i = 0; i < length; i++) {
            if (Character.digit(s.charAt(i), 16) < 0) return false;
        }
        return true;
    }

    /** huggingface_hub's repo id rule: {@code name} or {@code namespace/name}, no {@code --} or {@code ..}. */
    static void validateRepoId(String repo) {
        String[] parts = repo == null ? new String[0] : repo.split("/", -1);
        boolean ok = parts.length >= 1 && parts.length <= 2 && !repo.contains("--") && !repo.contains("..");
        for (String part : parts) {
            ok &= REPO_PART.matcher(part).matches() && !part.startsWith("-") && !part.startsWith(".")
                    && !part.endsWith("-") && !part.endsWith(".");
        }
        if (!ok) {
            throw new IllegalArgumentException("repo id must be 'name' or 'namespace/name' of letters, digits, '-', '_'"
                    + " and '.', without '--' or '..', but was '" + repo + "'");
        }
    }

    static void validateEtag(String etag) {
        if (etag == null || !ETAG.matcher(etag).matches() || etag.startsWith(".")) {
            throw new IllegalArgumentException("etag must match [0-9A-Za-z._-]+ but was '" + etag + "'");
        }
    }

    /**
     * Rejects what could escape the cache folder (Python's {@code _validate_relative_filename}): empty names,
     * absolute, root-relative, UNC or drive paths, and {@code ..} segments split on both {@code /} and {@code \}.
     */
    static void validateRelativePath(String path, String what) {
        boolean ok = path != null && !path.isEmpty() && !path.startsWith("/") && !path.startsWith("\\")
                && !WINDOWS_DRIVE.matcher(path).matches();
        if (ok) {
            for (String segment : path.split("[/\\\\]", -1)) {
                if (segment.isEmpty() || segment.equals("..") || segment.equals(".") || WINDOWS_DRIVE.matcher(segment).matches()) {
                    ok = false;
                }
            }
        }
        if (!ok) throw new IllegalArgumentException(what + " must be a relative path inside the repo but was '" + path + "'");
    }

    private static Path under(Path base, String commit, String path) {
        if (!isHex(commit, 40)) throw new IllegalArgumentException("commit must be 40 hex digits but was '" + commit + "'");
        validateRelativePath(path, "file name");
        Path dir = base.resolve(commit);
        Path result = dir.resolve(path).normalize();
        if (!result.startsWith(dir)) {
            throw new IllegalArgumentException("file name '" + path + "' leaves the snapshot folder");
        }
        return result;
    }
}
