package dev.ao4j.quant.mx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.safetensors.SafetensorsFile;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * One golden family (mx, nvfp4, sparse24) as {@code golden/mx_extract.py} copies it: {@code <family>.json} lists
 * every case on both devices with each output's dtype, shape and SHA-256; {@code <family>.safetensors} holds the
 * bytes of some outputs ({@code sha256/<digest>}) and {@code mx_inputs.safetensors} the inputs. Every output is
 * compared bit for bit: byte by byte where its bytes are stored (with the first differing element in the
 * message), by digest otherwise.
 */
public final class GoldenFamily implements AutoCloseable {
    public record Case(String id, String device, String status, JsonNode params, JsonNode info,
                       Map<String, Output> outputs) {
        public DivMode divMode() {
            return switch (device) {
                case "cpu" -> DivMode.TRUE_DIV;
                case "cuda" -> DivMode.CUDA_RECIPROCAL;
                default -> throw new IllegalArgumentException("unknown device " + device);
            };
        }

        public String param(String name) {
            JsonNode n = params.get(name);
            return n == null ? null : n.asString();
        }

        @Override
        public String toString() {
            return device + "/" + id;
        }
    }

    /** An output: torch dtype (float8/e8m0 read as their ao4j dtypes), shape, digest, whether bytes are stored. */
    public record Output(DType dtype, Shape shape, String sha256, boolean stored) {}

    private static final JsonMapper MAPPER = JsonMapper.builder().build();

    private final String family;
    private final SafetensorsFile outputs;
    private final SafetensorsFile inputs;

    public GoldenFamily(String family) {
        this.family = family;
        this.outputs = SafetensorsFile.open(resource(family + ".safetensors"));
        this.inputs = SafetensorsFile.open(resource("mx_inputs.safetensors"));
    }

    private static Path resource(String name) {
        try {
            var url = GoldenFamily.class.getResource("/golden/" + name);
            if (url == null) throw new IllegalStateException("missing test resource golden/" + name);
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static JsonNode json(String family) {
        try (InputStream s = GoldenFamily.class.getResourceAsStream("/golden/" + family + ".json")) {
            if (s == null) throw new IllegalStateException("missing test resource golden/" + family + ".json");
            return MAPPER.readTree(s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every case of {@code family} (ok and failed), in manifest order. */
    public static List<Case> cases(String family) {
        List<Case> out = new ArrayList<>();
        for (JsonNode c : json(family).get("cases")) {
            Map<String, Output> outs = new LinkedHashMap<>();
            for (var e : c.get("outputs").properties()) {
                JsonNode o = e.getValue();
                List<Long> dims = new ArrayList<>();
                for (JsonNode d : o.get("shape")) dims.add(d.asLong());
                outs.put(e.getKey(), new Output(DType.fromTorch(o.get("dtype").asString()),
                        Shape.of(dims.stream().mapToLong(Long::longValue).toArray()), o.get("sha256").asString(),
                        o.get("stored").asBoolean()));
            }
            out.add(new Case(c.get("id").asString(), c.get("device").asString(), c.get("status").asString(),
                    c.get("params"), c.get("info"), outs));
        }
        return out;
    }

    /** Input tensor {@code name}, copied out of the mapping. */
    public Tensor input(String name) {
        return inputs.tensor("input/" + name).copy();
    }

    /**
     * Assert {@code actual} is torchao's output {@code name} of {@code c} bit for bit: shape, then bytes (an
     * F8_E8M0 / F8_E4M3 / U8 tensor compares with torch's raw uint8 copy; the dtype must be the torch dtype).
     */
    public void assertOutput(Case c, String name, Tensor actual) {
        Output want = c.outputs().get(name);
        if (want == null) fail(c + " has no output " + name);
        assertEquals(want.dtype(), actual.dtype(), c + " " + name + " dtype");
        assertEquals(want.shape(), actual.shape(), c + " " + name + " shape");
        if (want.stored()) {
            Tensor stored = outputs.tensor("sha256/" + want.sha256());
            assertEquals(want.sha256(), sha256(stored), family + ".safetensors does not match " + family + ".json");
            long mismatch = stored.data().mismatch(actual.data());
            if (mismatch >= 0) {
                int size = actual.dtype().byteSize();
                long i = mismatch / size;
                fail(c + " " + name + ": first difference at element " + i + " of " + actual.numel() + ": expected 0x"
                        + hex(stored, i, size) + ", got 0x" + hex(actual, i, size) + " (" + differing(stored, actual,
                        size) + " elements differ)");
            }
        }
        String got = sha256(actual);
        if (!got.equals(want.sha256())) {
            fail(c + " " + name + ": bytes differ from torchao's (sha256 " + got + ", expected " + want.sha256() + ")");
        }
    }

    private static String hex(Tensor t, long i, int size) {
        StringBuilder sb = new StringBuilder();
        for (int k = size - 1; k >= 0; k--) sb.append(String.format("%02x", t.getByte(i * size + k) & 0xFF));
        return sb.toString();
    }

    private static long differing(Tensor a, Tensor b, int size) {
        long n = 0;
        for (long i = 0; i < a.byteSize() / size; i++) {
            for (int k = 0; k < size; k++) {
                if (a.getByte(i * size + k) != b.getByte(i * size + k)) {
                    n++;
                    break;
                }
            }
        }
        return n;
    }

    public static String sha256(Tensor t) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(t.data().asByteBuffer());
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        outputs.close();
        inputs.close();
    }
}
