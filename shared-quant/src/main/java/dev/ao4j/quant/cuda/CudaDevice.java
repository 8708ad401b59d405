package dev.ao4j.quant.cuda;

import static jcuda.driver.JCudaDriver.*;

import dev.ao4j.quant.tensor.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.IntStream;
import jcuda.CudaException;
import jcuda.NativePointerObject;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;
import jcuda.driver.JCudaDriver;

/**
 * The one class that touches JCuda (dependencies.md G9: JCudaDriver's class initializer fails without libcuda, so
 * {@link CudaProbe} loads this class reflectively, only after the driver loaded). Driver API only: the kernels are
 * PTX from the jar, JIT-compiled by the driver with {@code cuModuleLoadData}; one instance per device, on its primary
 * context ({@link MultiGpu} spreads a job's rows over several).
 *
 * <p>Feeding: {@link #run} cuts a plan into row chunks of about {@link #CHUNK_BYTES} of input and runs them on
 * two streams with two sets of pinned host and device buffers. While chunk i is copied in, quantized and copied
 * out on one stream, the host copies chunk i+1 from the (memory-mapped) tensor into the other pinned buffer and
 * the other stream's H2D can run alongside chunk i's kernel and D2H; the host scatters chunk i-1's results into the
 * output tensors at the same time. Calls are serialized (one job at a time per device).
 *
 * <p>Host copies (mapped tensor → pinned buffer, pinned results → output tensors) are cut into pieces copied by
 * {@link #COPY_THREADS} threads (shared out among the devices): one thread copies 5 to 7 GB/s out of a file
 * mapping, which was the pipeline's bottleneck. (Registering the mapping itself with {@code cuMemHostRegister}
 * would skip the copy, but pinning a shared file mapping is not supported by every driver and pins the whole range
 * first; plain copies into pinned memory work everywhere.)
 *
 * <p>A plan with a {@link Plan#reduce} pass (per-tensor scales: fp8 per tensor, NVFP4 with the per-tensor scale)
 * still streams in chunks: pass one copies each chunk into a device buffer holding the whole tensor and runs the
 * reduction on it as it lands; pass two quantizes the resident chunks and copies their results out. The tensor
 * crosses the bus once and every buffer is reused between calls.
 */
final class CudaDevice implements CudaRunner {
    /** Input bytes per chunk: big enough that launch and copy latencies vanish, small enough to pipeline. */
    static final long CHUNK_BYTES = 64L << 20;
    private static final int THREADS = 256;
    /** Host copy threads: half the cores (the other half quantize or write), 1 to 8. */
    static final int COPY_THREADS = Math.clamp(Runtime.getRuntime().availableProcessors() / 2, 1, 8);
    /** Host copies below this size are not split. */
    private static final long COPY_PIECE = 4L << 20;

    private final CUcontext context;
    private final int ordinal;
    private final String name;
    private final Map<String, CUfunction> functions = new HashMap<>();
    private final CUstream[] streams = {new CUstream(), new CUstream()};
    private final Slot[] slots = {new Slot(), new Slot()};
    private final int copyThreads;
    private final ExecutorService copiers;
    private long chunkBytes = CHUNK_BYTES;
    /** The whole input of a plan with a reduce pass, on the device (grown on demand, kept between calls). */
    private CUdeviceptr resident;
    private long residentBytes;
    /** Scratch of a plan with a reduce pass: one set for the whole tensor, shared by both streams. */
    private final List<CUdeviceptr> tensorScratch = new ArrayList<>();
    private final List<Long> tensorScratchCap = new ArrayList<>();

