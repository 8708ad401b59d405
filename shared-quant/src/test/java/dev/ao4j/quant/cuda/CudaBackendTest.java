package dev.ao4j.quant.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
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
import dev.ao4j.quant.dtype.DType;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
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
    @ValueSource(strings = {"int8wo", "int4wo-128", "int4wo-128-plain", "fp8dq-row", "fp8-block128", "mxfp8", "mxfp4",
            "nvfp4"})
    void autoFallsBackToTheCpuWithTheSameBits(String recipe) {
        assumeFalse(CudaProbe.status().available(), NO_GPU);
        QuantConfig config = Recipes.config(recipe);
        BackendQuantizer q = BackendQuantizer.forConfig(config, DivMode.CUDA_RECIPROCAL, Kernel.VECTOR, Backend.AUTO);
        assertEquals(Backend.CPU, q.active());
        assertEquals(CudaProbe.status().reason(), q.fallbackReason());
        WeightQuantizer cpu = WeightQuantizers.forConfig(config, DivMode.CUDA_RECIPROCAL, Kernel.REFERENCE);
        for (String input : CudaSelfCheck.INPUTS) {
            Tensor w = CudaSelfCheck.input(input, Shape.of(256, 1024), 7);
            assertSameQuantization(cpu.quantize(w), q.quantize(w));
        }
        assertEquals(CudaSelfCheck.INPUTS.size(), q.cpuCount());
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
        public void chunkBytes(long bytes) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void run(Plan plan, long rowFrom, long rowTo) {
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
    @ValueSource(strings = {"int8dq", "int4wo-64", "int4wo-128-plain", "fp8wo", "fp8dq-tensor", "mxfp8", "mxfp4",
            "nvfp4"})
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
        assertNull(BackendQuantizer.kernelsFor(Recipes.config("8da4w-32")));
    }

    @Test
    void everyCheckedConfigHasKernelsThatCoverItsShapes() {
        List<String> names = new ArrayList<>(CudaSelfCheck.RECIPES);
        names.addAll(CudaSelfCheck.VARIANTS);
        for (String name : names) {
            QuantConfig config = CudaSelfCheck.configOf(name);
            BackendQuantizer.Kernels k = BackendQuantizer.kernelsFor(config);
            assertNotNull(k, name);
            WeightQuantizer cpu = WeightQuantizers.forConfig(config, DivMode.CUDA_RECIPROCAL, Kernel.VECTOR);
            for (Shape s : CudaSelfCheck.shapes(name)) {
                if (cpu.skipReason(s, DType.BF16) != null) continue; // the self-check skips these too
                assertTrue(k.covers().test(s, DType.BF16), name + " " + s);
                assertFalse(k.covers().test(s, DType.F16), name + " on f16 goes to the CPU");
            }
        }
        assertFalse(BackendQuantizer.kernelsFor(Recipes.config("mxfp8")).covers().test(Shape.of(64, 48), DType.BF16));
        assertFalse(BackendQuantizer.kernelsFor(Recipes.config("nvfp4")).covers().test(Shape.of(4, 2, 64),
                DType.BF16), "3-D weights take the CPU path");
    }

    /** Every kernel a plan launches is an entry of both committed PTX files. */
    @Test
    void plansLaunchKernelsThePtxDefines() throws Exception {
        Set<String> launched = new TreeSet<>();
        Tensor w = Tensor.allocate(DType.BF16, Shape.of(256, 4096));
        for (String recipe : CudaSelfCheck.RECIPES) {
            Plan p = CudaSelfCheck.planFor(recipe, w);
            for (Plan.Launch l : p.launches().apply(p.chunk(0, p.rowAlign()))) launched.add(l.kernel());
            if (p.reduce() != null) p.reduce().apply(p.chunk(0, p.rowAlign())).forEach(l -> launched.add(l.kernel()));
        }
        assertEquals(Set.of("int8_sym", "int4_tinygemm", "int4_mslk", "fp8_amax", "fp8_quant", "fp8_tile", "mx_quant",
                "nvfp4_quant"), launched);
        for (String sm : List.of("quant.sm_80.ptx", "quant.sm_90.ptx")) {
            String ptx;
            try (var in = CudaDevice.class.getResourceAsStream(sm)) {
                assertNotNull(in, sm);
                ptx = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII);
            }
            for (String k : launched) assertTrue(ptx.contains(".entry " + k + "("), sm + " lacks " + k);
        }
    }

    @Test
    void fp8BlocksOfAtMost2048ChunksReadEachTileOnce() {
        Tensor w = Tensor.allocate(DType.BF16, Shape.of(256, 1024));
        Plan block = CudaSelfCheck.planFor("fp8-block128", w);
        List<Plan.Launch> l = block.launches().apply(block.chunk(0, 256));
        assertEquals(1, l.size());
        assertEquals("fp8_tile", l.getFirst().kernel());
        assertEquals(2 * 8, l.getFirst().grid(), "one CUDA block per 128x128 tile");
    }

    /**
     * fp8 per tensor streams in chunks of any row count: fp8_amax over each chunk into scratch word 0 (the block
     * spans every row, so chunk rows index block row 0), then fp8_quant per chunk reading it.
     */
    @Test
    void fp8PerTensorReducesEveryChunkBeforeQuantizingAny() {
        Tensor w = Tensor.allocate(DType.BF16, Shape.of(512, 2048));
        Plan p = CudaSelfCheck.planFor("fp8dq-tensor", w);
        assertEquals(1, p.rowAlign(), "no longer one whole-tensor chunk");
        assertEquals(List.of(4L), p.scratchBytes().apply(512), "one amax word for the tensor");
        Plan.Chunk c = p.chunk(100, 37);
        List<Plan.Launch> reduce = p.reduce().apply(c);
        List<Plan.Launch> quant = p.launches().apply(c);
        assertEquals(List.of("fp8_amax"), reduce.stream().map(Plan.Launch::kernel).toList());
        assertEquals(List.of("fp8_quant"), quant.stream().map(Plan.Launch::kernel).toList());
        for (Plan.Launch l : List.of(reduce.getFirst(), quant.getFirst())) {
            assertEquals(new Plan.Arg.I64(37), l.args().get(1), "the chunk's rows");
            assertEquals(new Plan.Arg.I32(512), l.args().get(3), "br = all rows: chunk rows < br land in block 0");
            assertEquals(new Plan.Arg.Scratch(0), l.args().get(6));
        }
        assertEquals(new Plan.Arg.I32(256), reduce.getFirst().args().get(5), "amax: a thread per chunk");
        assertEquals(CudaKernels.grid(37, 256), reduce.getFirst().grid());
        assertEquals(new Plan.Arg.I32(32), quant.getFirst().args().get(5), "quantize: 8 chunks kept per thread");
        assertEquals(CudaKernels.grid(37, 32), quant.getFirst().grid());
        assertEquals(4, p.outputs().get(1).chunkBytes(37), "each chunk copies back the one f32 scale");
        assertEquals(37 * 2048, p.outputs().get(0).chunkBytes(37));
        Plan row = CudaSelfCheck.planFor("fp8dq-row", w);
        assertNull(row.reduce(), "per-row scales need no first pass");
    }

    @Test
    void mxPlanPadsRowsToWholeScaleTiles() {
        Tensor w = Tensor.allocate(DType.BF16, Shape.of(200, 1120));
        Plan p = CudaSelfCheck.planFor("mxfp4", w);
        assertEquals(256, p.rows(), "rows padded to the 128-row swizzle tiles");
        assertEquals(128, p.rowAlign());
        assertEquals(200, p.inputRows());
        Plan.Output q = p.outputs().get(0);
        Plan.Output scale = p.outputs().get(1);
        assertFalse(q.zeroed());
        assertTrue(scale.zeroed(), "padding scales must read 0");
        // 35 blocks per row -> 9 tiles of 4 columns; a chunk of 128 rows holds 9 tiles of 512 bytes
        assertEquals(9 * 512, scale.chunkBytes(128));
        assertEquals(scale.target().byteSize(), scale.chunkBytes(p.rows()));
        assertEquals(560, q.bytesPerRow(), "fp4: two codes per byte");
        Plan.Chunk last = p.chunk(128, 128);
        assertEquals(72, last.inputRows());
        Plan.Launch l = p.launches().apply(last).getFirst();
        assertEquals("mx_quant", l.kernel());
        assertEquals((128 * 35 + 255) / 256, l.grid(), "64 groups of 4 threads per 256 threads, 4 blocks of 32 each");
        assertEquals(new Plan.Arg.I64(72), l.args().get(1));
        assertEquals(new Plan.Arg.I32(3), l.args().get(5), "RCEIL");
        assertEquals(new Plan.Arg.I32(2), l.args().get(4), "fp4");
    }

    @Test
    void nvfp4WithPerTensorScaleReducesEveryChunkBeforeQuantizingAny() {
        Tensor w = Tensor.allocate(DType.BF16, Shape.of(136, 1536));
        Plan p = CudaSelfCheck.planFor("nvfp4", w);
        assertEquals(256, p.rows());
        assertEquals(128, p.rowAlign(), "chunks of whole swizzle tiles, also with the per-tensor scale");
        assertEquals(List.of(4L), p.scratchBytes().apply(256));
        Plan.Chunk last = p.chunk(128, 128);
        List<Plan.Launch> r = p.reduce().apply(last);
        assertEquals(List.of("fp8_amax"), r.stream().map(Plan.Launch::kernel).toList());
        assertEquals(new Plan.Arg.I64(8), r.getFirst().args().get(1), "the amax covers the real rows only");
        assertEquals(new Plan.Arg.I32(8), r.getFirst().args().get(3), "all of them in amax word 0");
        assertEquals(new Plan.Arg.Scratch(0), r.getFirst().args().get(6));
        List<Plan.Launch> l = p.launches().apply(last);
        assertEquals(List.of("nvfp4_quant"), l.stream().map(Plan.Launch::kernel).toList());
        assertEquals(new Plan.Arg.Scratch(0), l.getFirst().args().get(4), "quantize reads the tensor's amax");
        assertEquals(4, p.outputs().get(2).chunkBytes(128), "the f32 per-tensor scale");
        Plan noPts = CudaSelfCheck.planFor("nvfp4-no-pts", w);
        assertEquals(128, noPts.rowAlign());
        assertNull(noPts.reduce());
        assertEquals(2, noPts.outputs().size());
        assertEquals(List.of("nvfp4_quant"),
                noPts.launches().apply(noPts.chunk(0, 128)).stream().map(Plan.Launch::kernel).toList());
    }

    @Test
    void specialInputHoldsTheNaNAndInfinityCases() {
        Tensor t = CudaSelfCheck.input("special", Shape.of(14, 64), 1);
        assertEquals((short) 0x7FC0, t.data().getAtIndex(Tensor.I16, 0), "row 0: NaN");
        assertEquals(Float.POSITIVE_INFINITY, t.getFloat(64));
        assertEquals(Float.NEGATIVE_INFINITY, t.getFloat(2 * 64));
        assertEquals((short) 0x7F7F, t.data().getAtIndex(Tensor.I16, 7 * 64), "row 7: max bf16");
        assertEquals((short) 0x7FC1, t.data().getAtIndex(Tensor.I16, 11 * 64), "row 11: NaN payloads");
    }

    @Test
    void planGeometry() {
        assertEquals(4, CudaKernels.tps(32));
        assertEquals(16, CudaKernels.tps(128));
        assertEquals(256, CudaKernels.tps(14336));
        assertEquals(1, CudaKernels.cachedTps(32), "4 chunks: one thread");
        assertEquals(64, CudaKernels.cachedTps(4096));
        assertEquals(128, CudaKernels.cachedTps(8192));
        assertEquals(256, CudaKernels.cachedTps(14336), "1792 chunks: 7 per thread");
        assertEquals(256, CudaKernels.cachedTps(28672), "longer rows re-read their tail (MAXC)");
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

    @Test
    void goldenInputsAreTheTorchaoInputMatricesOnceEach() throws Exception {
        var inputs = CudaSelfCheck.goldenInputs(java.nio.file.Path.of("src/test/resources/golden"));
        List<String> shapes = inputs.values().stream().map(t -> t.shape().toString()).distinct().sorted().toList();
        assertEquals(List.of("[128, 256]", "[256, 512]", "[32, 64]", "[64, 512]", "[8, 512]"), shapes);
        // edge_64x512 is in several files with the same bytes: kept once
        assertEquals(1, inputs.keySet().stream().filter(k -> k.endsWith("input/edge_64x512")).count(),
                inputs.keySet().toString());
        assertTrue(inputs.values().stream().allMatch(t -> t.dtype() == dev.ao4j.quant.dtype.DType.BF16));
        assertThrows(java.io.IOException.class, () -> CudaSelfCheck.goldenInputs(java.nio.file.Path.of("src/main/java")));
    }
}
