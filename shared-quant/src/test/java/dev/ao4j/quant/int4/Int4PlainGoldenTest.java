package dev.ao4j.quant.int4;

import static dev.ao4j.quant.int4.Int4Golden.assertBitEqual;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.qtensor.Int4Tensor;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.safetensors.SafetensorsFile;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code int4.plain_reimpl.*}: the plain Int4Tensor layout against the generator's re-implementation of MSLK's
 * {@code int4_row_quantize_zp + pack_int4} (torchao itself could not run without MSLK), cpu and cuda conventions.
 */
class Int4PlainGoldenTest {
    private static final String FILE = "int4";
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
        return Int4Golden.cases(FILE, "int4.plain_reimpl.");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void quantizeMatchesGoldenWithEveryKernel(Int4Golden.Case c) {
        Tensor w = golden.tensor("input/" + c.input());
        for (Kernel kernel : Kernel.values()) {
            Int4Tensor t = Int4Plain.quantize(w, c.groupSize(), c.divMode(), kernel);
            assertBitEqual(golden.tensor(c.outputName("qdata")), t.qdata(), c + " " + kernel + " qdata");
            assertBitEqual(golden.tensor(c.outputName("scale")), t.scale(), c + " " + kernel + " scale");
            assertBitEqual(golden.tensor(c.outputName("zero_point")), t.zeroPoint(),
                    c + " " + kernel + " zero_point");
            assertEquals(w.shape(), t.shape());
            assertEquals(Shape.of(1, c.groupSize()), t.blockSize());
            assertEquals(DType.BF16, t.activationDtype());
            assertEquals(DType.BF16, t.originalDtype());
        }
    }
}