    private CudaDevice(CUcontext context, int ordinal, String name, CUmodule module, int copyThreads) {
        this.context = context;
        this.ordinal = ordinal;
        this.name = name;
        this.copyThreads = copyThreads;
        this.copiers = Executors.newFixedThreadPool(copyThreads, r -> {
            Thread t = new Thread(r, "ao4j-cuda" + ordinal + "-host-copy");
            t.setDaemon(true);
            return t;
        });
        for (String k : List.of("int8_sym", "int4_tinygemm", "int4_mslk", "fp8_amax", "fp8_quant", "fp8_tile", "mx_quant",
                "nvfp4_quant")) {
            CUfunction f = new CUfunction();
            cuModuleGetFunction(f, module, k);
            functions.put(k, f);
        }
        for (CUstream s : streams) cuStreamCreate(s, CUstream_flags.CU_STREAM_NON_BLOCKING);
    }

    /**
     * Called reflectively by {@link CudaProbe}: initializes the driver and opens every device of {@code ordinals}
     * (null: all the driver reports, which honours CUDA_VISIBLE_DEVICES); one device runs jobs itself, several run
     * them as a {@link MultiGpu}. Copy threads are shared out among the devices.
     */
    public static CudaRunner open(int[] ordinals) {
        JCudaDriver.setExceptionsEnabled(true);
        cuInit(0);
        int[] count = {0};
        cuDeviceGetCount(count);
        if (count[0] == 0) throw new IllegalStateException("the CUDA driver loaded but reports no device");
        int[] use = ordinals != null ? ordinals : IntStream.range(0, count[0]).toArray();
        int copyThreads = Math.max(1, COPY_THREADS / use.length);
        List<CudaRunner> devices = new ArrayList<>();
        for (int o : use) {
            if (o < 0 || o >= count[0]) {
                throw new IllegalStateException("CUDA device " + o + " does not exist: the driver reports " + count[0]);
            }
            devices.add(openDevice(o, copyThreads));
        }
        return devices.size() == 1 ? devices.getFirst() : new MultiGpu(devices);
    }

    private static CudaDevice openDevice(int ordinal, int copyThreads) {
        CUdevice dev = new CUdevice();
        cuDeviceGet(dev, ordinal);
        byte[] nameBytes = new byte[256];
        cuDeviceGetName(nameBytes, nameBytes.length, dev);
        String name = new String(nameBytes, StandardCharsets.US_ASCII).trim().replace("\0", "");
        int[] major = {0};
        cuDeviceGetAttribute(major, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev);
        if (major[0] < 8) {
            throw new IllegalStateException(name + " (device " + ordinal + ") has compute capability " + major[0]
                    + ".x; the kernels need 8.0+");
        }
        CUcontext ctx = new CUcontext();
        cuDevicePrimaryCtxRetain(ctx, dev);
        cuCtxSetCurrent(ctx);
        CUmodule module = new CUmodule();
        cuModuleLoadData(module, ptx(major[0] >= 9 ? "quant.sm_90.ptx" : "quant.sm_80.ptx"));
        return new CudaDevice(ctx, ordinal, name, module, copyThreads);
    }

    private static byte[] ptx(String resource) {
        try (InputStream in = CudaDevice.class.getResourceAsStream(resource)) {
            if (in == null) throw new IllegalStateException("PTX resource " + resource + " missing from the jar");
            byte[] b = in.readAllBytes();
            return Arrays.copyOf(b, b.length + 1); // cuModuleLoadData reads a NUL-terminated image
        } catch (IOException e) {
            throw new IllegalStateException("cannot read PTX resource " + resource, e);
        }
    }

    @Override
    public String deviceName() {
        return name;
    }

    @Override
    public synchronized void chunkBytes(long bytes) {
        if (bytes <= 0) throw new IllegalArgumentException("chunk bytes must be positive but was " + bytes);
        chunkBytes = bytes;
    }

