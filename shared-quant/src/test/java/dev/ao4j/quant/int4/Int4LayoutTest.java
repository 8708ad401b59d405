package dev.ao4j.quant.int4;

import static dev.ao4j.quant.golden.GoldenCases.assertBitEqual;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.golden.GoldenCases;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.qtensor.Int4Tensor;
import dev.ao4j.quant.qtensor.Int4TilePackedTo4dTensor;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Shapes, padding, 3-D weights and pack/unpack inverses beyond what the golden cases exercise. */
class Int4LayoutTest {

    private static Tensor gaussian(DType dt, Shape shape, long seed) {
        Random rnd = new Random(seed);
        Tensor t = Tensor.allocate(dt, shape);
        for (long i = 0; i < t.numel(); i++) t.setFloat(i, (float) (rnd.nextGaussian() * 0.05));
        return t;
    }

    @Test
    void plainThreeDimensionalWeightIsPerExpertStack() {
        Tensor w = gaussian(DType.BF16, Shape.of(3, 16, 256), 1);
        Int4Tensor all = Int4Plain.quantize(w, 64, DivMode.CUDA_RECIPROCAL);
        assertEquals(Shape.of(3, 16, 128), all.qdata().shape());
        assertEquals(Shape.of(3, 4, 16), all.scale().shape());
        assertEquals(Shape.of(1, 1, 64), all.blockSize());
        long expertBytes = 16 * 256 * 2;
        for (int e = 0; e < 3; e++) {
            Tensor one = new Tensor(DType.BF16, Shape.of(16, 256), w.data().asSlice(e * expertBytes, expertBytes));
            Int4Tensor single = Int4Plain.quantize(one, 64, DivMode.CUDA_RECIPROCAL);
            assertBitEqual(single.qdata(), slice(all.qdata(), e, Shape.of(16, 128)), "expert " + e + " qdata");
            assertBitEqual(single.scale(), slice(all.scale(), e, Shape.of(4, 16)), "expert " + e + " scale");
            assertBitEqual(single.zeroPoint(), slice(all.zeroPoint(), e, Shape.of(4, 16)), "expert " + e + " zero");
        }
    }

    @Test
    void plainAcceptsF16AndF32WeightsAndKeepsTheirDtypeForScales() {
        for (DType dt : new DType[] {DType.F16, DType.F32}) {
            Tensor w = gaussian(dt, Shape.of(8, 64), 2);
            Int4Tensor t = Int4Plain.quantize(w, 32, DivMode.TRUE_DIV, Kernel.REFERENCE);
            assertEquals(dt, t.scale().dtype());
            assertEquals(dt, t.zeroPoint().dtype());
            assertBitEqual(t.qdata(), Int4Plain.quantize(w, 32, DivMode.TRUE_DIV, Kernel.VECTOR).qdata(),
                    dt + " kernels");
        }
    }

    @Test
    void plainUnpackAndDequantizeInvertPacking() {
        Tensor w = gaussian(DType.BF16, Shape.of(32, 512), 3);
        Int4Tensor t = Int4Plain.quantize(w, 128, DivMode.CUDA_RECIPROCAL);
        Tensor codes = Int4Plain.unpackCodes(t);
        for (long i = 0; i < codes.numel(); i += 2) {
            int packed = t.qdata().getByte(i / 2) & 0xFF;
            assertEquals((packed & 0xF) >= 8 ? (packed & 0xF) - 16 : (packed & 0xF), codes.getLong(i));
            assertEquals((packed >> 4) >= 8 ? (packed >> 4) - 16 : (packed >> 4), codes.getLong(i + 1));
            assertTrue(codes.getLong(i) >= -8 && codes.getLong(i) <= 7);
        }
        Tensor dq = Int4Plain.dequantize(t);
        assertEquals(DType.BF16, dq.dtype());
        for (long r = 0; r < 32; r++) {
            for (long c = 0; c < 512; c++) {
                float step = t.scale().getFloat((c / 128) * 32 + r);
                float err = Math.abs(dq.getFloat(r * 512 + c) - w.getFloat(r * 512 + c));
                assertTrue(err <= step, "element " + r + "," + c + ": error " + err + " > one step " + step);
            }
        }
    }

