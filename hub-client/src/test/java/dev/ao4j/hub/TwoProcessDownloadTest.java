package dev.ao4j.hub;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two JVMs (real processes, started with ProcessBuilder) download the same LFS file into one cache at the same time:
 * the blob lock lets one fetch it, the other finds it done; the cache ends with one correct blob and no temp files.
 */
class TwoProcessDownloadTest {
    @TempDir
    Path tmp;

    @Test
    void twoProcessesEndWithOneCorrectBlob() throws Exception {
        try (FakeHub hub = new FakeHub(tmp.resolve("server"))) {
            Path cache = tmp.resolve("cache");
            byte[] weights = HubUploaderTest.random(2_000_000, 5);
            Path pkg = Files.createDirectories(tmp.resolve("pkg"));
            Files.write(pkg.resolve("model.safetensors"), weights);
            try (HubClient c = HubClient.builder().config(new HubConfig(hub.url(), FakeHub.TOKEN, tmp.resolve("hf"),
                    tmp.resolve("other"), false, HubConfig.DEFAULT_TIMEOUT, HubConfig.DEFAULT_TIMEOUT)).build()) {
                HubUploader up = new HubUploader(c);
                up.createRepo("org/m", false, false);
                up.uploadFolder(pkg, "org/m", UploadOptions.of("weights"));
            }
            hub.downloadPauseMillis = 10; // ~0.3 s per download: the two overlap

            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            List<Process> processes = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                processes.add(new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                        DownloadMain.class.getName(), hub.url(), cache.toString(), "org/m", "model.safetensors")
                        .redirectErrorStream(true).start());
            }
            List<String> outputs = new ArrayList<>();
            for (Process p : processes) {
                if (!p.waitFor(120, TimeUnit.SECONDS)) p.destroyForcibly();
                String out = new String(p.getInputStream().readAllBytes()).strip();
                assertEquals(0, p.exitValue(), out);
                outputs.add(out);
            }
            Path repoDir = cache.resolve("models--org--m");
            String sha = HubUploaderTest.sha256(weights);
            assertEquals(outputs.get(0), outputs.get(1));
            assertEquals(List.of(sha), FakeHub.names(repoDir.resolve("blobs")).stream().toList(), "one blob, no temp file");
            assertArrayEquals(weights, Files.readAllBytes(repoDir.resolve("blobs").resolve(sha)));
            assertArrayEquals(weights, Files.readAllBytes(Path.of(outputs.get(0))));
            assertEquals(1, hub.count("GET", "/fake-cdn/"), "the second process found the blob the first one wrote");
        }
    }
}
