package dev.ao4j.hub;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What {@code GET /api/models/{repo}/revision/{rev}} says about a repository (spec §2.2), the fields ao4j uses.
 *
 * @param id           canonical repo id (case or name may differ from the one asked for)
 * @param sha          the 40-hex commit the revision resolved to
 * @param isPrivate    private repo
 * @param gated        {@code "auto"} or {@code "manual"} when access needs approval, null when not gated
 * @param disabled     disabled by the Hub
 * @param lastModified ISO-8601 time of the last commit, or null
 * @param libraryName  {@code library_name}, or null
 * @param pipelineTag  {@code pipeline_tag}, or null
 * @param tags         the repo's tags
 * @param cardData     README.md front matter as the Hub parsed it (JSON values: maps, lists, strings, numbers)
 * @param siblings     the files at that commit (may be truncated for very large repos: the tree API is complete)
 */
public record RepoInfo(String id, String sha, boolean isPrivate, String gated, boolean disabled, String lastModified,
                       String libraryName, String pipelineTag, List<String> tags, Map<String, Object> cardData,
                       List<Sibling> siblings) {
    public RepoInfo {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(sha, "sha");
        tags = List.copyOf(tags);
        cardData = Map.copyOf(cardData);
        siblings = List.copyOf(siblings);
    }

    public boolean isGated() {
        return gated != null;
    }

    /**
     * One file of {@code siblings}; with {@code blobs=true} it also carries its size and ids.
     *
     * @param path      {@code rfilename}
     * @param size      size in bytes, or -1 when not asked for
     * @param blobId    git blob sha1 (of the pointer file for LFS), or null
     * @param lfsSha256 sha256 of the content for LFS files, else null
     */
    public record Sibling(String path, long size, String blobId, String lfsSha256) {
        public Sibling {
            Objects.requireNonNull(path, "path");
        }
    }
}
