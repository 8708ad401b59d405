package dev.ao4j.quant.cuda;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Several GPUs as one {@link CudaRunner}: a job's rows are cut into one contiguous, aligned band per device and the
 * bands run at the same time, each device copying its own band in and out through its own pinned buffers and
 * streams (so the host-to-device links add up). Output rows of a band go where they would have gone on one device,
 * so the result is the same bytes. A job that fits one chunk stays on the first device (splitting it would only add
 * launches), and so does a job with a per-tensor reduce pass, which needs the whole tensor on one device.
 */
final class MultiGpu implements CudaRunner {
    private final List<CudaRunner> devices;
    private final ExecutorService workers;
    private long chunkBytes = CudaDevice.CHUNK_BYTES;

    MultiGpu(List<CudaRunner> devices) {
        if (devices.size() < 2) throw new IllegalArgumentException("MultiGpu needs at least two devices");
        this.devices = List.copyOf(devices);
        this.workers = Executors.newFixedThreadPool(devices.size(), r -> {
            Thread t = new Thread(r, "ao4j-cuda-band");
            t.setDaemon(true);
            return t;
        });
    }

    /** The devices, in the order bands are handed out. */
    List<CudaRunner> devices() {
        return devices;
    }

    @Override
    public String deviceName() {
        List<String> names = devices.stream().map(CudaRunner::deviceName).distinct().toList();
        return devices.size() + " x " + String.join(" + ", names);
    }

    @Override
    public synchronized void chunkBytes(long bytes) {
        for (CudaRunner d : devices) d.chunkBytes(bytes);
        chunkBytes = bytes;
    }

    @Override
    public synchronized void run(Plan plan, long rowFrom, long rowTo) {
        List<long[]> bands = plan.reduce() != null || plan.input().byteSize() <= chunkBytes
                ? List.of(new long[] {rowFrom, rowTo})
                : bands(rowFrom, rowTo, plan.rowAlign(), devices.size());
        if (bands.size() == 1) {
            devices.getFirst().run(plan, rowFrom, rowTo);
            return;
        }
        List<Future<?>> running = new ArrayList<>(bands.size());
        for (int d = 0; d < bands.size(); d++) {
            CudaRunner device = devices.get(d);
            long[] band = bands.get(d);
            running.add(workers.submit(() -> device.run(plan, band[0], band[1])));
        }
        RuntimeException failure = null;
        for (Future<?> f : running) { // every band finishes (or fails) before this returns: none writes later
            try {
                f.get();
            } catch (ExecutionException e) {
                if (failure == null) {
                    failure = e.getCause() instanceof RuntimeException r ? r
                            : new CudaFailure("a GPU band failed: " + e.getCause(), e.getCause());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                if (failure == null) failure = new CudaFailure("interrupted while the GPUs ran", e);
            }
        }
        if (failure != null) throw failure;
    }

    /**
     * Rows {@code [from, to)} cut into at most {@code n} contiguous bands of whole alignment units (the last band
     * ends at {@code to}), as even as the units allow; never an empty band.
     */
    static List<long[]> bands(long from, long to, long align, int n) {
        long units = (to - from + align - 1) / align;
        int parts = (int) Math.max(1, Math.min(n, units));
        List<long[]> out = new ArrayList<>(parts);
        for (int p = 0; p < parts; p++) {
            long u0 = units * p / parts;
            long u1 = units * (p + 1) / parts;
            out.add(new long[] {from + u0 * align, Math.min(to, from + u1 * align)});
        }
        return out;
    }

    @Override
    public double kernelSeconds(Plan plan, int reps) {
        return devices.getFirst().kernelSeconds(plan, reps);
    }

    @Override
    public double copySeconds(long bytes, int reps) {
        return devices.getFirst().copySeconds(bytes, reps);
    }
}
