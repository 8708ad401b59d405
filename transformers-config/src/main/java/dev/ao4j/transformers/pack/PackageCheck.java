package dev.ao4j.transformers.pack;

import java.nio.file.Path;

/**
 * The last step on a finished package before it is published: a check (e.g. "would vLLM load this?") that reads
 * the files in the package's partial directory and throws an {@link dev.ao4j.quant.Ao4jException} to refuse it, or
 * a step that adds files derived from the finished package (e.g. launch scripts). Either way the package is
 * published only after it returned.
 */
@FunctionalInterface
public interface PackageCheck {
    PackageCheck NONE = dir -> {};

    /** @param packageDir the complete package, not yet published */
    void check(Path packageDir);

    /** This step, then {@code next}. */
    default PackageCheck andThen(PackageCheck next) {
        return dir -> {
            check(dir);
            next.check(dir);
        };
    }
}
