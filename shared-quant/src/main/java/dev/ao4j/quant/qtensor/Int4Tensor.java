package dev.ao4j.quant.qtensor;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.util.List;

/**
 * torchao {@code Int4Tensor} (Int4WeightOnlyConfig, packing "plain"). qdata int8 [N, K/2], two signed int4 per
 * byte (low nibble = even column); scale and zero_point [K/g, N] in the weight dtype (transposed, for CUTLASS).
 * Dequantized as {@code q * scale + zero_point}.
 *
 * @param activationDtype the dtype activations run in (bf16 for weight-only)
 */
public record Int4Tensor(Tensor qdata, Tensor scale, Tensor zeroPoint, Shape blockSize, Shape shape,
                         DType activationDtype) implements QuantizedTensor {
    @Override
    public String typeName() {
        return "Int4Tensor";
    }

    @Override
    public DType originalDtype() {
        return scale.dtype();
    }

    @Override
    public List<Part> parts() {
        return List.of(new Part("qdata", qdata), new Part("scale", scale), new Part("zero_point", zeroPoint));
    }
}
