package dev.ao4j.quant.int4;

import static dev.ao4j.quant.golden.GoldenCases.assertBitEqual;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.golden.GoldenCases;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.qtensor.Int4Tensor;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.util.List;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code int4.plain_reimpl.*}: the plain Int4Tensor layout against the generator's re-implementation of MSLK's
 * {@code int4_row_quantize_zp + pack_int4} (torchao itself could not run without MSLK), cpu and cuda conventions.
 */
class Int4PlainGoldenTest {
    private static final String FILE = "int4";
    @AutoClose
    private static final GoldenCases GOLDEN = GoldenCases.open(FILE);

    static List<GoldenCases.Case> cases() {
        return GoldenCases.cases(FILE, "int4.plain_reimpl.");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void quantizeMatchesGoldenWithEveryKernel(GoldenCases.Case c) {
        Tensor w = GOLDEN.input(c.param("input"));
        for (Kernel kernel : Kernel.values()) {
            Int4Tensor t = Int4Plain.quantize(w, c.intParam("group_size"), c.divMode(), kernel);
            assertBitEqual(GOLDEN.output(c, "qdata"), t.qdata(), c + " " + kernel + " qdata");
            assertBitEqual(GOLDEN.output(c, "scale"), t.scale(), c + " " + kernel + " scale");
            assertBitEqual(GOLDEN.output(c, "zero_point"), t.zeroPoint(),
                    c + " " + kernel + " zero_point");
            assertEquals(w.shape(), t.shape());
            assertEquals(Shape.of(1, c.intParam("group_size")), t.blockSize());
            assertEquals(DType.BF16, t.activationDtype());
            assertEquals(DType.BF16, t.originalDtype());
        }
    }
}
