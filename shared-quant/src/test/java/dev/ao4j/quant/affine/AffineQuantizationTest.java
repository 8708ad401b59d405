package dev.ao4j.quant.affine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.quant.config.MappingType;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.numerics.TorchOps;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

/** Hand-checked values for the rules of torchao-numerics §0/§1, and the argument checks. */
class AffineQuantizationTest {

    @ParameterizedTest
    @EnumSource(Kernel.class)
    void bf16ProductIsRoundedBeforeRne(Kernel kernel) {
        // R6: 31 * bf16(1/0.8984375) = 31 * 1.109375 = 34.390625 -> bf16 34.5 -> rne 34; with an f32 scale the
        // product 31 * f32(1/0.8984375) = 34.504... rounds to 35.
        Tensor x = tensor(DType.BF16, Shape.of(1, 1), 31f);
        Tensor bf16Scale = tensor(DType.BF16, Shape.of(1, 1), 0.8984375f);
        Tensor f32Scale = tensor(DType.F32, Shape.of(1, 1), 0.8984375f);
        Shape block = Shape.of(1, 1);
        assertEquals(34, AffineQuantization.quantize(x, block, bf16Scale, null, QuantRange.int8(), DType.I8, kernel)
                .getLong(0));
        assertEquals(35, AffineQuantization.quantize(x, block, f32Scale, null, QuantRange.int8(), DType.I8, kernel)
                .getLong(0));
    }

    @ParameterizedTest
    @EnumSource(DivMode.class)
    void symmetricDivisorIsHalfTheRangeSoBothEndsAreUsed(DivMode mode) {
        // int4: scale = 7.5 / 7.5 = 1; +7.5 -> rne(7.5) = 8 -> clamp 7, -7.5 -> -8: the range is used asymmetrically.
        Tensor x = tensor(DType.BF16, Shape.of(1, 4), 7.5f, -7.5f, 2.5f, 0f);
        QParams qp = AffineQuantization.chooseQParams(x, MappingType.SYMMETRIC, Shape.of(1, 4),
                QuantRange.signedBits(4), mode, Kernel.REFERENCE);
        assertEquals(1f, qp.scale().getFloat(0));
        assertEquals(0, qp.zeroPoint().getLong(0));
        Tensor q = AffineQuantization.quantize(x, Shape.of(1, 4), qp.scale(), qp.zeroPoint(), QuantRange.signedBits(4),
                DType.I8, Kernel.REFERENCE);
        assertArrayEquals(new long[] {7, -8, 2, 0}, longs(q)); // 2.5 ties to even
    }

    @Test
    void pythonScalarDivisionDependsOnTheDevice() {
        // R2: f32 0x3f58f16b / 127.5 is 0x3bd9cb36 as a true division (CPU) and 0x3bd9cb37 as a multiplication
        // by f32(1/127.5) (CUDA).
        Tensor x = tensor(DType.F32, Shape.of(1, 1), Float.intBitsToFloat(0x3f58f16b));
        Shape block = Shape.of(1, 1);
        QParams cpu = AffineQuantization.chooseQParams(x, MappingType.SYMMETRIC, block, QuantRange.int8(),
                DivMode.TRUE_DIV, Kernel.REFERENCE);
        QParams cuda = AffineQuantization.chooseQParams(x, MappingType.SYMMETRIC, block, QuantRange.int8(),
                DivMode.CUDA_RECIPROCAL, Kernel.REFERENCE);
        assertEquals(0x3bd9cb36, Float.floatToRawIntBits(cpu.scale().getFloat(0)));
        assertEquals(0x3bd9cb37, Float.floatToRawIntBits(cuda.scale().getFloat(0)));
    }

