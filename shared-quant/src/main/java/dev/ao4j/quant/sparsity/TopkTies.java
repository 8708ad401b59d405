package dev.ao4j.quant.sparsity;

import dev.ao4j.quant.numerics.DivMode;

/**
 * Which of equal scores {@code torch.topk(k=2, largest=False)} picks in a group of four, per device (golden
 * {@code sparse24.magnitude.*}: the CPU and CUDA masks differ only in tied groups).
 */
public enum TopkTies {
    /**
     * ATen's CPU topk on a group of four: libstdc++ {@code std::nth_element} (introselect: one median-of-three
     * partition step, then insertion sort) over (score, index) pairs compared by score alone, NaN largest; the
     * first two positions afterwards are the ones zeroed.
     */
    CPU_INTROSELECT,
    /** CUDA's radix-select topk: the smaller scores first, among equal scores the lower index first; NaN largest. */
    CUDA_LOWEST_INDEX;

    /** The tie rule of the device a {@link DivMode} stands for (TRUE_DIV: CPU, CUDA_RECIPROCAL: CUDA). */
    public static TopkTies of(DivMode mode) {
        return mode == DivMode.CUDA_RECIPROCAL ? CUDA_LOWEST_INDEX : CPU_INTROSELECT;
    }
}
