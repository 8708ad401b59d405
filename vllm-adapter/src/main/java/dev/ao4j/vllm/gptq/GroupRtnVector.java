package dev.ao4j.vllm.gptq;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.numerics.F32Bits;
import dev.ao4j.quant.numerics.VectorRounding;
import dev.ao4j.quant.qtensor.IntxUnpackedToInt8Tensor;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API twin of {@link GptqRtn#quantize} and {@code AwqRtn.quantize} followed by
 * {@link IntWeightLinear#toIntx}: the same codes, scales and zero points (tests prove it), computed a row at a time
 * from the weight's f32 bits and written straight as the signed {@code IntxUnpackedToInt8Tensor} the pipeline
 * carries, without the unsigned code tensor in between.
 *
 * <p>Per group the min/max runs as vectors ({@code FloatVector.min/max} follow {@code Math.min/max}); the scale and
 * zero point are the reference's own scalar steps ({@link Params}); the element loop
 * {@code clamp(rint(x / scale) + zero, 0, 2^b - 1)} runs in f32 lanes, which equals the reference's double steps:
 * {@code x / scale} is the same f32 quotient, its rint is exact in f32 (the 2^23 trick below 2^23, larger values are
 * integers already), and adding a zero point below 2^8 is exact up to 2^24 and monotonic beyond, where the clamp
 * decides alone. A group holding a non-finite value is refused exactly where and how the reference refuses it.
 */
public final class GroupRtnVector {
    private GroupRtnVector() {}

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    private static final int LANES = I.length();
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(LANES * 8));

    /** A format's per-group scale and zero point from the group's f32 min and max. */
    @FunctionalInterface
    public interface Params {
        /**
         * Fills {@code out[0]} with the f32 scale the codes divide by, {@code out[1]} with the stored (f16) scale and
         * {@code out[2]} with the unsigned zero point.
         */
        void params(float lo, float hi, long row, long group, float[] out);
    }

    /**
     * @param weight    {@code [N, K]} BF16, F16 or F32
     * @param groupSize         G dividing K, or −1 for one group per row (checked by the caller)
     * @param rangeIncludesZero where min and max start: 0, taking 0 into the range (GPTQ), or ±infinity, the values
     *                          alone (AWQ)
     */
    public static IntxUnpackedToInt8Tensor quantize(Tensor weight, int bits, int groupSize, boolean rangeIncludesZero,
                                                    Params rule) {
        int n = Math.toIntExact(weight.shape().dim(0));
        int k = Math.toIntExact(weight.shape().dim(1));
        int g = groupSize == -1 ? k : groupSize;
        int groups = k / g;
        int maxq = (1 << bits) - 1;
        int offset = 1 << (bits - 1);
        Tensor q = Tensor.allocate(DType.I8, Shape.of(n, k));
        Tensor scales = Tensor.allocate(DType.F16, Shape.of(n, groups));
        Tensor zp = Tensor.allocate(DType.I8, Shape.of(n, groups));
        int[] row = new int[k];
        byte[] codes = new byte[k];
        float[] p = new float[3];
        float[] mm = new float[2];
        for (int r = 0; r < n; r++) {
            F32Bits.loadRow(weight, r, k, row);
            for (int j = 0; j < groups; j++) {
                int base = j * g;
                F32Bits.minMax(row, base, g, rangeIncludesZero ? 0f : Float.POSITIVE_INFINITY,
                        rangeIncludesZero ? 0f : Float.NEGATIVE_INFINITY, mm);
                float lo = mm[0];
                float hi = mm[1];
                int end = base + g;
                if (!Float.isFinite(lo) || !Float.isFinite(hi)) {
                    for (int c = base; c < end; c++) GptqRtn.finite(weight, (long) r * k + c, k); // throws at the first
                }
                rule.params(lo, hi, r, j, p);
                float scale = p[0];
                scales.setFloat((long) r * groups + j, p[1]);
                zp.setLong((long) r * groups + j, (long) p[2] - offset);
                group(row, base, end, scale, p[2], maxq, offset, codes);
            }
            MemorySegment.copy(codes, 0, q.data(), ValueLayout.JAVA_BYTE, (long) r * k, k);
        }
        return new IntxUnpackedToInt8Tensor(q, scales, zp, bits, Shape.of(1L, g), weight.dtype(), null);
    }

    /**
     * The signed codes of {@code row[base, end)}; a method of its own so that the JIT compiles it early as a whole
     * (rather than through on-stack replacement of the row loop).
     */
    private static void group(int[] row, int base, int end, float scale, float zero, int maxq, int offset,
                              byte[] codes) {
        FloatVector vs = FloatVector.broadcast(F, scale);
        FloatVector vz = FloatVector.broadcast(F, zero);
        FloatVector lo = FloatVector.zero(F);
        FloatVector hi = FloatVector.broadcast(F, maxq);
        int c = base;
        for (int bound = end - (end - base) % LANES; c < bound; c += LANES) {
            FloatVector v = VectorRounding.rint(load(row, c).div(vs)).add(vz).max(lo).min(hi);
            IntVector code = ((IntVector) v.convertShape(VectorOperators.F2I, I, 0)).sub(offset);
            ((ByteVector) code.convertShape(VectorOperators.I2B, B, 0)).intoArray(codes, c);
        }
        for (; c < end; c++) {
            double v = Math.rint(Float.intBitsToFloat(row[c]) / scale) + zero;
            codes[c] = (byte) ((long) Math.max(0, Math.min(maxq, v)) - offset);
        }
    }

    private static FloatVector load(int[] row, int c) {
        return IntVector.fromArray(I, row, c).reinterpretAsFloats();
    }

}