    @Test
    void asymmetricZeroPointComesFromTheRoundedScale() {
        // uint8, row [-1, 3]: scale = bf16(4 / 255) = 0.0157470703125; -1 / scale = -63.50 -> bf16 -63.5 -> rne -64;
        // zp = 0 - (-64) = 64. Quantize: inv = bf16(63.50) = 63.5; 3 * 63.5 = 190.5, a tie that rne sends to 190,
        // so the maximum lands on 254, not 255.
        Tensor x = tensor(DType.BF16, Shape.of(1, 2), -1f, 3f);
        QParams qp = AffineQuantization.chooseQParams(x, MappingType.ASYMMETRIC, Shape.of(1, 2), QuantRange.uint8(),
                DivMode.CUDA_RECIPROCAL, Kernel.REFERENCE);
        assertEquals(0.0157470703125f, qp.scale().getFloat(0));
        assertEquals(64, qp.zeroPoint().getLong(0));
        Tensor q = AffineQuantization.quantize(x, Shape.of(1, 2), qp.scale(), qp.zeroPoint(), QuantRange.uint8(),
                DType.U8, Kernel.VECTOR);
        assertArrayEquals(new long[] {0, 254}, longs(q));
    }

    @ParameterizedTest
    @EnumSource(MappingType.class)
    void allZeroBlockGetsEpsScale(MappingType mapping) {
        Tensor x = Tensor.allocate(DType.BF16, Shape.of(2, 8));
        QParams qp = AffineQuantization.chooseQParams(x, mapping, Shape.of(1, 8), QuantRange.int8(),
                DivMode.CUDA_RECIPROCAL, Kernel.VECTOR);
        assertEquals(0x1p-126f, qp.scale().getFloat(1));
        assertEquals(mapping == MappingType.ASYMMETRIC ? -128 : 0, qp.zeroPoint().getLong(1));
        assertEquals(Shape.of(2), qp.scale().shape()); // keepdim=False drops the reduced dim
    }

    @Test
    void nanPoisonsItsBlockOnly() {
        Tensor x = tensor(DType.BF16, Shape.of(2, 2), Float.NaN, 1f, 0.5f, 1f);
        QParams qp = AffineQuantization.chooseQParams(x, MappingType.SYMMETRIC, Shape.of(1, 2), QuantRange.int8(),
                DivMode.TRUE_DIV, Kernel.REFERENCE);
        assertTrue(Float.isNaN(qp.scale().getFloat(0)));
        Tensor q = AffineQuantization.quantize(x, Shape.of(1, 2), qp.scale(), qp.zeroPoint(), QuantRange.int8(),
                DType.I8, Kernel.REFERENCE);
        assertArrayEquals(new long[] {0, 0, 64, 127}, longs(q)); // NaN casts to 0; row 1: 0.5 * 127.5 -> 63.75 -> 64
    }

    @Test
    void dequantizeSubtractsZeroPointThenScales() {
        Tensor q = Tensor.allocate(DType.U8, Shape.of(1, 3));
        q.setLong(0, 0);
        q.setLong(1, 64);
        q.setLong(2, 255);
        Tensor scale = tensor(DType.BF16, Shape.of(1, 1), 0.0157470703125f);
        Tensor zp = Tensor.allocate(DType.I32, Shape.of(1, 1));
        zp.setLong(0, 64);
        Tensor dq = AffineQuantization.dequantize(q, Shape.of(1, 3), scale, zp, DType.F32);
        assertArrayEquals(new float[] {-64 * 0.0157470703125f, 0f, 191 * 0.0157470703125f}, floats(dq));
    }

    @Test
    void rankThreeBlocksAreNumberedRowMajorOverTheGrid() {
        // x [2, 3, 4], block [2, 1, 4]: one block per index of dim 1; block b holds values around b + 1.
        Tensor x = Tensor.allocate(DType.F32, Shape.of(2, 3, 4));
        for (int i = 0; i < 2; i++) {
            for (int j = 0; j < 3; j++) {
                for (int k = 0; k < 4; k++) x.setFloat((i * 3 + j) * 4L + k, (j + 1) * (k == 3 && i == 1 ? 1f : 0.5f));
            }
        }
        QParams qp = AffineQuantization.chooseQParams(x, MappingType.SYMMETRIC, Shape.of(2, 1, 4), QuantRange.int8(),
                QParamsOptions.torchDefaults(DType.F32).withKeepdim(true), DivMode.TRUE_DIV, Kernel.VECTOR);
        assertEquals(Shape.of(1, 3, 1), qp.scale().shape());
        for (int j = 0; j < 3; j++) assertEquals((j + 1) / 127.5f, qp.scale().getFloat(j));
    }

