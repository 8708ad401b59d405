package dev.ao4j.quant.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ao4j.quant.config.QuantConfig;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.pipeline.Backend;
import dev.ao4j.quant.pipeline.Recipes;
import dev.ao4j.quant.pipeline.WeightQuantizer;
import dev.ao4j.quant.pipeline.WeightQuantizers;
import dev.ao4j.quant.qtensor.QuantizedTensor;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class CudaBackendTest {
    private static final String NO_GPU = "CUDA is available here; this test covers hosts without a driver";

    private static void assertSameQuantization(QuantizedTensor expected, QuantizedTensor actual) {
        assertEquals(expected.getClass(), actual.getClass());
        assertEquals(CudaSelfCheck.attributes(expected), CudaSelfCheck.attributes(actual));
        for (int p = 0; p < expected.parts().size(); p++) {
            Tensor a = expected.parts().get(p).tensor();
            Tensor b = actual.parts().get(p).tensor();
            assertTrue(a.contentEquals(b), expected.parts().get(p).name() + " differs");
        }
    }

    @Test
    void probeOnAHostWithoutDriverSaysWhy() {
        CudaProbe.Status s = CudaProbe.status();
        assumeFalse(s.available(), NO_GPU);
        assertTrue(s.reason().startsWith("no CUDA driver: UnsatisfiedLinkError") && s.reason().contains("libcuda"),
                s.reason());
        assertNull(s.device());
    }

    @ParameterizedTest
    @ValueSource(strings = {"int8wo", "int4wo-128", "fp8dq-row", "fp8-block128", "nvfp4"})
    void autoFallsBackToTheCpuWithTheSameBits(String recipe) {
        assumeFalse(CudaProbe.status().available(), NO_GPU);
        QuantConfig config = Recipes.config(recipe);
        BackendQuantizer q = BackendQuantizer.forConfig(config, DivMode.CUDA_RECIPROCAL, Kernel.VECTOR, Backend.AUTO);
        assertEquals(Backend.CPU, q.active());
        assertEquals(CudaProbe.status().reason(), q.fallbackReason());
        Tensor w = CudaSelfCheck.input("edge", Shape.of(256, 1024), 7);
        WeightQuantizer cpu = WeightQuantizers.forConfig(config, DivMode.CUDA_RECIPROCAL, Kernel.REFERENCE);
        assertSameQuantization(cpu.quantize(w), q.quantize(w));
        assertEquals(1, q.cpuCount());
        assertEquals(0, q.gpuCount());
    }

    @Test
    void cpuBackendNeverProbes() {
        BackendQuantizer q = BackendQuantizer.forConfig(Recipes.config("int8wo"), DivMode.CUDA_RECIPROCAL,
                Kernel.VECTOR, Backend.CPU);
        assertEquals(Backend.CPU, q.active());
        assertEquals("--device cpu", q.fallbackReason());
    }

    /** A device whose every job fails, as a kernel launch error would. */
    private static final class FailingDevice implements CudaRunner {
        int runs;

        @Override
        public String deviceName() {
            return "failing test device";
        }

        @Override
        public void run(Plan plan) {
            runs++;
            throw new CudaFailure("CUDA_ERROR_LAUNCH_FAILED (test)", null);
        }

        @Override
        public double kernelSeconds(Plan plan, int reps) {
            throw new UnsupportedOperationException();
        }

        @Override
        public double copySeconds(long bytes, int reps) {
            throw new UnsupportedOperationException();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"int8dq", "int4wo-64", "int4wo-128-plain", "fp8wo", "fp8dq-tensor"})
    void aFailingKernelFallsBackForTheRestOfTheRun(String recipe) {
        QuantConfig config = Recipes.config(recipe);
        WeightQuantizer cpu = WeightQuantizers.forConfig(config, DivMode.CUDA_RECIPROCAL, Kernel.REFERENCE);
        BackendQuantizer.Kernels k = BackendQuantizer.kernelsFor(config);
        FailingDevice dev = new FailingDevice();
        BackendQuantizer q = new BackendQuantizer(cpu, dev, k.quantize(), k.covers(), null);
        assertEquals(Backend.CUDA, q.active());
        Tensor w = CudaSelfCheck.input("normal", Shape.of(128, 1024), 3);
        assertSameQuantization(cpu.quantize(w), q.quantize(w));
        assertEquals(Backend.CPU, q.active());
        assertTrue(q.fallbackReason().contains("CUDA_ERROR_LAUNCH_FAILED"), q.fallbackReason());
        q.quantize(w);
        assertEquals(1, dev.runs, "after a failure the GPU is not tried again");
        assertEquals(2, q.cpuCount());
    }

    @Test
    void recipesWithoutKernelsHaveNone() {
        assertNull(BackendQuantizer.kernelsFor(Recipes.config("nvfp4")));
        assertNull(BackendQuantizer.kernelsFor(Recipes.config("8da4w-32")));
    }

    @Test
    void planGeometry() {
        assertEquals(4, CudaKernels.tps(32));
        assertEquals(16, CudaKernels.tps(128));
        assertEquals(256, CudaKernels.tps(14336));
        assertEquals(50, CudaKernels.grid(100, 128), "two segments of 128 threads per block");
        Tensor w = Tensor.allocate(dev.ao4j.quant.dtype.DType.BF16, Shape.of(13, 1536));
        Tensor packed = Tensor.allocate(dev.ao4j.quant.dtype.DType.I32, Shape.of(2, 16, 32, 4));
        Tensor sz = Tensor.allocate(dev.ao4j.quant.dtype.DType.BF16, Shape.of(16, 16, 2));
        Plan p = CudaKernels.tinygemmPlan(w, 128, packed, sz);
        assertEquals(16, p.rows());
        assertEquals(8, p.rowAlign());
        Plan.Chunk last = p.chunk(8, 8);
        assertEquals(5, last.inputRows(), "the last n-tile holds 5 real rows and 3 rows of padding");
        assertEquals(packed.byteSize(), p.outputs().get(0).chunkBytes(16));
        assertEquals(sz.byteSize(), p.outputs().get(1).chunkBytes(16));
    }

    /** The committed PTX is what the CUDA sources compile to (only where nvcc is installed). */
    @Test
    void committedPtxMatchesTheSources() throws Exception {
        Path script = Path.of("../tools/cuda/build-ptx.sh");
        String nvcc = System.getenv().getOrDefault("NVCC", "");
        boolean found = !nvcc.isEmpty() || Files.isExecutable(Path.of("/usr/local/bin/nvcc"))
                || Files.isExecutable(Path.of("/usr/local/cuda/bin/nvcc"));
        assumeTrue(found, "nvcc not installed: PTX/source sync not checked (tools/cuda/build-ptx.sh --check)");
        assumeTrue(Files.isExecutable(script), "tools/cuda/build-ptx.sh not found from " + Path.of("").toAbsolutePath());
        Process p = new ProcessBuilder("bash", script.toString(), "--check").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
    }

    /** On a GPU host: every kernel bit-identical to the CPU reference on random and edge inputs. */
    @Test
    void gpuMatchesTheCpuReference() {
        CudaProbe.Status s = CudaProbe.status();
        assumeTrue(s.available(), () -> "no GPU here, CUDA kernels not run: " + s.reason());
        for (CudaSelfCheck.Result r : CudaSelfCheck.checkAll()) {
            assertTrue(r.onGpu(), r.toString());
            assertEquals(0, r.mismatches(), r.toString());
        }
    }
}
