package dev.ao4j.quant.affine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ao4j.quant.config.Granularity;
import dev.ao4j.quant.config.MappingType;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.golden.GoldenCases;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.qtensor.Int8Tensor;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.util.stream.Stream;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.JsonNode;

/**
 * Every golden {@code prim.affine.*} case (choose_qparams_affine / quantize_affine / dequantize_affine with torchao's
 * defaults: inputs rand_128x256 bf16 and f32, edge_64x512; int8, int4, uint8, uint4; three mappings; per-tensor,
 * per-row, g32, g128) and every {@code prim.int8tensor_style.*} case, on both devices and with both kernels.
 */
class AffineGoldenTest {
    @AutoClose
    private static final GoldenCases GOLDEN = GoldenCases.open("affine", "affine_inputs");

    static Stream<Arguments> primAffine() {
        return GoldenCases.cases("affine").stream().filter(c -> c.id().startsWith("prim.affine."))
                .flatMap(c -> Stream.of(Kernel.values()).map(k -> Arguments.of(c, k)));
    }

    static Stream<Arguments> int8TensorStyle() {
        return GoldenCases.cases("affine").stream().filter(c -> c.id().startsWith("prim.int8tensor_style."))
                .flatMap(c -> Stream.of(Kernel.values()).map(k -> Arguments.of(c, k)));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("primAffine")
    void primAffineMatchesTorchao(GoldenCases.Case c, Kernel kernel) {
        Tensor x = GOLDEN.input(c.param("input"));
        MappingType mapping = MappingType.valueOf(c.param("mapping"));
        Shape blockSize = shape(c.params().get("block_size"));
        JsonNode qr = c.params().get("qrange");
        QuantRange range = new QuantRange(qr.get(0).asInt(), qr.get(1).asInt());
        DType container = DType.fromTorch(c.param("container"));

        QParams qp = AffineQuantization.chooseQParams(x, mapping, blockSize, range, c.divMode(), kernel);
        GOLDEN.assertOutput(c, "scale", qp.scale());
        GOLDEN.assertOutput(c, "zero_point", qp.zeroPoint());
        Tensor q = AffineQuantization.quantize(x, blockSize, qp.scale(), qp.zeroPoint(), range, container, kernel);
        GOLDEN.assertOutput(c, "q", q);
        Tensor dq = AffineQuantization.dequantize(q, blockSize, qp.scale(), qp.zeroPoint(), x.dtype());
        GOLDEN.assertOutput(c, "dq", dq);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("int8TensorStyle")
    void int8TensorStyleMatchesTorchao(GoldenCases.Case c, Kernel kernel) {
        Tensor x = GOLDEN.input(c.param("input"));
        Shape blockSize = shape(c.params().get("block_size"));
        Granularity g = blockSize.equals(x.shape()) ? new Granularity.PerTensor()
                : blockSize.dim(1) == x.shape().dim(1) ? new Granularity.PerRow()
                : new Granularity.PerGroup((int) blockSize.dim(1));

        Int8Tensor t = Int8Quantizer.weight(x, g, null, false, c.divMode(), kernel);
        assertEquals(blockSize, t.blockSize(), c + " block size");
        GOLDEN.assertOutput(c, "scale", t.scale());
        GOLDEN.assertOutput(c, "zero_point", t.zeroPoint());
        GOLDEN.assertOutput(c, "q", t.qdata());
        GOLDEN.assertOutput(c, "dq", Int8Quantizer.dequantize(t));
    }

    static Shape shape(JsonNode dims) {
        long[] d = new long[dims.size()];
        for (int i = 0; i < d.length; i++) d[i] = dims.get(i).asLong();
        return Shape.of(d);
    }
}
