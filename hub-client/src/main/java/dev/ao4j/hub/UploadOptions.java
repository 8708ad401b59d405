package dev.ao4j.hub;

import java.util.Objects;

/**
 * How {@link HubUploader} commits.
 *
 * @param revision       branch to commit to (or {@code refs/pr/N} to add to an open pull request); the base
 *                       branch when {@code createPr}
 * @param summary        commit title (required by the Hub, non-empty)
 * @param description    commit description, may be empty
 * @param createPr       open a pull request instead of committing to the branch
 * @param parentCommit   the commit the change is based on, or null; on a branch the Hub answers 412 if the head
 *                       moved ({@link ConcurrentCommitException})
 * @param filter         which files of a folder to upload
 * @param workers        uploads (files and multipart parts together) in flight at once; 5 as in Python
 * @param filesPerCommit 0: one commit; else folders are committed in chunks of this many files, each chunk
 *                       based on the previous one, so that an interrupted upload keeps what was committed
 * @param listener       upload progress per file
 */
public record UploadOptions(String revision, String summary, String description, boolean createPr, String parentCommit,
                            GlobFilter filter, int workers, int filesPerCommit, TransferListener listener) {
    public static final int DEFAULT_WORKERS = 5;

    public UploadOptions {
        Objects.requireNonNull(revision, "revision");
        Objects.requireNonNull(summary, "summary");
        Objects.requireNonNull(filter, "filter");
        Objects.requireNonNull(listener, "listener");
        if (description == null) description = "";
        if (summary.isBlank()) throw new IllegalArgumentException("the commit summary must not be empty");
        if (workers < 1) throw new IllegalArgumentException("workers must be >= 1 but was " + workers);
        if (filesPerCommit < 0) throw new IllegalArgumentException("filesPerCommit must be >= 0 but was " + filesPerCommit);
        if (parentCommit != null && !parentCommit.matches("[0-9a-fA-F]{5,40}")) {
            throw new IllegalArgumentException("parentCommit must be 5 to 40 hex digits but was '" + parentCommit + "'");
        }
    }

    public static UploadOptions of(String summary) {
        return new UploadOptions("main", summary, "", false, null, GlobFilter.ALL, DEFAULT_WORKERS, 0, TransferListener.NONE);
    }

    public UploadOptions withRevision(String r) {
        return new UploadOptions(r, summary, description, createPr, parentCommit, filter, workers, filesPerCommit, listener);
    }

    public UploadOptions withDescription(String d) {
        return new UploadOptions(revision, summary, d, createPr, parentCommit, filter, workers, filesPerCommit, listener);
    }

    public UploadOptions withCreatePr(boolean pr) {
        return new UploadOptions(revision, summary, description, pr, parentCommit, filter, workers, filesPerCommit, listener);
    }

    public UploadOptions withParentCommit(String parent) {
        return new UploadOptions(revision, summary, description, createPr, parent, filter, workers, filesPerCommit, listener);
    }

    public UploadOptions withFilter(GlobFilter f) {
        return new UploadOptions(revision, summary, description, createPr, parentCommit, f, workers, filesPerCommit, listener);
    }

    public UploadOptions withWorkers(int n) {
        return new UploadOptions(revision, summary, description, createPr, parentCommit, filter, n, filesPerCommit, listener);
    }

    public UploadOptions withFilesPerCommit(int n) {
        return new UploadOptions(revision, summary, description, createPr, parentCommit, filter, workers, n, listener);
    }

    public UploadOptions withListener(TransferListener l) {
        return new UploadOptions(revision, summary, description, createPr, parentCommit, filter, workers, filesPerCommit, l);
    }
}
