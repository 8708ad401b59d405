package dev.ao4j.quant.nvfp4;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;

/**
 * The data and attributes of torchao's {@code NVFP4Tensor} (torchao-numerics §8) for a high-precision tensor of
 * {@code shape} {@code [..., K]}.
 *
 * @param qdata          U8 {@code [..., K/2]}: fp4 e2m1 codes, element 2i in the low nibble
 * @param scale          F8_E4M3 block scales {@code [..., K/16]}, or for a 2-D tensor with {@code swizzled} the
 *                       swizzled layout {@code [ceil(M/128)·32, ceil(K/64)·16]}
 * @param perTensorScale F32 scalar (shape {@code []}) of two-level scaling, or null
 * @param originalDtype  the dtype quantized from
 */
public record Nvfp4Tensor(Tensor qdata, Tensor scale, Tensor perTensorScale, boolean swizzled, DType originalDtype,
                          Shape shape) {
    /** torchao's NVFP4 block size. */
    public static final int BLOCK_SIZE = 16;
}
