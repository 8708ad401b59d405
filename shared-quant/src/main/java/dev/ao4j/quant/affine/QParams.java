package dev.ao4j.quant.affine;

import dev.ao4j.quant.tensor.Tensor;

/**
 * What {@code choose_qparams_affine} returns: one scale and one zero point per block, in block order.
 *
 * @param scale     float tensor (the requested scale dtype)
 * @param zeroPoint zero points (the requested zero-point dtype); for the symmetric mappings every entry is
 *                  {@link QuantRange#mid()}
 */
public record QParams(Tensor scale, Tensor zeroPoint) {}
