package dev.ao4j.quant.cuda;

import java.lang.reflect.InvocationTargetException;

/**
 * Finds out once per JVM whether CUDA kernels can run here: the JCuda driver class must initialize (it links
 * libcuda.so.1), the driver must report devices of compute capability 8.0 or higher, and the PTX module must
 * load on each. Every device the driver reports is used (CUDA_VISIBLE_DEVICES narrows that, as for any CUDA
 * program); {@value #DEVICES_ENV} names the devices explicitly, as a comma-separated list of ordinals. Nothing in
 * this class mentions a JCuda type, so it loads on any host (dependencies.md G9).
 */
public final class CudaProbe {
    /** Environment variable listing the CUDA device ordinals to use, e.g. {@code 0,1}. */
    public static final String DEVICES_ENV = "AO4J_CUDA_DEVICES";

    private static Status status;
    private static CudaRunner runner;

    private CudaProbe() {}

    /**
     * @param available whether the CUDA backend can run
     * @param reason    why not (null when available)
     * @param device    the card's name (null when not available)
     */
    public record Status(boolean available, String reason, String device) {}

    /** The probe's result; the first call does the probing. */
    public static synchronized Status status() {
        if (status == null) probe();
        return status;
    }

    /** The device, or null when {@link #status()} says it is not available. */
    static synchronized CudaRunner runner() {
        status();
        return runner;
    }

    private static void probe() {
        try {
            Class.forName("jcuda.driver.JCudaDriver", true, CudaProbe.class.getClassLoader());
        } catch (LinkageError | ClassNotFoundException e) {
            status = new Status(false, "no CUDA driver: " + describe(e), null);
            return;
        }
        int[] ordinals;
        try {
            ordinals = ordinals(System.getenv(DEVICES_ENV));
        } catch (IllegalArgumentException e) {
            status = new Status(false, e.getMessage(), null);
            return;
        }
        try {
            Object r = Class.forName("dev.ao4j.quant.cuda.CudaDevice").getMethod("open", int[].class)
                    .invoke(null, (Object) ordinals);
            runner = (CudaRunner) r;
            status = new Status(true, null, runner.deviceName());
        } catch (InvocationTargetException e) {
            status = new Status(false, "CUDA device unusable: " + describe(e.getCause()), null);
        } catch (ReflectiveOperationException | LinkageError e) {
            status = new Status(false, "CUDA backend failed to load: " + describe(e), null);
        }
    }

    /** The ordinals of a {@value #DEVICES_ENV} value, or null (all devices) when it is unset or blank. */
    static int[] ordinals(String value) {
        if (value == null || value.isBlank()) return null;
        String[] parts = value.split(",");
        int[] out = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                out[i] = Integer.parseInt(parts[i].trim());
            } catch (NumberFormatException e) {
                out[i] = -1;
            }
            if (out[i] < 0) {
                throw new IllegalArgumentException(DEVICES_ENV + " must list CUDA device ordinals like 0,1 but was '"
                        + value + "'");
            }
        }
        return out;
    }

    private static String describe(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null && c.getMessage() == null) c = c.getCause();
        String m = c.getMessage() == null ? "" : ": " + c.getMessage().replaceAll("\\s+", " ").trim();
        return c.getClass().getSimpleName() + m; // one line: JCuda's messages span several
    }
}
