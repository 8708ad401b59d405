package dev.ao4j.quant.int4;

import static dev.ao4j.quant.golden.GoldenCases.assertBitEqual;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.golden.GoldenCases;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.tensor.Tensor;
import java.util.List;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@code prim.tinygemm.*}: torchao's tinygemm primitives on bf16 and f32 inputs, cpu and cuda conventions. */
class TinygemmGoldenTest {
    private static final String FILE = "tinygemm";
    @AutoClose
    private static final GoldenCases GOLDEN = GoldenCases.open(FILE);

    static List<GoldenCases.Case> cases() {
        return GoldenCases.cases(FILE, "prim.tinygemm.");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void chooseQParamsAndQuantizeMatchTorchao(GoldenCases.Case c) {
        Tensor x = GOLDEN.input(c.param("input"));
        TinygemmQParams qp = Tinygemm.chooseQParams(x, c.intParam("group_size"), c.divMode());
        assertBitEqual(GOLDEN.output(c, "scale"), qp.scale(), c + " scale");
        assertBitEqual(GOLDEN.output(c, "zero_point"), qp.zeroPoint(), c + " zero_point");
        assertBitEqual(GOLDEN.output(c, "q"), Tinygemm.quantize(x, qp), c + " q");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void dequantizeMatchesTorchao(GoldenCases.Case c) {
        Tensor scale = GOLDEN.output(c, "scale");
        TinygemmQParams qp = new TinygemmQParams(scale, GOLDEN.output(c, "zero_point"), c.intParam("group_size"));
        Tensor dq = Tinygemm.dequantize(GOLDEN.output(c, "q"), qp, scale.dtype());
        assertBitEqual(GOLDEN.output(c, "dq"), dq, c + " dq");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void fusedKernelsMatchTorchao(GoldenCases.Case c) {
        Tensor x = GOLDEN.input(c.param("input"));
        Tensor q = GOLDEN.output(c, "q");
        Tensor qAsU8 = Tensor.allocate(DType.U8, q.shape());
        for (long i = 0; i < q.numel(); i++) qAsU8.setLong(i, q.getLong(i));
        for (Kernel kernel : Kernel.values()) {
            Tinygemm.Quantized r = Tinygemm.quantizeWithQParams(x, c.intParam("group_size"), c.divMode(), kernel);
            assertBitEqual(GOLDEN.output(c, "scale"), r.qparams().scale(), c + " " + kernel + " scale");
            assertBitEqual(GOLDEN.output(c, "zero_point"), r.qparams().zeroPoint(),
                    c + " " + kernel + " zero_point");
            assertBitEqual(qAsU8, r.codes(), c + " " + kernel + " codes");
        }
    }
}
