package dev.ao4j.quant.numerics;

import dev.ao4j.quant.dtype.DType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * {@link TorchOps#round} per lane, for the Vector API kernels: each lane rounded (to nearest even) to bf16 or
 * f16 and kept as an f32. The rounding is done on the f32 bits, as {@code Bf16} and {@code F16} do it; the
 * kernels' equivalence tests compare the two bit for bit.
 */
public final class VectorRounding {
    private VectorRounding() {}

    private static final int BF16_KEEP = 0xFFFF0000;
    private static final int BF16_QUIET = 0x00400000;
    private static final int F16_DROP = 0x1FFF;          // 13 low mantissa bits that f16 does not keep
    private static final float F16_MIN_NORMAL = 0x1p-14f;
    private static final float F16_OVERFLOW = 65536f;     // f16 rounds everything at or above 65520 to this: inf
    private static final float TWO_POW_23 = 0x1p23f;

    /**
     * Each lane rounded to {@code dtype} (bf16, f16 or f32). NaN lanes stay NaN; for f16 the payload may differ
     * from the scalar path (every consumer maps any NaN the same way).
     */
    public static FloatVector round(DType dtype, FloatVector v) {
        return switch (dtype) {
            case F32 -> v;
            case BF16 -> bf16(v);
            case F16 -> f16(v);
            default -> throw new IllegalArgumentException("not a float compute dtype: " + dtype);
        };
    }

    /** Each lane rounded to the nearest bf16 (ties to even); a NaN lane becomes the quiet NaN with its sign. */
    public static FloatVector bf16(FloatVector v) {
        IntVector b = v.reinterpretAsInts();
        IntVector odd = b.lanewise(VectorOperators.LSHR, 16).and(1);
        IntVector r = b.add(odd).add(0x7FFF).and(BF16_KEEP);
        VectorMask<Float> nan = v.test(VectorOperators.IS_NAN);
        return r.reinterpretAsFloats().blend(b.and(BF16_KEEP).or(BF16_QUIET).reinterpretAsFloats(), nan);
    }

    /** Each lane rounded to the nearest f16 (ties to even, overflow to infinity, subnormals included). */
    public static FloatVector f16(FloatVector v) {
        IntVector b = v.reinterpretAsInts();
        IntVector sign = b.and(0x80000000);
        // normal f16 range: keep 10 fraction bits, ties to even; overflow to infinity
        IntVector odd = b.lanewise(VectorOperators.LSHR, 13).and(1);
        FloatVector normal = b.add(odd).add(F16_DROP >> 1).and(~F16_DROP).reinterpretAsFloats();
        FloatVector inf = sign.or(0x7F800000).reinterpretAsFloats();
        normal = normal.blend(inf, normal.abs().compare(VectorOperators.GE, F16_OVERFLOW));
        // subnormal f16 range: multiples of 2^-24; adding 0.5 puts the 2^-24 place at the f32 units bit
        FloatVector a = v.abs();
        FloatVector sub = a.add(0.5f).sub(0.5f).reinterpretAsInts().or(sign).reinterpretAsFloats();
        FloatVector r = normal.blend(sub, a.compare(VectorOperators.LT, F16_MIN_NORMAL));
        return r.blend(v, v.test(VectorOperators.IS_NAN));
    }

    /**
     * {@link Math#rint} per lane: for |v| &lt; 2^23, (|v| + 2^23) - 2^23 rounds to nearest even and the sign is put
     * back; NaN, infinities and |v| &gt;= 2^23 (already integral) pass through unchanged.
     */
    public static FloatVector rint(FloatVector v) {
        FloatVector a = v.abs();
        FloatVector r = a.add(TWO_POW_23).sub(TWO_POW_23);
        FloatVector signed = r.reinterpretAsInts().or(v.reinterpretAsInts().and(0x8000_0000)).reinterpretAsFloats();
        return v.blend(signed, a.compare(VectorOperators.LT, TWO_POW_23));
    }
}
