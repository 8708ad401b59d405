package dev.ao4j.quant.cuda;

import dev.ao4j.quant.affine.Int8Quantizer;
import dev.ao4j.quant.affine.QuantRange;
import dev.ao4j.quant.config.Granularity;
import dev.ao4j.quant.dtype.Bf16;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.float8.Float8Quantizer;
import dev.ao4j.quant.mx.MxElement;
import dev.ao4j.quant.mx.MxQuantizer;
import dev.ao4j.quant.mx.MxTensor;
import dev.ao4j.quant.mx.ScaleSwizzle;
import dev.ao4j.quant.mx.ScalingMode;
import dev.ao4j.quant.nvfp4.Nvfp4Tensor;
import dev.ao4j.quant.numerics.BlockLayout;
import dev.ao4j.quant.qtensor.Int4Tensor;
import dev.ao4j.quant.qtensor.Int4TilePackedTo4dTensor;
import dev.ao4j.quant.qtensor.Int8Tensor;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.util.List;

/**
 * The GPU twins of the CPU quantizers (kernels in {@code src/main/cuda/quant.cu}), for bf16 {@code [N, K]}
 * weights under {@link dev.ao4j.quant.numerics.DivMode#CUDA_RECIPROCAL}. Each builds a {@link Plan} and returns
 * the tensors the CPU quantizer would. Tile packing of int4 codes is done on the GPU too.
 *
 * <p>The {@code plan...} methods only describe the job (no GPU needed); {@code CudaWeightQuantizers} decides which
 * weights can take them ({@link #int8Segment}, {@link #fp8Block}, {@link #int4Fits}).
 */
final class CudaKernels {
    private CudaKernels() {}

    static final int THREADS = 256;

    /** Threads per segment of the streaming kernels (fp8_amax): the largest power of two <= min(256, chunks). */
    static int tps(long segLen) {
        long chunks = Math.max(1, segLen / 8);
        int t = 1;
        while (t * 2L <= Math.min(THREADS, chunks)) t *= 2;
        return t;
    }

    /** Chunks of 8 elements a thread keeps in registers (MAXC in quant.cu). */
    static final int MAXC = 8;

    /**
     * Threads per segment of the kernels that keep a segment in registers (int8_sym, fp8_quant): the fewest, as a
     * power of two up to 256, that hold its chunks at {@link #MAXC} per thread. Fewer threads per segment means
     * more loads in flight per thread and cheaper reductions: 128 threads per 8192-wide row ran the per-row
     * kernels 1.4x faster than 256 on an H200.
     */
    static int cachedTps(long segLen) {
        long chunks = Math.max(1, segLen / 8);
        int t = 1;
        while (chunks > (long) t * MAXC && t < THREADS) t *= 2;
        return t;
    }

    static long grid(long segments, int tps) {
        return grid(segments, tps, 1);
    }

    /** Blocks for {@code segments} when each thread holds {@code perThread} of them. */
    static long grid(long segments, int tps, int perThread) {
        long perBlock = (long) THREADS / tps * perThread;
        return (segments + perBlock - 1) / perBlock;
    }

    /** MX / NVFP4 blocks per thread in mx_quant and nvfp4_quant (SCALE_BLOCKS_PER_THREAD in quant.cu). */
    static final int SCALE_BLOCKS_PER_THREAD = 4;

    // ---- int8 ----

    /** The segment length of an int8 granularity on the GPU ([1, K] or [1, g] blocks, g a multiple of 8), or -1. */
    static long int8Segment(Shape shape, Granularity g) {
        if (shape.rank() != 2) return -1;
        Shape b = BlockLayout.blockSizeFor(shape, g);
        long seg = b.dim(1);
        return b.dim(0) == 1 && seg % 8 == 0 && seg >= 8 ? seg : -1;
    }

    record Int8Result(Tensor qdata, Tensor scale, Tensor zeroPoint, Shape blockSize) {}

