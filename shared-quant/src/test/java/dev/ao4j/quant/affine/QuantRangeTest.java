package dev.ao4j.quant.affine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.dtype.DType;
import org.junit.jupiter.api.Test;

class QuantRangeTest {
    @Test
    void rangesOfTorchDtypes() {
        assertEquals(new QuantRange(-128, 127), QuantRange.int8());
        assertEquals(new QuantRange(-64, 63), QuantRange.int8ReduceRange());
        assertEquals(new QuantRange(0, 255), QuantRange.uint8());
        assertEquals(new QuantRange(-8, 7), QuantRange.signedBits(4));
        assertEquals(new QuantRange(-1, 0), QuantRange.signedBits(1));
        assertEquals(new QuantRange(0, 15), QuantRange.unsignedBits(4));
        assertThrows(InvalidConfigException.class, () -> QuantRange.signedBits(9));
        assertThrows(InvalidConfigException.class, () -> QuantRange.unsignedBits(0));
    }

    @Test
    void midIsTruncatedHalfSum() {
        assertEquals(0, QuantRange.int8().mid());
        assertEquals(0, QuantRange.signedBits(4).mid());
        assertEquals(0, QuantRange.signedBits(1).mid());
        assertEquals(128, QuantRange.uint8().mid());
        assertEquals(8, QuantRange.unsignedBits(4).mid());
        assertEquals(0, new QuantRange(-2, 0).mid()); // int(-0.5) truncates toward zero
    }

    @Test
    void symmetricDivisor() {
        assertEquals(127.5, QuantRange.int8().symmetricDivisor());
        assertEquals(63.5, QuantRange.int8ReduceRange().symmetricDivisor());
        assertEquals(7.5, QuantRange.signedBits(4).symmetricDivisor());
        assertEquals(0.5, QuantRange.signedBits(1).symmetricDivisor());
    }

    @Test
    void containers() {
        assertTrue(QuantRange.signedBits(4).fitsIn(DType.I8));
        assertFalse(QuantRange.uint8().fitsIn(DType.I8));
        assertTrue(QuantRange.uint8().fitsIn(DType.U8));
        assertFalse(QuantRange.int8().fitsIn(DType.BF16));
    }
}
