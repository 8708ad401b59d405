package dev.ao4j.hub;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * Benchmark (not a test): upload and download throughput of the Hub client against the local {@link FakeHub}, with
 * 1 and N workers. Each figure includes what the client really does: sha256 of every file on upload (its LFS oid)
 * and on download (the verify against the etag), multipart parts of 16 MiB, and the server's own hashing.
 *
 * <pre>java -cp hub-client/target/classes:hub-client/target/test-classes:$(deps) dev.ao4j.hub.HubThroughputBench [files] [MiB per file] [N]</pre>
 */
public final class HubThroughputBench {
    private HubThroughputBench() {
    }

    public static void main(String[] args) throws Exception {
        int files = args.length > 0 ? Integer.parseInt(args[0]) : 8;
        int mib = args.length > 1 ? Integer.parseInt(args[1]) : 40;
        int n = args.length > 2 ? Integer.parseInt(args[2]) : 4;
        Path work = Files.createTempDirectory("hub-bench");
        try {
            Path pkg = Files.createDirectories(work.resolve("pkg"));
            SplittableRandom rnd = new SplittableRandom(42);
            for (int i = 0; i < files; i++) writeRandom(pkg.resolve("model-" + i + ".safetensors"), (long) mib << 20, rnd);
            long bytes = (long) files * mib << 20;
            System.out.printf(Locale.ROOT, "%d files x %d MiB = %.0f MB; cores %d; %s %s%n", files, mib, bytes / 1e6,
                    Runtime.getRuntime().availableProcessors(), System.getProperty("java.vm.name"), Runtime.version());
            for (int round = 0; round < 2; round++) { // round 0 warms the JIT and the page cache
                for (int workers : new int[] {1, n}) {
                    try (FakeHub hub = new FakeHub(work.resolve("server-" + round + "-" + workers))) {
                        hub.multipartThreshold = 32L << 20;
                        hub.chunkSize = 16L << 20;
                        HubConfig config = new HubConfig(hub.url(), FakeHub.TOKEN, work.resolve("hf"),
                                work.resolve("cache-" + round + "-" + workers), false, HubConfig.DEFAULT_TIMEOUT,
                                HubConfig.DEFAULT_TIMEOUT);
                        try (HubClient client = HubClient.builder().config(config).build()) {
                            HubUploader up = new HubUploader(client);
                            up.createRepo("bench/model", false, false);
                            long t0 = System.nanoTime();
                            up.uploadFolder(pkg, "bench/model", UploadOptions.of("bench").withWorkers(workers));
                            long t1 = System.nanoTime();
                            client.snapshotDownload("bench/model", "main", SnapshotOptions.defaults().withWorkers(workers));
                            long t2 = System.nanoTime();
                            if (round == 1) {
                                System.out.printf(Locale.ROOT, "workers %d: upload %.2f GB/s (%.2f s), download %.2f GB/s (%.2f s)%n",
                                        workers, bytes / 1e9 / ((t1 - t0) / 1e9), (t1 - t0) / 1e9,
                                        bytes / 1e9 / ((t2 - t1) / 1e9), (t2 - t1) / 1e9);
                            }
                        }
                    }
                    deleteTree(work.resolve("server-" + round + "-" + workers));
                    deleteTree(work.resolve("cache-" + round + "-" + workers));
                }
            }
        } finally {
            deleteTree(work);
        }
    }

    private static void writeRandom(Path file, long size, SplittableRandom rnd) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(1 << 20);
        try (OutputStream out = Files.newOutputStream(file)) {
            for (long done = 0; done < size; done += buf.capacity()) {
                buf.clear();
                while (buf.remaining() >= 8) buf.putLong(rnd.nextLong());
                out.write(buf.array(), 0, (int) Math.min(buf.capacity(), size - done));
            }
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) return;
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
