package dev.ao4j.hub;

/** The branch, tag or commit does not exist in the repository (404 {@code RevisionNotFound}). */
public class RevisionNotFoundException extends HubHttpException {
    public RevisionNotFoundException(Request request, int status, String serverMessage, String requestId) {
        super("revision not found", request, status, serverMessage, requestId);
    }
}
