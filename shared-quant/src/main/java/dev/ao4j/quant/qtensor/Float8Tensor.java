package dev.ao4j.quant.qtensor;

import dev.ao4j.quant.config.Float8MMConfig;
import dev.ao4j.quant.config.Granularity;
import dev.ao4j.quant.config.KernelPreference;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.util.List;

/**
 * torchao {@code Float8Tensor} (Float8WeightOnlyConfig / Float8DynamicActivationFloat8WeightConfig).
 * qdata fp8 (e4m3fn or e5m2), shape of the weight; scale f32 [N/b0, K/b1] (PerRow [N, 1], PerTensor [1, 1],
 * 128x128 blocks [N/128, K/128]).
 *
 * @param mmConfig        null for weight-only
 * @param activationQuant null for weight-only
 */
public record Float8Tensor(Tensor qdata, Tensor scale, Shape blockSize, Float8MMConfig mmConfig,
                           ActivationQuant activationQuant, KernelPreference kernelPreference, DType originalDtype)
        implements QuantizedTensor {

    /** torchao {@code QuantizeTensorToFloat8Kwargs}. Bounds are null when unset. */
    public record ActivationQuant(DType float8Dtype, Granularity granularity, Float8MMConfig mmConfig,
                                  Float hpValueLb, Float hpValueUb, KernelPreference kernelPreference) {}

    @Override
    public String typeName() {
        return "Float8Tensor";
    }

    @Override
    public Shape shape() {
        return qdata.shape();
    }

    @Override
    public List<Part> parts() {
        return List.of(new Part("qdata", qdata), new Part("scale", scale));
    }
}
