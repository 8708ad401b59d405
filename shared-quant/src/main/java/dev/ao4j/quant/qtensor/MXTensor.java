package dev.ao4j.quant.qtensor;

import dev.ao4j.quant.config.KernelPreference;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.mx.MxElement;
import dev.ao4j.quant.mx.MxTensor;
import dev.ao4j.quant.mx.ScalingMode;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.util.List;

/**
 * torchao {@code MXTensor} (MXDynamicActivationMXWeightConfig, torchao-numerics §7.6): the numerics of
 * {@link MxTensor} plus the attributes torchao serializes. qdata F8_E4M3 / F8_E5M2 {@code [N, K]} or U8
 * {@code [N, K/2]} (packed fp4); scale F8_E8M0 {@code [N, K/32]} or swizzled.
 *
 * @param element          {@code elem_dtype}
 * @param blockSize        {@code block_size} (32)
 * @param originalDtype    {@code orig_dtype}
 * @param kernelPreference {@code kernel_preference}
 * @param activationQuant  {@code act_quant_kwargs}; null for a weight quantized without activation quantization
 * @param swizzledScales   {@code is_swizzled_scales}
 */
public record MXTensor(Tensor qdata, Tensor scale, MxElement element, int blockSize, DType originalDtype,
                       KernelPreference kernelPreference, ActivationQuant activationQuant, boolean swizzledScales)
        implements QuantizedTensor {

    /** torchao {@code QuantizeTensorToMXKwargs}: how the activations of the matmul are quantized at run time. */
    public record ActivationQuant(MxElement element, int blockSize, ScalingMode scalingMode,
                                  KernelPreference kernelPreference, boolean swizzledScales) {}

    /** Wrap the numerics of {@code t} with torchao's attributes. */
    public static MXTensor of(MxTensor t, KernelPreference kernelPreference, ActivationQuant activationQuant) {
        return new MXTensor(t.qdata(), t.scale(), t.element(), t.blockSize(), t.originalDtype(), kernelPreference,
                activationQuant, t.swizzled());
    }

    /** The numerics view, for {@code MxQuantizer.dequantize}. */
    public MxTensor numerics() {
        return new MxTensor(qdata, scale, element, blockSize, swizzledScales, originalDtype, shape());
    }

    @Override
    public String typeName() {
        return "MXTensor";
    }

    /** The logical shape: qdata's, with the last dim doubled for packed fp4. */
    @Override
    public Shape shape() {
        long[] dims = qdata.shape().dims();
        if (element.isPacked()) dims[dims.length - 1] *= 2;
        return Shape.of(dims);
    }

    @Override
    public List<Part> parts() {
        return List.of(new Part("qdata", qdata), new Part("scale", scale));
    }
}
