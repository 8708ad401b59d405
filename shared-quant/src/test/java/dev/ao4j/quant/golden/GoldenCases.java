package dev.ao4j.quant.golden;

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
 * The golden vectors (real torchao 0.18 outputs) as the extraction scripts copy them into test resources:
 * {@code golden/<prefix>.json} is a subset of the manifest (case id, device, params, info, status, and per output
 * its torch dtype, shape and, where recorded, SHA-256), {@code golden/<prefix>.safetensors} holds tensors named
 * {@code <device>/<case id>.<output>} or {@code sha256/<digest>} and inputs named {@code input/<name>}.
 *
 * <p>Every output is compared bit for bit: byte by byte where its bytes are stored (torch's float8/e8m0/fp4
 * tensors are stored as raw uint8, so only the bytes are compared with them, the dtype with the manifest's), by
 * SHA-256 otherwise, and by both when both are there. One instance searches its safetensors files in order.
 */
public final class GoldenCases implements AutoCloseable {
    /**
     * One output of a case: torch dtype (as its ao4j dtype), shape, digest if the manifest records one, and whether
     * its bytes are stored (with a digest: as {@code sha256/<digest>}, without: as {@code <device>/<id>.<output>}).
     */
    public record Output(DType dtype, Shape shape, String sha256, boolean stored) {}

    /**
     * One manifest case; {@code file} is the resource prefix it was read from, {@code family} and {@code status}
     * are null where that manifest does not record them.
     */
    public record Case(String file, String id, String device, String family, String status, JsonNode params,
                       JsonNode info, Map<String, Output> outputs) {
        /** cpu divides by Python scalars, cuda multiplies by the f32 reciprocal (R2). */
        public DivMode divMode() {
            return switch (device) {
                case "cpu" -> DivMode.TRUE_DIV;
                case "cuda" -> DivMode.CUDA_RECIPROCAL;
                default -> throw new IllegalArgumentException(this + ": unknown device " + device);
            };
        }

        /** Parameter {@code name} as a string. */
        public String param(String name) {
            JsonNode n = params.get(name);
            if (n == null) throw new IllegalArgumentException(this + ": no param " + name);
            return n.asString();
        }

        public int intParam(String name) {
            JsonNode n = params.get(name);
            if (n == null) throw new IllegalArgumentException(this + ": no param " + name);
            return n.asInt();
        }

        /** The tensor name of output {@code output} of this case. */
        public String key(String output) {
            return device + "/" + id + "." + output;
        }

        @Override
        public String toString() {
            return device + "/" + id;
        }
    }

    private static final JsonMapper MAPPER = JsonMapper.builder().build();

    private final List<SafetensorsFile> files;
    private final String digestsName;
    private final Map<String, String> digests;

    private GoldenCases(List<SafetensorsFile> files, String digestsName, Map<String, String> digests) {
        this.files = files;
        this.digestsName = digestsName;
        this.digests = digests;
    }

    /** The safetensors resources {@code golden/<name>.safetensors}, searched in this order. */
    public static GoldenCases open(String... names) {
        return new GoldenCases(openAll(names), null, Map.of());
    }

    /**
     * As {@link #open}, with the digests of outputs the manifest does not hash in {@code golden/<digestsJson>}
     * ({@code "<device>/<case id>.<output>": sha256}); every output checked must then have an entry there.
     */
    public static GoldenCases openWithDigests(String digestsJson, String... names) {
        Map<String, String> digests = new LinkedHashMap<>();
        for (var e : json(digestsJson).properties()) digests.put(e.getKey(), e.getValue().asString());
        return new GoldenCases(openAll(names), digestsJson, digests);
    }

    private static List<SafetensorsFile> openAll(String... names) {
        List<SafetensorsFile> out = new ArrayList<>();
        try {
            for (String n : names) out.add(SafetensorsFile.open(resource(n + ".safetensors")));
        } catch (RuntimeException e) {
            out.forEach(SafetensorsFile::close);
            throw e;
        }
        return out;
    }

    /** Every case of {@code golden/<prefix>.json}, in manifest order. */
    public static List<Case> cases(String prefix) {
        List<Case> out = new ArrayList<>();
        for (JsonNode c : json(prefix + ".json").get("cases")) {
            Map<String, Output> outs = new LinkedHashMap<>();
            for (var e : c.get("outputs").properties()) {
                JsonNode o = e.getValue();
                outs.put(e.getKey(), new Output(DType.fromTorch(o.get("dtype").asString()), shape(o.get("shape")),
                        o.has("sha256") ? o.get("sha256").asString() : null,
                        o.has("stored") && o.get("stored").asBoolean()));
            }
            out.add(new Case(prefix, c.get("id").asString(), c.get("device").asString(), text(c, "family"),
                    text(c, "status"), c.get("params"), c.get("info"), outs));
        }
        return out;
    }

    /** The cases of {@code golden/<prefix>.json} whose id starts with {@code idPrefix}; there must be some. */
    public static List<Case> cases(String prefix, String idPrefix) {
        List<Case> out = cases(prefix).stream().filter(c -> c.id().startsWith(idPrefix)).toList();
        if (out.isEmpty()) throw new IllegalStateException("no case '" + idPrefix + "*' in golden/" + prefix);
        return out;
    }

    private static String text(JsonNode n, String field) {
        return n.has(field) ? n.get(field).asString() : null;
    }

    /** A JSON array of dimensions as a shape. */
    public static Shape shape(JsonNode dims) {
        long[] d = new long[dims.size()];
        for (int i = 0; i < d.length; i++) d[i] = dims.get(i).asLong();
        return Shape.of(d);
    }

    /** Input tensor {@code input/<name>}, copied so it outlives the mapping. */
    public Tensor input(String name) {
        Tensor t = find("input/" + name);
        if (t == null) throw new IllegalStateException("no golden input " + name);
        return t.copy();
    }

    /** Stored tensor {@code name} (a view into the mapping). */
    public Tensor tensor(String name) {
        Tensor t = find(name);
        if (t == null) throw new IllegalStateException("no golden tensor " + name);
        return t;
    }

    /** The stored bytes of output {@code output} of {@code c}. */
    public Tensor output(Case c, String output) {
        return tensor(c.key(output));
    }

    private Tensor find(String name) {
        for (SafetensorsFile f : files) {
            if (f.contains(name)) return f.tensor(name);
        }
        return null;
    }

    /**
     * Assert that {@code actual} is bit for bit torchao's output {@code name} of {@code c}: the manifest's dtype and
     * shape, then the stored bytes and/or the recorded SHA-256.
     */
    public void assertOutput(Case c, String name, Tensor actual) {
        Output want = c.outputs().get(name);
        if (want == null) fail(c + " has no output " + name);
        assertEquals(want.dtype(), actual.dtype(), c + " " + name + " dtype");
        assertEquals(want.shape(), actual.shape(), c + " " + name + " shape");
        String key = c.key(name);
        String digest = want.sha256() != null ? want.sha256() : digests.get(key);
        if (digest == null && digestsName != null) fail(digestsName + " has no entry " + key);
        // mx-style manifests store outputs by digest (shared bytes once), the others under the case's key
        Tensor stored = want.stored() && want.sha256() != null ? tensor("sha256/" + want.sha256()) : find(key);
        if (stored != null) {
            // stored bytes must be what the digest describes, or the resources are out of sync
            if (digest != null) assertEquals(digest, sha256(stored), key + ": stored bytes do not match its SHA-256");
            assertSameBytes(stored, actual, c + " " + name);
        } else if (digest == null) {
            fail(c + " " + name + ": golden resources hold neither the bytes nor a digest of " + key);
        }
        if (digest != null) {
            String got = sha256(actual);
            if (!got.equals(digest)) {
                fail(c + " " + name + ": bytes differ from torchao's (sha256 " + got + ", expected " + digest + ")");
            }
        }
    }

    /** Same dtype, shape and bytes. */
    public static void assertBitEqual(Tensor expected, Tensor actual, String what) {
        assertEquals(expected.dtype(), actual.dtype(), what + ": dtype");
        assertEquals(expected.shape(), actual.shape(), what + ": shape");
        assertSameBytes(expected, actual, what);
    }

    /**
     * Same bytes, whatever the dtypes (a raw uint8 copy of a float8 tensor compares with it); on a mismatch, the
     * first differing element (bits and, where readable, value) and how many differ.
     */
    public static void assertSameBytes(Tensor expected, Tensor actual, String what) {
        long mismatch = expected.data().mismatch(actual.data());
        if (mismatch < 0) return;
        if (expected.byteSize() != actual.byteSize()) {
            fail(what + ": expected " + expected.byteSize() + " bytes, got " + actual.byteSize());
        }
        int size = actual.dtype().byteSize();
        long i = mismatch / size;
        fail(what + ": first difference at element " + i + " of " + actual.byteSize() / size + ": expected "
                + show(expected, i, size) + ", got " + show(actual, i, size) + " (" + differing(expected, actual, size)
                + " elements differ)");
    }

    private static String show(Tensor t, long i, int size) {
        StringBuilder bits = new StringBuilder("0x");
        for (int k = size - 1; k >= 0; k--) bits.append(String.format("%02x", t.getByte(i * size + k) & 0xFF));
        if (t.dtype().byteSize() != size) return bits.toString();
        return switch (t.dtype()) {
            case BF16, F16, F32, F64 -> t.getFloat(i) + " (bits " + bits + ")";
            case BOOL, U8, I8, I16, U16, I32, U32, I64, U64 -> t.getLong(i) + " (" + bits + ")";
            default -> bits.toString();
        };
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

    /** Test resource {@code golden/<name>} as a path. */
    public static Path resource(String name) {
        var url = GoldenCases.class.getResource("/golden/" + name);
        if (url == null) throw new IllegalStateException("missing test resource golden/" + name);
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Test resource {@code golden/<name>} parsed as JSON. */
    public static JsonNode json(String name) {
        try (InputStream s = GoldenCases.class.getResourceAsStream("/golden/" + name)) {
            if (s == null) throw new IllegalStateException("missing test resource golden/" + name);
            return MAPPER.readTree(s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        files.forEach(SafetensorsFile::close);
    }
}
