package dev.ao4j.vllm.awq;

import static dev.ao4j.vllm.gptq.PackageFixtures.hex;
import static dev.ao4j.vllm.gptq.PackageFixtures.ints;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** AWQ's interleaved packing pinned to bytes worked out by hand: nibble j holds output column ORDER[j]. */
class AwqPackingGoldenTest {

    @Test
    void qweightInterleavesOutputColumns02461357() {
        // K = 1, N = 8, code of output column c = c: nibbles (LSB first) 0,2,4,6,1,3,5,7 -> 0x75316420
        Tensor codes = ints(DType.U8, 8, 1, 0, 1, 2, 3, 4, 5, 6, 7);
        Tensor q = AwqPacking.packQweight(codes);
        assertEquals(Shape.of(1, 1), q.shape());
        assertEquals("20643175", hex(q));
        assertTrue(AwqPacking.unpackQweight(q).contentEquals(codes));
    }

    @Test
    void qweightIsPackedAlongNWithOneRowPerInputColumn() {
        // N = 16, K = 2: column c has codes (c, 15 - c) -> qweight [2, 2]
        long[] v = new long[32];
        for (int c = 0; c < 16; c++) {
            v[c * 2] = c;
            v[c * 2 + 1] = 15 - c;
        }
        Tensor codes = ints(DType.U8, 16, 2, v);
        Tensor q = AwqPacking.packQweight(codes);
        assertEquals(Shape.of(2, 2), q.shape());
        // k = 0: 0x75316420, 0xFDB9ECA8; k = 1: 0x8ACE9BDF, 0x02461357
        assertEquals("20643175" + "a8ecb9fd" + "df9bce8a" + "57134602", hex(q));
        assertTrue(AwqPacking.unpackQweight(q).contentEquals(codes));
    }

    @Test
    void qzerosUseTheSameInterleaveAndNoMinusOne() {
        // zeros of output rows 0..7 are 8,9,...,15 in one group: nibbles 8,A,C,E,9,B,D,F -> 0xFDB9ECA8
        Tensor zeros = ints(DType.I32, 8, 1, 8, 9, 10, 11, 12, 13, 14, 15);
        Tensor q = AwqPacking.packQzeros(zeros);
        assertEquals("a8ecb9fd", hex(q));
        assertTrue(AwqPacking.unpackQzeros(q).contentEquals(zeros));
        assertEquals("00000000", hex(AwqPacking.packQzeros(ints(DType.I32, 8, 1, 0, 0, 0, 0, 0, 0, 0, 0))));
    }
}
