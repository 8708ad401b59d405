package dev.ao4j.quant.qtensor;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.util.List;

/**
 * torchao {@code IntxUnpackedToInt8Tensor} (Int8DynamicActivationIntxWeightConfig "8da4w", IntxWeightOnlyConfig).
 * qdata int8 [N, K] holding intN values unpacked; scale [N, K/g] in the weight dtype; zero_point int8 [N, K/g].
 *
 * @param bits                   N of the target dtype {@code torch.intN} (1..8)
 * @param activationQuantization {@code "int8_asym_per_token"} for 8da*w, null for weight-only
 */
public record IntxUnpackedToInt8Tensor(Tensor qdata, Tensor scale, Tensor zeroPoint, int bits, Shape blockSize,
                                       DType originalDtype, String activationQuantization) implements QuantizedTensor {
    @Override
    public String typeName() {
        return "IntxUnpackedToInt8Tensor";
    }

    @Override
    public Shape shape() {
        return qdata.shape();
    }

    @Override
    public List<Part> parts() {
        return List.of(new Part("qdata", qdata), new Part("scale", scale), new Part("zero_point", zeroPoint));
    }
}
