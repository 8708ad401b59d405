package dev.ao4j.safetensors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.Ao4jException;
import dev.ao4j.quant.MalformedInputException;
import dev.ao4j.quant.UnsupportedFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One test per way a safetensors file can be broken; each checks the message says where. */
class SafetensorsMalformedTest {
    @TempDir
    Path dir;

    private static final String OK_A = "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";

    private MalformedInputException malformed(Path file) {
        return malformed(file, ReadLimits.defaults());
    }

    private MalformedInputException malformed(Path file, ReadLimits limits) {
        return assertThrows(MalformedInputException.class, () -> {
            try (SafetensorsFile f = SafetensorsFile.open(file, limits)) {
                f.names();
            }
        });
    }

    /** The message names the file and every given fragment (tensor, field, values). */
    private static void assertSays(Ao4jException e, Path file, String... fragments) {
        String m = e.getMessage();
        assertTrue(m.startsWith(file.toString()), "message should start with the file: " + m);
        assertEquals(file, e.where().file());
        for (String f : fragments) assertTrue(m.contains(f), "message should contain <" + f + ">: " + m);
    }

    private Path header(String name, String json, int dataLen) throws IOException {
        return StFiles.raw(dir, name, json, dataLen);
    }

    @Test
    void fileShorterThanEightBytes() throws IOException {
        Path f = dir.resolve("short.safetensors");
        Files.write(f, new byte[] {1, 0, 0});
        assertSays(malformed(f), f, "3 bytes", "shorter than the 8-byte");
    }

