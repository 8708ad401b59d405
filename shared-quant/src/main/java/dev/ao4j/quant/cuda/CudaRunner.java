package dev.ao4j.quant.cuda;

/**
 * What the quantizers need from a GPU, with no JCuda type in sight: {@link CudaDevice} is the only
 * implementation that touches JCuda and is loaded only after {@link CudaProbe} found a driver.
 */
interface CudaRunner {
    /** The card's name, e.g. "NVIDIA H200". */
    String deviceName();

    /** Input bytes per chunk from now on (the self-check cuts small tensors into many chunks to check the seams). */
    void chunkBytes(long bytes);

    /** Runs {@code plan} over its whole input and fills its output tensors. */
    default void run(Plan plan) {
        run(plan, 0, plan.rows());
    }

    /**
     * Runs {@code plan} over rows {@code [rowFrom, rowTo)} of its row space and fills those rows' part of its output
     * tensors. {@code rowFrom} is a multiple of the plan's row alignment and {@code rowTo} one too or the end; a plan
     * with a {@link Plan#reduce} pass needs the whole tensor and takes only the whole range.
     */
    void run(Plan plan, long rowFrom, long rowTo);

    /**
     * Seconds per run of {@code plan}'s launches over the whole tensor already on the device (no host copies),
     * median of {@code reps} timed runs after a warm-up.
     */
    double kernelSeconds(Plan plan, int reps);

    /** Seconds per {@code cuMemcpyDtoD} of {@code bytes}, median of {@code reps}. */
    double copySeconds(long bytes, int reps);
}
