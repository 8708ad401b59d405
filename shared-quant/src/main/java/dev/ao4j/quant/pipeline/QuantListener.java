package dev.ao4j.quant.pipeline;

/**
 * Paired events of one quantization run (OkHttp EventListener style): progress bars, build logs and tests listen
 * here instead of the pipeline logging. Listeners must be fast and must not throw.
 */
public interface QuantListener {
    QuantListener NONE = new QuantListener() {};

    default void runStarted(int tensorCount, long inputBytes) {}

    default void tensorStarted(int index, String name) {}

    default void tensorFinished(int index, TensorResult result) {}

    default void runFinished(QuantReport report) {}
}
