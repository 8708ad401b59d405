package dev.ao4j.quant.sparsity;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.numerics.TorchOps;
import dev.ao4j.quant.numerics.VectorRounding;
import dev.ao4j.quant.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API twin of {@link Sparse24}'s reference loops: the same mask and pruned bytes (tests prove it).
 *
 * <p>Both tie rules only ever ask {@code less(s_i, s_j)} about a group's four scores, so the zeroed pair is a
 * function of the twelve ordered comparisons. The lanes compute each score as the reference does (the square rounded
 * in the weight's dtype), turn it into an int key whose signed order is the reference's {@code less} (non-NaN
 * scores are never negative, so their bits already sort; every NaN becomes one key above +Inf), and compare each
 * lane with the lanes one, two and three places further round its group. A table then maps the twelve bits to the
 * zeroed pair. The table is filled by running the reference selection itself on every assignment of the scores
 * 0..3 to four positions: keys are totally preordered, so every comparison pattern a group can produce is one of
 * those assignments' patterns, and the reference's answer depends on nothing but the comparisons.
 *
 * <p>A weight is the same bits after {@code w·1}, and ±0 after {@code w·0}, when it is finite; lanes holding Inf or
 * NaN are written by the reference formula (its NaN quieting and payloads are the scalar conversions').
 */
final class Sparse24Vector {
    private Sparse24Vector() {}

    private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_PREFERRED;
    private static final int LANES = INTS.length();
    private static final VectorSpecies<Short> SHORTS = VectorSpecies.of(short.class, VectorShape.forBitSize(LANES * 16));
    private static final VectorSpecies<Byte> BYTES = VectorSpecies.of(byte.class, VectorShape.forBitSize(LANES * 8));
    private static final VectorSpecies<Float> FLOATS = VectorSpecies.of(float.class, INTS.vectorShape());

    /** The key of a NaN score: above +Inf's bits, equal for every NaN (the reference never finds one NaN below another). */
    private static final int NAN_KEY = 0x7F800001;
    private static final float F16_TO_F32_SCALE = 0x1p112f;

    /** Lane i of ROTATE_r reads lane {@code (i & ~3) | ((i + r) & 3)}: r places further round its group of four. */
    private static final VectorShuffle<Integer> ROTATE_1 = rotation(1);
    private static final VectorShuffle<Integer> ROTATE_2 = rotation(2);
    private static final VectorShuffle<Integer> ROTATE_3 = rotation(3);

    /** Zeroed positions (bit i = position i) by the comparison pattern, per tie rule; see {@link #patternBit}. */
    private static final byte[] CUDA_TABLE = table(TopkTies.CUDA_LOWEST_INDEX);
    private static final byte[] CPU_TABLE = table(TopkTies.CPU_INTROSELECT);

    static Tensor magnitudeMask(Tensor w, TopkTies ties) {
        Tensor mask = Tensor.allocate(DType.BOOL, w.shape());
        run(w, ties, mask, null);
        return mask;
    }

    static Tensor prune(Tensor w, TopkTies ties) {
        Tensor out = Tensor.allocate(w.dtype(), w.shape());
        run(w, ties, null, out);
        return out;
    }

    /** The table of {@code ties} (also read by tests): zeroed positions, or -1 for a pattern no group can produce. */
    static byte[] table(TopkTies ties) {
        byte[] t = new byte[1 << 12];
        Arrays.fill(t, (byte) -1);
        float[] s = new float[4];
        for (int a = 0; a < 256; a++) {
            for (int i = 0; i < 4; i++) s[i] = (a >>> (2 * i)) & 3;
            int zeroed = ties == TopkTies.CPU_INTROSELECT ? Sparse24.smallestTwoCpu(s) : Sparse24.smallestTwoCuda(s);
            int index = 0;
            for (int r = 1; r < 4; r++) {
                for (int i = 0; i < 4; i++) {
                    if (s[i] < s[(i + r) & 3]) index |= 1 << patternBit(i, r);
                }
            }
            if (t[index] >= 0 && t[index] != zeroed) {
                throw new IllegalStateException("the reference selection gave two answers for pattern " + index);
            }
            t[index] = (byte) zeroed;
        }
        return t;
    }

    /** Bit of the pattern index that holds {@code less(s_i, s_((i + r) % 4))}, r in 1..3. */
    static int patternBit(int i, int r) {
        return 4 * (r - 1) + i;
    }

    /**
     * The flat tensor is a sequence of groups of four (K % 4 == 0, so no group spans two rows). One loop per dtype,
     * none with a dtype branch inside.
     */
    private static void run(Tensor w, TopkTies ties, Tensor mask, Tensor out) {
        byte[] table = ties == TopkTies.CPU_INTROSELECT ? CPU_TABLE : CUDA_TABLE;
        long n = w.numel();
        long end = LANES % 4 == 0 ? n - n % LANES : 0;
        switch (w.dtype()) {
            case BF16 -> bf16(w, table, mask, out, end);
            case F16 -> f16(w, table, mask, out, end);
            case F32 -> f32(w, table, mask, out, end);
            default -> throw new IllegalStateException("unchecked dtype " + w.dtype());
        }
        // the ragged tail (a multiple of four elements shorter than a vector): the reference, group by group
        float[] score = new float[4];
        for (long i = end; i < n; i += 4) {
            for (int j = 0; j < 4; j++) {
                float v = w.getFloat(i + j);
                score[j] = TorchOps.mul(v, v, w.dtype());
            }
            int zeroed = ties == TopkTies.CPU_INTROSELECT ? Sparse24.smallestTwoCpu(score) : Sparse24.smallestTwoCuda(score);
            for (int j = 0; j < 4; j++) {
                boolean keep = (zeroed >>> j & 1) == 0;
                if (mask != null) mask.setByte(i + j, (byte) (keep ? 1 : 0));
                if (out != null) writeReference(w, out, i + j, keep);
            }
        }
    }

    private static void bf16(Tensor w, byte[] table, Tensor mask, Tensor out, long end) {
        MemorySegment src = w.data();
        for (long i = 0; i < end; i += LANES) {
            ShortVector raw = ShortVector.fromMemorySegment(SHORTS, src, i * 2, ByteOrder.LITTLE_ENDIAN);
            IntVector abs = ((IntVector) raw.convertShape(VectorOperators.S2I, INTS, 0))
                    .lanewise(VectorOperators.LSHL, 16).and(0x7FFFFFFF);
            FloatVector x = abs.reinterpretAsFloats();
            IntVector key = VectorRounding.bf16(x.mul(x)).reinterpretAsInts()
                    .blend(NAN_KEY, abs.compare(VectorOperators.GT, 0x7F800000));
            long zeroed = zeroed(key, table);
            if (mask != null) writeMask(mask, i, zeroed);
            if (out != null) {
                raw.blend(raw.and((short) 0x8000), VectorMask.fromLong(SHORTS, zeroed))
                        .intoMemorySegment(out.data(), i * 2, ByteOrder.LITTLE_ENDIAN);
                fixNonFinite(w, out, i, zeroed, abs.compare(VectorOperators.GE, 0x7F800000).toLong());
            }
        }
    }

    private static void f16(Tensor w, byte[] table, Tensor mask, Tensor out, long end) {
        MemorySegment src = w.data();
        for (long i = 0; i < end; i += LANES) {
            ShortVector raw = ShortVector.fromMemorySegment(SHORTS, src, i * 2, ByteOrder.LITTLE_ENDIAN);
            IntVector abs = ((IntVector) raw.convertShape(VectorOperators.S2I, INTS, 0)).and(0x7FFF);
            VectorMask<Integer> nonFinite = abs.compare(VectorOperators.GE, 0x7C00);
            // |x| for finite f16: exponent and fraction moved into f32 position are |x| * 2^-112 exactly, subnormals
            // included; Inf and NaN lanes square to +Inf here and NaN lanes get their key below
            FloatVector x = abs.lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(F16_TO_F32_SCALE)
                    .blend(Float.POSITIVE_INFINITY, nonFinite.cast(FLOATS));
            IntVector key = VectorRounding.f16(x.mul(x)).reinterpretAsInts()
                    .blend(NAN_KEY, abs.compare(VectorOperators.GT, 0x7C00));
            long zeroed = zeroed(key, table);
            if (mask != null) writeMask(mask, i, zeroed);
            if (out != null) {
                raw.blend(raw.and((short) 0x8000), VectorMask.fromLong(SHORTS, zeroed))
                        .intoMemorySegment(out.data(), i * 2, ByteOrder.LITTLE_ENDIAN);
                fixNonFinite(w, out, i, zeroed, nonFinite.toLong());
            }
        }
    }

    private static void f32(Tensor w, byte[] table, Tensor mask, Tensor out, long end) {
        MemorySegment src = w.data();
        for (long i = 0; i < end; i += LANES) {
            IntVector raw = IntVector.fromMemorySegment(INTS, src, i * 4, ByteOrder.LITTLE_ENDIAN);
            IntVector abs = raw.and(0x7FFFFFFF);
            FloatVector x = raw.reinterpretAsFloats();
            IntVector key = x.mul(x).reinterpretAsInts().blend(NAN_KEY, abs.compare(VectorOperators.GT, 0x7F800000));
            long zeroed = zeroed(key, table);
            if (mask != null) writeMask(mask, i, zeroed);
            if (out != null) {
                raw.blend(raw.and(0x80000000), VectorMask.fromLong(INTS, zeroed))
                        .intoMemorySegment(out.data(), i * 4, ByteOrder.LITTLE_ENDIAN);
                fixNonFinite(w, out, i, zeroed, abs.compare(VectorOperators.GE, 0x7F800000).toLong());
            }
        }
    }

    /** Bit l set for each lane l that is zeroed, from the lanes' score keys. */
    private static long zeroed(IntVector key, byte[] table) {
        long lt1 = key.compare(VectorOperators.LT, key.rearrange(ROTATE_1)).toLong();
        long lt2 = key.compare(VectorOperators.LT, key.rearrange(ROTATE_2)).toLong();
        long lt3 = key.compare(VectorOperators.LT, key.rearrange(ROTATE_3)).toLong();
        long zeroed = 0;
        for (int g = 0; g < LANES; g += 4) {
            int index = (int) ((lt1 >>> g) & 0xF | ((lt2 >>> g) & 0xF) << 4 | ((lt3 >>> g) & 0xF) << 8);
            zeroed |= (long) table[index] << g;
        }
        return zeroed;
    }

    private static void writeMask(Tensor mask, long i, long zeroed) {
        ByteVector.broadcast(BYTES, (byte) 1).blend((byte) 0, VectorMask.fromLong(BYTES, zeroed))
                .intoMemorySegment(mask.data(), i, ByteOrder.LITTLE_ENDIAN);
    }

    /** Rewrites the Inf and NaN lanes (bits of {@code nonFinite}) of the vector at {@code i} the reference's way. */
    private static void fixNonFinite(Tensor w, Tensor out, long i, long zeroed, long nonFinite) {
        while (nonFinite != 0) {
            int lane = Long.numberOfTrailingZeros(nonFinite);
            nonFinite &= nonFinite - 1;
            writeReference(w, out, i + lane, (zeroed >>> lane & 1) == 0);
        }
    }

    /** Element {@code e} of the pruned tensor exactly as {@link Sparse24#prune} writes it: {@code w · mask}. */
    private static void writeReference(Tensor w, Tensor out, long e, boolean keep) {
        out.setFloat(e, Sparse24.pruned(w.getFloat(e), keep, w.dtype()));
    }

    private static VectorShuffle<Integer> rotation(int r) {
        return VectorShuffle.fromOp(INTS, i -> (i & ~3) | ((i + r) & 3));
    }
}
