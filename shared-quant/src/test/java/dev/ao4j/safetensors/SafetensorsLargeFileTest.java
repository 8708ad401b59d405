package dev.ao4j.safetensors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A > 2 GiB file made sparse with setLength, so it costs no real disk: offsets must be longs end to end. */
class SafetensorsLargeFileTest {
    @TempDir
    Path dir;

    @Test
    void readsTensorsAndBytesPastTwoGiB() throws Exception {
        long pad = (1L << 31) + 24; // the padding tensor alone is larger than an int can index
        String json = "{\"pad\":{\"dtype\":\"U8\",\"shape\":[" + pad + "],\"data_offsets\":[0," + pad + "]},"
                + "\"x\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[" + pad + "," + (pad + 16) + "]}}";
        byte[] header = json.getBytes(StandardCharsets.UTF_8);
        long dataStart = 8 + header.length;
        long marker = (1L << 31) + 5; // offset inside 'pad' beyond 2^31
        Path file = dir.resolve("big.safetensors");
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(dataStart + pad + 16);
            raf.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).array());
            raf.write(header);
            raf.seek(dataStart + marker);
            raf.write(0x5A);
            raf.seek(dataStart + pad);
            ByteBuffer xs = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
            xs.putFloat(1.5f).putFloat(-2.25f).putFloat(Float.NaN).putFloat(3e38f);
            raf.write(xs.array());
        }
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(List.of("pad", "x"), f.names());
            assertEquals(pad + 16, f.dataSize());
            Tensor p = f.tensor("pad");
            assertEquals(pad, p.byteSize());
            assertEquals(0x5A, p.getLong(marker));
            assertEquals(0, p.getLong(marker - 1));
            assertEquals(0, p.getLong(pad - 1));
            Tensor x = f.tensor("x");
            assertEquals(Shape.of(2, 2), x.shape());
            assertEquals(DType.F32, x.dtype());
            assertEquals(1.5f, x.getFloat(0));
            assertEquals(-2.25f, x.getFloat(1));
            assertTrue(Float.isNaN(x.getFloat(2)));
            assertEquals(3e38f, x.getFloat(3));
            assertEquals(pad, f.info("x").begin());
        }
    }
}
