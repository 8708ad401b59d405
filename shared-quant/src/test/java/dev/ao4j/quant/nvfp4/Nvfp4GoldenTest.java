package dev.ao4j.quant.nvfp4;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
 * Every ok golden case of family nvfp4 (single- and two-level scaling, plain and swizzled scales, rand/edge/special
 * inputs, NVFP4WeightOnlyConfig) on both devices and with both kernels, bit for bit. The dynamic-activation config case failed in
 * torchao itself (needs sm100) and is not run.
 */
class Nvfp4GoldenTest {
    /** "device/case id" of cases we knowingly do not reproduce (none). */
    static final Set<String> KNOWN_DIFFERENCES = Set.of();

    @AutoClose
    private static final GoldenCases GOLDEN = GoldenCases.open("nvfp4", "mx_inputs");

    static Stream<GoldenCases.Case> cases() {
        return GoldenCases.cases("nvfp4").stream().filter(c -> c.status().equals("ok"));
    }

    @Test
    void onlyTheSm100ConfigFailedInTorchao() {
        List<String> failed = GoldenCases.cases("nvfp4").stream().filter(c -> !c.status().equals("ok"))
                .map(GoldenCases.Case::toString).toList();
        assertEquals(List.of("cpu/nvfp4.config.dynamic.rand_256x512", "cuda/nvfp4.config.dynamic.rand_256x512"),
                failed.stream().sorted().toList());
        assertEquals(26, cases().count());
    }

    static Stream<Arguments> casesAndKernels() {
        return cases().flatMap(c -> Stream.of(Kernel.values()).map(k -> Arguments.of(c, k)));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("casesAndKernels")
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
        boolean config = c.id().startsWith("nvfp4.config.");
        Tensor x = GOLDEN.input(config ? "rand_256x512" : c.param("input"));
        // NVFP4WeightOnlyConfig: dynamic per-tensor scale, swizzled scales
        boolean twoLevel = config || c.params().get("per_tensor_scale").asBoolean();
        boolean swizzled = config || c.params().get("swizzled").asBoolean();
        Tensor pts = twoLevel ? Nvfp4Quantizer.perTensorScale(x, c.divMode(), kernel) : null;
        Nvfp4Tensor t = Nvfp4Quantizer.quantize(x, pts, swizzled, c.divMode(), kernel);
        GOLDEN.assertOutput(c, "qdata", t.qdata());
        GOLDEN.assertOutput(c, "scale", t.scale());
        if (twoLevel) GOLDEN.assertOutput(c, "per_tensor_scale", t.perTensorScale());
        if (config) {
            GOLDEN.assertOutput(c, "dq", Nvfp4Quantizer.dequantize(t, DType.BF16, c.divMode()));
        } else {
            GOLDEN.assertOutput(c, "dq_f32", Nvfp4Quantizer.dequantize(t, DType.F32, c.divMode()));
            GOLDEN.assertOutput(c, "hp_scales", Nvfp4Quantizer.highPrecisionScales(t, c.divMode()));
        }
    }
}
