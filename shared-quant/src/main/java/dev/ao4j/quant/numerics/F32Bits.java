package dev.ao4j.quant.numerics;

import dev.ao4j.quant.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * BF16/F16/F32 elements read as exact f32 bit patterns ({@code tensor.to(float32)}): every value widens exactly,
 * and NaNs keep their sign and payload, which the float8 and MX encoders need to reproduce torch's NaN outputs.
 */
public final class F32Bits {
    private F32Bits() {}

    private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Short> SHORTS =
            VectorSpecies.of(short.class, VectorShape.forBitSize(INTS.length() * 16));
    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = INTS.length();

    /** Element {@code i} of a BF16/F16/F32 tensor as exact f32 bits. */
    public static int load(Tensor t, long i) {
        return switch (t.dtype()) {
            case BF16 -> (t.data().getAtIndex(Tensor.I16, i) & 0xFFFF) << 16;
            case F16 -> f16(t.data().getAtIndex(Tensor.I16, i));
            case F32 -> t.data().getAtIndex(Tensor.I32, i);
            default -> throw new IllegalStateException("unchecked dtype " + t.dtype());
        };
    }

    // Float.float16ToFloat may quiet or drop a NaN's payload; build NaN bits by hand so they survive exactly
    private static int f16(short h) {
        if (((h >>> 10) & 0x1F) == 0x1F) return ((h & 0x8000) << 16) | 0x7F800000 | ((h & 0x3FF) << 13);
        return Float.floatToRawIntBits(Float.float16ToFloat(h));
    }

    /**
     * Row {@code r} of a 2-D view of {@code hp} with {@code cols} columns into {@code dst[0, cols)}, as
     * {@link #load} would: BF16 and F32 with the Vector API, F16 and the ragged tail one element at a time.
     */
    public static void loadRow(Tensor hp, long r, int cols, int[] dst) {
        MemorySegment seg = hp.data();
        long base = r * cols;
        int c = 0;
        switch (hp.dtype()) {
            case BF16 -> {
                for (int bound = cols - cols % LANES; c < bound; c += LANES) {
                    ShortVector h = ShortVector.fromMemorySegment(SHORTS, seg, (base + c) * 2, ByteOrder.LITTLE_ENDIAN);
                    // sign extension in S2I is harmless: the shift drops the upper half
                    ((IntVector) h.convertShape(VectorOperators.S2I, INTS, 0)).lanewise(VectorOperators.LSHL, 16)
                            .intoArray(dst, c);
                }
            }
            case F32 -> {
                for (int bound = cols - cols % LANES; c < bound; c += LANES) {
                    IntVector.fromMemorySegment(INTS, seg, (base + c) * 4, ByteOrder.LITTLE_ENDIAN).intoArray(dst, c);
                }
            }
            default -> { } // F16: no vector half conversion in the incubator API; the scalar loop below does it
        }
        for (; c < cols; c++) dst[c] = load(hp, base + c);
    }

    /**
     * The min and max of the f32 values whose bits are {@code row[from, from + len)}, folded into {@code lo} and
     * {@code hi} (e.g. 0 to take 0 into the range, or ±infinity for the values alone), into {@code out[0]} and
     * {@code out[1]}. A NaN anywhere makes the result NaN, as torch's min/max and {@link Math#min} do.
     */
    public static void minMax(int[] row, int from, int len, float lo, float hi, float[] out) {
        int c = from;
        int end = from + len;
        if (len >= LANES) {
            FloatVector vlo = FloatVector.broadcast(FLOATS, lo);
            FloatVector vhi = FloatVector.broadcast(FLOATS, hi);
            for (int bound = end - len % LANES; c < bound; c += LANES) {
                FloatVector x = IntVector.fromArray(INTS, row, c).reinterpretAsFloats();
                vlo = vlo.min(x);
                vhi = vhi.max(x);
            }
            lo = vlo.reduceLanes(VectorOperators.MIN);
            hi = vhi.reduceLanes(VectorOperators.MAX);
        }
        for (; c < end; c++) {
            float x = Float.intBitsToFloat(row[c]);
            lo = Float.isNaN(lo) || Float.isNaN(x) ? Float.NaN : Math.min(lo, x);
            hi = Float.isNaN(hi) || Float.isNaN(x) ? Float.NaN : Math.max(hi, x);
        }
        out[0] = lo;
        out[1] = hi;
    }
}
