package dev.ao4j.cli;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.config.QuantConfig;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.mx.MxElement;
import dev.ao4j.quant.mx.MxQuantizer;
import dev.ao4j.quant.mx.ScalingMode;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.pipeline.Recipes;
import dev.ao4j.quant.pipeline.WeightQuantizer;
import dev.ao4j.quant.pipeline.WeightQuantizers;
import dev.ao4j.quant.qtensor.IntxUnpackedToInt8Tensor;
import dev.ao4j.quant.qtensor.QuantizedTensor;
import dev.ao4j.quant.sparsity.Sparse24;
import dev.ao4j.quant.sparsity.Sparse24Quantizer;
import dev.ao4j.quant.sparsity.TopkTies;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.vllm.awq.AwqPacking;
import dev.ao4j.vllm.awq.AwqRtn;
import dev.ao4j.vllm.compressed.CompressedTensorsScheme;
import dev.ao4j.vllm.compressed.CtQuantizer;
import dev.ao4j.vllm.gptq.GptqPacking;
import dev.ao4j.vllm.gptq.GptqRtn;
import dev.ao4j.vllm.gptq.IntWeightLinear;
import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import java.util.function.Function;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Quantize throughput per recipe (GB/s of bf16 input), reference loops vs Vector API kernels, "
                + "measured in this process on a synthetic N(0, 0.05^2) bf16 weight.", ""},
        footer = {"", "Recipe 'sparse24' times 2:4 magnitude pruning alone (Sparse24.prune, CUDA tie rule); "
                + "sparse24+<recipe> prunes and quantizes. mxfp6-e2m3 / mxfp6-e3m2 time MX quantization to FP6 "
                + "(RCEIL scales), which no package format carries.", "", "Example:",
                "  ao4j bench --rows 4096 --cols 4096 --recipe int8wo --recipe int4wo-128"})
final class BenchCommand implements Callable<Integer> {
    static final List<String> DEFAULT_RECIPES = List.of("int4wo-128", "int4wo-128-plain", "int8wo", "int8dq",
            "8da4w-32", "fp8wo", "fp8dq-row", "fp8dq-tensor", "fp8-block128", "mxfp8", "mxfp4", "nvfp4", "sparse24");

    /** The bench-only entry that times 2:4 pruning by itself (the pruning step of sparse24+<recipe>). */
    static final String SPARSE24 = "sparse24";

    @Spec
    CommandSpec spec;

    @Option(names = "--recipe", paramLabel = "RECIPE", description = "Recipes to measure (default: all).")
    List<String> recipes = new ArrayList<>();

    @Option(names = "--serving", paramLabel = "FORMAT:SCHEME", description = "Also time a vLLM package format's own "
            + "quantize-and-pack step: compressed-tensors:<scheme> (e.g. w4a16, fp8-dynamic, nvfp4a16), gptq:w4a16, "
            + "gptq:w8a16, awq:w4a16 (group 128). Repeatable; with only --serving, no recipe runs.")
    List<String> serving = new ArrayList<>();

    @Option(names = "--rows", defaultValue = "4096", description = "Weight rows N (default: ${DEFAULT-VALUE}).")
    int rows;

    @Option(names = "--cols", defaultValue = "4096", description = "Weight columns K (default: ${DEFAULT-VALUE}).")
    int cols;

    @Option(names = "--warmup", defaultValue = "3", description = "Untimed runs per kernel (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--runs", defaultValue = "5", description = "Timed runs per kernel (default: ${DEFAULT-VALUE}).")
    int runs;

