package dev.ao4j.hub;

import dev.ao4j.quant.Where;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * huggingface_hub's {@code local_dir} mode (spec §3.8): repo files materialised as plain files at their repo paths
 * in a user folder, with what is known about each in {@code .cache/huggingface/download/<path>.metadata} (three
 * lines: commit, etag, Unix time as a decimal), trusted only while the file's mtime is at most that time + 1 s.
 */
final class LocalDirDownloads {
    private final HubClient client;
    private final Path dir;
    private final Path downloadDir;
    private final ConcurrentHashMap<Path, ReentrantLock> locks = new ConcurrentHashMap<>();

    LocalDirDownloads(HubClient client, Path dir) {
        this.client = client;
        this.dir = dir.toAbsolutePath().normalize();
        this.downloadDir = this.dir.resolve(".cache").resolve("huggingface").resolve("download");
    }

    /** What a metadata file says. */
    record Metadata(String commit, String etag, double timestamp) {
    }

    Path download(String repo, String commit, String path, TransferListener listener) {
        HubCache.validateRelativePath(path, "file name");
        Path file = under(dir, path);
        Path metadataFile = under(downloadDir, path + ".metadata");
        try {
            prepareHuggingfaceDir();
            Files.createDirectories(metadataFile.getParent());
            Files.createDirectories(file.getParent());
            return withLock(metadataFile.resolveSibling(path.substring(path.lastIndexOf('/') + 1) + ".lock"), () -> {
                Optional<Metadata> known = read(metadataFile, file);
                if (known.isPresent() && known.get().commit().equals(commit)) {
                    listener.finished(path);
                    return file; // a commit never changes: nothing to ask
                }
                FileMetadata remote = client.fileMetadata(repo, commit, path);
                if (known.isPresent() && known.get().etag().equals(remote.etag()) && Files.isRegularFile(file)) {
                    write(metadataFile, remote.commit(), remote.etag());
                    listener.finished(path);
                    return file;
                }
                if (known.isEmpty() && remote.isLfs() && Files.isRegularFile(file)
                        && Files.size(file) == remote.size() && sha256(file).equals(remote.etag())) {
                    write(metadataFile, remote.commit(), remote.etag()); // the right bytes are already there
                    listener.finished(path);
                    return file;
                }
                Path tmp = downloadDir.resolve(shortHash(path + ".metadata") + "." + remote.etag() + "."
                        + HubCache.randomHex8() + ".incomplete");
                try {
                    Path cached = client.cache().pointer(repo, remote.commit(), path);
                    if (Files.exists(cached)) {
                        Files.copy(cached, tmp, StandardCopyOption.REPLACE_EXISTING); // already in the shared cache
                    } else {
                        client.fetchVerified(remote, tmp, new HubHttpException.Request(repo, commit, path), listener);
                    }
                    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } finally {
                    Files.deleteIfExists(tmp);
                }
                write(metadataFile, remote.commit(), remote.etag());
                listener.finished(path);
                return file;
            });
        } catch (IOException e) {
            throw new HubException("cannot write into the local folder " + dir + ": " + e, repo, commit, path,
                    Where.file(file), e);
        }
    }

    /** The metadata if it parses and the file was not modified after it was written; a corrupt one is deleted. */
    static Optional<Metadata> read(Path metadataFile, Path file) throws IOException {
        if (!Files.isRegularFile(metadataFile)) return Optional.empty();
        Metadata m;
        try {
            List<String> lines = Files.readAllLines(metadataFile, StandardCharsets.UTF_8);
            m = new Metadata(lines.get(0).strip(), lines.get(1).strip(), Double.parseDouble(lines.get(2).strip()));
        } catch (IndexOutOfBoundsException | NumberFormatException e) {
            Files.deleteIfExists(metadataFile); // Python drops corrupt metadata and carries on
            return Optional.empty();
        }
        if (!Files.isRegularFile(file)) return Optional.empty();
        double mtime = Files.getLastModifiedTime(file).toMillis() / 1000.0;
        return mtime - 1 <= m.timestamp() ? Optional.of(m) : Optional.empty();
    }

    static void write(Path metadataFile, String commit, String etag) throws IOException {
        Path tmp = metadataFile.resolveSibling(metadataFile.getFileName() + "." + HubCache.randomHex8() + ".tmp");
        try {
            Files.writeString(tmp, commit + "\n" + etag + "\n" + pythonTime(Instant.now()) + "\n", StandardCharsets.UTF_8);
            Files.move(tmp, metadataFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** {@code str(time.time())}: seconds with a fractional part, never in exponent form. */
    static String pythonTime(Instant t) {
        return t.getEpochSecond() + "." + String.format("%06d", t.getNano() / 1000);
    }

    /** URL-safe base64 of the sha1 of a name: Python's short, flat name for temp files of nested paths. */
    static String shortHash(String name) {
        try {
            return Base64.getUrlEncoder().encodeToString(
                    MessageDigest.getInstance("SHA-1").digest(name.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK must provide SHA-1", e);
        }
    }

    private void prepareHuggingfaceDir() throws IOException {
        Path hf = downloadDir.getParent();
        Files.createDirectories(downloadDir);
        Path gitignore = hf.resolve(".gitignore");
        if (!Files.exists(gitignore)) {
            try {
                Files.writeString(gitignore, "*", StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            } catch (java.nio.file.FileAlreadyExistsException e) {
                // another worker wrote it first: same content
            }
        }
    }

    private static String sha256(Path file) throws IOException {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            try (InputStream in = Files.newInputStream(file)) {
                byte[] buf = new byte[1 << 20];
                for (int n; (n = in.read(buf)) > 0; ) d.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(d.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK must provide SHA-256", e);
        }
    }

    private static Path under(Path base, String path) {
        Path p = base.resolve(path).normalize();
        if (!p.startsWith(base)) throw new IllegalArgumentException("file name '" + path + "' leaves " + base);
        return p;
    }

    private <T> T withLock(Path lockFile, IoCall<T> call) throws IOException {
        ReentrantLock local = locks.computeIfAbsent(lockFile, k -> new ReentrantLock());
        local.lock();
        try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock ignored = ch.lock()) {
            return call.run();
        } finally {
            local.unlock();
        }
    }

    @FunctionalInterface
    private interface IoCall<T> {
        T run() throws IOException;
    }
}
