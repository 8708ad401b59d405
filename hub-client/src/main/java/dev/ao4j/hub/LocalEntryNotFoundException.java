package dev.ao4j.hub;

import dev.ao4j.quant.Where;

/**
 * The file is not in the cache and could not be fetched: offline mode is on, or the Hub was unreachable (the cause
 * then says why).
 */
public class LocalEntryNotFoundException extends HubException {
    public LocalEntryNotFoundException(String message, String repo, String revision, String path, Throwable cause) {
        super(message, repo, revision, path, Where.NOWHERE, cause);
    }
}
