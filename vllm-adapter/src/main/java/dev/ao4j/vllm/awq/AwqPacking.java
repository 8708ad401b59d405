package dev.ao4j.vllm.awq;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.vllm.gptq.IntWeightLinear;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * AutoAWQ's "gemm" int32 layout: 4-bit values packed eight to a word along N (the output dimension) in the
 * interleaved order {@link #ORDER}: nibble {@code j} (bits {@code 4j .. 4j+3}) of word column {@code c} holds output
 * column {@code 8c + ORDER[j]}, i.e. output columns 0..7 of a word sit in nibbles 0, 4, 1, 5, 2, 6, 3, 7.
 * <ul>
 *   <li>{@code qweight} I32 {@code [K, N / 8]};</li>
 *   <li>{@code qzeros} I32 {@code [groups, N / 8]}, the true zero points (AWQ has no "minus one");</li>
 *   <li>{@code scales} {@code [groups, N]}, the transpose of the HF-oriented {@code [N, groups]}.</li>
 * </ul>
 */
public final class AwqPacking {
    /** Which output column (within the word's eight) nibble j holds. */
    public static final int[] ORDER = {0, 2, 4, 6, 1, 3, 5, 7};
    private static final int PER_WORD = 8;

    private AwqPacking() {}

    /** U8 codes {@code [N, K]} → qweight I32 {@code [K, N / 8]}. */
    public static Tensor packQweight(Tensor codes) {
        long n = codes.shape().dim(0);
        long k = codes.shape().dim(1);
        return pack(n, k, (col, row) -> codes.getLong(col * k + row));
    }

    /**
     * {@link #packQweight(Tensor)}'s words, built from bulk reads of {@value #TILE} words' worth of code rows (8
     * output columns each) and written a tile row at a time, into {@code arena}'s memory.
     */
    public static Tensor packQweight(Tensor codes, Arena arena) {
        int n = Math.toIntExact(codes.shape().dim(0));
        int k = Math.toIntExact(codes.shape().dim(1));
        if (n % PER_WORD != 0) throw new IllegalArgumentException("N = " + n + " is not a multiple of 8");
        int words = n / PER_WORD;
        Tensor out = IntWeightLinear.allocate(arena, DType.I32, Shape.of(k, words));
        byte[] in = new byte[TILE * PER_WORD * k];
        int[] tile = new int[k * TILE];
        int[] from = new int[PER_WORD];
        for (int j = 0; j < PER_WORD; j++) from[j] = ORDER[j] * k;
        for (int w0 = 0; w0 < words; w0 += TILE) {
            int t = Math.min(TILE, words - w0);
            MemorySegment.copy(codes.data(), ValueLayout.JAVA_BYTE, (long) w0 * PER_WORD * k, in, 0, t * PER_WORD * k);
            for (int w = 0; w < t; w++) {
                int base = w * PER_WORD * k;
                for (int r = 0; r < k; r++) {
                    int word = 0;
                    for (int j = 0; j < PER_WORD; j++) word |= (in[base + from[j] + r] & 0xF) << (4 * j);
                    tile[r * TILE + w] = word;
                }
            }
            for (int r = 0; r < k; r++) {
                MemorySegment.copy(tile, r * TILE, out.data(), Tensor.I32, ((long) r * words + w0) * 4, t);
            }
        }
        return out;
    }

    /** Words per tile of {@link #packQweight(Tensor, Arena)}: one 64-byte line per row. */
    static final int TILE = 16;

    /** qweight I32 {@code [K, N / 8]} → U8 codes {@code [N, K]}. */
    public static Tensor unpackQweight(Tensor qweight) {
        long k = qweight.shape().dim(0);
        long n = qweight.shape().dim(1) * PER_WORD;
        Tensor codes = Tensor.allocate(DType.U8, Shape.of(n, k));
        unpack(qweight, (col, row, v) -> codes.setLong(col * k + row, v));
        return codes;
    }

    /** Zeros I32 {@code [N, groups]} → qzeros I32 {@code [groups, N / 8]}. */
    public static Tensor packQzeros(Tensor zeros) {
        long n = zeros.shape().dim(0);
        long groups = zeros.shape().dim(1);
        return pack(n, groups, (col, row) -> zeros.getLong(col * groups + row));
    }

    /** qzeros I32 {@code [groups, N / 8]} → zeros I32 {@code [N, groups]}. */
    public static Tensor unpackQzeros(Tensor qzeros) {
        long groups = qzeros.shape().dim(0);
        long n = qzeros.shape().dim(1) * PER_WORD;
        Tensor zeros = Tensor.allocate(DType.I32, Shape.of(n, groups));
        unpack(qzeros, (col, row, v) -> zeros.setLong(col * groups + row, v));
        return zeros;
    }

    private interface Source {
        long at(long outCol, long row);
    }

    private interface Sink {
        void put(long outCol, long row, long value);
    }

    /** Values indexed (output column, row) → I32 {@code [rows, n / 8]} with the interleave. */
    private static Tensor pack(long n, long rows, Source src) {
        if (n % PER_WORD != 0) throw new IllegalArgumentException("N = " + n + " is not a multiple of 8");
        long words = n / PER_WORD;
        Tensor out = Tensor.allocate(DType.I32, Shape.of(rows, words));
        for (long r = 0; r < rows; r++) {
            for (long c = 0; c < words; c++) {
                int word = 0;
                for (int j = 0; j < PER_WORD; j++) word |= (int) (src.at(c * PER_WORD + ORDER[j], r) & 0xF) << (4 * j);
                out.setLong(r * words + c, word);
            }
        }
        return out;
    }

    private static void unpack(Tensor packed, Sink dst) {
        long rows = packed.shape().dim(0);
        long words = packed.shape().dim(1);
        for (long r = 0; r < rows; r++) {
            for (long c = 0; c < words; c++) {
                int word = (int) packed.getLong(r * words + c);
                for (int j = 0; j < PER_WORD; j++) dst.put(c * PER_WORD + ORDER[j], r, (word >>> (4 * j)) & 0xF);
            }
        }
    }
}