    @Override
    public Integer call() {
        requireAtLeast(rows, 1, "--rows");
        requireAtLeast(cols, 1, "--cols");
        requireAtLeast(runs, 1, "--runs");
        requireAtLeast(warmup, 0, "--warmup");
        PrintWriter out = spec.commandLine().getOut();
        Shape shape = Shape.of(rows, cols);
        // every recipe is checked before anything is timed: a bad name or a weight the recipe would leave alone
        // (e.g. in-features not a multiple of the group size) is a usage error, not a row of meaningless numbers
        List<Candidate> candidates = new ArrayList<>();
        for (String spec : serving) candidates.add(servingCandidate(spec, shape));
        for (String recipe : recipes.isEmpty() && serving.isEmpty() ? DEFAULT_RECIPES : recipes) {
            if (recipe.equals(SPARSE24)) {
                if (cols % 4 != 0) {
                    throw new InvalidConfigException("recipe 'sparse24' needs --cols divisible by 4 but it is " + cols);
                }
                candidates.add(new Candidate(recipe, w -> pruneOnly(w, Kernel.REFERENCE),
                        w -> pruneOnly(w, Kernel.VECTOR)));
                continue;
            }
            if (Recipes.MXFP6.contains(recipe)) {
                if (cols % MxQuantizer.BLOCK_SIZE != 0) {
                    throw new InvalidConfigException("recipe '" + recipe + "' needs --cols divisible by "
                            + MxQuantizer.BLOCK_SIZE + " but it is " + cols);
                }
                MxElement element = recipe.endsWith("e2m3") ? MxElement.FP6_E2M3 : MxElement.FP6_E3M2;
                candidates.add(new Candidate(recipe, w -> mxOnly(w, element, Kernel.REFERENCE),
                        w -> mxOnly(w, element, Kernel.VECTOR)));
                continue;
            }
            QuantConfig config = Recipes.config(recipe);
            WeightQuantizer ref = quantizer(recipe, config, Kernel.REFERENCE);
            String skip = ref.skipReason(shape, DType.BF16);
            if (skip != null) {
                throw new InvalidConfigException("recipe '" + recipe + "' would not quantize a bf16 weight " + shape
                        + ": " + skip);
            }
            WeightQuantizer vec = quantizer(recipe, config, Kernel.VECTOR);
            candidates.add(new Candidate(recipe, w -> consume(ref.quantize(w)), w -> consume(vec.quantize(w))));
        }
        Tensor w = randomBf16(rows, cols, 42);
        double gb = w.byteSize() / 1e9;
        out.printf(Locale.ROOT, "# bf16 weight [%d, %d] = %.1f MB; median of %d runs after %d warm-up; %s, %d cpus%n",
                rows, cols, w.byteSize() / 1e6, runs, warmup, System.getProperty("java.vm.version"),
                Runtime.getRuntime().availableProcessors());
        out.println("| recipe | reference GB/s | vector GB/s | speed-up |");
        out.println("|---|---:|---:|---:|");
        for (Candidate c : candidates) {
            double ref = gb / medianSeconds(c.reference(), w);
            double vec = gb / medianSeconds(c.vector(), w);
            out.printf(Locale.ROOT, "| %s | %.3f | %.3f | %.2fx |%n", c.recipe(), ref, vec, vec / ref);
            out.flush();
        }
        return 0;
    }

    /** One recipe's two kernel variants, timed on the same weight. */
    private record Candidate(String recipe, Consumer<Tensor> reference, Consumer<Tensor> vector) {}