    @Test
    void rejectsBadArgumentsNamingWhatIsWrong() {
        Tensor x = Tensor.allocate(DType.BF16, Shape.of(4, 6));
        var e = assertThrows(InvalidConfigException.class, () -> AffineQuantization.chooseQParams(x,
                MappingType.SYMMETRIC, Shape.of(1, 4), QuantRange.int8(), DivMode.TRUE_DIV, Kernel.REFERENCE));
        assertEquals("block_size [1, 4] does not divide input shape [4, 6] at dim 1: 4 must be in 1..6 and divide 6",
                e.getMessage());

        Tensor scale = Tensor.allocate(DType.F32, Shape.of(3));
        e = assertThrows(InvalidConfigException.class, () -> AffineQuantization.quantize(x, Shape.of(1, 6), scale,
                null, QuantRange.int8(), DType.I8, Kernel.REFERENCE));
        assertEquals("scale has 3 elements [3] but block_size [1, 6] on shape [4, 6] makes 4 blocks [4, 1]",
                e.getMessage());

        Tensor scale4 = Tensor.allocate(DType.F32, Shape.of(4, 1));
        e = assertThrows(InvalidConfigException.class, () -> AffineQuantization.quantize(x, Shape.of(1, 6), scale4,
                null, QuantRange.uint8(), DType.I8, Kernel.REFERENCE));
        assertEquals("quantize output dtype I8 cannot hold quant range [0, 255]; expected an integer dtype of at most"
                + " 32 bits that holds it", e.getMessage());

        Tensor ints = Tensor.allocate(DType.I32, Shape.of(4, 6));
        var u = assertThrows(UnsupportedFormatException.class, () -> AffineQuantization.chooseQParams(ints,
                MappingType.SYMMETRIC, Shape.of(1, 6), QuantRange.int8(), DivMode.TRUE_DIV, Kernel.REFERENCE));
        assertEquals("input: dtype must be one of [bfloat16, float16, float32], found int32", u.getMessage());

        Tensor scalar = Tensor.allocate(DType.BF16, Shape.of());
        e = assertThrows(InvalidConfigException.class, () -> AffineQuantization.chooseQParams(scalar,
                MappingType.SYMMETRIC, Shape.of(), QuantRange.int8(), DivMode.TRUE_DIV, Kernel.REFERENCE));
        assertEquals("block layout needs a tensor of rank >= 1 but the shape is []", e.getMessage());

        assertThrows(InvalidConfigException.class, () -> QParamsOptions.torchDefaults(DType.BF16).withEps(-1));
        assertThrows(InvalidConfigException.class, () -> new QuantRange(3, 2));
    }

    @Test
    void promotionFollowsTorch() {
        assertEquals(DType.BF16, TorchOps.promote(DType.BF16, DType.BF16));
        assertEquals(DType.F32, TorchOps.promote(DType.BF16, DType.F32));
        assertEquals(DType.F32, TorchOps.promote(DType.BF16, DType.F16));
        assertEquals(DType.F16, TorchOps.promote(DType.F16, DType.F16));
    }

    static Tensor tensor(DType dtype, Shape shape, float... values) {
        Tensor t = Tensor.allocate(dtype, shape);
        for (int i = 0; i < values.length; i++) t.setFloat(i, values[i]);
        return t;
    }

    static long[] longs(Tensor t) {
        long[] out = new long[(int) t.numel()];
        for (int i = 0; i < out.length; i++) out[i] = t.getLong(i);
        return out;
    }

    static float[] floats(Tensor t) {
        float[] out = new float[(int) t.numel()];
        for (int i = 0; i < out.length; i++) out[i] = t.getFloat(i);
        return out;
    }
}
