package dev.ao4j.quant.float8;

import dev.ao4j.quant.numerics.BlockLayout;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.numerics.F32Bits;
import dev.ao4j.quant.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API twin of {@link Float8Reference}: the same results bit for bit (tests prove it), with each row
 * widened to f32 bits once, then vector loops over each block's columns and the reference on ragged tails.
 *
 * <p>The float8 encode is done with integer lane arithmetic on values already clamped to ±max: below the smallest
 * normal, adding a power of two whose ulp is the subnormal step makes the IEEE adder do the round-to-nearest-even
 * (the low bits of the sum are the code); in the normal range the exponent is re-biased and the dropped mantissa
 * bits are rounded by adding {@code half - 1 + lsb} before the shift.
 */
final class Float8Vector {
    private Float8Vector() {}

    private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Byte> BYTES =
            VectorSpecies.of(byte.class, VectorShape.forBitSize(INTS.length() * 8));
    private static final int LANES = INTS.length();

    /** Constants of the lane encoder per format. */
    private record Encoder(float subnormalMagic, int subnormalMagicBits, int minNormalBits, int rebias, int shift) {}

    // e4m3fn: subnormal step 2^-9 = ulp(2^14); normals re-biased 127 -> 7, 23 - 3 = 20 bits dropped
    private static final Encoder E4M3 = new Encoder(0x1p14f, 0x46800000, 0x3C800000, ((7 - 127) << 23) + 0x7FFFF, 20);
    // e5m2: subnormal step 2^-16 = ulp(2^7); normals re-biased 127 -> 15, 23 - 2 = 21 bits dropped
    private static final Encoder E5M2 = new Encoder(0x1p7f, 0x43000000, 0x38800000, ((15 - 127) << 23) + 0xFFFFF, 21);

    /** Same contract as {@link Float8Reference#blockAbsMax}. */
    static int[] blockAbsMax(Tensor hp, BlockLayout layout) {
        int[] amax = new int[Math.toIntExact(layout.numBlocks())];
        int cols = (int) layout.shape().cols();
        int bc = layout.segmentLength();
        int[] row = new int[cols];
        for (long r = 0; r < layout.rows(); r++) {
            F32Bits.loadRow(hp, r, cols, row);
            int blockBase = (int) layout.firstBlockOfRow(r);
            for (int c0 = 0, b = blockBase; c0 < cols; c0 += bc, b++) {
                int end = c0 + bc;
                int c = c0;
                IntVector acc = IntVector.zero(INTS);
                for (int bound = end - bc % LANES; c < bound; c += LANES) {
                    acc = acc.max(IntVector.fromArray(INTS, row, c).and(0x7FFFFFFF));
                }
                int m = acc.reduceLanes(VectorOperators.MAX);
                for (; c < end; c++) {
                    m = Math.max(m, row[c] & 0x7FFFFFFF);
                }
                if (m > amax[b]) amax[b] = m;
            }
        }
        return amax;
    }

    /** Same contract as {@link Float8Reference#quantizeRows} over all rows. */
    static void quantize(Tensor hp, BlockLayout layout, int[] scaleBits, Fp8Format fmt, DivMode mode,
                         MemorySegment out) {
        Encoder enc = fmt == Fp8Format.E4M3FN ? E4M3 : E5M2;
        boolean cuda = DeviceNaN.isCuda(mode);
        int cols = (int) layout.shape().cols();
        int bc = layout.segmentLength();
        int[] row = new int[cols];
        FloatVector lo = FloatVector.broadcast(FLOATS, -fmt.max);
        FloatVector hi = FloatVector.broadcast(FLOATS, fmt.max);
        for (long r = 0; r < layout.rows(); r++) {
            F32Bits.loadRow(hp, r, cols, row);
            long base = r * cols;
            int blockBase = (int) layout.firstBlockOfRow(r);
            for (int c0 = 0, b = blockBase; c0 < cols; c0 += bc, b++) {
                int sBits = scaleBits[b];
                FloatVector s = FloatVector.broadcast(FLOATS, Float.intBitsToFloat(sBits));
                // the NaN sign when x is not NaN: CUDA canonical (+), x86 the scale's own NaN or the default NaN (-)
                int otherNanSign = cuda ? 0 : DeviceNaN.nanSign(0, sBits, mode);
                int end = c0 + bc;
                int c = c0;
                for (int bound = end - bc % LANES; c < bound; c += LANES) {
                    IntVector xBits = IntVector.fromArray(INTS, row, c);
                    FloatVector x = xBits.reinterpretAsFloats();
                    FloatVector y = x.div(s);
                    VectorMask<Float> nan = y.test(VectorOperators.IS_NAN);
                    IntVector code = encode(y.max(lo).min(hi).reinterpretAsInts(), enc);
                    if (nan.anyTrue()) {
                        IntVector sign = IntVector.broadcast(INTS, otherNanSign);
                        if (!cuda) {
                            VectorMask<Integer> xNan = x.test(VectorOperators.IS_NAN).cast(INTS);
                            sign = sign.blend(xBits.lanewise(VectorOperators.LSHR, 31), xNan);
                        }
                        code = code.blend(sign.lanewise(VectorOperators.LSHL, 7).or(0x7F), nan.cast(INTS));
                    }
                    ((ByteVector) code.convertShape(VectorOperators.I2B, BYTES, 0))
                            .intoMemorySegment(out, base + c, ByteOrder.LITTLE_ENDIAN);
                }
                for (; c < end; c++) {
                    out.set(ValueLayout.JAVA_BYTE, base + c,
                            Float8Reference.quantizeOne(row[c], sBits, fmt, mode));
                }
            }
        }
    }

    /** Float8 codes of lanes holding non-NaN f32 values within ±max (NaN lanes give garbage, fixed by the caller). */
    private static IntVector encode(IntVector bits, Encoder enc) {
        IntVector sign = bits.lanewise(VectorOperators.LSHR, 24).and(0x80);
        IntVector abs = bits.and(0x7FFFFFFF);
        IntVector sub = abs.reinterpretAsFloats().add(enc.subnormalMagic()).reinterpretAsInts()
                .sub(enc.subnormalMagicBits());
        IntVector odd = abs.lanewise(VectorOperators.LSHR, enc.shift()).and(1);
        IntVector normal = abs.add(enc.rebias()).add(odd).lanewise(VectorOperators.LSHR, enc.shift());
        VectorMask<Integer> isSub = abs.compare(VectorOperators.LT, enc.minNormalBits());
        return normal.blend(sub, isSub).or(sign);
    }
}
