package dev.ao4j.quant.int4;

import static dev.ao4j.quant.golden.GoldenCases.assertBitEqual;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ao4j.quant.golden.GoldenCases;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.qtensor.Int4TilePackedTo4dTensor;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code int4.tile_packed_tinygemm.*}: real torchao 0.18 output on CUDA (the layout only exists there), so the
 * cuda division convention. Both resource files: {@code int4} (qdata, scale_and_zero) and {@code int4_tile_dq}
 * (the same plus the kernel's own dequantization, {@code _weight_int4pack_mm} against an identity matrix).
 */
class Int4TilePackedGoldenTest {

    static List<GoldenCases.Case> cases() {
        List<GoldenCases.Case> all = new ArrayList<>(GoldenCases.cases("int4", "int4.tile_packed_tinygemm."));
        all.addAll(GoldenCases.cases("int4_tile_dq", "int4.tile_packed_tinygemm."));
        return all;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void quantizeMatchesTorchaoWithEveryKernel(GoldenCases.Case c) {
        assertEquals(DivMode.CUDA_RECIPROCAL, c.divMode());
        try (GoldenCases golden = GoldenCases.open(c.file())) {
            Tensor w = golden.input(c.param("input"));
            for (Kernel kernel : Kernel.values()) {
                Int4TilePackedTo4dTensor t = Int4TilePacked.quantize(w, c.intParam("group_size"), c.divMode(), kernel);
                assertBitEqual(golden.output(c, "qdata"), t.qdata(), c + " " + kernel + " qdata");
                assertBitEqual(golden.output(c, "scale_and_zero"), t.scaleAndZero(),
                        c + " " + kernel + " scale_and_zero");
                assertEquals(w.shape(), t.shape());
                assertEquals(Shape.of(1, c.intParam("group_size")), t.blockSize());
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void unpackThenRepackReproducesTorchaoQdata(GoldenCases.Case c) {
        try (GoldenCases golden = GoldenCases.open(c.file())) {
            Tensor qdata = golden.output(c, "qdata");
            Tensor codes = Int4TilePacked.unpackCodes(qdata);
            Tensor repacked = Int4TilePacked.convertWeightToInt4Pack(Int4TilePacked.prepack(codes),
                    Int4TilePacked.INNER_K_TILES);
            assertBitEqual(qdata, repacked, c + " repacked qdata");
        }
    }

    @Test
    void dequantizeMatchesTheTinygemmKernel() {
        try (GoldenCases golden = GoldenCases.open("int4_tile_dq")) {
            for (GoldenCases.Case c : GoldenCases.cases("int4_tile_dq", "int4.tile_packed_tinygemm.")) {
                Tensor w = golden.input(c.param("input"));
                var t = new Int4TilePackedTo4dTensor(golden.output(c, "qdata"),
                        golden.output(c, "scale_and_zero"), Shape.of(1, c.intParam("group_size")), w.shape());
                assertBitEqual(golden.output(c, "dq_via_int4pack_mm"), Int4TilePacked.dequantize(t),
                        c + " dequantize");
            }
        }
    }
}
