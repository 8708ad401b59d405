package dev.ao4j.quant.int4;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.numerics.DivMode;

/** The specification: plain loops calling {@link GroupMath} element by element. */
final class ReferenceGroupKernel implements GroupKernel {
    static final ReferenceGroupKernel INSTANCE = new ReferenceGroupKernel();

    private ReferenceGroupKernel() {}

    @Override
    public void tinygemm(float[] x, int xOff, int len, int groupSize, DType dtype, DivMode mode, float eps,
                         float[] scale, float[] zero, int qOff, byte[] codes, int cOff) {
        float mid = GroupMath.tinygemmMid(GroupMath.QMIN, GroupMath.QMAX);
        for (int j = 0, start = 0; start < len; j++, start += groupSize) {
            float mn = GroupMath.groupMin(x, xOff + start, groupSize);
            float mx = GroupMath.groupMax(x, xOff + start, groupSize);
            float s = GroupMath.tinygemmScale(mn, mx, dtype, mode, GroupMath.QMIN, GroupMath.QMAX, eps);
            float z = GroupMath.tinygemmZero(mn, s, dtype, mid);
            float low = GroupMath.tinygemmLow(z, s, dtype, mid);
            scale[qOff + j] = s;
            zero[qOff + j] = z;
            for (int i = 0; i < groupSize; i++) {
                codes[cOff + start + i] = (byte) GroupMath.tinygemmCode(
                        x[xOff + start + i], low, s, dtype, GroupMath.QMIN, GroupMath.QMAX);
            }
        }
    }

    @Override
    public void mslk(float[] x, int xOff, int len, int groupSize, DivMode mode,
                     float[] scale, float[] zero, int qOff, byte[] codes, int cOff) {
        for (int j = 0, start = 0; start < len; j++, start += groupSize) {
            float mn = GroupMath.groupMin(x, xOff + start, groupSize);
            float mx = GroupMath.groupMax(x, xOff + start, groupSize);
            float s = GroupMath.mslkScale(mn, mx, mode);
            scale[qOff + j] = s;
            zero[qOff + j] = GroupMath.mslkZero(mn, s);
            for (int i = 0; i < groupSize; i++) {
                codes[cOff + start + i] = (byte) GroupMath.mslkCode(x[xOff + start + i], mn, s);
            }
        }
    }
}
