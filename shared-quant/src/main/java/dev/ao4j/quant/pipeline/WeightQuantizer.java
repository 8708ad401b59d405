package dev.ao4j.quant.pipeline;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.qtensor.QuantizedTensor;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;

/** Quantizes one Linear weight the way one torchao config does (see {@link WeightQuantizers#forConfig}). */
public interface WeightQuantizer {
    /** Why torchao would leave a weight of this shape and dtype unquantized, or null when it quantizes it. */
    String skipReason(Shape shape, DType dtype);

    QuantizedTensor quantize(Tensor weight);

    /** The weight the quantized tensor represents, as f32 (for error reports). */
    Tensor dequantize(QuantizedTensor quantized);
}
