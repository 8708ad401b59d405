package dev.ao4j.quant.sparsity;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.pipeline.WeightQuantizer;
import dev.ao4j.quant.qtensor.QuantizedTensor;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;

/**
 * 2:4 pruning composed with quantization in one pass ({@code sparse24+<recipe>}): each weight is pruned as
 * {@link Sparse24#prune} does, then quantized by {@code inner}. The result is exactly what {@code ao4j sparsify}
 * followed by {@code ao4j quantize} writes — a package of the inner recipe whose codes keep the pruned zeros (every
 * symmetric and zero-point-exact scheme maps 0 to a code that dequantizes to 0) — without the intermediate model.
 * Error reports compare against the unpruned weight, so they show pruning and quantization together. {@code kernel}
 * runs the pruning (both give the same bits).
 */
public record Sparse24Quantizer(WeightQuantizer inner, TopkTies ties, Kernel kernel) implements WeightQuantizer {
    /** Pruning by the {@link Kernel#VECTOR} kernel. */
    public Sparse24Quantizer(WeightQuantizer inner, TopkTies ties) {
        this(inner, ties, Kernel.VECTOR);
    }

    @Override
    public String skipReason(Shape shape, DType dtype) {
        String skip = inner.skipReason(shape, dtype);
        if (skip != null) return skip;
        if (shape.rank() != 2 || shape.cols() % 4 != 0) {
            return "2:4 pruning needs K divisible by 4 but the shape is " + shape;
        }
        return null;
    }

    @Override
    public QuantizedTensor quantize(Tensor weight) {
        return inner.quantize(Sparse24.prune(weight, ties, kernel));
    }

    @Override
    public Tensor dequantize(QuantizedTensor quantized) {
        return inner.dequantize(quantized);
    }
}
