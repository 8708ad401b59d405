package dev.ao4j.quant.int4;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.numerics.DivMode;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API version of {@link ReferenceGroupKernel}. Each group runs as a vector body over whole vectors and a
 * scalar tail (calling the reference's {@link GroupMath}), so any group size works. The per-group scale and zero
 * are the reference's scalar formulas; only the min/max reduction and the per-element code computation are
 * vectorized, with these equivalences to the scalar ops:
 * <ul>
 *   <li>min/max: lanewise and reduction MIN/MAX follow {@link Math#min}/{@link Math#max} (NaN wins), and a
 *       min/max fold does not depend on order.
 *   <li>rounding to bf16/f16 is done on the f32 bits (round to nearest even), as {@code Bf16}/{@code F16} do.
 *   <li>{@code clamp(rint(v), 0, 15)} equals {@code clamp(rint(clamp(v, -1, 16)), 0, 15)}; on [-1, 16] rint is
 *       {@code (v + 1.5*2^23) - 1.5*2^23} (f32 addition rounds to nearest even at the units place).
 *   <li>A NaN code lane becomes the algorithm's NaN code, as the reference's explicit NaN test does.
 * </ul>
 */
final class VectorGroupKernel implements GroupKernel {
    static final VectorGroupKernel PREFERRED = new VectorGroupKernel(FloatVector.SPECIES_PREFERRED);

    private static final float RINT_MAGIC = 0x1.8p23f;
    private static final int BF16_KEEP = 0xFFFF0000;
    private static final int BF16_QUIET = 0x00400000;
    private static final int F16_DROP = 0x1FFF;          // 13 low mantissa bits that f16 does not keep
    private static final float F16_MIN_NORMAL = 0x1p-14f;
    private static final float F16_OVERFLOW = 65536f;     // f16 rounds everything at or above 65520 to this: inf

    private final VectorSpecies<Float> fs;

    VectorGroupKernel(VectorSpecies<Float> species) {
        this.fs = species;
    }

    @Override
    public void tinygemm(float[] x, int xOff, int len, int groupSize, DType dtype, DivMode mode, float eps,
                         float[] scale, float[] zero, int qOff, byte[] codes, int cOff) {
        float mid = GroupMath.tinygemmMid(GroupMath.QMIN, GroupMath.QMAX);
        int[] lanes = new int[fs.length()];
        int body = fs.loopBound(groupSize);
        for (int j = 0, start = 0; start < len; j++, start += groupSize) {
            int base = xOff + start;
            float mn = GroupMath.canonicalNaN(min(x, base, groupSize, body));
            float mx = GroupMath.canonicalNaN(max(x, base, groupSize, body));
            float s = GroupMath.tinygemmScale(mn, mx, dtype, mode, GroupMath.QMIN, GroupMath.QMAX, eps);
            float z = GroupMath.tinygemmZero(mn, s, dtype, mid);
            float low = GroupMath.tinygemmLow(z, s, dtype, mid);
            scale[qOff + j] = s;
            zero[qOff + j] = z;
            int i = 0;
            for (; i < body; i += fs.length()) {
                FloatVector v = FloatVector.fromArray(fs, x, base + i);
                FloatVector t = roundTo(dtype, v.sub(low));
                FloatVector q = roundTo(dtype, t.div(s));
                storeCodes(clampRint(q), 0, lanes, codes, cOff + start + i);
            }
            for (; i < groupSize; i++) {
                codes[cOff + start + i] = (byte) GroupMath.tinygemmCode(
                        x[base + i], low, s, dtype, GroupMath.QMIN, GroupMath.QMAX);
            }
        }
    }

    @Override
    public void mslk(float[] x, int xOff, int len, int groupSize, DivMode mode,
                     float[] scale, float[] zero, int qOff, byte[] codes, int cOff) {
        int[] lanes = new int[fs.length()];
        int body = fs.loopBound(groupSize);
        for (int j = 0, start = 0; start < len; j++, start += groupSize) {
            int base = xOff + start;
            float mn = GroupMath.canonicalNaN(min(x, base, groupSize, body));
            float mx = GroupMath.canonicalNaN(max(x, base, groupSize, body));
            float s = GroupMath.mslkScale(mn, mx, mode);
            scale[qOff + j] = s;
            zero[qOff + j] = GroupMath.mslkZero(mn, s);
            int i = 0;
            for (; i < body; i += fs.length()) {
                FloatVector v = FloatVector.fromArray(fs, x, base + i);
                storeCodes(clampRint(v.sub(mn).div(s)), GroupMath.MSLK_NAN_CODE, lanes, codes, cOff + start + i);
            }
            for (; i < groupSize; i++) {
                codes[cOff + start + i] = (byte) GroupMath.mslkCode(x[base + i], mn, s);
            }
        }
    }

    private float min(float[] x, int base, int n, int body) {
        float m = Float.POSITIVE_INFINITY;
        if (body > 0) {
            FloatVector acc = FloatVector.fromArray(fs, x, base);
            for (int i = fs.length(); i < body; i += fs.length()) {
                acc = acc.min(FloatVector.fromArray(fs, x, base + i));
            }
            m = acc.reduceLanes(VectorOperators.MIN);
        }
        for (int i = body; i < n; i++) m = Math.min(m, x[base + i]);
        return m;
    }

    private float max(float[] x, int base, int n, int body) {
        float m = Float.NEGATIVE_INFINITY;
        if (body > 0) {
            FloatVector acc = FloatVector.fromArray(fs, x, base);
            for (int i = fs.length(); i < body; i += fs.length()) {
                acc = acc.max(FloatVector.fromArray(fs, x, base + i));
            }
            m = acc.reduceLanes(VectorOperators.MAX);
        }
        for (int i = body; i < n; i++) m = Math.max(m, x[base + i]);
        return m;
    }

    /** {@code clamp(rint(v), 0, 15)}, NaN lanes kept NaN. */
    private static FloatVector clampRint(FloatVector v) {
        FloatVector c = v.max(GroupMath.QMIN - 1f).min(GroupMath.QMAX + 1f);
        return c.add(RINT_MAGIC).sub(RINT_MAGIC).max(GroupMath.QMIN).min(GroupMath.QMAX);
    }

    private void storeCodes(FloatVector c, int nanCode, int[] lanes, byte[] codes, int off) {
        VectorMask<Float> nan = c.test(VectorOperators.IS_NAN);
        FloatVector clean = c.blend((float) nanCode, nan);
        ((IntVector) clean.convert(VectorOperators.F2I, 0)).intoArray(lanes, 0);
        for (int k = 0; k < lanes.length; k++) codes[off + k] = (byte) lanes[k];
    }

    /**
     * Round each lane to {@code dtype} (value kept as f32), like {@code TorchOps.round}. NaN lanes stay NaN
     * (their payload may differ from the scalar path; every consumer maps any NaN the same way).
     */
    static FloatVector roundTo(DType dtype, FloatVector v) {
        return switch (dtype) {
            case F32 -> v;
            case BF16 -> roundBf16(v);
            case F16 -> roundF16(v);
            default -> throw new IllegalArgumentException("not a float compute dtype: " + dtype);
        };
    }

    static FloatVector roundBf16(FloatVector v) {
        IntVector b = v.reinterpretAsInts();
        IntVector odd = b.lanewise(VectorOperators.LSHR, 16).and(1);
        IntVector r = b.add(odd).add(0x7FFF).and(BF16_KEEP);
        VectorMask<Float> nan = v.test(VectorOperators.IS_NAN);
        return r.reinterpretAsFloats().blend(b.and(BF16_KEEP).or(BF16_QUIET).reinterpretAsFloats(), nan);
    }

    static FloatVector roundF16(FloatVector v) {
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
}