    /**
     * A serving format's quantize-and-pack step as its package writer runs it, per kernel: compressed-tensors'
     * {@link CtQuantizer} with the stored tensors; GPTQ/AWQ round-to-nearest to the pipeline's tensor, then the
     * unsigned codes and the packed qweight.
     */
    private static Candidate servingCandidate(String spec, Shape shape) {
        String[] f = spec.split(":", 2);
        if (f.length != 2) {
            throw new InvalidConfigException("--serving takes FORMAT:SCHEME, e.g. gptq:w4a16, but was '" + spec + "'");
        }
        Function<Kernel, Consumer<Tensor>> run = switch (f[0]) {
            case "compressed-tensors" -> {
                CompressedTensorsScheme scheme = CompressedTensorsScheme.parse(f[1]);
                String skip = new CtQuantizer(scheme, DivMode.CUDA_RECIPROCAL).skipReason(shape, DType.BF16);
                if (skip != null) {
                    throw new InvalidConfigException("'" + spec + "' would not quantize a bf16 weight " + shape + ": "
                            + skip);
                }
                yield k -> {
                    CtQuantizer q = new CtQuantizer(scheme, DivMode.CUDA_RECIPROCAL, k);
                    return w -> {
                        try (Arena arena = Arena.ofConfined()) {
                            for (Tensor t : q.quantize(w, Float.NaN, arena).stored().values()) sink += t.getByte(0);
                        }
                    };
                };
            }
            case "gptq", "awq" -> {
                int bits = switch (f[1]) {
                    case "w4a16" -> 4;
                    case "w8a16" -> 8;
                    default -> throw new InvalidConfigException("--serving " + f[0] + " takes w4a16 or w8a16 but was '"
                            + f[1] + "'");
                };
                boolean awq = f[0].equals("awq");
                if (awq && bits != 4) throw new InvalidConfigException("AWQ packages are 4-bit (awq:w4a16)");
                if (shape.dim(1) % 128 != 0 || shape.dim(0) % 8 != 0) {
                    throw new InvalidConfigException("'" + spec + "' needs --cols divisible by 128 and --rows by 8");
                }
                yield k -> w -> {
                    IntxUnpackedToInt8Tensor t = awq ? AwqRtn.quantizeIntx(w, 128, k)
                            : GptqRtn.quantizeIntx(w, bits, 128, k);
                    try (Arena arena = Arena.ofConfined()) {
                        IntWeightLinear l = IntWeightLinear.fromIntx("weight", t, k == Kernel.VECTOR ? arena : null);
                        Tensor packed = awq ? (k == Kernel.VECTOR ? AwqPacking.packQweight(l.codes(), arena)
                                : AwqPacking.packQweight(l.codes()))
                                : (k == Kernel.VECTOR ? GptqPacking.packQweight(l.codes(), bits, arena)
                                : GptqPacking.packQweight(l.codes(), bits));
                        sink += packed.getByte(0);
                    }
                };
            }
            default -> throw new InvalidConfigException("--serving format must be compressed-tensors, gptq or awq but "
                    + "was '" + f[0] + "'");
        };
        return new Candidate(spec, run.apply(Kernel.REFERENCE), run.apply(Kernel.VECTOR));
    }

    /** The recipe's quantizer; sparse24+<recipe> prunes with the same kernel before quantizing. */
    private static WeightQuantizer quantizer(String recipe, QuantConfig config, Kernel kernel) {
        WeightQuantizer q = WeightQuantizers.forConfig(config, DivMode.CUDA_RECIPROCAL, kernel);
        return Recipes.isSparse24(recipe) ? new Sparse24Quantizer(q, TopkTies.CUDA_LOWEST_INDEX, kernel) : q;
    }

    /** MX quantization with torchao's default RCEIL scales, for the element formats no recipe config carries. */
    private static void mxOnly(Tensor w, MxElement element, Kernel kernel) {
        sink += MxQuantizer.quantize(w, element, ScalingMode.RCEIL, false, DivMode.CUDA_RECIPROCAL, kernel).qdata()
                .getByte(0);
    }

    private static void pruneOnly(Tensor w, Kernel kernel) {
        sink += Sparse24.prune(w, TopkTies.CUDA_LOWEST_INDEX, kernel).getByte(0);
    }

    private static void requireAtLeast(int value, int min, String option) {
        if (value < min) throw new InvalidConfigException(option + " must be at least " + min + " but was " + value);
    }

    private double medianSeconds(Consumer<Tensor> run, Tensor w) {
        for (int i = 0; i < warmup; i++) run.accept(w);
        double[] t = new double[runs];
        for (int i = 0; i < runs; i++) {
            long t0 = System.nanoTime();
            run.accept(w);
            t[i] = (System.nanoTime() - t0) / 1e9;
        }
        Arrays.sort(t);
        return t[runs / 2];
    }

    private static long sink;

    /** Reads one byte of every part so the work cannot be optimised away. */
    private static void consume(QuantizedTensor q) {
        for (QuantizedTensor.Part p : q.parts()) sink += p.tensor().getByte(0);
    }

    static Tensor randomBf16(int rows, int cols, long seed) {
        Tensor t = Tensor.allocate(DType.BF16, Shape.of(rows, cols));
        SplittableRandom r = new SplittableRandom(seed);
        long n = t.numel();
        for (long i = 0; i < n; i++) {
            // Box-Muller: N(0, 0.05^2), like a Linear weight
            double u = r.nextDouble(), v = r.nextDouble();
            t.setFloat(i, (float) (0.05 * Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * v)));
        }
        return t;
    }
}
