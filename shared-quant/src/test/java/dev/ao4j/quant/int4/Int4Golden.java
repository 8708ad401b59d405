package dev.ao4j.quant.int4;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.safetensors.SafetensorsFile;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Golden cases copied by {@code tools/golden/extract.py} into {@code golden/<prefix>.{json,safetensors}}: real
 * torchao 0.18 outputs (tensor {@code <device>/<case id>.<output>}) and their inputs ({@code input/<name>}).
 */
final class Int4Golden {
    private Int4Golden() {}

    private static final JsonMapper MAPPER = JsonMapper.builder().build();

    /** One manifest case; {@code file} is the resource prefix its tensors live in. */
    record Case(String file, String id, String device, JsonNode params) {
        /** cpu divides by Python scalars, cuda multiplies by the f32 reciprocal (R2). */
        DivMode divMode() {
            return switch (device) {
                case "cpu" -> DivMode.TRUE_DIV;
                case "cuda" -> DivMode.CUDA_RECIPROCAL;
                default -> throw new IllegalArgumentException("unknown device " + device);
            };
        }

        int groupSize() {
            return params.get("group_size").asInt();
        }

        String input() {
            return params.get("input").asString();
        }

        String outputName(String output) {
            return device + "/" + id + "." + output;
        }

        @Override
        public String toString() {
            return device + "/" + id;
        }
    }

    /** The cases of {@code golden/<prefix>.json} whose id starts with {@code idPrefix}, in manifest order. */
    static List<Case> cases(String prefix, String idPrefix) {
        JsonNode root;
        try (InputStream s = Int4Golden.class.getResourceAsStream("/golden/" + prefix + ".json")) {
            if (s == null) throw new IllegalStateException("missing test resource golden/" + prefix + ".json");
            root = MAPPER.readTree(s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<Case> out = new ArrayList<>();
        for (JsonNode c : root.get("cases")) {
            String id = c.get("id").asString();
            if (id.startsWith(idPrefix)) {
                out.add(new Case(prefix, id, c.get("device").asString(), c.get("params")));
            }
        }
        if (out.isEmpty()) throw new IllegalStateException("no case '" + idPrefix + "*' in golden/" + prefix);
        return out;
    }

    static SafetensorsFile open(String prefix) {
        try {
            return SafetensorsFile.open(Path.of(Int4Golden.class.getResource("/golden/" + prefix + ".safetensors")
                    .toURI()));
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Same dtype, shape and bytes; on a mismatch, report the first differing element and the count. */
    static void assertBitEqual(Tensor expected, Tensor actual, String what) {
        assertEquals(expected.dtype(), actual.dtype(), what + ": dtype");
        assertEquals(expected.shape(), actual.shape(), what + ": shape");
        if (expected.data().mismatch(actual.data()) < 0) return;
        long width = expected.dtype().byteSize();
        long first = -1;
        long count = 0;
        for (long i = 0; i < expected.numel(); i++) {
            boolean same = expected.data().asSlice(i * width, width).mismatch(actual.data().asSlice(i * width, width))
                    < 0;
            if (!same) {
                if (first < 0) first = i;
                count++;
            }
        }
        fail(what + ": " + count + " of " + expected.numel() + " elements differ; first at flat index " + first
                + ": expected " + show(expected, first) + ", found " + show(actual, first));
    }

    private static String show(Tensor t, long i) {
        return t.dtype().isFloatingPoint()
                ? t.getFloat(i) + " (bits 0x" + Long.toHexString(bits(t, i)) + ")"
                : Long.toString(t.getLong(i));
    }

    private static long bits(Tensor t, long i) {
        return switch (t.dtype().byteSize()) {
            case 2 -> t.data().getAtIndex(Tensor.I16, i) & 0xFFFFL;
            case 4 -> t.data().getAtIndex(Tensor.I32, i) & 0xFFFFFFFFL;
            default -> t.getByte(i) & 0xFFL;
        };
    }
}
