package dev.ao4j.quant.pipeline;

import java.util.List;

/** The outcome of a run: every tensor's result, in source order, and the totals. */
public record QuantReport(String recipe, List<TensorResult> tensors, long nanos) {
    public QuantReport {
        tensors = List.copyOf(tensors);
    }

    public long inputBytes() {
        return tensors.stream().mapToLong(TensorResult::inputBytes).sum();
    }

    public long outputBytes() {
        return tensors.stream().mapToLong(TensorResult::outputBytes).sum();
    }

    public long quantizedCount() {
        return tensors.stream().filter(TensorResult::quantized).count();
    }

    /** Input bytes of the tensors that were quantized. */
    public long quantizedInputBytes() {
        return tensors.stream().filter(TensorResult::quantized).mapToLong(TensorResult::inputBytes).sum();
    }
}