    @Test
    void headerLengthBeyondFile() throws IOException {
        Path f = dir.resolve("trunc.safetensors");
        Files.write(f, ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN).putLong(100).array());
        assertSays(malformed(f), f, "header length 100", "12 bytes that follow");
    }

    @Test
    void headerLengthOverLimitShowsValueLimitAndKnob() throws IOException {
        Path f = header("big.safetensors", "{" + OK_A + "}", 8);
        MalformedInputException e = malformed(f, ReadLimits.defaults().withMaxHeaderBytes(16));
        assertSays(e, f, "header length " + StFiles.headerLength(f), "limit of 16", "ReadLimits.maxHeaderBytes");

        Path huge = dir.resolve("huge.safetensors");
        Files.write(huge, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-1L).array());
        assertSays(malformed(huge), huge, "18446744073709551615", "limit of 100000000", "ReadLimits.maxHeaderBytes");
    }

    @Test
    void invalidUtf8() throws IOException {
        byte[] h = "{\"a\u00ff\":{}}".getBytes(StandardCharsets.ISO_8859_1);
        Path f = StFiles.raw(dir, "utf8.safetensors", h, 0);
        assertSays(malformed(f), f, "not valid UTF-8", "header byte 3");
    }

    @Test
    void invalidJson() throws IOException {
        Path f = header("json.safetensors", "{\"a\": {\"dtype\": }}", 0);
        assertSays(malformed(f), f, "invalid JSON header");
        Path g = header("trailing.safetensors", "{} x", 0);
        assertSays(malformed(g), g, "invalid JSON header");
    }

    @Test
    void headerNotAnObjectOrNotStartingWithBrace() throws IOException {
        Path f = header("array.safetensors", "[1, 2]  ", 0);
        assertSays(malformed(f), f, "does not start with '{'", "'['");
        Path g = header("space.safetensors", " {}", 0);
        assertSays(malformed(g), g, "does not start with '{'", "' '");
        Path h = header("empty.safetensors", "", 0);
        assertSays(malformed(h), h, "does not start with '{'", "empty header");
    }

    @Test
    void entryNotAnObject() throws IOException {
        Path f = header("entry.safetensors", "{\"w\": [1]}", 0);
        assertSays(malformed(f), f, "tensor 'w'", "must be an object", "ARRAY");
    }

    @Test
    void missingFields() throws IOException {
        Path f = header("nodtype.safetensors", "{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
        assertSays(malformed(f), f, "tensor 'w'", "field 'dtype'", "missing");
        Path g = header("noshape.safetensors", "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8);
        assertSays(malformed(g), g, "tensor 'w'", "field 'shape'", "missing");
        Path h = header("nooff.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8);
        assertSays(malformed(h), h, "tensor 'w'", "field 'data_offsets'", "missing");
    }

    @Test
    void wrongTypedFields() throws IOException {
        Path f = header("dt.safetensors", "{\"w\":{\"dtype\":7,\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
        assertSays(malformed(f), f, "tensor 'w'", "field 'dtype'", "must be a string", "NUMBER");
        Path g = header("sh.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":\"2\",\"data_offsets\":[0,8]}}", 8);
        assertSays(malformed(g), g, "tensor 'w'", "field 'shape'", "must be an array", "STRING");
        Path h = header("shf.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", 8);
        assertSays(malformed(h), h, "tensor 'w'", "field 'shape'", "element 0 must be an integer");
        Path i = header("off3.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,9]}}", 8);
        assertSays(malformed(i), i, "tensor 'w'", "field 'data_offsets'", "must have 2 elements, found 3");
        Path j = header("offs.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[\"0\",8]}}", 8);
        assertSays(malformed(j), j, "tensor 'w'", "field 'data_offsets'", "element 0 must be an integer");
        Path k = header("offbig.safetensors",
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,99999999999999999999]}}", 8);
        assertSays(malformed(k), k, "tensor 'w'", "field 'data_offsets'", "out of the 64-bit range");
    }

    @Test
    void unknownDtypeListsSupportedOnes() throws IOException {
        Path f = header("dtype.safetensors", "{\"w\":{\"dtype\":\"F6_E2M3\",\"shape\":[4],\"data_offsets\":[0,3]}}", 3);
        UnsupportedFormatException e = assertThrows(UnsupportedFormatException.class, () -> SafetensorsFile.open(f));
        assertSays(e, f, "tensor 'w'", "field 'dtype'", "F6_E2M3", "supported:", "BF16", "F8_E4M3", "F8_E8M0", "F4");
    }

    @Test
    void negativeDimension() throws IOException {
        Path f = header("neg.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,-1],\"data_offsets\":[0,0]}}", 0);
        assertSays(malformed(f), f, "tensor 'w'", "field 'shape'", "element 1 = -1 is negative");
    }

    @Test
    void elementCountTimesDtypeSizeOverflows() throws IOException {
        Path f = header("ovf.safetensors",
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,8]}}", 8);
        assertSays(malformed(f), f, "tensor 'w'", "field 'shape'", "overflows");
        Path g = header("ovf2.safetensors",
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[2305843009213693952],\"data_offsets\":[0,8]}}", 8);
        assertSays(malformed(g), g, "tensor 'w'", "overflows");
    }

    @Test
    void sizeDoesNotMatchDtypeAndShape() throws IOException {
        Path f = header("size.safetensors", "{\"w\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8);
        assertSays(malformed(f), f, "tensor 'w'", "field 'data_offsets'", "[0, 8]", "span 8 bytes", "needs 6");
    }

    @Test
    void beginAfterEnd() throws IOException {
        Path f = header("order.safetensors", "{\"w\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[8,4]}}", 8);
        assertSays(malformed(f), f, "tensor 'w'", "field 'data_offsets'", "[8, 4]", "begin is after end");
    }

    @Test
    void endBeyondDataBuffer() throws IOException {
        Path f = header("end.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8);
        assertSays(malformed(f), f, "tensor 'w'", "field 'data_offsets'", "[0, 16]", "beyond the data buffer of 8");
    }

    @Test
    void overlappingTensors() throws IOException {
        Path f = header("model-00002-of-00004.safetensors", "{" + OK_A
                + ",\"model.layers.3.mlp.down_proj.weight\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                12);
        assertSays(malformed(f), f, "tensor 'model.layers.3.mlp.down_proj.weight'", "field 'data_offsets'",
                "data_offsets [4, 12] overlap tensor 'a' [0, 8]");
    }

    @Test
    void gapBetweenTensorsAndAtStart() throws IOException {
        Path f = header("gap.safetensors", "{" + OK_A
                + ",\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}}", 16);
        assertSays(malformed(f), f, "tensor 'b'", "gap of 4 bytes after tensor 'a' [0, 8]");
        Path g = header("gap0.safetensors", "{\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8);
        assertSays(malformed(g), g, "tensor 'b'", "gap of 4 bytes after the start of the data buffer");
    }

    @Test
    void bytesAfterTheLastTensor() throws IOException {
        Path f = header("tail.safetensors", "{" + OK_A + "}", 11);
        assertSays(malformed(f), f, "tensors cover 8 bytes of the 11-byte data buffer", "last tensor 'a'");
        Path g = header("tail0.safetensors", "{}", 3);
        assertSays(malformed(g), g, "tensors cover 0 bytes of the 3-byte data buffer");
    }

    @Test
    void duplicateNames() throws IOException {
        Path f = header("dup.safetensors", "{" + OK_A + "," + OK_A + "}", 8);
        assertSays(malformed(f), f, "tensor 'a'", "duplicate tensor name");
        Path g = header("dupmd.safetensors", "{\"__metadata__\":{},\"__metadata__\":{}}", 0);
        assertSays(malformed(g), g, "field '__metadata__'", "duplicate __metadata__");
        Path h = header("dupfield.safetensors",
                "{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
        assertSays(malformed(h), h, "tensor 'a'", "invalid JSON header", "Duplicate", "dtype");
    }

    @Test
    void metadataMustMapStringsToStrings() throws IOException {
        Path f = header("md.safetensors", "{\"__metadata__\":{\"format\":\"pt\",\"n\":3}," + OK_A + "}", 8);
        assertSays(malformed(f), f, "field '__metadata__.n'", "must be a string", "NUMBER");
        Path g = header("md2.safetensors", "{\"__metadata__\":[]," + OK_A + "}", 8);
        assertSays(malformed(g), g, "field '__metadata__'", "must be a JSON object");
        Path h = header("md3.safetensors", "{\"__metadata__\":{\"x\":null}}", 0);
        assertSays(malformed(h), h, "field '__metadata__.x'", "NULL");
    }

    @Test
    void nullMetadataReadsAsAbsentLikeTheRustCrate() throws IOException {
        Path f = header("mdnull.safetensors", "{\"__metadata__\":null," + OK_A + "}", 8);
        try (SafetensorsFile s = SafetensorsFile.open(f)) {
            assertTrue(s.metadata().isEmpty());
        }
    }

    @Test
    void tensorCountAndNameLengthLimits() throws IOException {
        Path f = header("count.safetensors", "{" + OK_A
                + ",\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12);
        assertSays(malformed(f, ReadLimits.defaults().withMaxTensors(1)), f, "tensor 'b'", "more than 1 tensors",
                "ReadLimits.maxTensors");
        Path g = header("name.safetensors", "{" + OK_A + "}", 8);
        assertSays(malformed(g, ReadLimits.defaults().withMaxNameLength(0)), g, "1 chars", "limit of 0",
                "ReadLimits.maxNameLength");
    }

    @Test
    void fp4NeedsAnEvenLastDimension() throws IOException {
        Path f = header("f4.safetensors", "{\"w\":{\"dtype\":\"F4\",\"shape\":[2,3],\"data_offsets\":[0,3]}}", 3);
        assertSays(malformed(f), f, "tensor 'w'", "field 'shape'", "even last dimension");
    }

    @Test
    void missingTensorLookup() throws IOException {
        Path f = header("ok.safetensors", "{" + OK_A + "}", 8);
        try (SafetensorsFile s = SafetensorsFile.open(f)) {
            MalformedInputException e = assertThrows(MalformedInputException.class, () -> s.tensor("nope"));
            assertSays(e, f, "tensor 'nope'", "no such tensor");
        }
    }
}
