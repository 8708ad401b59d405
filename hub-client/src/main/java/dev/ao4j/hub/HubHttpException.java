package dev.ao4j.hub;

import dev.ao4j.quant.Where;

/**
 * The Hub (or the CDN it redirected to) answered with an error status. Subclasses are the cases huggingface_hub
 * distinguishes; this class itself covers any other status of 400 and above.
 */
public class HubHttpException extends HubException {
    private final int status;
    private final String serverMessage;
    private final String requestId;

    public HubHttpException(String message, Request request, int status, String serverMessage, String requestId) {
        super(message + " (HTTP " + status + (serverMessage == null ? "" : ", server says: " + serverMessage)
                        + (requestId == null ? "" : ", request id " + requestId) + ")",
                request.repo(), request.revision(), request.path(), Where.NOWHERE, null);
        this.status = status;
        this.serverMessage = serverMessage;
        this.requestId = requestId;
    }

    public int status() {
        return status;
    }

    /** {@code X-Error-Message} of the response, or null. */
    public String serverMessage() {
        return serverMessage;
    }

    /** {@code X-Request-Id} (else {@code X-Amzn-Trace-Id}, {@code X-Amz-Cf-Id}) of the response, or null. */
    public String requestId() {
        return requestId;
    }

    /** What a failed request was about. */
    public record Request(String repo, String revision, String path) {
    }
}
