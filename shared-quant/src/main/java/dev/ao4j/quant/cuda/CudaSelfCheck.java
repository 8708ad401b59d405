package dev.ao4j.quant.cuda;

import dev.ao4j.quant.config.QuantConfig;
import dev.ao4j.quant.dtype.Bf16;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.pipeline.Backend;
import dev.ao4j.quant.pipeline.Recipes;
import dev.ao4j.quant.pipeline.WeightQuantizer;
import dev.ao4j.quant.pipeline.WeightQuantizers;
import dev.ao4j.quant.qtensor.QuantizedTensor;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.safetensors.SafetensorsFile;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.function.BiFunction;

/**
 * The GPU check and benchmark a GPU host runs (tools/gpu/run.sh): every CUDA kernel against the CPU reference on
 * random and edge-value bf16 weights, bit for bit, then each kernel's throughput on a large device-resident tensor
 * as a fraction of the card's device-to-device copy bandwidth. Prints a JSON document.
 *
 * <p>{@code --golden DIR} adds the inputs of the torchao golden vectors (the {@code input/*} bf16 matrices of every
 * {@code .safetensors} file in DIR, e.g. shared-quant's test resources): the CPU reference reproduces torchao's
 * outputs on them (unit tests), so the GPU matching the CPU on them matches torchao.
 *
 * <pre>java -cp ao4j.jar dev.ao4j.quant.cuda.CudaSelfCheck [--bench-gib G] [--golden DIR] [--out FILE]</pre>
 */
public final class CudaSelfCheck {
    private CudaSelfCheck() {}

    /** Recipes with CUDA kernels. */
    public static final List<String> RECIPES = List.of("int8wo", "int8dq", "int4wo-32", "int4wo-64", "int4wo-128",
            "int4wo-256", "int4wo-128-plain", "fp8wo", "fp8dq-row", "fp8dq-tensor", "fp8-block128", "mxfp8", "mxfp4",
            "nvfp4");

    /** Configs checked besides the recipes: the kernels' other paths (scaling modes, no per-tensor scale, e5m2). */
    public static final List<String> VARIANTS = List.of("int4wo-32-plain", "int4wo-256-plain", "mxfp8-floor",
            "mxfp8-e5m2-ceil", "mxfp4-even", "mxfp4-floor", "nvfp4-no-pts");

    /** The inputs every config is checked on (see {@link #input}). */
    public static final List<String> INPUTS = List.of("normal", "edge", "wide", "special");

    /** A recipe's config, or a {@link #VARIANTS} config. */
    static QuantConfig configOf(String name) {
        var mx = dev.ao4j.quant.config.MXDynamicActivationMXWeightConfig.defaults();
        return switch (name) {
            case "int4wo-32-plain" -> plain().withGroupSize(32);
            case "int4wo-256-plain" -> plain().withGroupSize(256);
            case "mxfp8-floor" -> mx.withScalingMode(dev.ao4j.quant.mx.ScalingMode.FLOOR);
            case "mxfp8-e5m2-ceil" -> mx.withElementDtype(DType.F8_E5M2)
                    .withScalingMode(dev.ao4j.quant.mx.ScalingMode.CEIL);
            case "mxfp4-even" -> dev.ao4j.quant.config.MXDynamicActivationMXWeightConfig.mxfp4()
                    .withScalingMode(dev.ao4j.quant.mx.ScalingMode.EVEN);
            case "mxfp4-floor" -> dev.ao4j.quant.config.MXDynamicActivationMXWeightConfig.mxfp4()
                    .withScalingMode(dev.ao4j.quant.mx.ScalingMode.FLOOR);
            case "nvfp4-no-pts" -> new dev.ao4j.quant.config.NVFP4WeightOnlyConfig(false);
            default -> Recipes.config(name);
        };
    }

    private static dev.ao4j.quant.config.Int4WeightOnlyConfig plain() {
        return (dev.ao4j.quant.config.Int4WeightOnlyConfig) Recipes.config("int4wo-128-plain");
    }

