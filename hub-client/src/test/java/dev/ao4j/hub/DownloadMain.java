package dev.ao4j.hub;

import java.nio.file.Path;
import java.time.Duration;

/** Run by {@link TwoProcessDownloadTest} in a separate JVM: downloads one file into a cache and prints its path. */
public final class DownloadMain {
    private DownloadMain() {
    }

    public static void main(String[] args) {
        HubConfig config = new HubConfig(args[0], FakeHub.TOKEN, Path.of(args[1]).resolveSibling("hf"), Path.of(args[1]),
                false, Duration.ofSeconds(30), Duration.ofSeconds(30));
        try (HubClient client = HubClient.builder().config(config).build()) {
            System.out.println(client.download(args[2], "main", args[3]));
        }
    }
}
