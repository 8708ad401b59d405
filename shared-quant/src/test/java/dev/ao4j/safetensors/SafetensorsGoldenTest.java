package dev.ao4j.safetensors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.lang.foreign.ValueLayout;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Reads a file written by torchao + Python safetensors (copied from the golden set). */
class SafetensorsGoldenTest {
    static Path resource(String name) throws URISyntaxException {
        return Path.of(SafetensorsGoldenTest.class.getResource("/safetensors/" + name).toURI());
    }

    static String sha256(Tensor t) throws NoSuchAlgorithmException {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        md.update(t.data().toArray(ValueLayout.JAVA_BYTE));
        return HexFormat.of().formatHex(md.digest());
    }

    @Test
    void readsFp8PerRowCheckpoint() throws Exception {
        try (SafetensorsFile f = SafetensorsFile.open(resource("fp8dq_perrow.safetensors"))) {
            // data-offset order, not header order (the header lists the same order here)
            assertEquals(List.of("proj._weight_scale", "proj._weight_qdata"), f.names());
            assertEquals(132096, f.dataSize());
            assertEquals(1024, f.headerSize());

            Tensor scale = f.tensor("proj._weight_scale");
            assertEquals(DType.F32, scale.dtype());
            assertEquals(Shape.of(256, 1), scale.shape());
            assertEquals(0.000457763671875f, scale.getFloat(0));
            assertEquals(0.000370025634765625f, scale.getFloat(1));
            assertEquals("d1b01cfed8a7f3fb1a45bc94b1e24a287569cb463efc90619ef4e22389f61aff", sha256(scale));

            Tensor q = f.tensor("proj._weight_qdata");
            assertEquals(DType.F8_E4M3, q.dtype());
            assertEquals(Shape.of(256, 512), q.shape());
            assertEquals((byte) 0x6d, q.getByte(0));
            assertEquals((byte) 0x63, q.getByte(1));
            assertEquals("e7f62d8c08bb9c6cfc592bc882c5d9b45550debb83a2e3deafd2a373ab711fbf", sha256(q));

            TensorInfo info = f.info("proj._weight_qdata");
            assertEquals(1024, info.begin());
            assertEquals(132096, info.end());

            assertEquals("pt", f.metadata().get("format"));
            assertEquals("[\"proj.weight\"]", f.metadata().get("tensor_names"));
            assertTrue(f.metadata().get("proj.weight").startsWith("{\"_type\": \"Float8Tensor\""));
            assertEquals(3, f.metadata().size());
        }
    }
}
