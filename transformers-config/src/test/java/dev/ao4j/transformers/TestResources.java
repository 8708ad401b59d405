package dev.ao4j.transformers;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Test-resource paths (copied from the golden set by tools/extract_golden.py; never /work/shared at run time). */
public final class TestResources {
    private TestResources() {}

    public static Path path(String resource) {
        URL url = TestResources.class.getResource("/" + resource);
        if (url == null) throw new IllegalStateException("missing test resource " + resource);
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    public static String text(String resource) {
        try {
            return Files.readString(path(resource), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