    static Plan int8Plan(Tensor w, Granularity granularity, boolean reduceRange, Int8Result out) {
        long n = w.shape().dim(0);
        long k = w.shape().dim(1);
        int seg = Math.toIntExact(out.blockSize().dim(1));
        int tps = cachedTps(seg);
        QuantRange range = reduceRange ? QuantRange.int8ReduceRange() : QuantRange.int8();
        float c = (float) (1.0 / range.symmetricDivisor());
        float eps = Bf16.round((float) Int8Quantizer.EPS);
        long segsPerRow = k / seg;
        return new Plan(w, n, n, 1,
                List.of(Plan.Output.rows(out.qdata(), k), Plan.Output.rows(out.scale(), 4 * segsPerRow)),
                rows -> List.of(),
                ch -> List.of(new Plan.Launch("int8_sym", grid(ch.rows() * segsPerRow, tps), List.of(
                        new Plan.Arg.In(), new Plan.Arg.I64(ch.rows()), new Plan.Arg.I64(k), new Plan.Arg.I32(seg),
                        new Plan.Arg.I32(tps), new Plan.Arg.Out(0), new Plan.Arg.Out(1), new Plan.Arg.F32(c),
                        new Plan.Arg.F32(eps), new Plan.Arg.I32(range.qmin()), new Plan.Arg.I32(range.qmax())))));
    }

    static Int8Result int8Outputs(Shape shape, Granularity granularity) {
        Shape blockSize = BlockLayout.blockSizeFor(shape, granularity);
        Shape grid = new BlockLayout(shape, blockSize).grid();
        return new Int8Result(Tensor.allocate(DType.I8, shape), Tensor.allocate(DType.F32, grid),
                Tensor.allocate(DType.I8, grid), blockSize);
    }

    static Int8Tensor int8(CudaRunner gpu, Tensor w, Granularity granularity, Int8Tensor.ActivationQuant act,
                           boolean reduceRange) {
        Int8Result r = int8Outputs(w.shape(), granularity);
        gpu.run(int8Plan(w, granularity, reduceRange, r));
        return new Int8Tensor(r.qdata(), r.scale(), r.zeroPoint(), r.blockSize(), w.dtype(), act, reduceRange);
    }

    // ---- int4 ----

    /** Whether a [N, K] bf16 weight with group g fits the int4 kernels (g a multiple of 32 dividing K). */
    static boolean int4Fits(Shape shape, int g) {
        return shape.rank() == 2 && g % 32 == 0 && g <= 256 && shape.dim(1) % g == 0;
    }

    static Plan tinygemmPlan(Tensor w, int g, Tensor packed, Tensor scaleZero) {
        long n = w.shape().dim(0);
        long k = w.shape().dim(1);
        long nPad = ceilTo(n, 8);
        long kPad = ceilTo(k, 1024);
        int groups = Math.toIntExact(kPad / g);
        int tps = g / 32; // a thread per 32-column window of its group (quant.cu)
        float c = (float) (1.0 / 15);
        float eps = Float.MIN_NORMAL; // Tinygemm.defaultEps(BF16)
        return new Plan(w, n, nPad, 8,
                List.of(Plan.Output.rows(packed, kPad / 2), new Plan.Output(scaleZero, 4, groups, 1)),
                rows -> List.of(),
                ch -> List.of(new Plan.Launch("int4_tinygemm", grid(ch.rows() * groups, tps), List.of(
                        new Plan.Arg.In(), new Plan.Arg.I64(ch.inputRows()), new Plan.Arg.I64(k),
                        new Plan.Arg.I64(ch.rows()), new Plan.Arg.I64(kPad), new Plan.Arg.I32(g),
                        new Plan.Arg.I32(tps), new Plan.Arg.Out(0), new Plan.Arg.Out(1), new Plan.Arg.F32(c),
                        new Plan.Arg.F32(eps)))));
    }

