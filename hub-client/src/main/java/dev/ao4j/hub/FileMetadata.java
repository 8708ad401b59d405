package dev.ao4j.hub;

import java.util.Objects;

/**
 * What the metadata HEAD on {@code /{repo}/resolve/{revision}/{path}} says about a file.
 *
 * @param commit      the 40-hex commit the revision resolved to ({@code X-Repo-Commit})
 * @param etag        the normalised etag ({@code X-Linked-Etag}, else {@code ETag}): the sha256 of the content for
 *                    LFS/Xet files, the git blob sha1 for regular files; it names the blob in the cache
 * @param size        the file size in bytes ({@code X-Linked-Size}, else {@code Content-Length} of a 2xx answer)
 * @param downloadUrl where to GET the bytes: the {@code Location} of an absolute redirect (CDN, presigned), else
 *                    the resolve URL itself
 */
public record FileMetadata(String commit, String etag, long size, String downloadUrl) {
    public FileMetadata {
        Objects.requireNonNull(commit, "commit");
        Objects.requireNonNull(etag, "etag");
        Objects.requireNonNull(downloadUrl, "downloadUrl");
        if (size < 0) throw new IllegalArgumentException("size must be >= 0 but was " + size);
    }

    /** LFS and Xet files have a sha256 etag (64 hex digits); regular git files a 40-hex sha1 one. */
    public boolean isLfs() {
        return HubCache.isHex(etag, 64);
    }
}
