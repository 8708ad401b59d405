package dev.ao4j.hub;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * First half of the Python cache interop check ({@code tools/hub-interop/}): serves {@link PythonInteropRepo} from
 * a FakeHub, downloads it with our {@link HubClient} into {@code OUT/cacheA} (snapshot of {@code main}, then the
 * missing file), and writes the repo files to {@code OUT/repo/} and their manifest (commit, path, size, LFS or not,
 * sha256, git blob sha1, etag, tree oid) to {@code OUT/manifest.json}, which the Python side serves again.
 *
 * <p>Arguments: the tiny model folder ({@code models/ao4j-tiny-llama}) and {@code OUT}.
 */
public final class PythonCacheInteropMain {
    private PythonCacheInteropMain() {
    }

    public static void main(String[] args) throws Exception {
        Path modelDir = Path.of(args[0]);
        Path out = Path.of(args[1]).toAbsolutePath();
        Map<String, byte[]> files = PythonInteropRepo.files(modelDir);
        Path cacheA = out.resolve("cacheA");
        try (FakeHub hub = PythonInteropRepo.serve(Files.createTempDirectory("fakehub-store"), files)) {
            HubConfig config = new HubConfig(hub.url(), FakeHub.TOKEN, out.resolve("hf-home"), cacheA, false,
                    Duration.ofSeconds(30), Duration.ofSeconds(30));
            try (HubClient client = HubClient.builder().config(config).build()) {
                client.snapshotDownload(PythonInteropRepo.REPO, "main", SnapshotOptions.defaults());
                try {
                    client.download(PythonInteropRepo.REPO, "main", PythonInteropRepo.MISSING);
                    throw new IllegalStateException(PythonInteropRepo.MISSING + " was found on the hub");
                } catch (EntryNotFoundException expected) {
                    // leaves .no_exist/{commit}/missing.json, as Python does
                }
            }
            ObjectNode manifest = HubClient.JSON.createObjectNode().put("repo", PythonInteropRepo.REPO)
                    .put("revision", "main").put("commit", PythonInteropRepo.COMMIT)
                    .put("lfsThreshold", PythonInteropRepo.LFS_THRESHOLD).put("missing", PythonInteropRepo.MISSING);
            ArrayNode list = manifest.putArray("files");
            for (var f : files.entrySet()) {
                byte[] bytes = f.getValue();
                boolean lfs = hub.isLfs(PythonInteropRepo.REPO, "main", f.getKey());
                String sha256 = HexFormat.of().formatHex(FakeHub.digest("SHA-256", bytes));
                String gitSha1 = FakeHub.gitSha1(bytes);
                String pointer = "version https://git-lfs.github.com/spec/v1\noid sha256:" + sha256 + "\nsize " + bytes.length + "\n";
                list.addObject().put("path", f.getKey()).put("size", bytes.length).put("lfs", lfs)
                        .put("sha256", sha256).put("gitSha1", gitSha1)
                        .put("etag", lfs ? sha256 : gitSha1)
                        .put("treeOid", lfs ? FakeHub.gitSha1(pointer.getBytes(java.nio.charset.StandardCharsets.US_ASCII)) : gitSha1)
                        .put("pointerSize", lfs ? pointer.length() : 0);
                Path target = out.resolve("repo").resolve(f.getKey());
                Files.createDirectories(target.getParent());
                Files.write(target, bytes);
            }
            Files.writeString(out.resolve("manifest.json"),
                    HubClient.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(manifest));
        }
    }
}
