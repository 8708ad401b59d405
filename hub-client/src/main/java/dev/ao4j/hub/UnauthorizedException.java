package dev.ao4j.hub;

/** The token was rejected (401 {@code Invalid credentials in Authorization header}). */
public class UnauthorizedException extends HubHttpException {
    public UnauthorizedException(Request request, int status, String serverMessage, String requestId) {
        super("the token is invalid", request, status, serverMessage, requestId);
    }
}