    static Int4TilePackedTo4dTensor tinygemm(CudaRunner gpu, Tensor w, int g) {
        long nPad = ceilTo(w.shape().dim(0), 8);
        long kPad = ceilTo(w.shape().dim(1), 1024);
        Tensor packed = Tensor.allocate(DType.I32, Shape.of(nPad / 8, kPad / 128, 32, 4));
        Tensor scaleZero = Tensor.allocate(DType.BF16, Shape.of(kPad / g, nPad, 2));
        gpu.run(tinygemmPlan(w, g, packed, scaleZero));
        return new Int4TilePackedTo4dTensor(packed, scaleZero, Shape.of(1, g), w.shape());
    }

    static Plan plainPlan(Tensor w, int g, Tensor qdata, Tensor scale, Tensor zero) {
        long n = w.shape().dim(0);
        long k = w.shape().dim(1);
        int groups = Math.toIntExact(k / g);
        int tps = g / 32; // a thread per 32-column window of its group (quant.cu)
        float c = (float) (1.0 / 15);
        return new Plan(w, n, n, 1,
                List.of(Plan.Output.rows(qdata, k / 2), new Plan.Output(scale, 2, groups, 1),
                        new Plan.Output(zero, 2, groups, 1)),
                rows -> List.of(),
                ch -> List.of(new Plan.Launch("int4_mslk", grid(ch.rows() * groups, tps), List.of(
                        new Plan.Arg.In(), new Plan.Arg.I64(ch.rows()), new Plan.Arg.I64(k), new Plan.Arg.I32(g),
                        new Plan.Arg.I32(tps), new Plan.Arg.Out(0), new Plan.Arg.Out(1), new Plan.Arg.Out(2),
                        new Plan.Arg.F32(c)))));
    }

    static Int4Tensor plain(CudaRunner gpu, Tensor w, int g) {
        long n = w.shape().dim(0);
        long k = w.shape().dim(1);
        Tensor qdata = Tensor.allocate(DType.I8, Shape.of(n, k / 2));
        Tensor scale = Tensor.allocate(DType.BF16, Shape.of(k / g, n));
        Tensor zero = Tensor.allocate(DType.BF16, Shape.of(k / g, n));
        gpu.run(plainPlan(w, g, qdata, scale, zero));
        Shape blockSize = BlockLayout.blockSizeFor(w.shape(), new Granularity.PerGroup(g));
        return new Int4Tensor(qdata, scale, zero, blockSize, w.shape(), DType.BF16);
    }

    // ---- float8 ----

    /** The [br, bc] block of a float8 granularity on a [N, K] weight for the GPU, or null. */
    static long[] fp8Block(Shape shape, Granularity granularity) {
        if (shape.rank() != 2) return null;
        Shape b;
        try {
            b = BlockLayout.blockSizeFor(shape, granularity);
        } catch (dev.ao4j.quant.InvalidConfigException e) {
            return null; // the CPU quantizer reports it (skipReason); the GPU just does not cover it
        }
        long br = b.dim(0);
        long bc = b.dim(1);
        if (bc % 8 != 0 || shape.dim(0) % br != 0 || shape.dim(1) % bc != 0) return null;
        return new long[] {br, bc};
    }

    /** Chunks a 256-thread block keeps in registers. */
    static final long TILE_CHUNKS = (long) MAXC * THREADS;

