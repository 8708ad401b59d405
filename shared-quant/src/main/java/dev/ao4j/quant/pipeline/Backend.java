package dev.ao4j.quant.pipeline;

import dev.ao4j.quant.InvalidConfigException;
import java.util.Locale;

/**
 * Where quantize kernels run. {@link #AUTO} takes the GPU when a CUDA driver and a device are there and the CPU
 * otherwise (saying why once); {@link #CUDA} asks for the GPU and still falls back, with the same log line, where
 * none can run; {@link #CPU} never touches CUDA. Results are the same bits on every backend.
 */
public enum Backend {
    AUTO, CPU, CUDA;

    /** {@code --device auto|cpu|cuda}. */
    public static Backend parse(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "auto" -> AUTO;
            case "cpu" -> CPU;
            case "cuda", "gpu" -> CUDA;
            default -> throw new InvalidConfigException("--device must be auto, cpu or cuda but was '" + s + "'");
        };
    }
}
