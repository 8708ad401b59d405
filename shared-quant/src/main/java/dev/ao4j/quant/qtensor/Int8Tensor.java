package dev.ao4j.quant.qtensor;

import dev.ao4j.quant.config.Granularity;
import dev.ao4j.quant.config.MappingType;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.util.List;

/**
 * torchao {@code Int8Tensor} (Int8WeightOnlyConfig / Int8DynamicActivationInt8WeightConfig, version 2).
 * qdata int8 [N, K]; scale f32 [N/b0, K/b1] (PerRow: [N, 1], PerTensor: [1, 1]); zero_point int8, same shape
 * as scale, all zeros (symmetric).
 *
 * @param activationQuant null for weight-only; else how activations are quantized at run time
 */
public record Int8Tensor(Tensor qdata, Tensor scale, Tensor zeroPoint, Shape blockSize, DType originalDtype,
                         ActivationQuant activationQuant, boolean reduceRange) implements QuantizedTensor {

    /** torchao {@code QuantizeTensorToInt8Kwargs}. */
    public record ActivationQuant(Granularity granularity, MappingType mappingType, boolean reduceRange) {}

    @Override
    public String typeName() {
        return "Int8Tensor";
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
