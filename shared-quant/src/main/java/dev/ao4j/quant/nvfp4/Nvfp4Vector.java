package dev.ao4j.quant.nvfp4;

import dev.ao4j.quant.dtype.Fp4E2M1;
import dev.ao4j.quant.mx.DeviceNan;
import dev.ao4j.quant.mx.MxVector;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.numerics.F32Bits;
import dev.ao4j.quant.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API twin of {@link Nvfp4Quantizer#quantizeRows}: the same scales and codes bit for bit (tests prove it).
 * Each row is widened to f32 bits once ({@link F32Bits#loadRow}); per block the amax is a lane-wise integer max,
 * the e4m3 scale and the multiplier are the reference's scalar {@link Nvfp4Quantizer#blockScale} and
 * {@link Nvfp4Quantizer#multiplier}, and the multiply, clamp and fp4 encoding ({@link MxVector#fp4Codes}) run in
 * lanes. NaN products, whose bits the fp4 encoder turns into codes, can only come from a NaN element or a
 * multiplier that is NaN, zero or infinite; such blocks run the reference's scalar {@link Nvfp4Quantizer#encode}.
 * The block of 16 is a multiple of every integer lane count (2..16), so there are no ragged tails in a block.
 */
final class Nvfp4Vector {
    private Nvfp4Vector() {}

    private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = INTS.length();
    private static final int BLOCK = Nvfp4Tensor.BLOCK_SIZE;
    private static final int AMAX_CHUNK = 4096;

    /** Same contract as {@link Nvfp4Quantizer#quantizeRows}. */
    static void quantize(Tensor hp, int cols, Integer pts, DivMode mode, Tensor q, Tensor scale, long rows) {
        int[] row = new int[cols];
        int[] codes = new int[cols];
        byte[] packed = new byte[cols / 2];
        int blocks = cols / BLOCK;
        FloatVector hi = FloatVector.broadcast(FLOATS, Fp4E2M1.MAX);
        FloatVector lo = FloatVector.broadcast(FLOATS, -Fp4E2M1.MAX);
        MemorySegment out = q.data();
        for (long r = 0; r < rows; r++) {
            F32Bits.loadRow(hp, r, cols, row);
            for (int b = 0; b < blocks; b++) {
                int c0 = b * BLOCK;
                IntVector acc = IntVector.zero(INTS);
                for (int c = c0; c < c0 + BLOCK; c += LANES) {
                    acc = acc.max(IntVector.fromArray(INTS, row, c).and(0x7FFFFFFF));
                }
                int bmax = acc.reduceLanes(VectorOperators.MAX);
                byte s8 = Nvfp4Quantizer.blockScale(bmax, pts, mode);
                scale.setByte(r * blocks + b, s8);
                int mult = Nvfp4Quantizer.multiplier(s8, pts, mode);
                int multAbs = mult & 0x7FFFFFFF;
                if (DeviceNan.isNaN(bmax) || multAbs == 0 || multAbs >= 0x7F800000) {
                    for (int i = c0; i < c0 + BLOCK; i++) codes[i] = Nvfp4Quantizer.encode(row[i], mult, mode);
                    continue;
                }
                // x · mult of a number by a finite non-zero f32 is never NaN; clamp (a no-op for the saturating
                // encoder's codes, kept to follow torchao) and encode in lanes
                float m = Float.intBitsToFloat(mult);
                for (int c = c0; c < c0 + BLOCK; c += LANES) {
                    FloatVector y = IntVector.fromArray(INTS, row, c).reinterpretAsFloats().mul(m).max(lo).min(hi);
                    MxVector.fp4Codes(y.reinterpretAsInts()).intoArray(codes, c);
                }
            }
            for (int i = 0; i < packed.length; i++) packed[i] = (byte) (codes[2 * i] | (codes[2 * i + 1] << 4));
            MemorySegment.copy(packed, 0, out, ValueLayout.JAVA_BYTE, r * packed.length,
                    packed.length);
        }
    }

    /** The largest {@code |x|} bits over all of {@code hp} (any NaN pattern wins), as the reference's scalar loop. */
    static int absMaxBits(Tensor hp) {
        long n = hp.numel();
        long chunks = n / AMAX_CHUNK;
        int[] buf = new int[AMAX_CHUNK];
        IntVector acc = IntVector.zero(INTS);
        for (long k = 0; k < chunks; k++) {
            F32Bits.loadRow(hp, k, AMAX_CHUNK, buf);
            for (int c = 0; c < AMAX_CHUNK; c += LANES) {
                acc = acc.max(IntVector.fromArray(INTS, buf, c).and(0x7FFFFFFF));
            }
        }
        int amax = acc.reduceLanes(VectorOperators.MAX);
        for (long i = chunks * AMAX_CHUNK; i < n; i++) amax = Math.max(amax, F32Bits.load(hp, i) & 0x7FFFFFFF);
        return amax;
    }
}
