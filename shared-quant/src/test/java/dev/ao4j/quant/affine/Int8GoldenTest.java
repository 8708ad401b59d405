package dev.ao4j.quant.affine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.ao4j.quant.config.Granularity;
import dev.ao4j.quant.config.MappingType;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.golden.GoldenCases;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.qtensor.Int8Tensor;
import dev.ao4j.quant.tensor.Tensor;
import java.util.stream.Stream;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Golden family {@code int8}: Int8WeightOnlyConfig ({@code int8.wo.*}: PerRow, PerTensor, PerGroup(128)) and
 * Int8DynamicActivationInt8WeightConfig ({@code int8.dq.*}: PerRow, PerTensor, with the activation act_8x512
 * quantized by the weight's activation kwargs), on rand_256x512 and edge_64x512, both devices, both kernels.
 */
class Int8GoldenTest {
    @AutoClose
    private static final GoldenCases GOLDEN = GoldenCases.open("int8", "affine_inputs");

    static Stream<Arguments> cases() {
        return GoldenCases.cases("int8").stream().flatMap(c -> Stream.of(Kernel.values()).map(k -> Arguments.of(c, k)));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void matchesTorchao(GoldenCases.Case c, Kernel kernel) {
        String[] id = c.id().split("\\.");
        boolean dynamic = switch (id[1]) {
            case "wo" -> false;
            case "dq" -> true;
            default -> throw new IllegalArgumentException("unknown int8 case kind " + c.id());
        };
        Granularity g = switch (id[id.length - 1]) {
            case "row" -> new Granularity.PerRow();
            case "tensor" -> new Granularity.PerTensor();
            case "g128" -> new Granularity.PerGroup(128);
            default -> throw new IllegalArgumentException("unknown granularity in " + c.id());
        };
        var act = dynamic ? new Int8Tensor.ActivationQuant(g, MappingType.SYMMETRIC, false) : null;
        Tensor w = GOLDEN.input(c.param("input"));

        Int8Tensor t = Int8Quantizer.weight(w, g, act, false, c.divMode(), kernel);
        // the generator recorded torchao's attribute as its Python repr, e.g. "[1, 512]"
        assertEquals(c.info().get("weight").get("block_size").asString(), t.blockSize().toString(), "block_size");
        assertEquals(DType.BF16, t.originalDtype());
        GOLDEN.assertOutput(c, "qdata", t.qdata());
        GOLDEN.assertOutput(c, "scale", t.scale());
        GOLDEN.assertOutput(c, "zero_point", t.zeroPoint());
        GOLDEN.assertOutput(c, "dq", Int8Quantizer.dequantize(t));

        if (dynamic) {
            Int8Tensor a = Int8Quantizer.activation(GOLDEN.input("act_8x512"), t.activationQuant(), c.divMode(), kernel);
            GOLDEN.assertOutput(c, "act_qdata", a.qdata());
            GOLDEN.assertOutput(c, "act_scale", a.scale());
            GOLDEN.assertOutput(c, "act_zero_point", a.zeroPoint());
        } else {
            assertNull(t.activationQuant());
        }
    }
}
