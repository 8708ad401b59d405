package dev.ao4j.hub;

import java.util.Objects;

/**
 * The outcome of a commit.
 *
 * @param commitOid      40-hex id of the new commit, or of the branch head when nothing had to change
 * @param commitUrl      web URL of the commit, or null when nothing was committed
 * @param pullRequestUrl web URL of the pull request opened, or null
 * @param committed      false when every file was already there with the same content (no commit was made)
 */
public record CommitInfo(String commitOid, String commitUrl, String pullRequestUrl, boolean committed) {
    public CommitInfo {
        Objects.requireNonNull(commitOid, "commitOid");
    }
}
