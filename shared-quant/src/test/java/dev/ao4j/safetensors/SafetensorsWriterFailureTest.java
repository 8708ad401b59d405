package dev.ao4j.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A failed or abandoned write leaves no temporary files and never touches an existing target. */
class SafetensorsWriterFailureTest {
    @TempDir
    Path dir;

    private static Tensor deadTensor() {
        Arena a = Arena.ofConfined();
        Tensor t = new Tensor(DType.F32, Shape.of(4), a.allocate(16));
        a.close(); // reading it now fails, like a source mapping closed too early
        return t;
    }

    @Test
    void failedAddThenCloseLeavesExistingTargetUntouched() throws Exception {
        Path target = dir.resolve("model.safetensors");
        byte[] old = "previous contents".getBytes(StandardCharsets.UTF_8);
        Files.write(target, old);
        try (SafetensorsWriter w = SafetensorsWriter.create(target, Map.of("format", "pt"))) {
            w.add("a", StFiles.random(DType.BF16, Shape.of(8, 8), 1));
            assertThrows(IllegalStateException.class, () -> w.add("dead", deadTensor()));
            assertEquals(128, w.bytesWritten(), "a failed add does not count");
            assertEquals(2, StFiles.listing(dir).length, "target plus the body temporary while writing");
            // no commit: the writer is abandoned
        }
        assertArrayEquals(new String[] {"model.safetensors"}, StFiles.listing(dir));
        assertArrayEquals(old, Files.readAllBytes(target));
    }

    @Test
    void writerStaysUsableAfterAFailedAdd() throws Exception {
        Path target = dir.resolve("t.safetensors");
        Tensor a = StFiles.random(DType.F32, Shape.of(3), 1);
        Tensor b = StFiles.random(DType.F32, Shape.of(5), 2);
        try (SafetensorsWriter w = SafetensorsWriter.create(target, Map.of())) {
            w.add("a", a);
            assertThrows(IllegalStateException.class, () -> w.add("dead", deadTensor()));
            w.add("dead", b); // the failed name is free again, and its partial bytes are overwritten
            w.commit();
        }
        try (SafetensorsFile f = SafetensorsFile.open(target)) {
            assertEquals(List.of("a", "dead"), f.names());
            assertTrue(f.tensor("dead").contentEquals(b));
            assertEquals(32, f.dataSize());
        }
        assertArrayEquals(new String[] {"t.safetensors"}, StFiles.listing(dir));
    }

    @Test
    void failedCommitRemovesTemporariesAndKeepsWhatWasThere() throws Exception {
        // A non-empty directory where the file should go: the final rename must fail.
        Path target = dir.resolve("blocked.safetensors");
        Files.createDirectory(target);
        Files.writeString(target.resolve("keep.txt"), "keep");
        SafetensorsWriter w = SafetensorsWriter.create(target, Map.of());
        w.add("a", StFiles.random(DType.U8, Shape.of(100), 1));
        UncheckedIOException e = assertThrows(UncheckedIOException.class, w::commit);
        assertTrue(e.getMessage().contains("blocked.safetensors"), e.getMessage());
        assertArrayEquals(new String[] {"blocked.safetensors"}, StFiles.listing(dir));
        assertEquals("keep", Files.readString(target.resolve("keep.txt")));
        assertThrows(IllegalStateException.class, w::commit);
        w.close();
    }

    @Test
    void successfulCommitReplacesTheTargetAtomically() throws Exception {
        Path target = dir.resolve("r.safetensors");
        Files.writeString(target, "old");
        Tensor a = StFiles.random(DType.I32, Shape.of(2, 3), 4);
        SafetensorsWriter.write(target, Map.of("a", a), Map.of());
        assertArrayEquals(new String[] {"r.safetensors"}, StFiles.listing(dir));
        try (SafetensorsFile f = SafetensorsFile.open(target)) {
            assertTrue(f.tensor("a").contentEquals(a));
        }
    }

    @Test
    void convenienceWriteFailureLeavesNothing() throws Exception {
        Path target = dir.resolve("c.safetensors");
        Map<String, Tensor> in = new java.util.LinkedHashMap<>();
        in.put("ok", StFiles.random(DType.F16, Shape.of(4), 1));
        in.put("dead", deadTensor());
        assertThrows(IllegalStateException.class, () -> SafetensorsWriter.write(target, in, Map.of()));
        assertEquals(0, StFiles.listing(dir).length);
    }
}
