package dev.ao4j.hub;

/** The token is valid but lacks the permission the request needs (403). */
public class ForbiddenException extends HubHttpException {
    public ForbiddenException(Request request, int status, String serverMessage, String requestId) {
        super("forbidden: the token lacks the permission for this request", request, status, serverMessage, requestId);
    }
}
