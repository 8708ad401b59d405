package dev.ao4j.hub;

import java.nio.file.Path;
import java.util.Objects;

/** One change of a commit (spec §4.8): a file added or replaced, a file deleted, a folder deleted. */
public sealed interface CommitOperation {
    /** Path in the repo, normalised (no leading {@code /} or {@code ./}). */
    String pathInRepo();

    /** Adds or replaces {@code pathInRepo} with the content of {@code source}. */
    record Add(String pathInRepo, Path source) implements CommitOperation {
        public Add {
            pathInRepo = normalise(pathInRepo);
            Objects.requireNonNull(source, "source");
        }
    }

    record Delete(String pathInRepo) implements CommitOperation {
        public Delete {
            pathInRepo = normalise(pathInRepo);
        }
    }

    /** Deletes a folder and everything under it; the path is sent with a trailing {@code /}. */
    record DeleteFolder(String pathInRepo) implements CommitOperation {
        public DeleteFolder {
            String p = pathInRepo.endsWith("/") ? pathInRepo.substring(0, pathInRepo.length() - 1) : pathInRepo;
            pathInRepo = normalise(p) + "/";
        }
    }

    /**
     * Python's rules for commit paths: strip a leading {@code /} and {@code ./}; refuse {@code .}, {@code ..}
     * segments and the forbidden folders {@code .git} and {@code .cache}.
     */
    static String normalise(String path) {
        Objects.requireNonNull(path, "pathInRepo");
        String p = path;
        while (p.startsWith("/") || p.startsWith("./")) p = p.startsWith("/") ? p.substring(1) : p.substring(2);
        HubCache.validateRelativePath(p, "path in repo");
        for (String segment : p.split("/")) {
            if (segment.equals(".git") || segment.equals(".cache")) {
                throw new IllegalArgumentException("path in repo must not contain a '" + segment
                        + "' folder (the Hub forbids it) but was '" + path + "'");
            }
        }
        return p;
    }
}
