package dev.ao4j.quant.qtensor;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.nvfp4.Nvfp4Tensor;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * torchao {@code NVFP4Tensor} as {@code NVFP4WeightOnlyConfig} writes it (torchao-numerics §8): the numerics of
 * {@link Nvfp4Tensor} plus the attributes torchao serializes. qdata U8 {@code [N, K/2]} (packed fp4), scale
 * F8_E4M3 {@code [N, K/16]} or swizzled, optional F32 scalar {@code per_tensor_scale}.
 *
 * <p>Only the weight-only form is modelled: {@code act_quant_kwargs} is always None and the optional
 * {@code act_per_tensor_scale} data field (static activation scales) is absent.
 *
 * @param perTensorScale  {@code per_tensor_scale}, or null without two-level scaling
 * @param blockSize       {@code block_size} (16)
 * @param originalDtype   {@code orig_dtype}
 * @param swizzledScales  {@code is_swizzled_scales}
 * @param useTritonKernel {@code use_triton_kernel}
 */
public record NVFP4Tensor(Tensor qdata, Tensor scale, Tensor perTensorScale, int blockSize, DType originalDtype,
                          boolean swizzledScales, boolean useTritonKernel) implements QuantizedTensor {

    /** Wrap the numerics of {@code t} with torchao's attributes. */
    public static NVFP4Tensor of(Nvfp4Tensor t, boolean useTritonKernel) {
        return new NVFP4Tensor(t.qdata(), t.scale(), t.perTensorScale(), Nvfp4Tensor.BLOCK_SIZE, t.originalDtype(),
                t.swizzled(), useTritonKernel);
    }

    /** The numerics view, for {@code Nvfp4Quantizer.dequantize}. */
    public Nvfp4Tensor numerics() {
        return new Nvfp4Tensor(qdata, scale, perTensorScale, swizzledScales, originalDtype, shape());
    }

    @Override
    public String typeName() {
        return "NVFP4Tensor";
    }

    /** The logical shape: qdata's with the last dim doubled (two fp4 codes per byte). */
    @Override
    public Shape shape() {
        long[] dims = qdata.shape().dims();
        dims[dims.length - 1] *= 2;
        return Shape.of(dims);
    }

    /** Required {@code qdata}, {@code scale}, then the optional {@code per_tensor_scale} when present. */
    @Override
    public List<Part> parts() {
        List<Part> p = new ArrayList<>(List.of(new Part("qdata", qdata), new Part("scale", scale)));
        if (perTensorScale != null) p.add(new Part("per_tensor_scale", perTensorScale));
        return List.copyOf(p);
    }
}
