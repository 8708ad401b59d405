package dev.ao4j.quant.sparsity;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.tensor.Shape;
import java.util.List;

/**
 * The outcome of a model-wide 2:4 pruning run ({@link Sparsifier}): every tensor's result, in source order.
 *
 * @param ties the tie rule the masks were computed with (the device convention asked for)
 */
public record SparsifyReport(TopkTies ties, List<Entry> tensors, long nanos) {
    /** The name this transform goes by in reports and the CLI. */
    public static final String TRANSFORM = "sparse24";

    public SparsifyReport {
        tensors = List.copyOf(tensors);
    }

    /**
     * One source tensor.
     *
     * @param skipReason why it was written unchanged, or null when it was pruned
     * @param zeros      elements equal to ±0 in the written tensor (pruned tensors only; 0 otherwise)
     * @param sqnrDb     SQNR of the pruned weight against the source in dB (NaN when kept)
     */
    public record Entry(String name, DType dtype, Shape shape, String skipReason, long zeros, double sqnrDb,
                        long bytes) {
        public boolean pruned() {
            return skipReason == null;
        }

        /** The fraction of elements that are zero after pruning (NaN when kept). */
        public double sparsity() {
            return pruned() ? (double) zeros / shape.numel() : Double.NaN;
        }
    }

    public long prunedCount() {
        return tensors.stream().filter(Entry::pruned).count();
    }

    public long bytes() {
        return tensors.stream().mapToLong(Entry::bytes).sum();
    }
}
