package dev.ao4j.quant.sparsity;

import dev.ao4j.quant.numerics.ComputeDtypes;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.pipeline.ModuleSelector;
import dev.ao4j.quant.pipeline.Sqnr;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.safetensors.ShardedCheckpoint;
import dev.ao4j.safetensors.TensorInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * 2:4 magnitude pruning of a whole checkpoint, streamed one tensor at a time like the quantization pipeline: the
 * Linear weights a {@link ModuleSelector} picks are replaced by {@link Sparse24#prune} (same dtype and shape, zeros
 * where pruned), every other tensor is passed on as stored. The result is still a dense checkpoint, which is what
 * lets any engine load it and {@code ao4j quantize} quantize it afterwards.
 */
public final class Sparsifier {
    private Sparsifier() {}

    /** {@link #sparsify24(ShardedCheckpoint, ModuleSelector, TopkTies, Kernel, BiConsumer)} with the vector kernel. */
    public static SparsifyReport sparsify24(ShardedCheckpoint source, ModuleSelector selector, TopkTies ties,
                                            BiConsumer<String, Tensor> sink) {
        return sparsify24(source, selector, ties, Kernel.VECTOR, sink);
    }

    /**
     * Prunes {@code source} into {@code sink} (name, tensor; the tensor may be a view of the source) in source order,
     * with {@code kernel} (both give the same bits). Nothing is committed here: the caller finishes its sink with
     * the returned report.
     */
    public static SparsifyReport sparsify24(ShardedCheckpoint source, ModuleSelector selector, TopkTies ties,
                                            Kernel kernel, BiConsumer<String, Tensor> sink) {
        long start = System.nanoTime();
        List<SparsifyReport.Entry> results = new ArrayList<>();
        for (String name : source.names()) {
            TensorInfo info = source.info(name);
            Tensor stored = source.tensor(name);
            String skip = skipReason(selector, name, info);
            if (skip != null) {
                sink.accept(name, stored);
                results.add(new SparsifyReport.Entry(name, info.dtype(), info.shape(), skip, 0, Double.NaN,
                        info.byteSize()));
                continue;
            }
            Tensor pruned = Sparse24.prune(stored, ties, kernel);
            long zeros = 0;
            for (long i = 0; i < pruned.numel(); i++) {
                if (pruned.getFloat(i) == 0f) zeros++;
            }
            double sqnr = Sqnr.db(stored, pruned);
            sink.accept(name, pruned);
            results.add(new SparsifyReport.Entry(name, info.dtype(), info.shape(), null, zeros, sqnr,
                    pruned.byteSize()));
        }
        return new SparsifyReport(ties, results, System.nanoTime() - start);
    }

    /** Why {@code name} is written unchanged, or null when it is a Linear weight 2:4 pruning applies to. */
    static String skipReason(ModuleSelector selector, String name, TensorInfo info) {
        Shape shape = info.shape();
        String skip = selector.skipReason(name, shape);
        if (skip != null) return skip;
        if (!ComputeDtypes.ALL.contains(info.dtype())) {
            return "dtype " + info.dtype().torchName() + " is not bfloat16, float16 or float32";
        }
        // groups of four run along K, the input dimension; a ragged last group has no 2:4 pattern
        if (shape.cols() % 4 != 0) return "K = " + shape.cols() + " is not a multiple of 4";
        return null;
    }
}
