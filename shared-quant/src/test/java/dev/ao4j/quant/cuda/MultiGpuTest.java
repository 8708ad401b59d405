package dev.ao4j.quant.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.config.Granularity;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** How {@link MultiGpu} cuts jobs into bands, runs them and reports failures (devices stood in for by recorders). */
class MultiGpuTest {
    /** A device that records the bands it was given; optionally fails, or waits for every device to be running. */
    private static final class Recorder implements CudaRunner {
        final List<long[]> bands = Collections.synchronizedList(new ArrayList<>());
        final CountDownLatch together;
        final boolean fails;
        volatile long chunk;

        Recorder(CountDownLatch together, boolean fails) {
            this.together = together;
            this.fails = fails;
        }

        @Override
        public String deviceName() {
            return "recorder";
        }

        @Override
        public void chunkBytes(long bytes) {
            chunk = bytes;
        }

        @Override
        public void run(Plan plan, long rowFrom, long rowTo) {
            bands.add(new long[] {rowFrom, rowTo});
            if (together != null) {
                together.countDown();
                try {
                    if (!together.await(10, TimeUnit.SECONDS)) throw new IllegalStateException("bands ran one by one");
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }
            if (fails) throw new CudaFailure("CUDA_ERROR_ILLEGAL_ADDRESS (test)", null);
        }

        @Override
        public double kernelSeconds(Plan plan, int reps) {
            return 1;
        }

        @Override
        public double copySeconds(long bytes, int reps) {
            return 2;
        }
    }

    private static Plan int8Plan(long rows, long cols) {
        Tensor w = Tensor.allocate(DType.BF16, Shape.of(rows, cols));
        CudaKernels.Int8Result out = CudaKernels.int8Outputs(w.shape(), new Granularity.PerRow());
        return CudaKernels.int8Plan(w, new Granularity.PerRow(), false, out);
    }

    @Test
    void bandsAreContiguousAlignedAndCoverTheRows() {
        assertEquals(List.of("0-64", "64-136"), text(MultiGpu.bands(0, 136, 8, 2)));
        assertEquals(List.of("0-128", "128-256", "256-300"), text(MultiGpu.bands(0, 300, 128, 3)));
        assertEquals(List.of("0-8"), text(MultiGpu.bands(0, 8, 8, 4)), "one unit: one band, none empty");
        assertEquals(List.of("0-1", "1-3", "3-5"), text(MultiGpu.bands(0, 5, 1, 3)));
        assertEquals(List.of("256-384", "384-512"), text(MultiGpu.bands(256, 512, 128, 2)));
    }

    private static List<String> text(List<long[]> bands) {
        return bands.stream().map(b -> b[0] + "-" + b[1]).toList();
    }

    @Test
    void aJobLargerThanAChunkRunsOnEveryDeviceAtOnce() {
        CountDownLatch together = new CountDownLatch(2);
        Recorder a = new Recorder(together, false);
        Recorder b = new Recorder(together, false);
        MultiGpu gpus = new MultiGpu(List.of(a, b));
        gpus.chunkBytes(1024);
        gpus.run(int8Plan(100, 64)); // 12.8 KB of bf16 input, chunks of 1 KiB
        assertEquals(1024, a.chunk);
        assertEquals(1024, b.chunk);
        assertArrayEquals(new long[] {0, 50}, a.bands.getFirst());
        assertArrayEquals(new long[] {50, 100}, b.bands.getFirst());
    }

    @Test
    void aJobOfOneChunkOrWithAReducePassStaysOnTheFirstDevice() {
        Recorder a = new Recorder(null, false);
        Recorder b = new Recorder(null, false);
        MultiGpu gpus = new MultiGpu(List.of(a, b));
        gpus.run(int8Plan(100, 64)); // fits the default 64 MiB chunk
        Tensor w = Tensor.allocate(DType.BF16, Shape.of(256, 4096));
        Tensor q = Tensor.allocate(DType.F8_E4M3, w.shape());
        Tensor scale = Tensor.allocate(DType.F32, Shape.of(1, 1));
        Plan perTensor = CudaKernels.fp8Plan(w, 256, 4096, DType.F8_E4M3, q, scale);
        assertTrue(perTensor.reduce() != null);
        gpus.chunkBytes(16 << 10);
        gpus.run(perTensor);
        assertEquals(2, a.bands.size());
        assertArrayEquals(new long[] {0, 256}, a.bands.get(1));
        assertTrue(b.bands.isEmpty());
    }

    @Test
    void aFailingBandFailsTheJobAfterEveryBandHasFinished() {
        CountDownLatch together = new CountDownLatch(2);
        Recorder ok = new Recorder(together, false);
        Recorder bad = new Recorder(together, true);
        MultiGpu gpus = new MultiGpu(List.of(ok, bad));
        gpus.chunkBytes(1024);
        CudaFailure f = assertThrows(CudaFailure.class, () -> gpus.run(int8Plan(100, 64)));
        assertTrue(f.getMessage().contains("ILLEGAL_ADDRESS"), f.getMessage());
        assertEquals(1, ok.bands.size(), "the healthy band ran to its end");
    }

    @Test
    void timingsComeFromTheFirstDeviceAndTheNameCountsDevices() {
        Recorder a = new Recorder(null, false);
        MultiGpu gpus = new MultiGpu(List.of(a, new Recorder(null, false)));
        assertEquals(1, gpus.kernelSeconds(null, 3));
        assertEquals(2, gpus.copySeconds(10, 3));
        assertEquals("2 x recorder", gpus.deviceName());
        assertSame(a, gpus.devices().getFirst());
        assertThrows(IllegalArgumentException.class, () -> new MultiGpu(List.of(a)));
    }

    @Test
    void theDeviceListComesFromTheEnvironment() {
        assertNull(CudaProbe.ordinals(null));
        assertNull(CudaProbe.ordinals(" "));
        assertArrayEquals(new int[] {0, 1}, CudaProbe.ordinals("0,1"));
        assertArrayEquals(new int[] {0, 0}, CudaProbe.ordinals(" 0 , 0 "));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CudaProbe.ordinals("0,gpu1"));
        assertTrue(e.getMessage().contains(CudaProbe.DEVICES_ENV) && e.getMessage().contains("0,gpu1"));
        assertThrows(IllegalArgumentException.class, () -> CudaProbe.ordinals("-1"));
    }
}