    @Override
    public synchronized void run(Plan plan, long rowFrom, long rowTo) {
        if (rowFrom < 0 || rowTo > plan.rows() || rowFrom > rowTo || rowFrom % plan.rowAlign() != 0
                || (rowTo % plan.rowAlign() != 0 && rowTo != plan.rows())) {
            throw new IllegalArgumentException("rows [" + rowFrom + ", " + rowTo + ") of " + plan.rows()
                    + " are not aligned to " + plan.rowAlign());
        }
        if (plan.reduce() != null && (rowFrom != 0 || rowTo != plan.rows())) {
            throw new IllegalArgumentException("a plan with a reduce pass runs over the whole tensor");
        }
        try {
            cuCtxSetCurrent(context);
            runChunks(plan, rowFrom, rowTo);
        } catch (CudaException e) {
            throw new CudaFailure("CUDA error while quantizing on " + name + " (device " + ordinal + "): "
                    + e.getMessage(), e);
        }
    }

    private void runChunks(Plan plan, long rowFrom, long rowTo) {
        long rowBytes = Math.max(1, plan.inputRowBytes());
        long align = plan.rowAlign();
        long chunkRows = Math.max(align, chunkBytes / rowBytes / align * align);
        chunkRows = Math.min(chunkRows, (rowTo - rowFrom + align - 1) / align * align);
        for (Slot s : slots) s.ensure(plan, chunkRows, rowBytes);
        boolean twoPass = plan.reduce() != null;
        if (twoPass) reducePass(plan, chunkRows, rowBytes);
        Plan.Chunk[] pending = new Plan.Chunk[2];
        int i = 0;
        for (long r0 = rowFrom; r0 < rowTo; r0 += chunkRows, i++) {
            int k = i % 2;
            Slot s = slots[k];
            if (pending[k] != null) {
                cuStreamSynchronize(streams[k]);
                scatter(plan, pending[k], s);
            }
            Plan.Chunk c = plan.chunk(r0, Math.min(chunkRows, rowTo - r0));
            CUdeviceptr in;
            List<CUdeviceptr> scratch;
            if (twoPass) {
                in = resident.withByteOffset(c.rowFrom() * rowBytes);
                scratch = tensorScratch;
            } else {
                long inBytes = c.inputRows() * rowBytes;
                hostCopy(plan.input().data(), c.rowFrom() * rowBytes, s.hostIn, 0, inBytes);
                cuMemcpyHtoDAsync(s.devIn, s.hostInPtr, inBytes, streams[k]);
                in = s.devIn;
                scratch = s.scratch;
                zeroScratch(plan.scratchBytes().apply(c.rows()), scratch, streams[k]);
            }
            zeroOutputs(plan, c.rows(), s.devOut, streams[k]);
            for (Plan.Launch l : plan.launches().apply(c)) launch(l, in, s.devOut, scratch, streams[k]);
            for (int o = 0; o < plan.outputs().size(); o++) {
                long bytes = plan.outputs().get(o).chunkBytes(c.rows());
                cuMemcpyDtoHAsync(s.hostOutPtr.get(o), s.devOut.get(o), bytes, streams[k]);
            }
            pending[k] = c;
        }
        for (int k = 0; k < 2; k++) {
            int slot = (i + k) % 2; // oldest first
            if (pending[slot] != null) {
                cuStreamSynchronize(streams[slot]);
                scatter(plan, pending[slot], slots[slot]);
            }
        }
    }

