package dev.ao4j.hub;

import dev.ao4j.quant.Where;
import java.nio.file.Path;

/** A downloaded file's hash differs from the etag the Hub announced; nothing was placed in the cache. */
public class ChecksumMismatchException extends HubException {
    private final String expected;
    private final String found;

    public ChecksumMismatchException(String repo, String revision, String path, Path tempFile, String algorithm,
                                     String expected, String found) {
        super(algorithm + " of the downloaded bytes is " + found + " but the Hub's etag says " + expected
                + "; the download was discarded", repo, revision, path, Where.file(tempFile), null);
        this.expected = expected;
        this.found = found;
    }

    public String expected() {
        return expected;
    }

    public String found() {
        return found;
    }
}
