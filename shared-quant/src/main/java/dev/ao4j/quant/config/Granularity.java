package dev.ao4j.quant.config;

import java.util.List;

/** torchao's granularity dataclasses: how many elements share one scale. */
public sealed interface Granularity {
    /** One scale for the whole tensor. */
    record PerTensor() implements Granularity {}

    /** One scale per row (per token for activations); {@code dim} is torchao's, -1 by default. */
    record PerRow(int dim) implements Granularity {
        public PerRow() {
            this(-1);
        }
    }

    /** One scale per {@code groupSize} consecutive elements of the last dim. */
    record PerGroup(int groupSize) implements Granularity {
        public PerGroup {
            if (groupSize <= 0) throw new IllegalArgumentException("PerGroup.groupSize must be > 0 but was " + groupSize);
        }
    }

    /** One scale per index of {@code axis} (PerAxis(0) = per output channel). */
    record PerAxis(int axis) implements Granularity {}

    /** One scale per block of the given shape (e.g. [128, 128], [1, 128]). */
    record PerBlock(List<Integer> blockSize) implements Granularity {
        public PerBlock {
            blockSize = List.copyOf(blockSize);
        }
    }
}
