package dev.ao4j.quant.sparsity;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.numerics.ComputeDtypes;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.numerics.TorchOps;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;

/**
 * 2:4 magnitude pruning as torchao's {@code apply_fake_sparsity} does it ({@code WeightNormSparsifier(
 * sparsity_level=1.0, sparse_block_shape=(1, 4), zeros_per_block=2)}, torchao-numerics §9.1): per row, each group
 * of four consecutive elements along K loses the two with the smallest score {@code W·W}, computed and rounded in
 * the weight's dtype (so distinct small weights can tie, and overflowing squares tie at +Inf). Ties are broken as
 * {@link TopkTies} describes. A NaN score counts as the largest, so NaN weights are kept.
 *
 * <p>The loops here are the specification ({@link Kernel#REFERENCE}); {@link Kernel#VECTOR} runs
 * {@link Sparse24Vector}, which gives the same bytes.
 */
public final class Sparse24 {
    private Sparse24() {}

    /** The keep mask (BOOL, shape of {@code w}, 1 = kept) of 2:4 magnitude pruning, by the reference loop. */
    public static Tensor magnitudeMask(Tensor w, TopkTies ties) {
        return magnitudeMask(w, ties, Kernel.REFERENCE);
    }

    /** The keep mask (BOOL, shape of {@code w}, 1 = kept) of 2:4 magnitude pruning, computed by {@code kernel}. */
    public static Tensor magnitudeMask(Tensor w, TopkTies ties, Kernel kernel) {
        requirePrunable(w);
        if (kernel == Kernel.VECTOR) return Sparse24Vector.magnitudeMask(w, ties);
        Shape shape = w.shape();
        Tensor mask = Tensor.allocate(DType.BOOL, shape);
        float[] score = new float[4];
        for (long g = 0; g < w.numel() / 4; g++) {
            for (int i = 0; i < 4; i++) {
                float x = w.getFloat(4 * g + i);
                score[i] = TorchOps.mul(x, x, w.dtype());
            }
            int zeroed = ties == TopkTies.CPU_INTROSELECT ? smallestTwoCpu(score) : smallestTwoCuda(score);
            for (int i = 0; i < 4; i++) mask.setByte(4 * g + i, (byte) ((zeroed >>> i) & 1 ^ 1));
        }
        return mask;
    }

    /**
     * {@code w · mask} in w's dtype, by the reference loop: pruned entries become ±0 (the weight's sign), NaN stays
     * NaN.
     */
    public static Tensor prune(Tensor w, TopkTies ties) {
        return prune(w, ties, Kernel.REFERENCE);
    }

    /** {@code w · mask} in w's dtype as {@link #prune(Tensor, TopkTies)} defines it, computed by {@code kernel}. */
    public static Tensor prune(Tensor w, TopkTies ties, Kernel kernel) {
        requirePrunable(w);
        if (kernel == Kernel.VECTOR) return Sparse24Vector.prune(w, ties);
        Tensor mask = magnitudeMask(w, ties);
        Tensor out = Tensor.allocate(w.dtype(), w.shape());
        for (long i = 0; i < w.numel(); i++) {
            out.setFloat(i, pruned(w.getFloat(i), mask.getByte(i) != 0, w.dtype()));
        }
        return out;
    }

    /**
     * One element of {@code w · mask} in w's dtype. The multiplication quiets a signalling NaN on the CPU, but the
     * JIT may fold {@code x · 1} to {@code x} and keep it signalling, so a NaN product is quieted explicitly: the
     * result must not depend on what got compiled.
     */
    static float pruned(float x, boolean keep, DType dtype) {
        float p = TorchOps.mul(x, keep ? 1 : 0, dtype);
        return Float.isNaN(p) ? Float.intBitsToFloat(Float.floatToRawIntBits(p) | 0x0040_0000) : p;
    }

    private static void requirePrunable(Tensor w) {
        ComputeDtypes.require("2:4 pruning input", w.dtype());
        Shape shape = w.shape();
        if (shape.rank() != 2 || shape.cols() % 4 != 0) {
            throw new InvalidConfigException("2:4 pruning needs a 2-D weight with K divisible by 4 but the shape is "
                    + shape);
        }
    }

    /** torch's smallest-first order: a number is below NaN, otherwise {@code <}. */
    private static boolean less(float a, float b) {
        return (!Float.isNaN(a) && Float.isNaN(b)) || a < b;
    }