    static Plan fp8Plan(Tensor w, long br, long bc, DType fp8, Tensor q, Tensor scale) {
        long n = w.shape().dim(0);
        long k = w.shape().dim(1);
        int tps = cachedTps(bc); // fp8_quant
        int amaxTps = tps(bc); // fp8_amax
        long segsPerRow = k / bc;
        float fmax = Float8Quantizer.maxValue(fp8);
        float c = (float) (1.0 / fmax);
        int e5m2 = fp8 == DType.F8_E5M2 ? 1 : 0;
        List<Plan.Output> outputs = List.of(Plan.Output.rows(q, k), new Plan.Output(scale, 4 * segsPerRow, 0, br));
        if (br > 1 && br * bc / 8 <= TILE_CHUNKS) {
            // blocks (e.g. 128x128): one CUDA block per scale block reads it once
            return new Plan(w, n, n, br, outputs, rows -> List.of(),
                    ch -> List.of(new Plan.Launch("fp8_tile", ch.rows() / br * segsPerRow, List.of(
                            new Plan.Arg.In(), new Plan.Arg.I64(ch.rows()), new Plan.Arg.I64(k),
                            new Plan.Arg.I32((int) br), new Plan.Arg.I32((int) bc), new Plan.Arg.F32(c),
                            new Plan.Arg.F32(fmax), new Plan.Arg.I32(e5m2), new Plan.Arg.Out(0),
                            new Plan.Arg.Out(1)))));
        }
        if (br == n && br > 1) {
            // the block spans every row (per tensor): amax over all chunks first, then quantize chunk by chunk;
            // chunk rows < br, so every chunk's rows fall in block row 0 of the kernels' indexing
            return new Plan(w, n, n, 1, outputs, rows -> List.of(4 * segsPerRow),
                    ch -> List.of(new Plan.Launch("fp8_quant", grid(ch.rows() * segsPerRow, tps),
                            fp8Args(ch.rows(), k, br, bc, tps, new Plan.Arg.Scratch(0), new Plan.Arg.F32(c),
                                    new Plan.Arg.F32(fmax), new Plan.Arg.I32(e5m2), new Plan.Arg.Out(0),
                                    new Plan.Arg.Out(1)))),
                    ch -> List.of(new Plan.Launch("fp8_amax", grid(ch.rows() * segsPerRow, amaxTps),
                            fp8Args(ch.rows(), k, br, bc, amaxTps, new Plan.Arg.Scratch(0)))));
        }
        return new Plan(w, n, n, br, outputs,
                rows -> br == 1 ? List.of() : List.of(4 * (rows / br) * segsPerRow),
                ch -> {
                    Plan.Arg amax = br == 1 ? new Plan.Arg.I64(0) : new Plan.Arg.Scratch(0);
                    Plan.Launch q8 = new Plan.Launch("fp8_quant", grid(ch.rows() * segsPerRow, tps),
                            fp8Args(ch.rows(), k, br, bc, tps, amax, new Plan.Arg.F32(c), new Plan.Arg.F32(fmax),
                                    new Plan.Arg.I32(e5m2), new Plan.Arg.Out(0), new Plan.Arg.Out(1)));
                    if (br == 1) return List.of(q8);
                    return List.of(new Plan.Launch("fp8_amax", grid(ch.rows() * segsPerRow, amaxTps),
                            fp8Args(ch.rows(), k, br, bc, amaxTps, new Plan.Arg.Scratch(0))), q8);
                });
    }

    /** The arguments fp8_amax and fp8_quant share (input, rows, cols, br, bc, tps), then {@code more}. */
    private static List<Plan.Arg> fp8Args(long rows, long k, long br, long bc, int tps, Plan.Arg... more) {
        List<Plan.Arg> a = new java.util.ArrayList<>(List.of(new Plan.Arg.In(), new Plan.Arg.I64(rows),
                new Plan.Arg.I64(k), new Plan.Arg.I32(Math.toIntExact(br)), new Plan.Arg.I32(Math.toIntExact(bc)),
                new Plan.Arg.I32(tps)));
        a.addAll(List.of(more));
        return a;
    }

    /** Codes and f32 block scales ({@code [N/br, K/bc]}) of a bf16 weight. */
    static Float8Quantizer.Float8Data fp8(CudaRunner gpu, Tensor w, Granularity granularity, DType fp8) {
        long[] b = fp8Block(w.shape(), granularity);
        Shape blockSize = Shape.of(b[0], b[1]);
        Tensor q = Tensor.allocate(fp8, w.shape());
        Tensor scale = Tensor.allocate(DType.F32, new BlockLayout(w.shape(), blockSize).grid());
        gpu.run(fp8Plan(w, b[0], b[1], fp8, q, scale));
        return new Float8Quantizer.Float8Data(q, scale, blockSize);
    }

