package dev.ao4j.hub;

/** The repository has been disabled by the Hub (403 {@code Access to this resource is disabled.}). */
public class DisabledRepoException extends HubHttpException {
    public DisabledRepoException(Request request, int status, String serverMessage, String requestId) {
        super("the repository is disabled", request, status, serverMessage, requestId);
    }
}
