package dev.ao4j.quant.float8;

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
 * The float8 golden cases (torchao 0.18 on CPU and CUDA), as extracted into test resources:
 * {@code golden/fp8_scales.*} (every case's manifest entry, scales, activation outputs and inputs),
 * {@code golden/fp8_q.*} and {@code golden/fp8_dq.*} (codes and dequantized values of the edge/special cases),
 * {@code golden/fp8_extras.safetensors} (the activation input) and {@code golden/fp8_digests.json} (the SHA-256
 * of every output's bytes). Outputs held as bytes are compared byte by byte, the others by digest: every output
 * except the matmul result {@code y} is checked bit for bit.
 */
final class Float8Golden implements AutoCloseable {
    record Case(String id, String family, String device, JsonNode params, JsonNode info, Map<String, Output> outputs) {
        DivMode divMode() {
            return switch (device) {
                case "cpu" -> DivMode.TRUE_DIV;
                case "cuda" -> DivMode.CUDA_RECIPROCAL;
                default -> throw new IllegalArgumentException("unknown device " + device);
            };
        }

        @Override
        public String toString() {
            return device + "/" + id;
        }
    }

    record Output(DType dtype, Shape shape) {}

    private static final JsonMapper MAPPER = JsonMapper.builder().build();
    private static final String[] OUTPUT_FILES = {"fp8_scales", "fp8_q", "fp8_dq"};

    private final List<SafetensorsFile> files = new ArrayList<>();
    private final Map<String, String> digests = new LinkedHashMap<>();

    Float8Golden() {
        for (String f : OUTPUT_FILES) files.add(SafetensorsFile.open(resource(f + ".safetensors")));
        files.add(SafetensorsFile.open(resource("fp8_extras.safetensors")));
        for (var e : readJson("fp8_digests.json").properties()) digests.put(e.getKey(), e.getValue().asString());
    }

    static Path resource(String name) {
        try {
            var url = Float8Golden.class.getResource("/golden/" + name);
            if (url == null) throw new IllegalStateException("missing test resource golden/" + name);
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static JsonNode readJson(String name) {
        try (InputStream s = Float8Golden.class.getResourceAsStream("/golden/" + name)) {
            if (s == null) throw new IllegalStateException("missing test resource golden/" + name);
            return MAPPER.readTree(s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every case (fp8_scales.json lists them all), in manifest order. */
    static List<Case> cases() {
        List<Case> out = new ArrayList<>();
        for (JsonNode c : readJson("fp8_scales.json").get("cases")) {
            Map<String, Output> outs = new LinkedHashMap<>();
            for (var e : c.get("outputs").properties()) {
                JsonNode o = e.getValue();
                List<Long> dims = new ArrayList<>();
                for (JsonNode d : o.get("shape")) dims.add(d.asLong());
                outs.put(e.getKey(), new Output(DType.fromTorch(o.get("dtype").asString()),
                        Shape.of(dims.stream().mapToLong(Long::longValue).toArray())));
            }
            out.add(new Case(c.get("id").asString(), c.get("family").asString(), c.get("device").asString(),
                    c.get("params"), c.get("info"), outs));
        }
        return out;
    }

    /** Input tensor {@code name}, copied out of the mapping. */
    Tensor input(String name) {
        for (SafetensorsFile f : files) {
            if (f.contains("input/" + name)) return f.tensor("input/" + name).copy();
        }
        throw new IllegalStateException("no golden input " + name);
    }

    /** Assert {@code actual} is bit for bit torchao's output {@code name} of {@code c} (dtype, shape, bytes). */
    void assertOutput(Case c, String name, Tensor actual) {
        Output expected = c.outputs().get(name);
        if (expected == null) fail(c + " has no output " + name);
        assertEquals(expected.dtype(), actual.dtype(), c + " " + name + " dtype");
        assertEquals(expected.shape(), actual.shape(), c + " " + name + " shape");
        String key = c.device() + "/" + c.id() + "." + name;
        String digest = digests.get(key);
        if (digest == null) fail("fp8_digests.json has no entry " + key);
        for (SafetensorsFile f : files) {
            if (!f.contains(key)) continue;
            Tensor want = f.tensor(key);
            // stored bytes must be what the digest describes, or the resources are out of sync
            assertEquals(digest, sha256(want), key + ": stored bytes do not match fp8_digests.json");
            long mismatch = want.data().mismatch(actual.data());
            if (mismatch >= 0) {
                int size = actual.dtype().byteSize();
                long i = mismatch / size;
                fail(c + " " + name + ": first difference at element " + i + " of " + actual.numel() + ": expected 0x"
                        + hex(want, i, size) + ", got 0x" + hex(actual, i, size) + " (" + differing(want, actual, size)
                        + " elements differ)");
            }
            return;
        }
        String got = sha256(actual);
        if (!got.equals(digest)) {
            fail(c + " " + name + ": bytes differ from torchao's (sha256 " + got + ", expected " + digest + ")");
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

    static String sha256(Tensor t) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(t.data().asByteBuffer());
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** How many outputs of {@code c} the digests list (all but y). */
    long digestCount(Case c) {
        String prefix = c.device() + "/" + c.id() + ".";
        return digests.keySet().stream().filter(k -> k.startsWith(prefix)
                && !k.substring(prefix.length()).contains(".")).count();
    }

    @Override
    public void close() {
        for (SafetensorsFile f : files) f.close();
    }
}