    // ---- MX and NVFP4 (scales in the swizzled 128x4-tile layout, written by the kernels) ----

    /** Rows of one swizzled scale tile: chunks start on tile rows so that a chunk's scales are one slab. */
    static final long SWIZZLE_ROWS = 128;

    /** Whether a weight fits mx_quant: 2-D, K a multiple of 32, fp8 or fp4 elements. */
    static boolean mxFits(Shape shape, MxElement elem) {
        return shape.rank() == 2 && shape.dim(1) % MxQuantizer.BLOCK_SIZE == 0
                && (elem == MxElement.FP8_E4M3 || elem == MxElement.FP8_E5M2 || elem == MxElement.FP4_E2M1);
    }

    /** Element id, mantissa bits and target_max_pow2 of mx_quant's element argument (MxElement's values). */
    private static int[] mxElementArgs(MxElement elem) {
        return switch (elem) {
            case FP8_E4M3 -> new int[] {0, 3, 8};
            case FP8_E5M2 -> new int[] {1, 2, 15};
            case FP4_E2M1 -> new int[] {2, 1, 2};
            default -> throw new IllegalArgumentException("no CUDA kernel for MX element " + elem.id());
        };
    }

    private static int scalingArg(ScalingMode m) {
        return switch (m) {
            case FLOOR -> 0;
            case CEIL -> 1;
            case EVEN -> 2;
            case RCEIL -> 3;
        };
    }

    static Plan mxPlan(Tensor w, MxElement elem, ScalingMode scaling, Tensor q, Tensor scale) {
        long n = w.shape().dim(0);
        long k = w.shape().dim(1);
        long blocks = k / MxQuantizer.BLOCK_SIZE;
        long tilesPerRow = (blocks + 3) / 4;
        int[] e = mxElementArgs(elem);
        float max = elem.max();
        float invMax = (float) (1.0 / max);
        return new Plan(w, n, ceilTo(n, SWIZZLE_ROWS), SWIZZLE_ROWS,
                List.of(Plan.Output.rows(q, elem.isPacked() ? k / 2 : k), Plan.Output.zeroedRows(scale, 4 * tilesPerRow)),
                rows -> List.of(),
                ch -> List.of(new Plan.Launch("mx_quant", grid(ch.rows() * blocks, 4, SCALE_BLOCKS_PER_THREAD), List.of(
                        new Plan.Arg.In(), new Plan.Arg.I64(ch.inputRows()), new Plan.Arg.I64(ch.rows()),
                        new Plan.Arg.I64(k), new Plan.Arg.I32(e[0]), new Plan.Arg.I32(scalingArg(scaling)),
                        new Plan.Arg.I32(e[1]), new Plan.Arg.I32(e[2]), new Plan.Arg.F32(max),
                        new Plan.Arg.F32(invMax), new Plan.Arg.Out(0), new Plan.Arg.Out(1)))));
    }

    /** {@code MxQuantizer.quantize(w, elem, scaling, true, CUDA_RECIPROCAL, ..)} on the GPU. */
    static MxTensor mx(CudaRunner gpu, Tensor w, MxElement elem, ScalingMode scaling) {
        long n = w.shape().dim(0);
        long k = w.shape().dim(1);
        Tensor q = Tensor.allocate(elem.qdataDtype(), Shape.of(n, elem.isPacked() ? k / 2 : k));
        Tensor scale = Tensor.allocate(DType.F8_E8M0, ScaleSwizzle.swizzledShape(n, k / MxQuantizer.BLOCK_SIZE));
        gpu.run(mxPlan(w, elem, scaling, q, scale));
        return new MxTensor(q, scale, elem, MxQuantizer.BLOCK_SIZE, true, w.dtype(), w.shape());
    }

