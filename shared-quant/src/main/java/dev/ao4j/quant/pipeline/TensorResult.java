package dev.ao4j.quant.pipeline;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.tensor.Shape;

/**
 * What happened to one source tensor.
 *
 * @param quantizedAs torchao tensor subclass written (e.g. "Int8Tensor"), or null when kept as is
 * @param skipReason  why a tensor was kept in high precision (null when quantized)
 * @param sqnrDb      signal-to-quantization-noise ratio of the dequantized weight in dB (NaN when kept)
 */
public record TensorResult(String name, DType dtype, Shape shape, String quantizedAs, String skipReason,
                           long inputBytes, long outputBytes, double sqnrDb, long nanos) {
    public boolean quantized() {
        return quantizedAs != null;
    }
}
