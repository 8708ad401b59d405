package dev.ao4j.quant.mx;

import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.numerics.F32Bits;
import dev.ao4j.quant.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API twin of {@link MxReference}: the same scales and codes bit for bit (tests prove it). Each row is
 * widened to f32 bits once; per block the amax is a lane-wise integer max, the E8M0 code is the scalar
 * {@link MxScale#e8m0}, and scaling and encoding run in lanes. A block whose code is 255 (it holds a NaN) runs the
 * reference, since only there can NaN lanes (whose bits the encoders depend on) appear. The block size is a
 * multiple of every integer lane count (2..16), so there are no ragged tails inside a block.
 *
 * <p>Encoders with integer lane arithmetic on values already within ±max: below the smallest normal, adding a power
 * of two whose ulp is the subnormal step makes the f32 adder round to nearest even, and the low bits of the sum are
 * the code; in the normal range the exponent is re-biased and the dropped mantissa bits are rounded by adding
 * {@code half - 1 + lsb} before the shift; fp6/fp4 saturate at their largest code.
 */
public final class MxVector {
    private MxVector() {}

    private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Byte> BYTES =
            VectorSpecies.of(byte.class, VectorShape.forBitSize(INTS.length() * 8));
    private static final int LANES = INTS.length();

    /** Lane-encoder constants of one element format. */
    private record Encoder(float subnormalMagic, int minNormalBits, int rebias, int shift, int maxNormalBits,
                           int maxCode, int signShift) {}

    private static Encoder encoder(MxElement e) {
        return switch (e) {
            // fp8: subnormal step 2^-9 = ulp(2^14), 2^-16 = ulp(2^7); values are pre-clamped, so no saturation
            case FP8_E4M3 -> new Encoder(0x1p14f, 0x3C800000, ((7 - 127) << 23) + 0x7FFFF, 20, 0x7F800000, 0, 24);
            case FP8_E5M2 -> new Encoder(0x1p7f, 0x38800000, ((15 - 127) << 23) + 0xFFFFF, 21, 0x7F800000, 0, 24);
            // fp6/fp4: steps 2^-3 = ulp(2^20), 2^-4 = ulp(2^19), 2^-1 = ulp(2^22); saturate at max
            case FP6_E2M3 -> new Encoder(0x1p20f, 0x3F800000, ((1 - 127) << 23) + 0x7FFFF, 20,
                    Float.floatToRawIntBits(7.5f), 0x1F, 26);
            case FP6_E3M2 -> new Encoder(0x1p19f, 0x3E800000, ((3 - 127) << 23) + 0xFFFFF, 21,
                    Float.floatToRawIntBits(28f), 0x1F, 26);
            case FP4_E2M1 -> new Encoder(0x1p22f, 0x3F800000, ((1 - 127) << 23) + 0x1FFFFF, 22,
                    Float.floatToRawIntBits(6f), 0x7, 28);
        };
    }

    private static final Encoder FP4 = encoder(MxElement.FP4_E2M1);

    /**
     * Per lane the fp4 e2m1 code (sign in bit 3) of the f32 {@code bits}, as {@link dev.ao4j.quant.dtype.Fp4E2M1#fromFloat}
     * gives it for every non-NaN value (saturating at ±6); NaN lanes are the caller's to avoid. Shared with NVFP4.
     */
    public static IntVector fp4Codes(IntVector bits) {
        return encode(bits, FP4, false);
    }

    /** Same contract as {@link MxReference#quantizeRows} over all rows. */
    static void quantize(Tensor hp, int cols, int block, MxElement elem, ScalingMode scaling, DivMode mode,
                         Tensor q, Tensor scale, long rows) {
        Encoder enc = encoder(elem);
        int[] row = new int[cols];
        int[] codes = new int[block];
        int blocksPerRow = cols / block;
        FloatVector hi = FloatVector.broadcast(FLOATS, elem.max);
        FloatVector lo = FloatVector.broadcast(FLOATS, -elem.max);
        boolean clamp = elem.isFp8() || scaling == ScalingMode.RCEIL;
        MemorySegment out = q.data();
        for (long r = 0; r < rows; r++) {
            F32Bits.loadRow(hp, r, cols, row);
            for (int b = 0; b < blocksPerRow; b++) {
                int c0 = b * block;
                long base = r * cols + c0;
                IntVector acc = IntVector.zero(INTS);
                for (int c = c0; c < c0 + block; c += LANES) {
                    acc = acc.max(IntVector.fromArray(INTS, row, c).and(0x7FFFFFFF));
                }
                int code = MxScale.e8m0(acc.reduceLanes(VectorOperators.MAX), elem, scaling, mode);
                scale.setByte(r * blocksPerRow + b, (byte) code);
                if (code == MxScale.NAN_CODE) {
                    for (int i = 0; i < block; i++) {
                        codes[i] = elem.encode(MxScale.scaled(row[c0 + i], code, elem, scaling, mode));
                    }
                    MxReference.store(q, base, codes, elem);
                    continue;
                }
                boolean rceil = scaling == ScalingMode.RCEIL;
                float factor = Float.intBitsToFloat(rceil ? MxScale.multiplierBits(code) : MxScale.divisorBits(code));
                for (int c = c0; c < c0 + block; c += LANES) {
                    FloatVector x = IntVector.fromArray(INTS, row, c).reinterpretAsFloats();
                    FloatVector y = rceil ? x.mul(factor) : x.div(factor);
                    if (clamp) y = y.max(lo).min(hi);
                    IntVector codeV = encode(y.reinterpretAsInts(), enc, elem.isFp8());
                    if (elem.isPacked()) {
                        codeV.intoArray(codes, c - c0);
                    } else {
                        ((ByteVector) codeV.convertShape(VectorOperators.I2B, BYTES, 0))
                                .intoMemorySegment(out, base + (c - c0), ByteOrder.LITTLE_ENDIAN);
                    }
                }
                if (elem.isPacked()) MxReference.store(q, base, codes, elem);
            }
        }
    }

    /** Codes of non-NaN lanes (fp8 lanes already within ±max). */
    private static IntVector encode(IntVector bits, Encoder enc, boolean fp8) {
        IntVector abs = bits.and(0x7FFFFFFF);
        IntVector sign = bits.lanewise(VectorOperators.LSHR, enc.signShift()).and(fp8 ? 0x80 : 1 << (32 - enc.signShift() - 1));
        FloatVector magic = FloatVector.broadcast(FLOATS, enc.subnormalMagic());
        IntVector sub = abs.reinterpretAsFloats().add(magic).reinterpretAsInts()
                .sub(Float.floatToRawIntBits(enc.subnormalMagic()));
        IntVector odd = abs.lanewise(VectorOperators.LSHR, enc.shift()).and(1);
        IntVector normal = abs.add(enc.rebias()).add(odd).lanewise(VectorOperators.LSHR, enc.shift());
        IntVector code = normal.blend(sub, abs.compare(VectorOperators.LT, enc.minNormalBits()));
        if (!fp8) {
            code = code.blend(IntVector.broadcast(INTS, enc.maxCode()),
                    abs.compare(VectorOperators.GE, enc.maxNormalBits()));
        }
        return code.or(sign);
    }
}
