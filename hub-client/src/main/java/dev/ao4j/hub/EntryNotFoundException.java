package dev.ao4j.hub;

/** The file does not exist at the revision (404 {@code EntryNotFound}); {@link #commit()} is the commit it was looked up in. */
public class EntryNotFoundException extends HubHttpException {
    private final String commit;

    public EntryNotFoundException(Request request, int status, String serverMessage, String requestId, String commit) {
        super("file not found in the repository" + (commit == null ? "" : " at commit " + commit),
                request, status, serverMessage, requestId);
        this.commit = commit;
    }

    /** {@code X-Repo-Commit} of the response, or null. */
    public String commit() {
        return commit;
    }
}
