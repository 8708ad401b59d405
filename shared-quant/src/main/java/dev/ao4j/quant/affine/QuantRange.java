package dev.ao4j.quant.affine;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.dtype.DType;

/**
 * The integer range {@code [qmin, qmax]} quantized values are clamped to (torchao's {@code quant_min}/{@code
 * quant_max}, torchao-numerics §1.2). Sub-byte ranges (int1..int7, uint1..uint7) live in an int8 or uint8
 * container; the container only has to hold the range.
 */
public record QuantRange(int qmin, int qmax) {
    public QuantRange {
        if (qmin > qmax) {
            throw new InvalidConfigException("QuantRange.qmin must be <= qmax but was [" + qmin + ", " + qmax + "]");
        }
    }

    /** torch.int8: [-128, 127]. */
    public static QuantRange int8() {
        return new QuantRange(-128, 127);
    }

    /**
     * int8 with {@code reduce_range}: torchao halves both bounds with floor division, giving [-64, 63] (for CPUs
     * without VNNI, where int8 x int8 sums could overflow int16).
     */
    public static QuantRange int8ReduceRange() {
        return new QuantRange(Math.floorDiv(-128, 2), Math.floorDiv(127, 2));
    }

    /** torch.uint8: [0, 255]. */
    public static QuantRange uint8() {
        return new QuantRange(0, 255);
    }

    /** torch.intN, N in 1..8: [-2^(N-1), 2^(N-1) - 1]; int1 is [-1, 0]. */
    public static QuantRange signedBits(int bits) {
        if (bits < 1 || bits > 8) {
            throw new InvalidConfigException("signed bit width must be in 1..8 but was " + bits);
        }
        return new QuantRange(-(1 << (bits - 1)), (1 << (bits - 1)) - 1);
    }

    /** torch.uintN, N in 1..8: [0, 2^N - 1]. */
    public static QuantRange unsignedBits(int bits) {
        if (bits < 1 || bits > 8) {
            throw new InvalidConfigException("unsigned bit width must be in 1..8 but was " + bits);
        }
        return new QuantRange(0, (1 << bits) - 1);
    }

    /**
     * The zero point of the symmetric mappings: {@code int((qmax + qmin + 1) / 2)} with Python's true division
     * and truncation toward zero (int8 and intN: 0, uint8: 128, uint4: 8).
     */
    public int mid() {
        return (int) ((qmax + (double) qmin + 1) / 2);
    }

    /** The SYMMETRIC divisor {@code (qmax - qmin) / 2} as a Python float: 127.5 for int8, 7.5 for int4. */
    public double symmetricDivisor() {
        return ((double) qmax - qmin) / 2;
    }

    /** True when every value of the range fits in the integer {@code container} dtype. */
    public boolean fitsIn(DType container) {
        long lo;
        long hi;
        switch (container) {
            case I8 -> { lo = Byte.MIN_VALUE; hi = Byte.MAX_VALUE; }
            case U8 -> { lo = 0; hi = 255; }
            case I16 -> { lo = Short.MIN_VALUE; hi = Short.MAX_VALUE; }
            case U16 -> { lo = 0; hi = 65535; }
            case I32, I64 -> { lo = Integer.MIN_VALUE; hi = Integer.MAX_VALUE; }
            case U32, U64 -> { lo = 0; hi = Integer.MAX_VALUE; }
            default -> { return false; }
        }
        return qmin >= lo && qmax <= hi;
    }

    @Override
    public String toString() {
        return "[" + qmin + ", " + qmax + "]";
    }
}
