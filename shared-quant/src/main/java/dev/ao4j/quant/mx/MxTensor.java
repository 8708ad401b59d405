package dev.ao4j.quant.mx;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;

/**
 * The data and attributes of torchao's {@code MXTensor} (torchao-numerics §7.6), for a high-precision tensor of
 * {@code shape} {@code [..., K]}.
 *
 * @param qdata         element codes: F8_E4M3 / F8_E5M2 {@code [..., K]} for fp8, U8 {@code [..., K]} for fp6 (low
 *                      6 bits), U8 {@code [..., K/2]} for fp4 (element 2i in the low nibble)
 * @param scale         E8M0 block scales: F8_E8M0 {@code [..., K/32]}, or for a 2-D tensor with
 *                      {@code swizzled} the {@link ScaleSwizzle} layout {@code [ceil(M/128)·32, ceil(K/128)·16]}
 * @param blockSize     elements per scale along the last dim (32)
 * @param originalDtype the dtype quantized from (torchao's {@code orig_dtype})
 */
public record MxTensor(Tensor qdata, Tensor scale, MxElement element, int blockSize, boolean swizzled,
                       DType originalDtype, Shape shape) {}
