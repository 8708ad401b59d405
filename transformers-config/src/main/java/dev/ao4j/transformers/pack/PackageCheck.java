package dev.ao4j.transformers.pack;

import java.nio.file.Path;

/**
 * A last look at a finished package before it is published (e.g. "would vLLM load this?"). It reads the files in
 * the package's partial directory and throws an {@link dev.ao4j.quant.Ao4jException} to refuse the package.
 */
@FunctionalInterface
public interface PackageCheck {
    PackageCheck NONE = dir -> {};

    /** @param packageDir the complete package, not yet published */
    void check(Path packageDir);
}
