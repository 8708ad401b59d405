package dev.ao4j.quant.int4;

import static dev.ao4j.quant.int4.Int4Golden.assertBitEqual;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.safetensors.SafetensorsFile;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@code prim.tinygemm.*}: torchao's tinygemm primitives on bf16 and f32 inputs, cpu and cuda conventions. */
class TinygemmGoldenTest {
    private static final String FILE = "tinygemm";
    private static SafetensorsFile golden;

    @BeforeAll
    static void open() {
        golden = Int4Golden.open(FILE);
    }

    @AfterAll
    static void close() {
        golden.close();
    }

    static List<Int4Golden.Case> cases() {
        return Int4Golden.cases(FILE, "prim.tinygemm.");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void chooseQParamsAndQuantizeMatchTorchao(Int4Golden.Case c) {
        Tensor x = golden.tensor("input/" + c.input());
        TinygemmQParams qp = Tinygemm.chooseQParams(x, c.groupSize(), c.divMode());
        assertBitEqual(golden.tensor(c.outputName("scale")), qp.scale(), c + " scale");
        assertBitEqual(golden.tensor(c.outputName("zero_point")), qp.zeroPoint(), c + " zero_point");
        assertBitEqual(golden.tensor(c.outputName("q")), Tinygemm.quantize(x, qp), c + " q");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void dequantizeMatchesTorchao(Int4Golden.Case c) {
        Tensor scale = golden.tensor(c.outputName("scale"));
        TinygemmQParams qp = new TinygemmQParams(scale, golden.tensor(c.outputName("zero_point")), c.groupSize());
        Tensor dq = Tinygemm.dequantize(golden.tensor(c.outputName("q")), qp, scale.dtype());
        assertBitEqual(golden.tensor(c.outputName("dq")), dq, c + " dq");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void fusedKernelsMatchTorchao(Int4Golden.Case c) {
        Tensor x = golden.tensor("input/" + c.input());
        Tensor q = golden.tensor(c.outputName("q"));
        Tensor qAsU8 = Tensor.allocate(DType.U8, q.shape());
        for (long i = 0; i < q.numel(); i++) qAsU8.setLong(i, q.getLong(i));
        for (Kernel kernel : Kernel.values()) {
            Tinygemm.Quantized r = Tinygemm.quantizeWithQParams(x, c.groupSize(), c.divMode(), kernel);
            assertBitEqual(golden.tensor(c.outputName("scale")), r.qparams().scale(), c + " " + kernel + " scale");
            assertBitEqual(golden.tensor(c.outputName("zero_point")), r.qparams().zeroPoint(),
                    c + " " + kernel + " zero_point");
            assertBitEqual(qAsU8, r.codes(), c + " " + kernel + " codes");
        }
    }
}
