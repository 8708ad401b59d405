package dev.ao4j.transformers;

import dev.ao4j.quant.Ao4jException;
import dev.ao4j.quant.Where;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.function.Function;

/** Whole-file writes that never leave a half-written file under the final name. */
public final class AtomicFiles {
    private AtomicFiles() {}

    /**
     * Write {@code bytes} to {@code file}: into a temporary sibling ({@code .<name>.<random>.partial}), forced to
     * disk, then renamed over {@code file} (atomically where the file system can). Parent directories are created.
     *
     * @throws Ao4jException wrapping the I/O error, naming the file; the temporary file is removed
     */
    public static void write(Path file, byte[] bytes) {
        Path abs = file.toAbsolutePath();
        replace(abs, tmp -> {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer buf = ByteBuffer.wrap(bytes);
                while (buf.hasRemaining()) ch.write(buf);
                ch.force(true);
            }
        }, e -> new Ao4jException("cannot write " + abs.getFileName() + ": " + e, Where.file(abs), e));
    }

    /** Copy {@code from} over {@code to} the same way, through a temporary sibling and a rename. */
    static void copy(Path from, Path to) {
        replace(to.toAbsolutePath(), tmp -> Files.copy(from, tmp, StandardCopyOption.REPLACE_EXISTING),
                e -> new Ao4jException("cannot copy " + from.getFileName() + " to " + to + ": " + e,
                        Where.file(from), e));
    }

    @FunctionalInterface
    private interface Fill {
        void into(Path tmp) throws IOException;
    }

    /**
     * Fill a temporary sibling of {@code abs} and rename it over {@code abs} (atomically where the file system
     * can); on an I/O error the temporary file is removed and {@code failure}'s exception thrown.
     */
    private static void replace(Path abs, Fill fill, Function<IOException, Ao4jException> failure) {
        Path tmp = null;
        try {
            Files.createDirectories(abs.getParent());
            tmp = Files.createTempFile(abs.getParent(), "." + abs.getFileName() + ".", ".partial");
            fill.into(tmp);
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
            tmp = null;
        } catch (IOException e) {
            throw failure.apply(e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // the write error is the one worth reporting
                }
            }
        }
    }
}