    /** Bit i set for the two positions CUDA zeroes: stable ascending order, first two. */
    static int smallestTwoCuda(float[] s) {
        int zeroed = 0;
        for (int n = 0; n < 2; n++) {
            int best = -1;
            for (int i = 0; i < 4; i++) {
                if ((zeroed >>> i & 1) == 0 && (best < 0 || less(s[i], s[best]))) best = i;
            }
            zeroed |= 1 << best;
        }
        return zeroed;
    }

    /**
     * Bit i set for the two positions the CPU zeroes: libstdc++ {@code nth_element(q, q + 1, q + 4)} on the
     * positions {0, 1, 2, 3} ordered by score, followed step by step (four elements exceed its small-range
     * threshold of three, so one partition round runs before the final insertion sort).
     */
    static int smallestTwoCpu(float[] s) {
        int[] q = {0, 1, 2, 3};
        int first = 0;
        int last = 4;
        final int nth = 1;
        while (last - first > 3) {
            // move the median of (first + 1, mid, last - 1) to first
            int a = first + 1;
            int b = first + (last - first) / 2;
            int c = last - 1;
            int m;
            if (less(s[q[a]], s[q[b]])) {
                m = less(s[q[b]], s[q[c]]) ? b : less(s[q[a]], s[q[c]]) ? c : a;
            } else {
                m = less(s[q[a]], s[q[c]]) ? a : less(s[q[b]], s[q[c]]) ? c : b;
            }
            swap(q, first, m);
            // unguarded partition of [first + 1, last) around the pivot at first
            int lo = first + 1;
            int hi = last;
            while (true) {
                while (less(s[q[lo]], s[q[first]])) lo++;
                hi--;
                while (less(s[q[first]], s[q[hi]])) hi--;
                if (lo >= hi) break;
                swap(q, lo, hi);
                lo++;
            }
            if (lo <= nth) first = lo;
            else last = lo;
        }
        // insertion sort of [first, last)
        for (int i = first + 1; i < last; i++) {
            int v = q[i];
            if (less(s[v], s[q[first]])) {
                System.arraycopy(q, first, q, first + 1, i - first);
                q[first] = v;
            } else {
                int j = i;
                while (less(s[v], s[q[j - 1]])) {
                    q[j] = q[j - 1];
                    j--;
                }
                q[j] = v;
            }
        }
        return (1 << q[0]) | (1 << q[1]);
    }

    private static void swap(int[] q, int i, int j) {
        int t = q[i];
        q[i] = q[j];
        q[j] = t;
    }

    // ---- CUTLASS compressed form (torchao-numerics §9.2) ----

    /**
     * PyTorch's CUTLASS 2:4 encoding of a group's non-zero pattern (bit i = element i is non-zero; NaN counts as
     * non-zero, ±0 as zero) as {@code i0 | i1 << 2}, the two positions stored. Exactly-two patterns map to their
     * pair; the others use the fill choices of PyTorch's conversion (too few non-zeros: zero positions are stored
     * too; too many: later ones are dropped).
     */
    private static final int[] CODE_OF_PATTERN = {
        0xE, 0x8, 0x9, 0x4, 0xE, 0x8, 0x9, 0x4, 0xE, 0xC, 0xD, 0x4, 0xE, 0xC, 0xD, 0x4,
    };

    /** The kept values {@code [M, K/2]} (w's dtype) and the reordered metadata {@code [M, K/16]} (I16). */
    public record Compressed(Tensor values, Tensor meta) {}

