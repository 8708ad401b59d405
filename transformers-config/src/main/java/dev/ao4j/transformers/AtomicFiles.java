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
        Path tmp = null;
        try {
            Files.createDirectories(abs.getParent());
            tmp = Files.createTempFile(abs.getParent(), "." + abs.getFileName() + ".", ".partial");
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer buf = ByteBuffer.wrap(bytes);
                while (buf.hasRemaining()) ch.write(buf);
                ch.force(true);
            }
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
            tmp = null;
        } catch (IOException e) {
            throw new Ao4jException("cannot write " + abs.getFileName() + ": " + e, Where.file(abs), e);
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
