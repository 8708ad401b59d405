package dev.ao4j.quant.numerics;

/**
 * How torch divides a tensor by a Python scalar, which differs by device (torchao-numerics R2): CUDA multiplies
 * by the reciprocal {@code f32(1.0 / (double) c)}; the CPU divides {@code f32(t) / f32(c)}. Both round once to
 * the tensor's dtype. Results differ by at most one ulp. TorchAO checkpoints are made on GPUs, so
 * {@link #CUDA_RECIPROCAL} is the default.
 */
public enum DivMode {
    CUDA_RECIPROCAL, TRUE_DIV;

    public static DivMode defaultMode() {
        return CUDA_RECIPROCAL;
    }
}
