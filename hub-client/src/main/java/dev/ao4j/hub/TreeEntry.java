package dev.ao4j.hub;

import java.util.Objects;

/**
 * One entry of {@code GET /api/models/{repo}/tree/{rev}} (spec §2.3).
 *
 * @param directory true for a folder
 * @param path      path in the repo
 * @param oid       git blob sha1 for files (of the pointer for LFS files), tree sha for folders
 * @param size      file size in bytes (the content's, also for LFS files); 0 for folders
 * @param lfsSha256 sha256 of the content for LFS files, else null: the etag the file's blob is cached under
 * @param xetHash   Xet file id when the file is stored in Xet, else null
 */
public record TreeEntry(boolean directory, String path, String oid, long size, String lfsSha256, String xetHash) {
    public TreeEntry {
        Objects.requireNonNull(path, "path");
    }

    /** The etag the Hub announces for this file, hence its blob name in the cache: sha256 for LFS, else git sha1. */
    public String etag() {
        return lfsSha256 != null ? lfsSha256 : oid;
    }
}
