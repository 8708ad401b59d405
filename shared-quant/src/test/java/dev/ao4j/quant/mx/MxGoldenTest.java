package dev.ao4j.quant.mx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.golden.GoldenCases;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.tensor.Tensor;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every ok golden case of family mx (to_mx for 5 element formats × 4 scaling modes × rand/edge/special inputs,
 * swizzled weights, the MXDynamicActivationMXWeightConfig weights) on both devices, bit for bit: scales, codes,
 * dequantized values. Deliberate deviations would be listed in {@link #KNOWN_DIFFERENCES}; a listed case that
 * passes fails the test.
 */
class MxGoldenTest {
    /** "device/case id" of cases we knowingly do not reproduce (none). */
    static final Set<String> KNOWN_DIFFERENCES = Set.of();

    @AutoClose
    private static final GoldenCases GOLDEN = GoldenCases.open("mx", "mx_inputs");

    static Stream<Arguments> cases() {
        return GoldenCases.cases("mx").stream().filter(c -> c.status().equals("ok"))
                .flatMap(c -> Stream.of(Kernel.values()).map(k -> Arguments.of(c, k)));
    }

    @Test
    void everyCaseIsOkOnBothDevices() {
        List<GoldenCases.Case> all = GoldenCases.cases("mx");
        assertEquals(132, all.size());
        assertTrue(all.stream().allMatch(c -> c.status().equals("ok")));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void matchesTorchao(GoldenCases.Case c, Kernel kernel) {
        boolean known = KNOWN_DIFFERENCES.contains(c.toString());
        try {
            check(c, kernel);
        } catch (AssertionError e) {
            if (known) return;
            throw e;
        }
        if (known) fail(c + " is listed in KNOWN_DIFFERENCES but now matches torchao; remove it from the list");
    }

    private static void check(GoldenCases.Case c, Kernel kernel) {
        String[] parts = c.id().split("\\.");
        switch (parts[1]) {
            case "to_mx" -> {
                Tensor x = GOLDEN.input(c.param("input"));
                MxElement elem = MxElement.fromId(c.param("elem"));
                ScalingMode scaling = ScalingMode.valueOf(c.param("scaling_mode"));
                MxTensor t = MxQuantizer.quantize(x, elem, scaling, false, c.divMode(), kernel);
                GOLDEN.assertOutput(c, "scale_e8m0", t.scale());
                GOLDEN.assertOutput(c, "qdata", as(t.qdata(), c, "qdata"));
                GOLDEN.assertOutput(c, "dq_f32", MxQuantizer.dequantize(t, DType.F32, c.divMode()));
                if (c.outputs().containsKey("dq_bf16")) {
                    GOLDEN.assertOutput(c, "dq_bf16", MxQuantizer.dequantize(t, DType.BF16, c.divMode()));
                }
            }
            case "swizzled" -> {
                Tensor x = GOLDEN.input("rand_256x512");
                MxElement elem = MxElement.fromId(c.param("elem"));
                MxTensor t = MxQuantizer.quantize(x, elem, ScalingMode.valueOf(c.param("scaling_mode")), true,
                        c.divMode(), kernel);
                GOLDEN.assertOutput(c, "qdata", as(t.qdata(), c, "qdata"));
                GOLDEN.assertOutput(c, "scale", t.scale());
                GOLDEN.assertOutput(c, "scale_unswizzled_reference", MxQuantizer.plainScale(t));
                GOLDEN.assertOutput(c, "dq", MxQuantizer.dequantize(t, DType.F32, c.divMode()));
            }
            case "config" -> {
                // MXDynamicActivationMXWeightConfig: RCEIL, swizzled weight scales, dequantized to the bf16 weight
                Tensor x = GOLDEN.input("rand_256x512");
                MxElement elem = parts[2].equals("mxfp4") ? MxElement.FP4_E2M1 : MxElement.FP8_E4M3;
                MxTensor t = MxQuantizer.quantize(x, elem, ScalingMode.RCEIL, true, c.divMode(), kernel);
                GOLDEN.assertOutput(c, "qdata", as(t.qdata(), c, "qdata"));
                GOLDEN.assertOutput(c, "scale", t.scale());
                GOLDEN.assertOutput(c, "dq", MxQuantizer.dequantize(t, t.originalDtype(), c.divMode()));
            }
            default -> throw new AssertionError("unknown mx case kind " + c.id());
        }
    }

    /** The torch dtype golden records for fp6/fp4 qdata is uint8, which is what we store too. */
    private static Tensor as(Tensor t, GoldenCases.Case c, String name) {
        assertEquals(c.outputs().get(name).dtype(), t.dtype(), c + " " + name + " dtype");
        return t;
    }
}
