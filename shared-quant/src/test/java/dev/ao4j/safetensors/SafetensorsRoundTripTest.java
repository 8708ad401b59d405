package dev.ao4j.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class SafetensorsRoundTripTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(DType.class)
    void everyDtypeRoundTripsWithScalarAndZeroSizeShapes(DType dtype) throws Exception {
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("m", StFiles.random(dtype, Shape.of(3, 4), dtype.ordinal()));
        in.put("empty", StFiles.random(dtype, Shape.of(0, 5), 1));
        in.put("v", StFiles.random(dtype, Shape.of(7), 2));
        if (dtype != DType.F4_E2M1X2) in.put("scalar", StFiles.random(dtype, Shape.of(), 3));
        in.put("empty2", StFiles.random(dtype, Shape.of(2, 0), 4));
        Path file = dir.resolve(dtype + ".safetensors");
        SafetensorsWriter.write(file, in, Map.of("format", "pt", "dtype", dtype.safetensorsName()));

        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(List.copyOf(in.keySet()), f.names());
            for (Map.Entry<String, Tensor> e : in.entrySet()) {
                Tensor got = f.tensor(e.getKey());
                assertTrue(got.contentEquals(e.getValue()), e.getKey() + ": " + got + " vs " + e.getValue());
                assertEquals(dtype, f.info(e.getKey()).dtype());
            }
            assertEquals(Map.of("format", "pt", "dtype", dtype.safetensorsName()), f.metadata());
            long total = in.values().stream().mapToLong(Tensor::byteSize).sum();
            assertEquals(total, f.dataSize());
        }
        String header = StFiles.headerText(file);
        assertTrue(header.contains("\"dtype\":\"" + dtype.safetensorsName() + "\""), header);
    }

    @Test
    void fp4HeaderRecordsLogicalElementCount() throws Exception {
        Tensor packed = StFiles.random(DType.F4_E2M1X2, Shape.of(2, 3), 9); // 2 x 6 fp4 values
        Path file = dir.resolve("fp4.safetensors");
        SafetensorsWriter.write(file, Map.of("w", packed), Map.of());
        assertTrue(StFiles.headerText(file).contains("\"w\":{\"dtype\":\"F4\",\"shape\":[2,6],\"data_offsets\":[0,6]}"),
                StFiles.headerText(file));
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(Shape.of(2, 3), f.info("w").shape());
            assertTrue(f.tensor("w").contentEquals(packed));
        }
        try (SafetensorsWriter w = SafetensorsWriter.create(dir.resolve("s.safetensors"), Map.of())) {
            UnsupportedFormatException e = assertThrows(UnsupportedFormatException.class,
                    () -> w.add("s", Tensor.allocate(DType.F4_E2M1X2, Shape.of())));
            assertTrue(e.getMessage().contains("tensor 's'"), e.getMessage());
        }
    }

    @Test
    void headerIsWhatPythonSafetensorsWritesAndReads() throws Exception {
        Tensor b = StFiles.random(DType.F32, Shape.of(2), 1);
        Tensor a = StFiles.random(DType.BF16, Shape.of(3), 2);
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("b", b);
        in.put("a", a);
        Path file = dir.resolve("h.safetensors");
        Map<String, String> md = new LinkedHashMap<>();
        md.put("format", "pt");
        md.put("note", "é\"\n");
        SafetensorsWriter.write(file, in, md);

        byte[] all = Files.readAllBytes(file);
        long n = StFiles.headerLength(file);
        assertEquals(0, n % 8, "header length must be a multiple of 8 so the data buffer is aligned");
        String json = "{\"__metadata__\":{\"format\":\"pt\",\"note\":\"é\\\"\\n\"},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"a\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[8,14]}}";
        int jsonLen = json.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        assertEquals((jsonLen + 7) / 8 * 8, n);
        String header = StFiles.headerText(file);
        assertEquals(json + " ".repeat((int) n - jsonLen), header, "compact JSON, __metadata__ first, space padded");
        assertEquals(8 + n + 14, all.length, "data buffer ends the file exactly");
        byte[] data = Arrays.copyOfRange(all, (int) (8 + n), all.length);
        byte[] expected = new byte[14];
        System.arraycopy(StFiles.bytes(b), 0, expected, 0, 8);
        System.arraycopy(StFiles.bytes(a), 0, expected, 8, 6);
        assertArrayEquals(expected, data);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(md, f.metadata());
        }
    }

    @Test
    void emptyMetadataIsOmittedAndReadsAsEmpty() throws Exception {
        Path file = dir.resolve("nomd.safetensors");
        SafetensorsWriter.write(file, Map.of("x", StFiles.random(DType.I8, Shape.of(3), 0)), Map.of());
        String json = "{\"x\":{\"dtype\":\"I8\",\"shape\":[3],\"data_offsets\":[0,3]}}";
        String header = StFiles.headerText(file);
        assertEquals(json, header.stripTrailing());
        assertEquals((json.length() + 7) / 8 * 8, header.length());
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertTrue(f.metadata().isEmpty());
        }
    }

    @Test
    void unorderedMetadataIsWrittenSortedSoOutputIsReproducible() throws Exception {
        Path file = dir.resolve("md.safetensors");
        SafetensorsWriter.write(file, Map.of(), Map.of("zeta", "1", "alpha", "2", "mid", "3", "beta", "4"));
        assertEquals("{\"__metadata__\":{\"alpha\":\"2\",\"beta\":\"4\",\"mid\":\"3\",\"zeta\":\"1\"}}",
                StFiles.headerText(file).stripTrailing());
        Map<String, String> ordered = new LinkedHashMap<>();
        ordered.put("zeta", "1");
        ordered.put("alpha", "2");
        SafetensorsWriter.write(file, Map.of(), ordered);
        assertEquals("{\"__metadata__\":{\"zeta\":\"1\",\"alpha\":\"2\"}}", StFiles.headerText(file).stripTrailing());
    }

    @Test
    void fileWithNoTensorsRoundTrips() throws Exception {
        Path file = dir.resolve("none.safetensors");
        SafetensorsWriter.write(file, Map.of(), Map.of("k", "v"));
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertTrue(f.names().isEmpty());
            assertEquals(0, f.dataSize());
            assertEquals(Map.of("k", "v"), f.metadata());
        }
    }

    @Test
    void readerListsNamesInDataOffsetOrderWhateverTheHeaderOrder() throws Exception {
        // header order z, a, m; offsets order a, m, z
        String h = "{\"z\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[5,6]},"
                + "\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},"
                + "\"m\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[2,5]}}";
        Path file = StFiles.raw(dir, "order.safetensors", h, 6);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(List.of("a", "m", "z"), f.names());
            assertEquals(new TensorInfo("m", DType.U8, Shape.of(3), 2, 5), f.info("m"));
        }
    }

    @Test
    void viewsAreZeroCopyAndDieWithTheFile() throws Exception {
        Path file = dir.resolve("v.safetensors");
        SafetensorsWriter.write(file, Map.of("x", StFiles.random(DType.F32, Shape.of(4), 5)), Map.of());
        Tensor view;
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            view = f.tensor("x");
            assertTrue(view.data().isMapped());
            view.getFloat(3);
        }
        assertThrows(IllegalStateException.class, () -> view.getFloat(0));
    }

    @Test
    void writerStreamsAndCountsBytesAndRejectsDuplicateNames() throws Exception {
        Path file = dir.resolve("w.safetensors");
        try (SafetensorsWriter w = SafetensorsWriter.create(file, Map.of())) {
            w.add("a", StFiles.random(DType.F32, Shape.of(10), 1));
            assertEquals(40, w.bytesWritten());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> w.add("a", StFiles.random(DType.F32, Shape.of(1), 1)));
            assertTrue(e.getMessage().contains("tensor 'a'") && e.getMessage().contains("duplicate"), e.getMessage());
            assertThrows(IllegalArgumentException.class,
                    () -> w.add("__metadata__", StFiles.random(DType.F32, Shape.of(1), 1)));
            w.add("b", StFiles.random(DType.I64, Shape.of(2, 2), 2));
            assertEquals(72, w.bytesWritten());
            assertFalse(Files.exists(file), "nothing is published before commit");
            w.commit();
            assertThrows(IllegalStateException.class, () -> w.add("c", Tensor.allocate(DType.U8, Shape.of(1))));
        }
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(List.of("a", "b"), f.names());
        }
        assertArrayEquals(new String[] {"w.safetensors"}, StFiles.listing(dir));
    }

    @Test
    void manyTensorsKeepInsertionOrder() throws Exception {
        Path file = dir.resolve("many.safetensors");
        List<String> names = new ArrayList<>();
        try (SafetensorsWriter w = SafetensorsWriter.create(file, Map.of())) {
            for (int i = 0; i < 300; i++) {
                String n = "layer." + (299 - i) + ".w";
                names.add(n);
                w.add(n, StFiles.random(DType.BF16, Shape.of(i % 5, 3), i));
            }
            w.commit();
        }
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(names, f.names());
        }
    }
}
