package dev.ao4j.hub;

/**
 * 412 on a commit: the branch moved since the {@code parentCommit} the commit was based on (another writer pushed).
 * Nothing was committed; refresh the parent (e.g. {@link HubClient#modelInfo}) and try again.
 */
public class ConcurrentCommitException extends HubHttpException {
    public ConcurrentCommitException(Request request, int status, String serverMessage, String requestId) {
        super("a commit has happened on the branch since the parent commit this one was based on;"
                + " nothing was committed, refresh and try again", request, status, serverMessage, requestId);
    }
}