    /**
     * {@code torch.sparse.to_sparse_semi_structured} with the CUTLASS backend for a 2:4-sparse bf16/f16 weight
     * {@code [M, K]} (M % 32 == 0, K % 64 == 0): per group of four the two stored positions {@code i0 < i1}, their
     * values in order, and the 4-bit codes {@code i0 | i1 << 2}, four per int16 (group j of each 16 columns in
     * bits 4j..4j+3), in the tensor-core metadata order.
     */
    public static Compressed compress(Tensor sparse) {
        DType dt = sparse.dtype();
        if (dt != DType.BF16 && dt != DType.F16) {
            throw new UnsupportedFormatException("CUTLASS 2:4 compression is implemented for bf16 and f16 weights, "
                    + "not " + dt);
        }
        Shape shape = sparse.shape();
        if (shape.rank() != 2 || shape.dim(0) % 32 != 0 || shape.dim(1) % 64 != 0) {
            throw new InvalidConfigException("CUTLASS 2:4 compression needs [M, K] with M % 32 == 0 and K % 64 == 0 "
                    + "but the shape is " + shape);
        }
        int m = Math.toIntExact(shape.dim(0));
        int k = Math.toIntExact(shape.dim(1));
        Tensor values = Tensor.allocate(dt, Shape.of(m, k / 2));
        Tensor meta = Tensor.allocate(DType.I16, Shape.of(m, k / 16));
        for (int r = 0; r < m; r++) {
            for (int c = 0; c < k / 16; c++) {
                int word = 0;
                for (int j = 0; j < 4; j++) {
                    long g = (long) r * k + c * 16 + j * 4;
                    int pattern = 0;
                    for (int i = 0; i < 4; i++) {
                        short raw = sparse.data().getAtIndex(Tensor.I16, g + i);
                        if ((raw & 0x7FFF) != 0) pattern |= 1 << i; // != 0: NaN is non-zero, -0 is zero
                    }
                    int code = CODE_OF_PATTERN[pattern];
                    long v = (long) r * (k / 2) + c * 8 + j * 2;
                    values.data().setAtIndex(Tensor.I16, v, sparse.data().getAtIndex(Tensor.I16, g + (code & 3)));
                    values.data().setAtIndex(Tensor.I16, v + 1, sparse.data().getAtIndex(Tensor.I16, g + (code >>> 2)));
                    word |= code << (4 * j);
                }
                meta.data().setAtIndex(Tensor.I16, metaOffset(r, c, m), (short) word);
            }
        }
        return new Compressed(values, meta);
    }

    /** The dense {@code [M, K]} weight of a compressed one: stored values at their positions, zeros elsewhere. */
    public static Tensor decompress(Compressed compressed) {
        Tensor values = compressed.values();
        Tensor meta = compressed.meta();
        int m = Math.toIntExact(values.shape().dim(0));
        int k = Math.toIntExact(values.shape().dim(1) * 2);
        if (meta.dtype() != DType.I16 || !meta.shape().equals(Shape.of(m, k / 16))) {
            throw new InvalidConfigException("2:4 metadata for values " + values.shape() + " must be I16 [" + m + ", "
                    + k / 16 + "] but is " + meta.dtype() + meta.shape());
        }
        Tensor dense = Tensor.allocate(values.dtype(), Shape.of(m, k));
        for (int r = 0; r < m; r++) {
            for (int c = 0; c < k / 16; c++) {
                int word = meta.data().getAtIndex(Tensor.I16, metaOffset(r, c, m)) & 0xFFFF;
                for (int j = 0; j < 4; j++) {
                    int code = (word >>> (4 * j)) & 0xF;
                    int i0 = code & 3;
                    int i1 = code >>> 2;
                    if (i0 >= i1) {
                        throw new InvalidConfigException("2:4 metadata row " + r + " column " + c + " group " + j
                                + ": code 0x" + Integer.toHexString(code) + " does not name two positions i0 < i1");
                    }
                    long g = (long) r * k + c * 16 + j * 4;
                    long v = (long) r * (k / 2) + c * 8 + j * 2;
                    dense.data().setAtIndex(Tensor.I16, g + i0, values.data().getAtIndex(Tensor.I16, v));
                    dense.data().setAtIndex(Tensor.I16, g + i1, values.data().getAtIndex(Tensor.I16, v + 1));
                }
            }
        }
        return dense;
    }

    /**
     * Where metadata element {@code (r, c)} of an {@code [m, *]} int16 matrix goes in CUTLASS's tensor-core order:
     * rows are permuted within groups of 32 ({@code (r/32)·32 + (r%8)·4 + (r%32)/8}), 2×2 blocks are transposed,
     * and the result is stored column-major in pairs of columns.
     */
    static long metaOffset(int r, int c, int m) {
        int rr = (r / 32) * 32 + (r % 8) * 4 + (r % 32) / 8;
        int cc = c;
        if ((rr & 1) == 0 && (cc & 1) == 1) {
            rr++;
            cc--;
        } else if ((rr & 1) == 1 && (cc & 1) == 0) {
            rr--;
            cc++;
        }
        return (long) (cc / 2) * m * 2 + rr * 2L + (cc % 2);
    }
}
