package dev.ao4j.vllm.gptq;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * GPTQ's int32 layouts (unchanged since AutoGPTQ), with {@code p = 32 / bits} codes per word, code {@code j} of a word
 * at bits {@code [bits·j, bits·j + bits)} (least significant first):
 * <ul>
 *   <li>{@code qweight} I32 {@code [K / p, N]}, packed along K: word {@code [r, n]} holds the codes of input columns
 *       {@code r·p + j} of output row n;</li>
 *   <li>{@code qzeros} I32 {@code [groups, N / p]}, packed along N: word {@code [g, c]} holds the zero points of output
 *       rows {@code c·p + j}, each stored as {@code zero − offset} masked to {@code bits} (offset 1 for checkpoint
 *       format v1 "gptq", 0 for v2 "gptq_v2");</li>
 *   <li>{@code scales} {@code [groups, N]}: the transpose of the HF-oriented {@code [N, groups]}.</li>
 * </ul>
 * Pure functions over tensors; the unpackers are exact inverses of the packers (v1 zeros read back as
 * {@code stored + 1} without wrapping, as AutoGPTQ's kernels add the one back).
 */
public final class GptqPacking {
    private GptqPacking() {}

    /** U8 codes {@code [N, K]} → qweight I32 {@code [K / p, N]}. K must be a multiple of p. */
    public static Tensor packQweight(Tensor codes, int bits) {
        int p = perWord(bits);
        long n = codes.shape().dim(0);
        long k = codes.shape().dim(1);
        if (k % p != 0) throw new IllegalArgumentException("K = " + k + " is not a multiple of " + p);
        Tensor out = Tensor.allocate(DType.I32, Shape.of(k / p, n));
        for (long r = 0; r < k / p; r++) {
            for (long col = 0; col < n; col++) {
                int word = 0;
                for (int j = 0; j < p; j++) word |= (int) (codes.getLong(col * k + r * p + j) & mask(bits)) << (bits * j);
                out.setLong(r * n + col, word);
            }
        }
        return out;
    }

    /**
     * {@link #packQweight(Tensor, int)}'s words, built from bulk reads of {@value #TILE} code rows at a time (each
     * one output column) and written a tile row at a time, into {@code arena}'s memory.
     */
    public static Tensor packQweight(Tensor codes, int bits, Arena arena) {
        int p = perWord(bits);
        int n = Math.toIntExact(codes.shape().dim(0));
        int k = Math.toIntExact(codes.shape().dim(1));
        if (k % p != 0) throw new IllegalArgumentException("K = " + k + " is not a multiple of " + p);
        int rows = k / p;
        int mask = (int) mask(bits);
        Tensor out = IntWeightLinear.allocate(arena, DType.I32, Shape.of(rows, n));
        byte[] in = new byte[TILE * k];
        int[] tile = new int[rows * TILE];
        for (int c0 = 0; c0 < n; c0 += TILE) {
            int t = Math.min(TILE, n - c0);
            MemorySegment.copy(codes.data(), ValueLayout.JAVA_BYTE, (long) c0 * k, in, 0, t * k);
            for (int col = 0; col < t; col++) {
                for (int r = 0, b = col * k; r < rows; r++) {
                    int word = 0;
                    for (int j = 0; j < p; j++, b++) word |= (in[b] & mask) << (bits * j);
                    tile[r * TILE + col] = word;
                }
            }
            for (int r = 0; r < rows; r++) {
                MemorySegment.copy(tile, r * TILE, out.data(), Tensor.I32, ((long) r * n + c0) * 4, t);
            }
        }
        return out;
    }

    /** Output columns per tile of {@link #packQweight(Tensor, int, Arena)}: one 64-byte line of words per row. */
    static final int TILE = 16;

    /** {@link #transpose(Tensor)} into {@code arena}'s memory, a row at a time. */
    public static Tensor transpose(Tensor t, Arena arena) {
        int rows = Math.toIntExact(t.shape().dim(0));
        int cols = Math.toIntExact(t.shape().dim(1));
        int size = t.dtype().byteSize();
        Tensor out = IntWeightLinear.allocate(arena, t.dtype(), Shape.of(cols, rows));
        byte[] in = new byte[rows * cols * size];
        byte[] to = new byte[in.length];
        MemorySegment.copy(t.data(), ValueLayout.JAVA_BYTE, 0, in, 0, in.length);
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                System.arraycopy(in, (r * cols + c) * size, to, (c * rows + r) * size, size);
            }
        }
        MemorySegment.copy(to, 0, out.data(), ValueLayout.JAVA_BYTE, 0, to.length);
        return out;
    }

    /** qweight I32 {@code [K / p, N]} → U8 codes {@code [N, K]}. */
    public static Tensor unpackQweight(Tensor qweight, int bits) {
        int p = perWord(bits);
        long rows = qweight.shape().dim(0);
        long n = qweight.shape().dim(1);
        long k = rows * p;
        Tensor codes = Tensor.allocate(DType.U8, Shape.of(n, k));
        for (long r = 0; r < rows; r++) {
            for (long col = 0; col < n; col++) {
                int word = (int) qweight.getLong(r * n + col);
                for (int j = 0; j < p; j++) codes.setLong(col * k + r * p + j, (word >>> (bits * j)) & mask(bits));
            }
        }
        return codes;
    }

    /** True zeros I32 {@code [N, groups]} → qzeros I32 {@code [groups, N / p]} storing {@code zero − offset}. */
    public static Tensor packQzeros(Tensor zeros, int bits, int offset) {
        int p = perWord(bits);
        long n = zeros.shape().dim(0);
        long groups = zeros.shape().dim(1);
        if (n % p != 0) throw new IllegalArgumentException("N = " + n + " is not a multiple of " + p);
        Tensor out = Tensor.allocate(DType.I32, Shape.of(groups, n / p));
        for (long g = 0; g < groups; g++) {
            for (long c = 0; c < n / p; c++) {
                int word = 0;
                for (int j = 0; j < p; j++) {
                    long z = zeros.getLong((c * p + j) * groups + g) - offset;
                    word |= (int) (z & mask(bits)) << (bits * j);
                }
                out.setLong(g * (n / p) + c, word);
            }
        }
        return out;
    }

    /** qzeros I32 {@code [groups, N / p]} → true zeros I32 {@code [N, groups]} ({@code stored + offset}). */
    public static Tensor unpackQzeros(Tensor qzeros, int bits, int offset) {
        int p = perWord(bits);
        long groups = qzeros.shape().dim(0);
        long words = qzeros.shape().dim(1);
        long n = words * p;
        Tensor zeros = Tensor.allocate(DType.I32, Shape.of(n, groups));
        for (long g = 0; g < groups; g++) {
            for (long c = 0; c < words; c++) {
                int word = (int) qzeros.getLong(g * words + c);
                for (int j = 0; j < p; j++) {
                    zeros.setLong((c * p + j) * groups + g, ((word >>> (bits * j)) & mask(bits)) + offset);
                }
            }
        }
        return zeros;
    }

    /** A 2-D tensor of any fixed-width dtype transposed (fresh memory). */
    public static Tensor transpose(Tensor t) {
        long rows = t.shape().dim(0);
        long cols = t.shape().dim(1);
        int size = t.dtype().byteSize();
        Tensor out = Tensor.allocate(t.dtype(), Shape.of(cols, rows));
        for (long r = 0; r < rows; r++) {
            for (long c = 0; c < cols; c++) {
                long from = (r * cols + c) * size;
                long to = (c * rows + r) * size;
                for (int b = 0; b < size; b++) out.setByte(to + b, t.getByte(from + b));
            }
        }
        return out;
    }

    /** Codes per int32 word. */
    public static int perWord(int bits) {
        if (bits < 1 || bits > 8 || 32 % bits != 0) {
            throw new IllegalArgumentException("bits must divide 32 (2, 4 or 8) but was " + bits);
        }
        return 32 / bits;
    }

    private static long mask(int bits) {
        return (1L << bits) - 1;
    }
}