    @Test
    void tilePackedPadsRowsAndColumnsWithEpsGroups() {
        int n = 13;
        int k = 256;
        int g = 128;
        Tensor w = gaussian(DType.BF16, Shape.of(n, k), 4);
        Int4TilePackedTo4dTensor t = Int4TilePacked.quantize(w, g, DivMode.CUDA_RECIPROCAL);
        assertEquals(Shape.of(2, 8, 32, 4), t.qdata().shape());
        assertEquals(Shape.of(8, 16, 2), t.scaleAndZero().shape());
        assertEquals(Shape.of(n, k), t.shape());

        // the padded tensor through the tinygemm primitive gives the same qparams and codes
        Tensor padded = Tensor.allocate(DType.BF16, Shape.of(16, 1024));
        for (int r = 0; r < n; r++) {
            MemorySegment.copy(w.data(), (long) r * k * 2, padded.data(), (long) r * 1024 * 2, (long) k * 2);
        }
        Tinygemm.Quantized ref = Tinygemm.quantizeWithQParams(padded, g, DivMode.CUDA_RECIPROCAL,
                Kernel.REFERENCE);
        assertBitEqual(ref.codes(), Int4TilePacked.unpackCodes(t.qdata()), "codes");
        assertBitEqual(Int4TilePacked.packScaleAndZero(ref.qparams().scale(), ref.qparams().zeroPoint()),
                t.scaleAndZero(), "scale_and_zero");

        float eps = Float.MIN_NORMAL;
        for (int j = 0; j < 8; j++) {
            for (int r = 0; r < 16; r++) {
                boolean pad = r >= n || j >= k / g;
                if (pad) {
                    assertEquals(eps, t.scaleAndZero().getFloat((j * 16L + r) * 2), "scale " + j + "," + r);
                    assertEquals(8 * eps, t.scaleAndZero().getFloat((j * 16L + r) * 2 + 1), "zero " + j + "," + r);
                }
            }
        }
        Tensor dq = Int4TilePacked.dequantize(t);
        assertEquals(Shape.of(n, k), dq.shape());
        for (long i = 0; i < dq.numel(); i++) {
            long r = i / k;
            long c = i % k;
            float step = t.scaleAndZero().getFloat(((c / g) * 16 + r) * 2);
            assertTrue(Math.abs(dq.getFloat(i) - w.getFloat(i)) <= step, "element " + i);
        }
    }

    @Test
    void int4packRoundTripsForEveryInnerKTiles() {
        Random rnd = new Random(5);
        Tensor codes = Tensor.allocate(DType.U8, Shape.of(24, 512));
        for (long i = 0; i < codes.numel(); i++) codes.setLong(i, rnd.nextInt(16));
        for (int ikt : new int[] {2, 4, 8}) {
            Tensor packed = Int4TilePacked.convertWeightToInt4Pack(Int4TilePacked.prepack(codes), ikt);
            assertEquals(Shape.of(3, 512 / (16 * ikt), 32, ikt / 2), packed.shape());
            assertBitEqual(codes, Int4TilePacked.unpackCodes(packed), "inner_k_tiles=" + ikt);
        }
    }

    @Test
    void prepackPutsTheEvenColumnInTheHighNibble() {
        Tensor codes = Tensor.allocate(DType.I32, Shape.of(1, 4));
        codes.setLong(0, 0xA);
        codes.setLong(1, 0x3);
        codes.setLong(2, 0xF);
        codes.setLong(3, 0x0);
        Tensor p = Int4TilePacked.prepack(codes);
        assertEquals(0xA3, p.getByte(0) & 0xFF);
        assertEquals(0xF0, p.getByte(1) & 0xFF);
    }

    private static Tensor slice(Tensor t, int index, Shape inner) {
        long bytes = Tensor.byteSize(t.dtype(), inner);
        return new Tensor(t.dtype(), inner, t.data().asSlice(index * bytes, bytes));
    }
}
