package dev.ao4j.quant.int4;

import dev.ao4j.quant.tensor.Tensor;

/**
 * Float-zero-point qparams of torchao's tinygemm primitives: {@code scale} and {@code zeroPoint} both have the
 * input's dtype and shape {@code [..., K / groupSize]} (the input shape with the last dimension divided by the
 * group size, i.e. torchao's {@code keepdim=False} result for block_size {@code [1, ..., 1, groupSize]}).
 */
public record TinygemmQParams(Tensor scale, Tensor zeroPoint, int groupSize) {
    public TinygemmQParams {
        if (!scale.shape().equals(zeroPoint.shape()) || scale.dtype() != zeroPoint.dtype()) {
            throw new IllegalArgumentException("scale " + scale + " and zero_point " + zeroPoint
                    + " must have the same dtype and shape");
        }
        if (groupSize <= 0) throw new IllegalArgumentException("group size must be positive, found " + groupSize);
    }
}
