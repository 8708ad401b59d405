package dev.ao4j.quant.int4;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.numerics.VectorRounding;
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
 *   <li>rounding to bf16/f16 is {@link VectorRounding}, on the f32 bits as {@code Bf16}/{@code F16} do it.
 *   <li>{@code clamp(rint(v), 0, 15)} equals {@code clamp(rint(clamp(v, -1, 16)), 0, 15)}; on [-1, 16] rint is
 *       {@code (v + 1.5*2^23) - 1.5*2^23} (f32 addition rounds to nearest even at the units place).
 *   <li>A NaN code lane becomes the algorithm's NaN code, as the reference's explicit NaN test does.
 * </ul>
 */
final class VectorGroupKernel implements GroupKernel {
    static final VectorGroupKernel PREFERRED = new VectorGroupKernel(FloatVector.SPECIES_PREFERRED);

    private static final float RINT_MAGIC = 0x1.8p23f;

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
                FloatVector t = VectorRounding.round(dtype, v.sub(low));
                FloatVector q = VectorRounding.round(dtype, t.div(s));
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
}
