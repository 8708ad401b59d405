package dev.ao4j.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The single-pass commit: the header written into the hole the body file left for it. */
class SafetensorsInPlaceHeaderTest {
    @TempDir
    Path dir;

    private static Map<String, Tensor> tensors() {
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("b", StFiles.random(DType.F32, Shape.of(64, 3), 1));
        in.put("a", StFiles.random(DType.BF16, Shape.of(5), 2));
        return in;
    }

    private Path write(String name, SafetensorsWriter.HeaderSpace space, Map<String, String> metadata) {
        Path file = dir.resolve(name);
        try (SafetensorsWriter w = SafetensorsWriter.create(file, metadata, space)) {
            tensors().forEach(w::add);
            w.commit();
        }
        return file;
    }

    private static void assertReadsBack(Path file, Map<String, String> metadata) {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(List.of("b", "a"), f.names());
            for (Map.Entry<String, Tensor> e : tensors().entrySet()) {
                assertTrue(f.tensor(e.getKey()).contentEquals(e.getValue()), e.getKey());
            }
            assertEquals(metadata, f.metadata());
        }
    }

    @Test
    void aHeaderThatFitsIsWrittenInPlaceAndPaddedToFillTheHole() throws Exception {
        Map<String, String> md = Map.of("format", "pt");
        Path inPlace = write("in-place.safetensors", new SafetensorsWriter.HeaderSpace(4096, 0), md);
        Path copied = write("copied.safetensors", new SafetensorsWriter.HeaderSpace(4096, Long.MAX_VALUE), md);

        assertEquals(4096, StFiles.headerLength(inPlace));
        assertEquals(StFiles.headerText(copied).strip(), StFiles.headerText(inPlace).strip(), "same JSON");
        assertTrue(StFiles.headerText(inPlace).endsWith("    "), "padding is spaces");
        byte[] a = Files.readAllBytes(inPlace);
        byte[] b = Files.readAllBytes(copied);
        long dataLen = 64 * 3 * 4 + 5 * 2;
        assertEquals(8 + 4096 + dataLen, a.length);
        assertArrayEquals(Arrays.copyOfRange(b, b.length - (int) dataLen, b.length),
                Arrays.copyOfRange(a, a.length - (int) dataLen, a.length), "same data buffer");
        assertReadsBack(inPlace, md);
        assertEquals(List.of("copied.safetensors", "in-place.safetensors"), List.of(StFiles.listing(dir)),
                "no temporaries left");
    }

    @Test
    void smallFilesAreCompactedLikePythonsWriter() throws Exception {
        Map<String, String> md = Map.of("format", "pt");
        Path file = write("small.safetensors", new SafetensorsWriter.HeaderSpace(4096, 1 << 20), md);
        long n = StFiles.headerLength(file);
        assertTrue(n < 4096 && n % 8 == 0, "compact header of " + n + " bytes");
        assertEquals(8 + n + 64 * 3 * 4 + 5 * 2, Files.size(file));
        assertReadsBack(file, md);
    }

    @Test
    void aHeaderLargerThanTheHoleFallsBackToACopy() throws Exception {
        Map<String, String> md = Map.of("format", "pt", "big", "x".repeat(10_000));
        Path file = write("big-header.safetensors", new SafetensorsWriter.HeaderSpace(4096, 0), md);
        assertTrue(StFiles.headerLength(file) > 4096);
        assertReadsBack(file, md);
        assertEquals(List.of("big-header.safetensors"), List.of(StFiles.listing(dir)));
    }
}
