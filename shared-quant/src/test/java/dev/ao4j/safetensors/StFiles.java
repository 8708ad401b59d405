package dev.ao4j.safetensors;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.stream.Stream;

/** Helpers that build safetensors files byte by byte, independent of the writer under test. */
final class StFiles {
    private StFiles() {}

    /** 8-byte little-endian length of {@code header}'s UTF-8 bytes, the header, then {@code dataLen} zero bytes. */
    static Path raw(Path dir, String name, String header, int dataLen) throws IOException {
        return raw(dir, name, header.getBytes(StandardCharsets.UTF_8), dataLen);
    }

    static Path raw(Path dir, String name, byte[] header, int dataLen) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + dataLen).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(header.length).put(header);
        Path p = dir.resolve(name);
        Files.write(p, b.array());
        return p;
    }

    static Tensor random(DType dtype, Shape shape, long seed) {
        Tensor t = Tensor.allocate(dtype, shape);
        Random r = new Random(seed);
        for (long i = 0; i < t.byteSize(); i++) t.setByte(i, (byte) r.nextInt(256));
        return t;
    }

    static byte[] bytes(Tensor t) {
        return t.data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
    }

    static long headerLength(Path file) throws IOException {
        byte[] b = Files.readAllBytes(file);
        return ByteBuffer.wrap(b, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    static String headerText(Path file) throws IOException {
        byte[] b = Files.readAllBytes(file);
        int n = (int) headerLength(file);
        return new String(b, 8, n, StandardCharsets.UTF_8);
    }

    static String[] listing(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toArray(String[]::new);
        }
    }
}
