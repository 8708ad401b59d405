package dev.ao4j.hub;

/** The repository does not exist, is private, or the token may not read it (404 {@code RepoNotFound}, or a 401 on a repo URL). */
public class RepositoryNotFoundException extends HubHttpException {
    public RepositoryNotFoundException(Request request, int status, String serverMessage, String requestId) {
        super("repository not found, private, or no access: check the repo id and your token", request, status, serverMessage, requestId);
    }
}
