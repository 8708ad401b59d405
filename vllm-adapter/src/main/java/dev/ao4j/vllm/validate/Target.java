package dev.ao4j.vllm.validate;

import java.util.Objects;

/**
 * Where a package is meant to run: the engine, its tensor-parallel size ({@code --tensor-parallel-size} /
 * {@code --tp}) and the GPU generation. Tensor parallelism splits N of column-parallel layers and K of
 * row-parallel ones, so kernel shape rules are checked per partition.
 */
public record Target(Engine engine, int tensorParallel, GpuArch gpu) {
    public Target {
        Objects.requireNonNull(engine, "engine");
        Objects.requireNonNull(gpu, "gpu");
        if (tensorParallel < 1) throw new IllegalArgumentException("tensorParallel must be >= 1, got " + tensorParallel);
    }

    @Override
    public String toString() {
        return engine.wireName() + " tp=" + tensorParallel + " " + gpu.wireName();
    }
}
