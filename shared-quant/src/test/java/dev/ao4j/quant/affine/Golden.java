package dev.ao4j.quant.affine;

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
import java.lang.foreign.ValueLayout;
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
 * The golden cases extracted by {@code golden/affine_extract.py} from torchao 0.18's real outputs: small outputs
 * are stored in {@code golden/<prefix>.safetensors}, large ones (q, qdata, dq) only as the SHA-256 of their bytes,
 * inputs in {@code golden/affine_inputs.safetensors}. Both kinds are compared bit for bit.
 */
final class Golden implements AutoCloseable {
    /** One golden case: torchao's outputs for one input, parameter set and device. */
    record Case(String id, String device, JsonNode params, JsonNode info, Map<String, Output> outputs) {
        /** cpu divides by Python scalars, cuda multiplies by the f32 reciprocal (R2). */
        DivMode divMode() {
            return switch (device) {
                case "cpu" -> DivMode.TRUE_DIV;
                case "cuda" -> DivMode.CUDA_RECIPROCAL;
                default -> throw new IllegalArgumentException("unknown device " + device);
            };
        }

        String param(String name) {
            JsonNode n = params.get(name);
            if (n == null) throw new IllegalArgumentException(id + ": no param " + name);
            return n.asString();
        }

        @Override
        public String toString() {
            return device + "/" + id;
        }
    }

    record Output(DType dtype, Shape shape, String sha256) {}

    private static final JsonMapper MAPPER = JsonMapper.builder().build();

    private final SafetensorsFile outputs;
    private final SafetensorsFile inputs;

    private Golden(SafetensorsFile outputs, SafetensorsFile inputs) {
        this.outputs = outputs;
        this.inputs = inputs;
    }

    static Golden open(String prefix) {
        SafetensorsFile in = SafetensorsFile.open(resource("affine_inputs.safetensors"));
        return new Golden(SafetensorsFile.open(resource(prefix + ".safetensors")), in);
    }

    /** The cases of {@code golden/<prefix>.json}, in manifest order. */
    static List<Case> cases(String prefix) {
        JsonNode root;
        try (InputStream s = Golden.class.getResourceAsStream("/golden/" + prefix + ".json")) {
            if (s == null) throw new IllegalStateException("missing test resource golden/" + prefix + ".json");
            root = MAPPER.readTree(s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<Case> out = new ArrayList<>();
        for (JsonNode c : root.get("cases")) {
            Map<String, Output> outs = new LinkedHashMap<>();
            for (var e : c.get("outputs").properties()) {
                JsonNode o = e.getValue();
                List<Long> dims = new ArrayList<>();
                for (JsonNode d : o.get("shape")) dims.add(d.asLong());
                outs.put(e.getKey(), new Output(DType.fromTorch(o.get("dtype").asString()),
                        Shape.of(dims.stream().mapToLong(Long::longValue).toArray()),
                        o.has("sha256") ? o.get("sha256").asString() : null));
            }
            out.add(new Case(c.get("id").asString(), c.get("device").asString(), c.get("params"), c.get("info"),
                    outs));
        }
        return out;
    }

    /** An input tensor ({@code input/<name>}), copied so it outlives the mapping. */
    Tensor input(String name) {
        return inputs.tensor("input/" + name).copy();
    }

    /**
     * Assert that {@code actual} is bit for bit torchao's output {@code name} of case {@code c}: same dtype, shape
     * and bytes (or bytes with the recorded SHA-256).
     */
    void assertOutput(Case c, String name, Tensor actual) {
        Output expected = c.outputs().get(name);
        if (expected == null) fail(c + " has no output " + name);
        assertEquals(expected.dtype(), actual.dtype(), c + " " + name + " dtype");
        assertEquals(expected.shape(), actual.shape(), c + " " + name + " shape");
        if (expected.sha256() != null) {
            String got = sha256(actual);
            if (!got.equals(expected.sha256())) {
                fail(c + " " + name + ": bytes differ from torchao's (sha256 " + got + ", expected "
                        + expected.sha256() + ")");
            }
            return;
        }
        Tensor want = outputs.tensor(c.device() + "/" + c.id() + "." + name);
        long mismatch = want.data().mismatch(actual.data());
        if (mismatch >= 0) {
            long i = mismatch / actual.dtype().byteSize();
            fail(c + " " + name + ": first difference at element " + i + " of " + actual.numel() + ": expected "
                    + element(want, i) + ", got " + element(actual, i) + " (" + countDifferences(want, actual)
                    + " elements differ)");
        }
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

    private static String element(Tensor t, long i) {
        if (t.dtype().isFloatingPoint()) {
            float f = t.getFloat(i);
            return f + " (bits 0x" + Integer.toHexString(Float.floatToRawIntBits(f)) + ")";
        }
        return Long.toString(t.getLong(i));
    }

    private static long countDifferences(Tensor a, Tensor b) {
        int size = a.dtype().byteSize();
        long n = 0;
        for (long i = 0; i < a.numel(); i++) {
            for (int j = 0; j < size; j++) {
                if (a.data().get(ValueLayout.JAVA_BYTE, i * size + j) != b.data().get(ValueLayout.JAVA_BYTE, i * size + j)) {
                    n++;
                    break;
                }
            }
        }
        return n;
    }

    private static Path resource(String name) {
        var url = Golden.class.getResource("/golden/" + name);
        if (url == null) throw new IllegalStateException("missing test resource golden/" + name);
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        outputs.close();
        inputs.close();
    }
}