    /**
     * Pass one of a two-pass plan: the input, chunk by chunk through the two pinned buffers, into the resident
     * device buffer, each chunk reduced into the tensor's scratch as soon as it is there. Returns when every
     * reduction has finished (pass two reads their result).
     */
    private void reducePass(Plan plan, long chunkRows, long rowBytes) {
        long need = Math.max(256, plan.input().byteSize());
        if (residentBytes < need) {
            if (resident != null) cuMemFree(resident);
            resident = null;
            residentBytes = 0;
            resident = alloc(need);
            residentBytes = need;
        }
        List<Long> scratchBytes = plan.scratchBytes().apply(plan.rows());
        grow(tensorScratch, tensorScratchCap, scratchBytes);
        zeroScratch(scratchBytes, tensorScratch, streams[0]);
        cuStreamSynchronize(streams[0]); // both streams reduce into it
        boolean[] busy = new boolean[2];
        int i = 0;
        for (long r0 = 0; r0 < plan.rows(); r0 += chunkRows, i++) {
            int k = i % 2;
            Slot s = slots[k];
            if (busy[k]) cuStreamSynchronize(streams[k]); // its pinned buffer is free again
            Plan.Chunk c = plan.chunk(r0, Math.min(chunkRows, plan.rows() - r0));
            long inBytes = c.inputRows() * rowBytes;
            CUdeviceptr at = resident.withByteOffset(c.rowFrom() * rowBytes);
            if (inBytes > 0) {
                hostCopy(plan.input().data(), c.rowFrom() * rowBytes, s.hostIn, 0, inBytes);
                cuMemcpyHtoDAsync(at, s.hostInPtr, inBytes, streams[k]);
            }
            for (Plan.Launch l : plan.reduce().apply(c)) launch(l, at, s.devOut, tensorScratch, streams[k]);
            busy[k] = true;
        }
        for (CUstream st : streams) cuStreamSynchronize(st);
    }

    private static void zeroScratch(List<Long> bytes, List<CUdeviceptr> scratch, CUstream stream) {
        for (int j = 0; j < bytes.size(); j++) cuMemsetD8Async(scratch.get(j), (byte) 0, bytes.get(j), stream);
    }

