package dev.ao4j.vllm.compressed;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/**
 * Exact bytes of small tensors, worked out by hand from the format rules (serving-formats §2.4, §2.7) and
 * compressed-tensors' arithmetic in bf16.
 */
class CompressedTensorsGoldenTest {

    @Test
    void int4CodesPackLsbFirstIntoLittleEndianInt32() {
        // signed -8..7 stored as q + 8; element j at bits [4j, 4j + 4)
        Tensor codes = i8(1, 8, -8, -7, -1, 0, 1, 2, 6, 7);
        Tensor packed = Int32Packing.pack(codes, 4, 1);
        assertEquals(Shape.of(1, 1), packed.shape());
        assertEquals(0xFEA98710, (int) packed.getLong(0));
        assertArrayEquals(new byte[] {0x10, (byte) 0x87, (byte) 0xA9, (byte) 0xFE}, bytes(packed));
        assertArrayEquals(bytes(codes), bytes(Int32Packing.unpack(packed, 4, 1, 1, 8)));
    }

    @Test
    void int8CodesPackFourPerWord() {
        Tensor packed = Int32Packing.pack(i8(1, 4, -128, -1, 0, 127), 8, 1);
        assertArrayEquals(new byte[] {0x00, 0x7F, (byte) 0x80, (byte) 0xFF}, bytes(packed));
    }

    @Test
    void zeroPointsPackAlongOutputRows() {
        // [N = 16, groups = 2]: column 0 holds rows' zero points -8..7, column 1 all 3
        Tensor zp = Tensor.allocate(DType.I8, Shape.of(16, 2));
        for (int r = 0; r < 16; r++) {
            zp.setLong(2L * r, r - 8);
            zp.setLong(2L * r + 1, 3);
        }
        Tensor packed = Int32Packing.pack(zp, 4, 0);
        assertEquals(Shape.of(2, 2), packed.shape());
        // word [w, g] holds rows 8w .. 8w + 7 of column g, row 8w in the low nibble
        assertEquals(0x76543210, (int) packed.getLong(0));
        assertEquals(0xBBBBBBBB, (int) packed.getLong(1));
        assertEquals(0xFEDCBA98, (int) packed.getLong(2));
        assertEquals(0xBBBBBBBB, (int) packed.getLong(3));
        assertArrayEquals(bytes(zp), bytes(Int32Packing.unpack(packed, 4, 0, 16, 2)));
    }

    @Test
    void w4SymmetricRoundsInBf16ThenHalfToEven() {
        // amax 3 -> scale bf16(3 / 7.5) = 0.400390625; w / s in bf16: 3.75, -1.875, 0.25, 0, 7.5, -7.5, 0.5, 1
        // clamp to [-8, 7] then round half to even: 4, -2, 0, 0, 7, -8, 0, 1 -> +8: 12, 6, 8, 8, 15, 0, 8, 9
        Tensor w = bf16(1, 8, 1.5f, -0.75f, 0.1f, 0f, 3.0f, -3.0f, 0.2f, 0.4f);
        IntRtn.Result r = IntRtn.quantize(w, 4, 8, true, DivMode.CUDA_RECIPROCAL);
        assertEquals(0.400390625f, r.scale().getFloat(0));
        assertArrayEquals(new byte[] {4, -2, 0, 0, 7, -8, 0, 1}, bytes(r.codes()));
        assertEquals(0x980F886C, (int) Int32Packing.pack(r.codes(), 4, 1).getLong(0));
    }

    @Test
    void w4AsymmetricZeroPointFromMinAndScale() {
        // scale bf16(3 / 15) = 0.2001953125; zp = -8 - bf16(-1 / s) = -8 + 5 = -3 (stored 5)
        // codes: bf16(w / s) + zp = -5-3, 0-3, 2.5-3, 10-3 -> -8, -3, -0.5 -> 0, 7
        Tensor w = bf16(1, 4, -1.0f, 0f, 0.5f, 2.0f);
        IntRtn.Result r = IntRtn.quantize(w, 4, 4, false, DivMode.CUDA_RECIPROCAL);
        assertEquals(0.2001953125f, r.scale().getFloat(0));
        assertEquals(-3, r.zeroPoint().getLong(0));
        assertArrayEquals(new byte[] {-8, -3, 0, 7}, bytes(r.codes()));
        Tensor deq = IntRtn.dequantize(r.codes(), r.scale(), r.zeroPoint(), DType.F32);
        assertEquals(-5 * 0.2001953125f, deq.getFloat(0));
        assertEquals(10 * 0.2001953125f, deq.getFloat(3));
        // a lone zero point in an 8-row word: row 0's stored 5 in the low nibble, padding rows as 0 + 8
        Tensor packedZp = Int32Packing.pack(r.zeroPoint(), 4, 0);
        assertEquals(0x5, (int) packedZp.getLong(0));
    }