    /** Whether a weight fits nvfp4_quant: 2-D, K a multiple of 16. */
    static boolean nvfp4Fits(Shape shape) {
        return shape.rank() == 2 && shape.dim(1) % Nvfp4Tensor.BLOCK_SIZE == 0;
    }

    /**
     * With the per-tensor scale the plan has two passes: fp8_amax over every chunk's real rows into one scratch
     * word, then nvfp4_quant per chunk, which also writes the scale ({@code pts}, an F32 scalar).
     */
    static Plan nvfp4Plan(Tensor w, Tensor q, Tensor scale, Tensor pts) {
        long n = w.shape().dim(0);
        long k = w.shape().dim(1);
        long blocks = k / Nvfp4Tensor.BLOCK_SIZE;
        long tilesPerRow = (blocks + 3) / 4;
        long nPad = ceilTo(n, SWIZZLE_ROWS);
        boolean two = pts != null;
        List<Plan.Output> outputs = new java.util.ArrayList<>(List.of(Plan.Output.rows(q, k / 2),
                Plan.Output.zeroedRows(scale, 4 * tilesPerRow)));
        if (two) outputs.add(new Plan.Output(pts, 4, 0, nPad));
        float inv2688 = (float) (1.0 / 2688.0);
        float inv6 = (float) (1.0 / 6.0);
        int amaxTps = tps(k);
        return new Plan(w, n, nPad, SWIZZLE_ROWS, List.copyOf(outputs),
                rows -> two ? List.of(4L) : List.of(),
                ch -> List.of(new Plan.Launch("nvfp4_quant", grid(ch.rows() * blocks, 2, SCALE_BLOCKS_PER_THREAD), List.of(
                        new Plan.Arg.In(), new Plan.Arg.I64(ch.inputRows()), new Plan.Arg.I64(ch.rows()),
                        new Plan.Arg.I64(k), two ? new Plan.Arg.Scratch(0) : new Plan.Arg.I64(0),
                        new Plan.Arg.I32(two ? 1 : 0), new Plan.Arg.F32(inv2688), new Plan.Arg.F32(inv6),
                        new Plan.Arg.Out(0), new Plan.Arg.Out(1), two ? new Plan.Arg.Out(2) : new Plan.Arg.I64(0)))),
                !two ? null : ch -> List.of(new Plan.Launch("fp8_amax", grid(ch.inputRows(), amaxTps), List.of(
                        // br = the chunk's real rows (at least 1): all of them land in amax word 0
                        new Plan.Arg.In(), new Plan.Arg.I64(ch.inputRows()), new Plan.Arg.I64(k),
                        new Plan.Arg.I32(Math.toIntExact(Math.max(1, ch.inputRows()))),
                        new Plan.Arg.I32(Math.toIntExact(k)), new Plan.Arg.I32(amaxTps), new Plan.Arg.Scratch(0)))));
    }

    /** {@code Nvfp4Quantizer.quantize(w, perTensorScale?, true, CUDA_RECIPROCAL, ..)} on the GPU. */
    static Nvfp4Tensor nvfp4(CudaRunner gpu, Tensor w, boolean perTensorScale) {
        long n = w.shape().dim(0);
        long k = w.shape().dim(1);
        Tensor q = Tensor.allocate(DType.U8, Shape.of(n, k / 2));
        Tensor scale = Tensor.allocate(DType.F8_E4M3, ScaleSwizzle.swizzledShape(n, k / Nvfp4Tensor.BLOCK_SIZE));
        Tensor pts = perTensorScale ? Tensor.allocate(DType.F32, Shape.of()) : null;
        gpu.run(nvfp4Plan(w, q, scale, pts));
        return new Nvfp4Tensor(q, scale, pts, true, w.dtype(), w.shape());
    }

    static long ceilTo(long v, long m) {
        return (v + m - 1) / m * m;
    }
}