    /** {@code MemorySegment.copy} cut into pieces over the copy threads (the calling thread copies one). */
    private void hostCopy(MemorySegment src, long srcOff, MemorySegment dst, long dstOff, long bytes) {
        int pieces = (int) Math.min(copyThreads, bytes / COPY_PIECE);
        if (pieces <= 1) {
            MemorySegment.copy(src, srcOff, dst, dstOff, bytes);
            return;
        }
        long step = (bytes + pieces - 1) / pieces;
        List<Future<?>> rest = new ArrayList<>(pieces - 1);
        for (int p = 1; p < pieces; p++) {
            long off = p * step;
            long n = Math.min(step, bytes - off);
            if (n > 0) rest.add(copiers.submit(() -> MemorySegment.copy(src, srcOff + off, dst, dstOff + off, n)));
        }
        RuntimeException failure = null;
        try {
            MemorySegment.copy(src, srcOff, dst, dstOff, Math.min(step, bytes));
        } catch (RuntimeException e) {
            failure = e;
        }
        for (Future<?> f : rest) { // wait for every piece, even after a failure: none may outlive this call
            try {
                f.get();
            } catch (ExecutionException e) {
                if (failure == null) {
                    failure = e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                if (failure == null) failure = new IllegalStateException("interrupted during a host copy", e);
            }
        }
        if (failure != null) throw failure;
    }

    private static void zeroOutputs(Plan plan, long rows, List<CUdeviceptr> out, CUstream stream) {
        for (int o = 0; o < plan.outputs().size(); o++) {
            Plan.Output po = plan.outputs().get(o);
            if (po.zeroed()) cuMemsetD8Async(out.get(o), (byte) 0, po.chunkBytes(rows), stream);
        }
    }

    private void launch(Plan.Launch l, CUdeviceptr in, List<CUdeviceptr> out, List<CUdeviceptr> scratch,
                        CUstream stream) {
        NativePointerObject[] params = new NativePointerObject[l.args().size()];
        for (int j = 0; j < params.length; j++) {
            params[j] = switch (l.args().get(j)) {
                case Plan.Arg.In a -> Pointer.to(in);
                case Plan.Arg.Out(int o) -> Pointer.to(out.get(o));
                case Plan.Arg.Scratch(int o) -> Pointer.to(scratch.get(o));
                case Plan.Arg.I64(long v) -> Pointer.to(new long[] {v});
                case Plan.Arg.I32(int v) -> Pointer.to(new int[] {v});
                case Plan.Arg.F32(float v) -> Pointer.to(new float[] {v});
            };
        }
        if (l.grid() <= 0) return;
        cuLaunchKernel(functions.get(l.kernel()), Math.toIntExact(l.grid()), 1, 1, THREADS, 1, 1, 0, stream,
                Pointer.to(params), null);
    }

    /** Copies chunk {@code c}'s results from the slot's pinned buffers into the plan's output tensors. */
    private void scatter(Plan plan, Plan.Chunk c, Slot s) {
        for (int o = 0; o < plan.outputs().size(); o++) {
            Plan.Output out = plan.outputs().get(o);
            MemorySegment host = s.hostOut.get(o);
            MemorySegment dst = out.target().data();
            if (out.columnGroups() == 0) {
                long r0 = c.rowFrom() / out.perBlockOfRows();
                long bytes = Math.min(out.chunkBytes(c.rows()), dst.byteSize() - r0 * out.bytesPerRow());
                if (bytes > 0) hostCopy(host, 0, dst, r0 * out.bytesPerRow(), bytes);
            } else {
                long band = c.rows() * out.bytesPerRow();
                long full = plan.rows() * out.bytesPerRow();
                for (long g = 0; g < out.columnGroups(); g++) {
                    MemorySegment.copy(host, g * band, dst, g * full + c.rowFrom() * out.bytesPerRow(), band);
                }
            }
        }
    }

    @Override
    public synchronized double kernelSeconds(Plan plan, int reps) {
        try {
            cuCtxSetCurrent(context);
            CUdeviceptr in = alloc(plan.input().byteSize());
            List<CUdeviceptr> outs = new ArrayList<>();
            for (Plan.Output o : plan.outputs()) outs.add(alloc(o.chunkBytes(plan.rows())));
            List<CUdeviceptr> scratch = new ArrayList<>();
            List<Long> scratchBytes = plan.scratchBytes().apply(plan.rows());
            for (long b : scratchBytes) scratch.add(alloc(b));
            cuMemcpyHtoD(in, Pointer.to(plan.input().data().asByteBuffer()), plan.input().byteSize());
            Plan.Chunk all = plan.chunk(0, plan.rows());
            double[] t = new double[reps];
            CUevent a = new CUevent();
            CUevent b = new CUevent();
            cuEventCreate(a, 0);
            cuEventCreate(b, 0);
            for (int r = -1; r < reps; r++) {
                cuEventRecord(a, streams[0]);
                for (int j = 0; j < scratch.size(); j++) cuMemsetD8Async(scratch.get(j), (byte) 0, scratchBytes.get(j), streams[0]);
                zeroOutputs(plan, plan.rows(), outs, streams[0]);
                if (plan.reduce() != null) {
                    for (Plan.Launch l : plan.reduce().apply(all)) launch(l, in, outs, scratch, streams[0]);
                }
                for (Plan.Launch l : plan.launches().apply(all)) launch(l, in, outs, scratch, streams[0]);
                cuEventRecord(b, streams[0]);
                cuEventSynchronize(b);
                float[] ms = {0};
                cuEventElapsedTime(ms, a, b);
                if (r >= 0) t[r] = ms[0] / 1e3;
            }
            cuEventDestroy(a);
            cuEventDestroy(b);
            cuMemFree(in);
            for (CUdeviceptr p : outs) cuMemFree(p);
            for (CUdeviceptr p : scratch) cuMemFree(p);
            Arrays.sort(t);
            return t[reps / 2];
        } catch (CudaException e) {
            throw new CudaFailure("CUDA error while timing on " + name + ": " + e.getMessage(), e);
        }
    }

    @Override
    public synchronized double copySeconds(long bytes, int reps) {
        try {
            cuCtxSetCurrent(context);
            CUdeviceptr src = alloc(bytes);
            CUdeviceptr dst = alloc(bytes);
            cuMemsetD8Async(src, (byte) 1, bytes, streams[0]);
            CUevent a = new CUevent();
            CUevent b = new CUevent();
            cuEventCreate(a, 0);
            cuEventCreate(b, 0);
            double[] t = new double[reps];
            for (int r = -1; r < reps; r++) {
                cuEventRecord(a, streams[0]);
                cuMemcpyDtoDAsync(dst, src, bytes, streams[0]);
                cuEventRecord(b, streams[0]);
                cuEventSynchronize(b);
                float[] ms = {0};
                cuEventElapsedTime(ms, a, b);
                if (r >= 0) t[r] = ms[0] / 1e3;
            }
            cuEventDestroy(a);
            cuEventDestroy(b);
            cuMemFree(src);
            cuMemFree(dst);
            Arrays.sort(t);
            return t[reps / 2];
        } catch (CudaException e) {
            throw new CudaFailure("CUDA error while timing a copy on " + name + ": " + e.getMessage(), e);
        }
    }

    /** Grows device buffers {@code ptrs} (capacities {@code caps}) to at least {@code need} bytes each. */
    private static void grow(List<CUdeviceptr> ptrs, List<Long> caps, List<Long> need) {
        for (int j = 0; j < need.size(); j++) {
            if (j == ptrs.size()) {
                ptrs.add(null);
                caps.add(0L);
            }
            if (caps.get(j) < need.get(j)) {
                if (ptrs.get(j) != null) cuMemFree(ptrs.get(j));
                ptrs.set(j, alloc(need.get(j)));
                caps.set(j, need.get(j));
            }
        }
    }

    private static CUdeviceptr alloc(long bytes) {
        CUdeviceptr p = new CUdeviceptr();
        cuMemAlloc(p, Math.max(bytes, 256));
        return p;
    }

    /** One set of pinned host and device buffers, grown on demand and kept between calls. */
    private static final class Slot {
        CUdeviceptr devIn;
        long devInBytes;
        Pointer hostInPtr;
        MemorySegment hostIn;
        final List<CUdeviceptr> devOut = new ArrayList<>();
        final List<Long> devOutBytes = new ArrayList<>();
        final List<Pointer> hostOutPtr = new ArrayList<>();
        final List<MemorySegment> hostOut = new ArrayList<>();
        final List<CUdeviceptr> scratch = new ArrayList<>();
        final List<Long> scratchCap = new ArrayList<>();

        void ensure(Plan plan, long chunkRows, long rowBytes) {
            long inBytes = chunkRows * rowBytes;
            if (devInBytes < inBytes) {
                if (devIn != null) {
                    cuMemFree(devIn);
                    cuMemFreeHost(hostInPtr);
                }
                devIn = alloc(inBytes);
                hostInPtr = new Pointer();
                cuMemAllocHost(hostInPtr, inBytes);
                hostIn = MemorySegment.ofBuffer(hostInPtr.getByteBuffer(0, inBytes));
                devInBytes = inBytes;
            }
            for (int o = 0; o < plan.outputs().size(); o++) {
                long b = Math.max(256, plan.outputs().get(o).chunkBytes(chunkRows));
                if (o == devOut.size()) {
                    devOut.add(null);
                    devOutBytes.add(0L);
                    hostOutPtr.add(null);
                    hostOut.add(null);
                }
                if (devOutBytes.get(o) < b) {
                    if (devOut.get(o) != null) {
                        cuMemFree(devOut.get(o));
                        cuMemFreeHost(hostOutPtr.get(o));
                    }
                    devOut.set(o, alloc(b));
                    Pointer h = new Pointer();
                    cuMemAllocHost(h, b);
                    hostOutPtr.set(o, h);
                    hostOut.set(o, MemorySegment.ofBuffer(h.getByteBuffer(0, b)));
                    devOutBytes.set(o, b);
                }
            }
            grow(scratch, scratchCap, plan.scratchBytes().apply(chunkRows));
        }
    }
}
