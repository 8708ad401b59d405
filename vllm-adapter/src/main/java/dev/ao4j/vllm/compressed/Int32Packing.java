package dev.ao4j.vllm.compressed;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;

/**
 * compressed-tensors' {@code pack_to_int32}: signed b-bit codes are offset by {@code 2^(b-1)} to unsigned and laid
 * LSB-first into int32 words, element {@code j} of a run of {@code 32 / b} at bits {@code [b*j, b*j + b)}. Along
 * dim 1 (weights: each row of K codes into {@code ceil(K*b/32)} words) or dim 0 (zero points: each column of N
 * codes into {@code ceil(N*b/32)} words). A trailing partial word is zero-padded.
 *
 * <p>Only widths that divide 32 (1, 2, 4, 8) are supported: for them compressed-tensors' older per-word packing
 * and its 0.18 dense packing give the same bytes; other widths straddle words and differ between versions.
 */
public final class Int32Packing {
    private Int32Packing() {}

    /**
     * @param codes I8 {@code [R, C]} signed codes in {@code [-2^(b-1), 2^(b-1) - 1]}
     * @param dim   1 to pack along columns, 0 to pack along rows
     * @return I32 {@code [R, ceil(C*b/32)]} (dim 1) or {@code [ceil(R*b/32), C]} (dim 0)
     */
    public static Tensor pack(Tensor codes, int bits, int dim) {
        requireBits(bits);
        if (codes.dtype() != DType.I8 || codes.shape().rank() != 2) {
            throw new IllegalArgumentException("packing needs I8 [R, C] codes but got " + codes.dtype() + " "
                    + codes.shape());
        }
        int per = 32 / bits;
        long rows = codes.shape().dim(0);
        long cols = codes.shape().dim(1);
        long lo = -(1L << (bits - 1));
        long hi = (1L << (bits - 1)) - 1;
        long mask = (1L << bits) - 1;
        // the packed axis is "along"; the other one is "across"
        long along = dim == 1 ? cols : rows;
        long across = dim == 1 ? rows : cols;
        long words = (along + per - 1) / per;
        Tensor out = Tensor.allocate(DType.I32, dim == 1 ? Shape.of(rows, words) : Shape.of(words, cols));
        for (long a = 0; a < across; a++) {
            for (long w = 0; w < words; w++) {
                int word = 0;
                for (int j = 0; j < per; j++) {
                    long i = w * per + j;
                    if (i >= along) break;
                    long q = codes.getLong(dim == 1 ? a * cols + i : i * cols + a);
                    if (q < lo || q > hi) {
                        throw new IllegalArgumentException("code " + q + " out of the " + bits + "-bit range [" + lo
                                + ", " + hi + "]");
                    }
                    word |= (int) (((q - lo) & mask) << (bits * j));
                }
                out.setLong(dim == 1 ? a * words + w : w * cols + a, word);
            }
        }
        return out;
    }

    /**
     * The inverse of {@link #pack}: I8 signed codes of shape {@code [rows, cols]}.
     *
     * @throws IllegalArgumentException when {@code packed} is not I32 of the shape {@link #pack} gives
     */
    public static Tensor unpack(Tensor packed, int bits, int dim, long rows, long cols) {
        requireBits(bits);
        int per = 32 / bits;
        long along = dim == 1 ? cols : rows;
        long across = dim == 1 ? rows : cols;
        long words = (along + per - 1) / per;
        Shape expected = dim == 1 ? Shape.of(rows, words) : Shape.of(words, cols);
        if (packed.dtype() != DType.I32 || !packed.shape().equals(expected)) {
            throw new IllegalArgumentException("expected I32 " + expected + " but found " + packed.dtype() + " "
                    + packed.shape());
        }
        long offset = 1L << (bits - 1);
        long mask = (1L << bits) - 1;
        Tensor out = Tensor.allocate(DType.I8, Shape.of(rows, cols));
        for (long a = 0; a < across; a++) {
            for (long w = 0; w < words; w++) {
                long word = packed.getLong(dim == 1 ? a * words + w : w * cols + a) & 0xFFFFFFFFL;
                for (int j = 0; j < per; j++) {
                    long i = w * per + j;
                    if (i >= along) break;
                    long u = (word >>> (bits * j)) & mask;
                    out.setLong(dim == 1 ? a * cols + i : i * cols + a, u - offset);
                }
            }
        }
        return out;
    }

    private static void requireBits(int bits) {
        if (bits <= 0 || bits > 8 || 32 % bits != 0) {
            throw new IllegalArgumentException("int32 packing supports 1, 2, 4 or 8 bits but got " + bits);
        }
    }
}
