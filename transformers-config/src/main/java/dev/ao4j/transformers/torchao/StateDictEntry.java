package dev.ao4j.transformers.torchao;

import dev.ao4j.quant.qtensor.QuantizedTensor;
import dev.ao4j.quant.tensor.Tensor;

/** One entry of a torchao state dict after {@link TorchAoSafetensorsLayout#unflatten}: a plain or quantized tensor. */
public sealed interface StateDictEntry {
    /** The state-dict key, e.g. {@code model.layers.0.mlp.down_proj.weight}. */
    String key();

    /** A plain tensor stored under its own key (metadata {@code {"_type": "Tensor"}}). */
    record Plain(String key, Tensor tensor) implements StateDictEntry {}

    /** A torchao tensor subclass rebuilt from its flattened parts and metadata. */
    record Quantized(String key, QuantizedTensor tensor) implements StateDictEntry {}
}
