package dev.ao4j.hub;

/**
 * Progress of file transfers (downloads and uploads), per file. Called from worker threads, possibly several at
 * once: implementations must be thread-safe. All methods do nothing by default.
 */
public interface TransferListener {
    TransferListener NONE = new TransferListener() {
    };

    /** {@code path} is about to move {@code size} bytes (what is already on disk from an earlier run included). */
    default void started(String path, long size) {
    }

    /** {@code bytes} more bytes of {@code path} were moved. */
    default void progressed(String path, long bytes) {
    }

    /** {@code path} is complete (downloaded and verified, or uploaded, or found already there). */
    default void finished(String path) {
    }
}
