package dev.ao4j.quant.pipeline;

import dev.ao4j.quant.qtensor.QuantizedTensor;
import dev.ao4j.quant.tensor.Tensor;

/**
 * Where a quantization run writes, tensor by tensor, in source order. Implementations live with the format they
 * write (e.g. the torchao/transformers package in transformers-config). Nothing is visible at the destination
 * before {@link #commit}; {@link #close} without a commit removes everything written so far.
 */
public interface ModelSink extends AutoCloseable {
    /** A tensor kept in high precision (the tensor may be a view of the source: copy what you keep). */
    void writePlain(String name, Tensor tensor);

    /** A quantized weight under its original state-dict name (e.g. {@code model.layers.0.mlp.up_proj.weight}). */
    void writeQuantized(String name, QuantizedTensor tensor);

    /**
     * Whether the sink is done with a tensor's memory when {@link #writePlain} or {@link #writeQuantized} returns
     * (it wrote or copied the bytes and keeps no reference to them). Then the pipeline frees each tensor's outputs
     * right after its write; a sink that keeps tensors until {@link #commit} must answer false (the default).
     */
    default boolean writesThrough() {
        return false;
    }

    /** Finish the package atomically. */
    void commit(QuantReport report);

    @Override
    void close();
}
