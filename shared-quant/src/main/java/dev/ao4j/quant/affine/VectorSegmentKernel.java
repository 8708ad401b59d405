package dev.ao4j.quant.affine;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.numerics.VectorRounding;
import dev.ao4j.quant.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API twin of {@link ReferenceSegmentKernel} for bf16 inputs. Each segment is a vector body over whole
 * vectors plus a scalar tail that calls the reference, so ragged group sizes need no masks. What it must
 * reproduce bit for bit:
 * <ul>
 *   <li>min/max with NaN propagation ({@code FloatVector.min/max} follow {@code Math.min/max});
 *   <li>the product {@code x * inv} rounded to bf16 when the scale is bf16 ({@link VectorRounding#bf16}, RNE on
 *       the f32 bits as {@link dev.ao4j.quant.dtype.Bf16} does it);
 *   <li>{@code rne} (ties to even) via the 2^23 trick, for |p| < 2^23; larger values are already integers;
 *   <li>clamp letting NaN through, then Java's float→int cast (NaN → 0).
 * </ul>
 * The zero point is added in f32 even when torch adds it in bf16: this path only runs for ranges inside
 * [-256, 256], where every integer sum is exact in bf16 and rounding beyond that range is monotonic, so the
 * clamped result is the same.
 */
final class VectorSegmentKernel implements SegmentKernel {
    static final VectorSegmentKernel INSTANCE = new VectorSegmentKernel();

    // At least 8 float lanes, so the bf16 (half width) and int8 (quarter width) species exist (>= 64 bits).
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED.length() >= 8
            ? FloatVector.SPECIES_PREFERRED : FloatVector.SPECIES_256;
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final VectorSpecies<Short> S =
            VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final VectorSpecies<Byte> B =
            VectorSpecies.of(byte.class, VectorShape.forBitSize(F.vectorBitSize() / 4));
    static final int LANES = F.length();

    private VectorSegmentKernel() {}

    @Override
    public void minMax(Tensor input, long from, int len, float[] acc) {
        if (input.dtype() != DType.BF16 || len < LANES) {
            ReferenceSegmentKernel.INSTANCE.minMax(input, from, len, acc);
            return;
        }
        MemorySegment seg = input.data();
        FloatVector vmin = FloatVector.broadcast(F, Float.POSITIVE_INFINITY);
        FloatVector vmax = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        int body = len - len % LANES;
        for (int k = 0; k < body; k += LANES) {
            FloatVector x = loadBf16(seg, (from + k) * 2);
            vmin = vmin.min(x);
            vmax = vmax.max(x);
        }
        acc[0] = Math.min(acc[0], vmin.reduceLanes(VectorOperators.MIN));
        acc[1] = Math.max(acc[1], vmax.reduceLanes(VectorOperators.MAX));
        if (body < len) ReferenceSegmentKernel.INSTANCE.minMax(input, from + body, len - body, acc);
    }

    @Override
    public void quantize(Tensor input, long from, int len, float inv, float zp, QuantizeSpec spec, Tensor out) {
        if (!covers(input, spec, out) || len < LANES) {
            ReferenceSegmentKernel.INSTANCE.quantize(input, from, len, inv, zp, spec, out);
            return;
        }
        MemorySegment src = input.data();
        MemorySegment dst = out.data();
        boolean bf16Product = spec.productDtype() == DType.BF16;
        FloatVector vinv = FloatVector.broadcast(F, inv);
        FloatVector vzp = FloatVector.broadcast(F, spec.hasZeroPoint() ? zp : 0f);
        FloatVector lo = FloatVector.broadcast(F, spec.qmin());
        FloatVector hi = FloatVector.broadcast(F, spec.qmax());
        int body = len - len % LANES;
        for (int k = 0; k < body; k += LANES) {
            FloatVector p = loadBf16(src, (from + k) * 2).mul(vinv);
            if (bf16Product) p = VectorRounding.bf16(p);
            FloatVector q = VectorRounding.rint(p).add(vzp).max(lo).min(hi);
            IntVector qi = (IntVector) q.convertShape(VectorOperators.F2I, I, 0);
            ByteVector qb = (ByteVector) qi.convertShape(VectorOperators.I2B, B, 0);
            qb.intoMemorySegment(dst, from + k, ByteOrder.LITTLE_ENDIAN);
        }
        if (body < len) {
            ReferenceSegmentKernel.INSTANCE.quantize(input, from + body, len - body, inv, zp, spec, out);
        }
    }

    /** The cases this kernel handles; anything else goes to the reference. */
    static boolean covers(Tensor input, QuantizeSpec spec, Tensor out) {
        DType p = spec.productDtype();
        return input.dtype() == DType.BF16
                && (p == DType.BF16 || p == DType.F32)
                && (!spec.hasZeroPoint() || spec.sumDtype() == p)
                && (out.dtype() == DType.I8 || out.dtype() == DType.U8)
                && spec.qmin() >= -256 && spec.qmax() <= 256;
    }

    /** bf16 bits are the upper half of the f32 bits. */
    private static FloatVector loadBf16(MemorySegment seg, long byteOffset) {
        ShortVector s = ShortVector.fromMemorySegment(S, seg, byteOffset, ByteOrder.LITTLE_ENDIAN);
        IntVector bits = (IntVector) s.convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
        return bits.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

}
