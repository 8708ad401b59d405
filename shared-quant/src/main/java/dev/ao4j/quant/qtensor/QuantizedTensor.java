package dev.ao4j.quant.qtensor;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.util.List;

/**
 * A quantized weight as torchao's tensor subclass of the same name holds it: named data parts (torchao's
 * {@code tensor_data_names}, e.g. {@code qdata}, {@code scale}) plus attributes. Writers and validators iterate
 * {@link #parts()} generically; the serialization of attributes belongs to each ecosystem's codec.
 */
public sealed interface QuantizedTensor
        permits Int4Tensor, Int4TilePackedTo4dTensor, Int8Tensor, IntxUnpackedToInt8Tensor, Float8Tensor, MXTensor,
        NVFP4Tensor {

    /** The torchao class name, e.g. {@code "Int8Tensor"}. */
    String typeName();

    /** The logical (high-precision) shape of the weight. */
    Shape shape();

    /** The high-precision dtype the weight had before quantization. */
    DType originalDtype();

    /** The data parts in torchao's {@code tensor_data_names} order (required names, then present optional ones). */
    List<Part> parts();

    /** One named data part. */
    record Part(String name, Tensor tensor) {}
}