    @Test
    void nvfp4GlobalScaleBlockScaleAndNibbleOrder() {
        // amax 6: global = bf16(bf16(1/6) * 2688) = bf16(0.1669921875 * 2688 = 448.875) = 448
        assertEquals(448f, Fp4Rtn.globalScale(6f, DType.BF16));
        // amax 1.5 alone: bf16(bf16(1/1.5) * 2688) = bf16(0.66796875 * 2688 = 1795.5) = 1792
        assertEquals(1792f, Fp4Rtn.globalScale(1.5f, DType.BF16));
        Tensor w = bf16(1, 16, 6f, -3f, 0.5f, 0f, -0.1f, 1.25f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
        Fp4Rtn.Result r = Fp4Rtn.nvfp4(w, 448f, DivMode.CUDA_RECIPROCAL);
        // block scale e4m3(448 * bf16(6/6)) = 448 (0x7E); effective scale 448 / 448 = 1
        assertEquals(0x7E, r.scale().getByte(0));
        // 6 -> 7, -3 -> 8|5, 0.5 -> 1, 0 -> 0, -0.1 -> -0 (8), 1.25 -> 1.0 (ties to the even code 2)
        Tensor packed = Fp4Rtn.pack(r.codes());
        assertEquals((byte) 0xD7, packed.getByte(0)); // element 0 low nibble, element 1 high nibble
        assertEquals((byte) 0x01, packed.getByte(1));
        assertEquals((byte) 0x28, packed.getByte(2));
        // the same weight under a group's shared global scale of a larger member: scale e4m3(448 * 1 / 4) ...
        Fp4Rtn.Result shared = Fp4Rtn.nvfp4(bf16(1, 16, 1.5f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), 448f,
                DivMode.CUDA_RECIPROCAL);
        // local bf16(1.5 / 6) = 0.25 -> e4m3(112) = 112; effective 0.25; 1.5 / 0.25 = 6 -> code 7
        assertEquals(112f, dev.ao4j.quant.dtype.Float8E4M3Fn.toFloat(shared.scale().getByte(0)));
        assertEquals(7, shared.codes().getLong(0));
    }

    @Test
    void mxfp4ScaleIsPowerOfTwoExponentOfRoundedAmax() {
        // amax 6 = 1.5 * 2^2: +half step below e2m1's mantissa keeps 2^2 -> e = 127 + 2 - 2 = 127, scale 1
        // amax 7.5 = 1.875 * 2^2 rounds up to 2^3 -> e = 128, scale 2
        Tensor w = Tensor.allocate(DType.BF16, Shape.of(2, 32));
        w.setFloat(0, 6f);
        w.setFloat(1, -1.5f);
        w.setFloat(32, 7.5f);
        w.setFloat(33, 3f);
        Fp4Rtn.Result r = Fp4Rtn.mxfp4(w, DivMode.CUDA_RECIPROCAL);
        assertEquals(127, r.scale().getLong(0));
        assertEquals(128, r.scale().getLong(1));
        assertEquals(7, r.codes().getLong(0));
        assertEquals(8 | 3, r.codes().getLong(1));
        assertEquals(6, r.codes().getLong(32)); // 7.5 / 2 = 3.75 -> 4 (code 6)
        assertEquals(3, r.codes().getLong(33)); // 3 / 2 = 1.5 (code 3)
    }

    @Test
    void fp8PerChannelScaleInBf16() {
        // row amax 448 -> scale bf16(448 / 448) = 1; row amax 1 -> scale bf16(1 / 448) = 0.002227783203125
        Tensor w = bf16(2, 2, 448f, -2f, 1f, 0.5f);
        Fp8Rtn.Result r = Fp8Rtn.perChannel(w, DivMode.CUDA_RECIPROCAL);
        assertEquals(1f, r.scale().getFloat(0));
        assertEquals(0.002227783203125f, r.scale().getFloat(1));
        assertEquals((byte) 0x7E, r.codes().getByte(0)); // 448
        assertEquals((byte) 0xC0, r.codes().getByte(1)); // -2
    }

    static Tensor i8(int rows, int cols, int... v) {
        Tensor t = Tensor.allocate(DType.I8, Shape.of(rows, cols));
        for (int i = 0; i < v.length; i++) t.setLong(i, v[i]);
        return t;
    }

    static Tensor bf16(int rows, int cols, float... v) {
        Tensor t = Tensor.allocate(DType.BF16, Shape.of(rows, cols));
        for (int i = 0; i < v.length; i++) t.setFloat(i, v[i]);
        return t;
    }

    static byte[] bytes(Tensor t) {
        return t.data().toArray(ValueLayout.JAVA_BYTE);
    }
}
