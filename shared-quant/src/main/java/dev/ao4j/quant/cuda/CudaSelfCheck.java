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
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The GPU check and benchmark a GPU host runs (tools/gpu/run.sh): every CUDA kernel against the CPU reference on
 * random and edge-value bf16 weights, bit for bit, then each kernel's throughput on a large device-resident tensor
 * as a fraction of the card's device-to-device copy bandwidth. Prints a JSON document.
 *
 * <pre>java -cp ao4j.jar dev.ao4j.quant.cuda.CudaSelfCheck [--bench-gib G] [--out FILE]</pre>
 */
public final class CudaSelfCheck {
    private CudaSelfCheck() {}

    /** Recipes with CUDA kernels. */
    public static final List<String> RECIPES = List.of("int8wo", "int8dq", "int4wo-32", "int4wo-64", "int4wo-128",
            "int4wo-256", "int4wo-128-plain", "fp8wo", "fp8dq-row", "fp8dq-tensor", "fp8-block128");

    /** One comparison: {@code mismatches} differing bytes over all parts, the first one described. */
    public record Result(String recipe, String input, Shape shape, boolean onGpu, long bytes, long mismatches,
                         String first) {}

    public static void main(String[] args) throws IOException {
        double benchGib = 1;
        Path out = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--bench-gib" -> benchGib = Double.parseDouble(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        CudaProbe.Status st = CudaProbe.status();
        StringBuilder json = new StringBuilder("{\n  \"device\": " + q(st.device()) + ",\n  \"available\": "
                + st.available() + ",\n  \"reason\": " + q(st.reason()) + ",\n  \"checks\": [\n");
        List<Result> results = st.available() ? checkAll() : List.of();
        long bad = 0;
        for (int i = 0; i < results.size(); i++) {
            Result r = results.get(i);
            bad += r.mismatches() + (r.onGpu() ? 0 : 1);
            json.append(String.format(Locale.ROOT, "    {\"recipe\": %s, \"input\": %s, \"shape\": %s, \"on_gpu\": %s,"
                            + " \"bytes\": %d, \"mismatches\": %d, \"first\": %s}%s%n", q(r.recipe()), q(r.input()),
                    q(r.shape().toString()), r.onGpu(), r.bytes(), r.mismatches(), q(r.first()),
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

    /** Every recipe on every test input. */
    public static List<Result> checkAll() {
        List<Result> all = new ArrayList<>();
        for (String recipe : RECIPES) {
            QuantConfig config = Recipes.config(recipe);
            WeightQuantizer cpu = WeightQuantizers.forConfig(config, DivMode.CUDA_RECIPROCAL, Kernel.REFERENCE);
            BackendQuantizer gpu = BackendQuantizer.forConfig(config, DivMode.CUDA_RECIPROCAL, Kernel.VECTOR,
                    Backend.CUDA);
            for (Shape shape : List.of(Shape.of(256, 4096), Shape.of(136, 1536), Shape.of(384, 2048))) {
                for (String input : List.of("normal", "edge", "wide")) {
                    Tensor w = input(input, shape, 31L * shape.dim(0) + shape.dim(1) + input.hashCode());
                    if (cpu.skipReason(shape, DType.BF16) != null) continue;
                    all.add(compare(recipe, input, w, cpu, gpu));
                }
            }
        }
        return all;
    }

    static Result compare(String recipe, String input, Tensor w, WeightQuantizer cpu, BackendQuantizer gpu) {
        long before = gpu.gpuCount();
        QuantizedTensor g = gpu.quantize(w);
        boolean onGpu = gpu.gpuCount() > before;
        QuantizedTensor c = cpu.quantize(w);
        long bytes = 0;
        long mismatches = 0;
        String first = null;
        if (!c.getClass().equals(g.getClass()) || c.parts().size() != g.parts().size()) {
            return new Result(recipe, input, w.shape(), onGpu, 0, 1, "different tensor types " + c + " / " + g);
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
                byte x = a.data().get(java.lang.foreign.ValueLayout.JAVA_BYTE, i);
                byte y = b.data().get(java.lang.foreign.ValueLayout.JAVA_BYTE, i);
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
        return new Result(recipe, input, w.shape(), onGpu, bytes, mismatches, first);
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
     * zeros, NaN, ±Inf, subnormals, huge values, a single outlier and signed zeros into normal data.
     */
    public static Tensor input(String kind, Shape shape, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Tensor t = Tensor.allocate(DType.BF16, shape);
        long rows = shape.dim(0);
        long cols = shape.dim(1);
        for (long r = 0; r < rows; r++) {
            int mode = kind.equals("edge") ? (int) (r % 12) : -1;
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
                    default -> v;
                };
                t.setFloat(r * cols + c, v);
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
        QuantConfig config = Recipes.config(recipe);
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
