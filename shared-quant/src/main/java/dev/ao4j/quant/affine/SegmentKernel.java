package dev.ao4j.quant.affine;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.tensor.Tensor;

/**
 * The two elementwise loops of affine quantization, over one segment (a run of consecutive elements that share
 * a block). Everything per block (scale formula, reciprocal, zero point) is computed once by {@link
 * AffineQuantization}, identically for every kernel.
 */
sealed interface SegmentKernel permits ReferenceSegmentKernel, VectorSegmentKernel {

    static SegmentKernel of(Kernel kernel) {
        return switch (kernel) {
            case REFERENCE -> ReferenceSegmentKernel.INSTANCE;
            case VECTOR -> VectorSegmentKernel.INSTANCE;
        };
    }

    /**
     * Fold elements {@code [from, from + len)} of float tensor {@code input} into {@code acc[0]} (min) and
     * {@code acc[1]} (max), NaN-propagating like {@code torch.amin/amax}.
     */
    void minMax(Tensor input, long from, int len, float[] acc);

    /**
     * {@code out[i] = clamp(rne(x[i] * inv) + zp, qmin, qmax)} for {@code i} in {@code [from, from + len)},
     * each op rounded as {@link QuantizeSpec} says.
     */
    void quantize(Tensor input, long from, int len, float inv, float zp, QuantizeSpec spec, Tensor out);

    /**
     * Per-tensor constants of the quantize loop.
     *
     * @param productDtype dtype of {@code x * inv}: torch's promotion of the input and scale dtypes
     * @param hasZeroPoint false when the zero point is absent (then nothing is added)
     * @param sumDtype     dtype of {@code rne(..) + zp}: the product dtype promoted with a float zero point's dtype
     */
    record QuantizeSpec(DType productDtype, boolean hasZeroPoint, DType sumDtype, int qmin, int qmax) {}
}
