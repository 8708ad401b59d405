package dev.ao4j.quant.pipeline;

import dev.ao4j.quant.qtensor.QuantizedTensor;
import dev.ao4j.safetensors.ShardedCheckpoint;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.safetensors.TensorInfo;
import java.util.ArrayList;
import java.util.List;

/**
 * The streaming quantization pipeline: source checkpoint → per-tensor decision → quantize → sink, one tensor at a
 * time, so peak memory is bounded by the largest tensor (source tensors are memory-mapped views; each output is
 * released once the sink has written it).
 */
public final class Quantizer {
    private Quantizer() {}

    /** Runs {@code recipe} over every tensor of {@code source} into {@code sink}, then commits the sink. */
    public static QuantReport quantize(ShardedCheckpoint source, Recipe recipe, ModelSink sink, QuantListener listener) {
        long start = System.nanoTime();
        List<String> names = source.names();
        long inputBytes = names.stream().mapToLong(n -> source.info(n).byteSize()).sum();
        listener.runStarted(names.size(), inputBytes);
        List<TensorResult> results = new ArrayList<>(names.size());
        for (int i = 0; i < names.size(); i++) {
            String name = names.get(i);
            listener.tensorStarted(i, name);
            TensorResult r = process(name, source.info(name), source.tensor(name), recipe, sink);
            results.add(r);
            listener.tensorFinished(i, r);
        }
        QuantReport report = new QuantReport(recipe.name(), results, System.nanoTime() - start);
        sink.commit(report);
        listener.runFinished(report);
        return report;
    }

    private static TensorResult process(String name, TensorInfo info, Tensor stored, Recipe recipe, ModelSink sink) {
        long t0 = System.nanoTime();
        Tensor tensor = recipe.casts(info.dtype()) ? stored.to(recipe.computeDtype()) : stored;
        String skip = recipe.selector().skipReason(name, info.shape());
        if (skip == null) skip = recipe.quantizer().skipReason(info.shape(), tensor.dtype());
        if (skip != null) {
            sink.writePlain(name, tensor);
            return new TensorResult(name, info.dtype(), info.shape(), null, skip, info.byteSize(), tensor.byteSize(),
                    Double.NaN, System.nanoTime() - t0);
        }
        QuantizedTensor q = recipe.quantizer().quantize(tensor);
        double sqnr = recipe.measureError() ? Sqnr.db(tensor, recipe.quantizer().dequantize(q)) : Double.NaN;
        sink.writeQuantized(name, q);
        long outBytes = q.parts().stream().mapToLong(p -> p.tensor().byteSize()).sum();
        return new TensorResult(name, info.dtype(), info.shape(), q.typeName(), null, info.byteSize(), outBytes, sqnr,
                System.nanoTime() - t0);
    }
}
