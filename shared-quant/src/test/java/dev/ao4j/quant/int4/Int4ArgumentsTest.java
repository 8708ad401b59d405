package dev.ao4j.quant.int4;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** Rejected inputs name what was expected and what was found. */
class Int4ArgumentsTest {
    private static final DivMode CUDA = DivMode.CUDA_RECIPROCAL;

    @Test
    void plainRejectsBadGroupDtypeRankAndOddK() {
        var e = assertThrows(InvalidConfigException.class,
                () -> Int4Plain.quantize(Tensor.allocate(DType.BF16, Shape.of(4, 96)), 64, CUDA));
        assertTrue(e.getMessage().contains("96") && e.getMessage().contains("found 64"), e.getMessage());
        var d = assertThrows(UnsupportedFormatException.class,
                () -> Int4Plain.quantize(Tensor.allocate(DType.I8, Shape.of(4, 64)), 32, CUDA));
        assertTrue(d.getMessage().contains("found int8"), d.getMessage());
        var r = assertThrows(UnsupportedFormatException.class,
                () -> Int4Plain.quantize(Tensor.allocate(DType.BF16, Shape.of(64)), 32, CUDA));
        assertTrue(r.getMessage().contains("rank-2 or 3") && r.getMessage().contains("[64]"), r.getMessage());
        var o = assertThrows(UnsupportedFormatException.class,
                () -> Int4Plain.quantize(Tensor.allocate(DType.BF16, Shape.of(2, 7)), 7, CUDA));
        assertTrue(o.getMessage().contains("even"), o.getMessage());
    }

    @Test
    void tilePackedRejectsNonBf16AndUnsupportedGroupSizes() {
        var d = assertThrows(UnsupportedFormatException.class,
                () -> Int4TilePacked.quantize(Tensor.allocate(DType.F16, Shape.of(8, 128)), 32, CUDA));
        assertTrue(d.getMessage().contains("[bfloat16]") && d.getMessage().contains("found float16"), d.getMessage());
        var g = assertThrows(InvalidConfigException.class,
                () -> Int4TilePacked.quantize(Tensor.allocate(DType.BF16, Shape.of(8, 128)), 16, CUDA));
        assertTrue(g.getMessage().contains("found 16"), g.getMessage());
        assertThrows(UnsupportedFormatException.class,
                () -> Int4TilePacked.quantize(Tensor.allocate(DType.BF16, Shape.of(2, 8, 128)), 32, CUDA));
    }

    @Test
    void packingRejectsBadShapesAndCodes() {
        assertThrows(UnsupportedFormatException.class,
                () -> Int4TilePacked.convertWeightToInt4Pack(Tensor.allocate(DType.U8, Shape.of(8, 32)), 8));
        assertThrows(InvalidConfigException.class,
                () -> Int4TilePacked.convertWeightToInt4Pack(Tensor.allocate(DType.U8, Shape.of(8, 64)), 3));
        Tensor codes = Tensor.allocate(DType.I32, Shape.of(1, 2));
        codes.setLong(1, 16);
        var e = assertThrows(UnsupportedFormatException.class, () -> Int4TilePacked.prepack(codes));
        assertTrue(e.getMessage().contains("16"), e.getMessage());
    }

    @Test
    void tinygemmChecksQParamsShapeAndRange() {
        Tensor x = Tensor.allocate(DType.BF16, Shape.of(2, 64));
        TinygemmQParams qp = Tinygemm.chooseQParams(x, 32, CUDA);
        assertEquals(Shape.of(2, 2), qp.scale().shape());
        TinygemmQParams wrong = new TinygemmQParams(qp.scale(), qp.zeroPoint(), 16);
        var e = assertThrows(IllegalArgumentException.class, () -> Tinygemm.quantize(x, wrong));
        assertTrue(e.getMessage().contains("[2, 4]") && e.getMessage().contains("[2, 2]"), e.getMessage());
        assertThrows(InvalidConfigException.class, () -> Tinygemm.chooseQParams(x, 32, 5, 5, 1e-6f, CUDA));
    }

    @Test
    void tinygemmAllZeroGroupGetsEpsScale() {
        for (DType dt : new DType[] {DType.BF16, DType.F16, DType.F32}) {
            Tensor x = Tensor.allocate(dt, Shape.of(1, 32));
            TinygemmQParams qp = Tinygemm.chooseQParams(x, 32, CUDA);
            float eps = Tinygemm.defaultEps(dt);
            assertEquals(eps, qp.scale().getFloat(0), dt.toString());
            assertEquals(8 * eps, qp.zeroPoint().getFloat(0), dt.toString());
            assertEquals(0, Tinygemm.quantize(x, qp).getLong(5));
        }
    }
}