    /** Shapes checked: K of 4096/1536/2048 and N not a multiple of 128; MX/NVFP4 also K/32 not a multiple of 4. */
    static List<Shape> shapes(String name) {
        List<Shape> s = new ArrayList<>(List.of(Shape.of(256, 4096), Shape.of(136, 1536), Shape.of(384, 2048)));
        if (name.startsWith("mx") || name.startsWith("nvfp4")) s.add(Shape.of(200, 1120));
        return s;
    }

    /**
     * Chunk sizes every GPU result is computed with: the default (these tensors fit one chunk) and 16 KiB, which
     * cuts them into many chunks (a few rows each, whole scale tiles for MX/NVFP4, both passes of the per-tensor
     * plans) so that the seams between chunks are checked too.
     */
    public static final List<Long> CHUNK_BYTES = List.of(CudaDevice.CHUNK_BYTES, 16L << 10);

    /** One comparison: {@code mismatches} differing bytes over all parts, the first one described. */
    public record Result(String recipe, String input, Shape shape, long chunkBytes, boolean onGpu, long bytes,
                         long mismatches, String first) {}

    public static void main(String[] args) throws IOException {
        double benchGib = 1;
        Path out = null;
        Path golden = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--bench-gib" -> benchGib = Double.parseDouble(args[++i]);
                case "--golden" -> golden = Path.of(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        CudaProbe.Status st = CudaProbe.status();
        StringBuilder json = new StringBuilder("{\n  \"device\": " + q(st.device()) + ",\n  \"available\": "
                + st.available() + ",\n  \"reason\": " + q(st.reason()) + ",\n  \"checks\": [\n");
        List<Result> results = new ArrayList<>(st.available() ? checkAll() : List.of());
        if (st.available() && golden != null) results.addAll(checkGolden(goldenInputs(golden)));
        long bad = 0;
        for (int i = 0; i < results.size(); i++) {
            Result r = results.get(i);
            bad += r.mismatches() + (r.onGpu() ? 0 : 1);
            json.append(String.format(Locale.ROOT, "    {\"recipe\": %s, \"input\": %s, \"shape\": %s,"
                            + " \"chunk_bytes\": %d, \"on_gpu\": %s, \"bytes\": %d, \"mismatches\": %d,"
                            + " \"first\": %s}%s%n", q(r.recipe()), q(r.input()), q(r.shape().toString()),
                    r.chunkBytes(), r.onGpu(), r.bytes(), r.mismatches(), q(r.first()),
                    i + 1 < results.size() ? "," : ""));
        }
        json.append("  ],\n  \"mismatching_checks\": ").append(bad).append(",\n  \"bench\": [\n");
        if (st.available() && benchGib > 0) json.append(bench(CudaProbe.runner(), benchGib));
        json.append("  ]\n}\n");
        PrintStream ps = System.out;
        ps.print(json);
        if (out != null) {
            Path tmp = out.resolveSibling(out.getFileName() + ".tmp");
            Files.writeString(tmp, json);
            Files.move(tmp, out, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        if (!st.available() || bad != 0) System.exit(1);
    }

    /** Every recipe on every test input, on the GPU with each of {@link #CHUNK_BYTES}. */
    public static List<Result> checkAll() {
        return checkEach((recipe, kernels) -> {
            List<Map.Entry<String, Tensor>> inputs = new ArrayList<>();
            for (Shape shape : shapes(recipe)) {
                for (String input : INPUTS) {
                    inputs.add(Map.entry(input, input(input, shape, 31L * shape.dim(0) + shape.dim(1)
                            + input.hashCode())));
                }
            }
            return inputs;
        });
    }

    /**
     * Every recipe and variant on its inputs ({@code inputsFor}: labelled weights), each weight the CPU quantizes
     * compared on the GPU with each of {@link #CHUNK_BYTES}.
     */
    private static List<Result> checkEach(
            BiFunction<String, BackendQuantizer.Kernels, List<Map.Entry<String, Tensor>>> inputsFor) {
        List<Result> all = new ArrayList<>();
        List<String> names = new ArrayList<>(RECIPES);
        names.addAll(VARIANTS);
        for (String recipe : names) {
            QuantConfig config = configOf(recipe);
            WeightQuantizer cpu = WeightQuantizers.forConfig(config, DivMode.CUDA_RECIPROCAL, Kernel.REFERENCE);
            BackendQuantizer gpu = BackendQuantizer.forConfig(config, DivMode.CUDA_RECIPROCAL, Kernel.VECTOR,
                    Backend.CUDA);
            for (var e : inputsFor.apply(recipe, BackendQuantizer.kernelsFor(config))) {
                Tensor w = e.getValue();
                if (cpu.skipReason(w.shape(), DType.BF16) != null) continue;
                QuantizedTensor expected = cpu.quantize(w);
                for (long chunk : CHUNK_BYTES) {
                    CudaProbe.runner().chunkBytes(chunk);
                    try {
                        all.add(compare(recipe, e.getKey(), w, chunk, expected, gpu));
                    } finally {
                        CudaProbe.runner().chunkBytes(CudaDevice.CHUNK_BYTES);
                    }
                }
            }
        }
        return all;
    }

    /** The {@code input/*} 2-D bf16 tensors of every safetensors file in {@code dir}, once each, by label. */
    static Map<String, Tensor> goldenInputs(Path dir) throws IOException {
        Map<String, Tensor> inputs = new TreeMap<>();
        Set<String> seen = new HashSet<>();
        List<Path> files;
        try (var list = Files.list(dir)) {
            files = list.filter(f -> f.toString().endsWith(".safetensors")).sorted().toList();
        }
        if (files.isEmpty()) throw new IOException("no .safetensors files in " + dir);
        for (Path f : files) {
            try (var file = SafetensorsFile.open(f)) {
                for (String name : file.names()) {
                    var info = file.info(name);
                    if (!name.startsWith("input/") || info.dtype() != DType.BF16 || info.shape().rank() != 2) continue;
                    Tensor t = file.tensor(name);
                    Tensor copy = Tensor.allocate(DType.BF16, t.shape());
                    MemorySegment.copy(t.data(), 0, copy.data(), 0, t.byteSize());
                    String key = t.shape() + ":" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                            .digest(copy.data().toArray(ValueLayout.JAVA_BYTE)));
                    if (seen.add(key)) inputs.put("golden " + f.getFileName() + " " + name, copy);
                }
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }
        return inputs;
    }

    /** Every recipe on every golden input its GPU kernel covers (the others take the CPU path by design). */
    static List<Result> checkGolden(Map<String, Tensor> inputs) {
        return checkEach((recipe, kernels) -> inputs.entrySet().stream()
                .filter(e -> kernels.covers().test(e.getValue().shape(), DType.BF16)).toList());
    }

    static Result compare(String recipe, String input, Tensor w, long chunkBytes, QuantizedTensor c,
                          BackendQuantizer gpu) {
        long before = gpu.gpuCount();
        QuantizedTensor g = gpu.quantize(w);
        boolean onGpu = gpu.gpuCount() > before;
        long bytes = 0;
        long mismatches = 0;
        String first = null;
        if (!c.getClass().equals(g.getClass()) || c.parts().size() != g.parts().size()) {
            return new Result(recipe, input, w.shape(), chunkBytes, onGpu, 0, 1,
                    "different tensor types " + c + " / " + g);
        }
        for (int p = 0; p < c.parts().size(); p++) {
            Tensor a = c.parts().get(p).tensor();
            Tensor b = g.parts().get(p).tensor();
            if (!a.shape().equals(b.shape()) || a.dtype() != b.dtype()) {
                mismatches++;
                if (first == null) first = c.parts().get(p).name() + ": " + a + " vs " + b;
                continue;
            }
            long n = a.byteSize();
            bytes += n;
            for (long i = 0; i < n; i++) {
                byte x = a.data().get(ValueLayout.JAVA_BYTE, i);
                byte y = b.data().get(ValueLayout.JAVA_BYTE, i);
                if (x != y) {
                    mismatches++;
                    if (first == null) {
                        first = String.format(Locale.ROOT, "%s byte %d: cpu %02x gpu %02x", c.parts().get(p).name(), i,
                                x & 0xFF, y & 0xFF);
                    }
                }
            }
        }
        if (!attributes(c).equals(attributes(g))) {
            mismatches++;
            if (first == null) first = "attributes differ: " + attributes(c) + " vs " + attributes(g);
        }
        return new Result(recipe, input, w.shape(), chunkBytes, onGpu, bytes, mismatches, first);
    }

    /** The record's components other than its data tensors (block size, shapes, dtypes, activation kwargs). */
    static List<Object> attributes(QuantizedTensor t) {
        List<Object> a = new ArrayList<>();
        try {
            for (var rc : t.getClass().getRecordComponents()) {
                if (rc.getType() != Tensor.class) a.add(rc.getName() + "=" + rc.getAccessor().invoke(t));
            }
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
        return a;
    }

    /**
     * A bf16 weight: "normal" is N(0, 0.02) like a trained Linear; "wide" spans many binades; "edge" mixes rows of
     * zeros, NaN, ±Inf, subnormals, huge values, a single outlier and signed zeros into normal data, rows of normal
     * data with -0.0 among it (no NaN or infinity: the kernels' fast paths) and rows of small integers times a power
     * of two (quotients that land exactly on rounding midpoints); "special"
     * fills whole rows with the cases that decide NaN payloads and overflow ({@link #special}).
     */
    public static Tensor input(String kind, Shape shape, long seed) {
        if (kind.equals("special")) return special(shape, seed);
        SplittableRandom rnd = new SplittableRandom(seed);
        Tensor t = Tensor.allocate(DType.BF16, shape);
        long rows = shape.dim(0);
        long cols = shape.dim(1);
        for (long r = 0; r < rows; r++) {
            int mode = kind.equals("edge") ? (int) (r % 14) : -1;
            for (long c = 0; c < cols; c++) {
                float v = switch (kind) {
                    case "wide" -> (float) (rnd.nextGaussian() * Math.pow(2, rnd.nextInt(-40, 40)));
                    default -> (float) (rnd.nextGaussian() * 0.02);
                };
                v = switch (mode) {
                    case 0 -> 0f;
                    case 1 -> rnd.nextInt(97) == 0 ? Float.NaN : v;
                    case 2 -> rnd.nextInt(131) == 0 ? Float.POSITIVE_INFINITY : v;
                    case 3 -> c == 5 ? Float.NEGATIVE_INFINITY : v;
                    case 4 -> Float.intBitsToFloat(rnd.nextInt(1, 0x7F) << 16) * (rnd.nextBoolean() ? 1 : -1);
                    case 5 -> (float) (rnd.nextGaussian() * 3e38);
                    case 6 -> c == cols / 2 ? 60000f : v;
                    case 7 -> rnd.nextBoolean() ? -0f : 0f;
                    case 8 -> (c / 64) % 2 == 0 ? 0f : v;
                    case 9 -> Float.intBitsToFloat(0x7F7F0000) * (c % 2 == 0 ? 1 : -1);
                    case 10 -> 1e-30f * (float) rnd.nextGaussian();
                    case 11 -> c % 7 == 3 ? -0f : v;
                    case 12 -> Math.scalb((float) (rnd.nextInt(31) - 15), (int) (r % 9) - 4);
                    default -> v;
                };
                t.setFloat(r * cols + c, v);
            }
        }
        return t;
    }

    /**
     * Rows cycling through: all NaN; all +Inf; all -Inf; ±Inf alternating; -Inf and +Inf among normal values;
     * a NaN among infinities; a constant (zero range); ±max bf16 alternating (the f32 range overflows); all -0.0;
     * one -Inf among normal values; bf16 subnormals only; NaNs of other payloads (0x7FC1, 0xFFFF, signalling 0x7F81)
     * among normal values; one +Inf; values straddling the MX/NVFP4 scale boundaries (powers of two times the
     * element maxima) — every row with normal N(0, 1) data elsewhere.
     */
    static Tensor special(Shape shape, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Tensor t = Tensor.allocate(DType.BF16, shape);
        long rows = shape.dim(0);
        long cols = shape.dim(1);
        short[] nans = {(short) 0x7FC1, (short) 0xFFFF, (short) 0x7F81};
        float[] pivots = {448f, 6f, 2688f, 57344f, 1f, 0.5f};
        for (long r = 0; r < rows; r++) {
            for (long c = 0; c < cols; c++) {
                long i = r * cols + c;
                float v = (float) rnd.nextGaussian();
                short raw = switch ((int) (r % 14)) {
                    case 0 -> (short) 0x7FC0;
                    case 1 -> Bf16.fromFloat(Float.POSITIVE_INFINITY);
                    case 2 -> Bf16.fromFloat(Float.NEGATIVE_INFINITY);
                    case 3 -> Bf16.fromFloat(c % 2 == 0 ? Float.POSITIVE_INFINITY : Float.NEGATIVE_INFINITY);
                    case 4 -> Bf16.fromFloat(c % 16 == 3 ? Float.NEGATIVE_INFINITY
                            : c % 16 == 9 ? Float.POSITIVE_INFINITY : v);
                    case 5 -> c % 16 == 7 ? (short) 0x7FC0 : Bf16.fromFloat(c % 2 == 0 ? Float.POSITIVE_INFINITY : v);
                    case 6 -> Bf16.fromFloat(1.5f);
                    case 7 -> (short) (c % 2 == 0 ? 0x7F7F : 0xFF7F);
                    case 8 -> (short) 0x8000;
                    case 9 -> Bf16.fromFloat(c % 32 == 5 ? Float.NEGATIVE_INFINITY : v);
                    case 10 -> (short) (rnd.nextInt(1, 0x80) | (rnd.nextBoolean() ? 0x8000 : 0));
                    case 11 -> c % 13 == 0 ? nans[(int) (c / 13 % 3)] : Bf16.fromFloat(v);
                    case 12 -> Bf16.fromFloat(c % 32 == 17 ? Float.POSITIVE_INFINITY : v);
                    default -> Bf16.fromFloat(c % 16 == 0
                            ? Math.scalb(pivots[rnd.nextInt(pivots.length)], rnd.nextInt(-20, 20))
                                    * (rnd.nextBoolean() ? 1 : -1)
                                    * (rnd.nextBoolean() ? 1f : Math.nextUp(1f) + rnd.nextInt(0, 3) * 0x1p-7f)
                            : v);
                };
                t.data().setAtIndex(Tensor.I16, i, raw);
            }
        }
        return t;
    }

    /** Kernel-only throughput per recipe on a device-resident tensor of about {@code gib} GiB. */
    static String bench(CudaRunner gpu, double gib) {
        long bytes = (long) (gib * (1L << 30));
        long k = 8192;
        long n = bytes / 2 / k / 128 * 128;
        Shape shape = Shape.of(n, k);
        Tensor w = Tensor.allocate(DType.BF16, shape);
        SplittableRandom rnd = new SplittableRandom(1);
        for (long i = 0; i < shape.numel(); i++) {
            w.data().setAtIndex(Tensor.I16, i, Bf16.fromFloat((float) rnd.nextGaussian() * 0.02f));
        }
        long inBytes = w.byteSize();
        double copy = gpu.copySeconds(inBytes, 10);
        double copyBw = 2.0 * inBytes / copy;
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "    {\"kernel\": \"cuMemcpyDtoD\", \"bytes\": %d, \"seconds\": %.6f,"
                + " \"gb_per_s\": %.1f},%n", inBytes, copy, copyBw / 1e9));
        List<String> rows = new ArrayList<>();
        for (String recipe : RECIPES) {
            Plan plan = planFor(recipe, w);
            long outBytes = plan.outputs().stream().mapToLong(o -> o.target().byteSize()).sum();
            double s = gpu.kernelSeconds(plan, 10);
            double bw = (inBytes + outBytes) / s;
            gpu.run(plan); // warm-up: buffers grown outside the timed run
            long t0 = System.nanoTime();
            gpu.run(plan);
            double e2e = (System.nanoTime() - t0) / 1e9;
            rows.add(String.format(Locale.ROOT, "    {\"kernel\": %s, \"shape\": %s, \"in_bytes\": %d, \"out_bytes\": %d,"
                            + " \"seconds\": %.6f, \"gb_per_s\": %.1f, \"fraction_of_copy\": %.3f,"
                            + " \"host_to_host_seconds\": %.4f, \"host_to_host_gb_per_s_of_input\": %.2f}", q(recipe),
                    q(shape.toString()), inBytes, outBytes, s, bw / 1e9, bw / copyBw, e2e, inBytes / e2e / 1e9));
        }
        sb.append(String.join(",\n", rows)).append('\n');
        return sb.toString();
    }

    /** The plan a recipe's kernels run for {@code w} (outputs freshly allocated). */
    static Plan planFor(String recipe, Tensor w) {
        QuantConfig config = configOf(recipe);
        Shape s = w.shape();
        return switch (config) {
            case dev.ao4j.quant.config.Int8WeightOnlyConfig c -> {
                var r = CudaKernels.int8Outputs(s, c.granularity());
                yield CudaKernels.int8Plan(w, c.granularity(), false, r);
            }
            case dev.ao4j.quant.config.Int8DynamicActivationInt8WeightConfig c -> {
                var r = CudaKernels.int8Outputs(s, c.granularity().getLast());
                yield CudaKernels.int8Plan(w, c.granularity().getLast(), c.reduceRange(), r);
            }
            case dev.ao4j.quant.config.Int4WeightOnlyConfig c
                    when c.int4PackingFormat() == dev.ao4j.quant.config.Int4PackingFormat.PLAIN -> {
                int g = c.groupSize();
                yield CudaKernels.plainPlan(w, g, Tensor.allocate(DType.I8, Shape.of(s.dim(0), s.dim(1) / 2)),
                        Tensor.allocate(DType.BF16, Shape.of(s.dim(1) / g, s.dim(0))),
                        Tensor.allocate(DType.BF16, Shape.of(s.dim(1) / g, s.dim(0))));
            }
            case dev.ao4j.quant.config.Int4WeightOnlyConfig c -> {
                int g = c.groupSize();
                long nPad = CudaKernels.ceilTo(s.dim(0), 8);
                long kPad = CudaKernels.ceilTo(s.dim(1), 1024);
                yield CudaKernels.tinygemmPlan(w, g, Tensor.allocate(DType.I32, Shape.of(nPad / 8, kPad / 128, 32, 4)),
                        Tensor.allocate(DType.BF16, Shape.of(kPad / g, nPad, 2)));
            }
            case dev.ao4j.quant.config.Float8WeightOnlyConfig c -> fp8Plan(w, c.granularity(), c.weightDtype());
            case dev.ao4j.quant.config.Float8DynamicActivationFloat8WeightConfig c ->
                    fp8Plan(w, c.granularity().getLast(), c.weightDtype());
            case dev.ao4j.quant.config.MXDynamicActivationMXWeightConfig c -> {
                var elem = dev.ao4j.quant.config.MXDynamicActivationMXWeightConfig.element(c.weightDtype());
                yield CudaKernels.mxPlan(w, elem, c.scalingMode(),
                        Tensor.allocate(elem.qdataDtype(), Shape.of(s.dim(0), elem.isPacked() ? s.dim(1) / 2 : s.dim(1))),
                        Tensor.allocate(DType.F8_E8M0, dev.ao4j.quant.mx.ScaleSwizzle.swizzledShape(s.dim(0), s.dim(1) / 32)));
            }
            case dev.ao4j.quant.config.NVFP4WeightOnlyConfig c -> CudaKernels.nvfp4Plan(w,
                    Tensor.allocate(DType.U8, Shape.of(s.dim(0), s.dim(1) / 2)),
                    Tensor.allocate(DType.F8_E4M3, dev.ao4j.quant.mx.ScaleSwizzle.swizzledShape(s.dim(0), s.dim(1) / 16)),
                    c.useDynamicPerTensorScale() ? Tensor.allocate(DType.F32, Shape.of()) : null);
            default -> throw new IllegalArgumentException("no CUDA kernel for recipe " + recipe);
        };
    }

    private static Plan fp8Plan(Tensor w, dev.ao4j.quant.config.Granularity g, DType fp8) {
        long[] b = CudaKernels.fp8Block(w.shape(), g);
        Shape grid = Shape.of(w.shape().dim(0) / b[0], w.shape().dim(1) / b[1]);
        return CudaKernels.fp8Plan(w, b[0], b[1], fp8, Tensor.allocate(fp8, w.shape()),
                Tensor.allocate(DType.F32, grid));
    }

    private static String q(String s) {
        return s == null ? "null" : "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
}
