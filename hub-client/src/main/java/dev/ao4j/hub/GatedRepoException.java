package dev.ao4j.hub;

/** The repository is gated and the caller has not been granted access (401 anonymous, 403 not approved). */
public class GatedRepoException extends HubHttpException {
    public GatedRepoException(Request request, int status, String serverMessage, String requestId) {
        super("the repository is gated: accept its conditions on the Hub and use a token of an approved account", request, status, serverMessage, requestId);
    }
}
