package dev.ao4j.vllm.gptq;

import static dev.ao4j.vllm.gptq.PackageFixtures.hex;
import static dev.ao4j.vllm.gptq.PackageFixtures.ints;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * GPTQ's int32 packing pinned to bytes worked out by hand from the layout (code j of a word at bits 4j.., words
 * little-endian; qweight packed along K, qzeros along N; v1 stores zero − 1).
 */
class GptqPackingGoldenTest {

    @Test
    void qweightPacksEightInputColumnsPerWordAlongK() {
        // row 0 codes 0..7, row 1 codes 15..8: one word per output column, qweight [1, 2]
        Tensor codes = ints(DType.U8, 2, 8, 0, 1, 2, 3, 4, 5, 6, 7, 15, 14, 13, 12, 11, 10, 9, 8);
        Tensor q = GptqPacking.packQweight(codes, 4);
        assertEquals(Shape.of(1, 2), q.shape());
        // 0x76543210, 0x89ABCDEF little-endian
        assertEquals("10325476" + "efcdab89", hex(q));
        assertTrue(GptqPacking.unpackQweight(q, 4).contentEquals(codes));
    }

    @Test
    void qweightRowsFollowKNotN() {
        // one output column, K = 16: word 0 holds k = 0..7, word 1 holds k = 8..15 -> qweight [2, 1]
        Tensor codes = ints(DType.U8, 1, 16, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        Tensor q = GptqPacking.packQweight(codes, 4);
        assertEquals(Shape.of(2, 1), q.shape());
        assertEquals("10325476" + "98badcfe", hex(q)); // 0x76543210, 0xFEDCBA98
    }

    @Test
    void eightBitPacksFourPerWord() {
        Tensor codes = ints(DType.U8, 1, 4, 1, 2, 3, 255);
        Tensor q = GptqPacking.packQweight(codes, 8);
        assertEquals("010203ff", hex(q)); // 0xFF030201
        assertTrue(GptqPacking.unpackQweight(q, 8).contentEquals(codes));
    }

    @Test
    void qzerosPackAlongNAndV1StoresZeroMinusOne() {
        // true zeros 1..8 of output rows 0..7, one group: qzeros [1, 1]
        Tensor zeros = ints(DType.I32, 8, 1, 1, 2, 3, 4, 5, 6, 7, 8);
        Tensor v2 = GptqPacking.packQzeros(zeros, 4, GptqCheckpointFormat.V2.zeroOffset());
        Tensor v1 = GptqPacking.packQzeros(zeros, 4, GptqCheckpointFormat.V1.zeroOffset());
        assertEquals(Shape.of(1, 1), v2.shape());
        assertEquals("21436587", hex(v2)); // 0x87654321
        assertEquals("10325476", hex(v1)); // 0x76543210: each nibble one less
        assertTrue(GptqPacking.unpackQzeros(v1, 4, 1).contentEquals(zeros));
        assertTrue(GptqPacking.unpackQzeros(v2, 4, 0).contentEquals(zeros));
    }

    @Test
    void qzerosColumnsAreOutputRowsAndRowsAreGroups() {
        // N = 16, two groups: zeros[n, g] = n % 16 for g 0 and 15 - n for g 1 (v2, stored as is) -> [2, 2]
        long[] z = new long[32];
        for (int n = 0; n < 16; n++) {
            z[n * 2] = n;
            z[n * 2 + 1] = 15 - n;
        }
        Tensor q = GptqPacking.packQzeros(ints(DType.I32, 16, 2, z), 4, 0);
        assertEquals(Shape.of(2, 2), q.shape());
        // group 0: 0x76543210, 0xFEDCBA98; group 1: 0x89ABCDEF, 0x01234567
        assertEquals("10325476" + "98badcfe" + "efcdab89" + "67452301", hex(q));
    }

    @Test
    void symmetricZerosAreTheWellKnownWords() {
        Tensor eights = ints(DType.I32, 8, 1, 8, 8, 8, 8, 8, 8, 8, 8);
        assertEquals("77777777", hex(GptqPacking.packQzeros(eights, 4, 1)));
        assertEquals("88888888", hex(GptqPacking.packQzeros(eights, 4, 0)));
        Tensor mid = ints(DType.I32, 4, 1, 128, 128, 128, 128);
        assertEquals("7f7f7f7f", hex(GptqPacking.packQzeros(mid, 8, 1)));
        assertEquals("80808080", hex(GptqPacking.packQzeros(mid, 8, 0)));
    }

    @Test
    void v1CannotStoreAZeroOfZeroItReadsBackAsSixteen() {
        Tensor zeros = ints(DType.I32, 8, 1, 0, 8, 8, 8, 8, 8, 8, 8);
        Tensor v1 = GptqPacking.packQzeros(zeros, 4, 1);
        assertEquals("7f777777", hex(v1)); // nibble 0 wrapped to 15
        assertEquals(16, GptqPacking.unpackQzeros(v1, 4, 1).getLong(0));
    }

    @Test
    void scalesAreTransposedToGroupsByN() {
        Tensor s = Tensor.allocate(DType.F16, Shape.of(2, 3));
        for (int i = 0; i < 6; i++) s.setFloat(i, i);
        Tensor t = GptqPacking.transpose(s);
        assertEquals(Shape.of(3, 2), t.shape());
        float[] expected = {0, 3, 1, 4, 2, 5};
        for (int i = 0; i < 6; i++) assertEquals(expected[i], t.getFloat(i));
    }
}
