package dev.ao4j.hub;

import dev.ao4j.quant.Ao4jException;
import dev.ao4j.quant.Where;

/**
 * A Hub operation failed. The message always names the repo, the revision and the file it is about (the parts that
 * are known), so a failure in a batch of downloads says which one.
 */
public class HubException extends Ao4jException {
    private final String repo;
    private final String revision;
    private final String path;

    public HubException(String message, String repo, String revision, String path) {
        this(message, repo, revision, path, Where.NOWHERE, null);
    }

    public HubException(String message, String repo, String revision, String path, Where where, Throwable cause) {
        super(subject(repo, revision, path) + message, where, cause);
        this.repo = repo;
        this.revision = revision;
        this.path = path;
    }

    public String repo() {
        return repo;
    }

    public String revision() {
        return revision;
    }

    public String path() {
        return path;
    }

    private static String subject(String repo, String revision, String path) {
        StringBuilder sb = new StringBuilder();
        if (repo != null) sb.append("repo '").append(repo).append('\'');
        if (revision != null) sb.append(sb.isEmpty() ? "" : ", ").append("revision '").append(revision).append('\'');
        if (path != null) sb.append(sb.isEmpty() ? "" : ", ").append("file '").append(path).append('\'');
        return sb.isEmpty() ? "" : sb.append(": ").toString();
    }
}
