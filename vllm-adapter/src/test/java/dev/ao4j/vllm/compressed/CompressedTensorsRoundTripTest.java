package dev.ao4j.vllm.compressed;

import dev.ao4j.quant.pipeline.FusedGroups;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.pipeline.QuantReport;
import dev.ao4j.quant.pipeline.Sqnr;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.safetensors.ShardedCheckpoint;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * bf16 tiny GQA Llama → package → reader, for every scheme: the reader recovers exactly the codes, scales and zero
 * points the quantizer produces for the source weight, every Linear but lm_head is quantized, and the dequantized
 * weights stay within a per-format SQNR bound.
 */
class CompressedTensorsRoundTripTest {
    static final Path MODEL = Path.of("../models/ao4j-tiny-llama");

    @TempDir
    Path tmp;

    static Stream<Arguments> schemes() {
        return Stream.of(
                Arguments.of("w4a16-g32", 19.0), Arguments.of("w4a16-g64", 18.5), Arguments.of("w4a16-g128", 18.5),
                Arguments.of("w4a16-channel", 17.5), Arguments.of("w4a16-g32-asym", 19.0),
                Arguments.of("w4a16-g64-asym", 18.5), Arguments.of("w4a16-g128-asym", 18.5),
                Arguments.of("w4a16-channel-asym", 17.5), Arguments.of("w8a16-g128", 41.0),
                Arguments.of("w8a16-channel", 41.0), Arguments.of("w8a16-g32-asym", 41.0),
                Arguments.of("w8a16-channel-asym", 41.0), Arguments.of("w8a8", 41.0), Arguments.of("fp8", 30.0),
                Arguments.of("fp8-dynamic", 30.0), Arguments.of("fp8-block", 30.0), Arguments.of("nvfp4a16", 18.5),
                Arguments.of("mxfp4a16", 17.5));
    }

    @ParameterizedTest
    @MethodSource("schemes")
    void packageRoundTrips(String schemeName, double minSqnrDb) {
        CompressedTensorsScheme scheme = CompressedTensorsScheme.parse(schemeName);
        assertEquals(schemeName, scheme.cliName());
        Path out = tmp.resolve("pkg");
        QuantReport report = CompressedTensorsPackager.write(MODEL, out, CompressedTensorsPackager.Options.of(scheme));
        assertEquals(28, report.quantizedCount(), "4 layers x 7 Linear");

        CtQuantizer quantizer = new CtQuantizer(scheme, DivMode.defaultMode());
        try (CompressedTensorsReader r = CompressedTensorsReader.open(out);
             ShardedCheckpoint src = ShardedCheckpoint.open(MODEL)) {
            assertEquals(scheme, r.scheme());
            assertEquals(List.of("lm_head"), r.quantizationConfig().ignore());
            assertEquals(28, r.linears().size());
            assertTrue(r.storedNames().contains("lm_head.weight"));
            assertTrue(r.storedNames().contains("model.embed_tokens.weight"));
            for (String m : r.linears()) {
                assertFalse(r.storedNames().contains(m + ".weight") && m.endsWith("_proj")
                        && (scheme.preset().format().contains("pack")), m + ".weight left beside the packed weight");
                Tensor w = src.tensor(m + ".weight");
                float groupAmax = Float.NaN;
                if (quantizer.sharesGroupScale()) {
                    String key = FusedGroups.keyOf(m + ".weight");
                    if (key != null) {
                        groupAmax = 0f;
                        for (String member : FusedGroups.of(src.names()).get(key)) {
                            groupAmax = Math.max(groupAmax, Fp4Rtn.amax(src.tensor(member)));
                        }
                    }
                }
                CompressedLinear expected = quantizer.quantize(w, groupAmax);
                CompressedLinear actual = r.linear(m);
                assertSameNumbers(m, expected, actual);
                Tensor deq = r.tensor(m + ".weight", DType.F32);
                double sqnr = Sqnr.db(w, deq);
                assertTrue(sqnr >= minSqnrDb, m + " SQNR " + sqnr + " dB < " + minSqnrDb);
            }
        }
    }

    static void assertSameNumbers(String m, CompressedLinear expected, CompressedLinear actual) {
        assertEquals(expected.getClass(), actual.getClass(), m);
        assertEquals(expected.shape(), actual.shape(), m);
        Map<String, Tensor> e = expected.stored();
        Map<String, Tensor> a = actual.stored();
        assertEquals(e.keySet(), a.keySet(), m);
        for (String k : e.keySet()) {
            assertEquals(e.get(k).dtype(), a.get(k).dtype(), m + "." + k);
            assertEquals(e.get(k).shape(), a.get(k).shape(), m + "." + k);
            assertTrue(e.get(k).contentEquals(a.get(k)), m + "." + k + " differs");
        }
        switch (expected) {
            case CompressedLinear.PackedInt p -> {
                CompressedLinear.PackedInt q = (CompressedLinear.PackedInt) actual;
                assertTrue(p.codes().contentEquals(q.codes()), m + " codes");
                if (p.zeroPoint() == null) assertNull(q.zeroPoint());
                else assertTrue(p.zeroPoint().contentEquals(q.zeroPoint()), m + " zero points");
            }
            case CompressedLinear.Nvfp4 p -> {
                assertTrue(p.codes().contentEquals(((CompressedLinear.Nvfp4) actual).codes()), m + " codes");
                assertEquals(p.globalScale(), ((CompressedLinear.Nvfp4) actual).globalScale(), m);
            }
            case CompressedLinear.Mxfp4 p ->
                    assertTrue(p.codes().contentEquals(((CompressedLinear.Mxfp4) actual).codes()), m + " codes");
            default -> { }
        }
    }
}
