package dev.ao4j.quant.affine;

import dev.ao4j.quant.numerics.TorchOps;
import dev.ao4j.quant.tensor.Tensor;

/** Scalar loops that do exactly what torch does, one rounded op at a time. */
final class ReferenceSegmentKernel implements SegmentKernel {
    static final ReferenceSegmentKernel INSTANCE = new ReferenceSegmentKernel();

    private ReferenceSegmentKernel() {}

    @Override
    public void minMax(Tensor input, long from, int len, float[] acc) {
        float mn = acc[0];
        float mx = acc[1];
        for (long i = from, end = from + len; i < end; i++) {
            float v = input.getFloat(i);
            // Math.min/max propagate NaN, as torch.amin/amax do.
            mn = Math.min(mn, v);
            mx = Math.max(mx, v);
        }
        acc[0] = mn;
        acc[1] = mx;
    }

    @Override
    public void quantize(Tensor input, long from, int len, float inv, float zp, QuantizeSpec spec, Tensor out) {
        float qmin = spec.qmin();
        float qmax = spec.qmax();
        for (long i = from, end = from + len; i < end; i++) {
            // x * (1/scale) rounds to promote(x, scale) before rne (R6: with bf16 both, 100.6 -> 100.5 -> 100).
            float p = TorchOps.mul(input.getFloat(i), inv, spec.productDtype());
            float r = TorchOps.rne(p);
            // int zero point + float tensor -> the float dtype, rounded again.
            float s = spec.hasZeroPoint() ? TorchOps.add(r, zp, spec.sumDtype()) : r;
            // clamp lets NaN through; the float -> int cast then gives 0 (Java's cast; torch's is platform-defined).
            float c = Math.min(Math.max(s, qmin), qmax);
            out.setLong(i, (long) c);
        }
    }
}
