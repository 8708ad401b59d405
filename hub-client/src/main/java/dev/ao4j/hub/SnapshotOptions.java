package dev.ao4j.hub;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * How {@link HubClient#snapshotDownload} fetches a repository.
 *
 * @param filter   which files (allow / ignore globs, spec §2.8 step 4)
 * @param workers  files downloaded at once (Python's {@code max_workers}, default 8)
 * @param localDir null: into the shared cache, returning {@code snapshots/{commit}}; else the files are
 *                 materialised in this folder with Python's {@code .cache/huggingface/download} metadata (§3.8)
 * @param listener progress of each file
 */
public record SnapshotOptions(GlobFilter filter, int workers, Path localDir, TransferListener listener) {
    public static final int DEFAULT_WORKERS = 8;

    public SnapshotOptions {
        Objects.requireNonNull(filter, "filter");
        Objects.requireNonNull(listener, "listener");
        if (workers < 1) throw new IllegalArgumentException("workers must be >= 1 but was " + workers);
    }

    public static SnapshotOptions defaults() {
        return new SnapshotOptions(GlobFilter.ALL, DEFAULT_WORKERS, null, TransferListener.NONE);
    }

    public SnapshotOptions withPatterns(List<String> allow, List<String> ignore) {
        return new SnapshotOptions(new GlobFilter(allow, ignore), workers, localDir, listener);
    }

    public SnapshotOptions withWorkers(int n) {
        return new SnapshotOptions(filter, n, localDir, listener);
    }

    public SnapshotOptions withLocalDir(Path dir) {
        return new SnapshotOptions(filter, workers, dir, listener);
    }

    public SnapshotOptions withListener(TransferListener l) {
        return new SnapshotOptions(filter, workers, localDir, l);
    }
}
