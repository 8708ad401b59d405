package dev.ao4j.cli;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.config.QuantConfig;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.pipeline.ModuleSelector;
import dev.ao4j.quant.pipeline.QuantListener;
import dev.ao4j.quant.pipeline.QuantReport;
import dev.ao4j.quant.pipeline.Quantizer;
import dev.ao4j.quant.pipeline.Recipe;
import dev.ao4j.quant.pipeline.Recipes;
import dev.ao4j.quant.pipeline.TensorResult;
import dev.ao4j.quant.pipeline.WeightQuantizers;
import dev.ao4j.safetensors.ShardedCheckpoint;
import dev.ao4j.transformers.ModelConfig;
import dev.ao4j.transformers.pack.TorchAoPackageWriter;
import dev.ao4j.transformers.torchao.TorchAoQuantizationConfig;
import dev.ao4j.vllm.validate.Engine;
import dev.ao4j.vllm.validate.GpuArch;
import dev.ao4j.vllm.validate.Target;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "bench-pipeline", mixinStandardHelpOptions = true,
        description = {"End-to-end quantize time and peak memory on a synthetic Llama-shaped bf16 checkpoint (or a "
                + "given model): read, quantize, write the package. Memory is the peak anonymous RSS of this process "
                + "(heap + native buffers; mapped file pages excluded), sampled after every tensor.", ""},
        footer = {"", "Example (two Llama-3-8B layers, 1 GiB heap):",
                "  AO4J_JAVA_OPTS=-Xmx1g ao4j bench-pipeline --layers 2 --recipe int8wo --recipe int4wo-128"})
final class BenchPipelineCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR", description = "Quantize this model instead of a synthetic one.")
    Path model;

    @Option(names = "--recipe", paramLabel = "RECIPE",
            description = "Recipes (default, when no --serving is given either: int8wo, int4wo-128, fp8dq-row).")
    List<String> recipes = new ArrayList<>();

    @Option(names = "--serving", paramLabel = "FORMAT:SCHEME",
            description = "vLLM packages, validated as ao4j quantize --target vllm does (tp 1, sm90), e.g. "
                    + "compressed-tensors:w4a16, gptq:w4a16, awq:w4a16, fp8:fp8-block. Repeatable.")
    List<String> serving = new ArrayList<>();

    @Option(names = "--hidden", defaultValue = "4096") int hidden;
    @Option(names = "--intermediate", defaultValue = "14336") int intermediate;
    @Option(names = "--layers", defaultValue = "2") int layers;
    @Option(names = "--heads", defaultValue = "32") int heads;
    @Option(names = "--kv-heads", defaultValue = "8") int kvHeads;
    @Option(names = "--vocab", defaultValue = "128256") int vocab;

    @Option(names = "--work-dir", paramLabel = "DIR", description = "Where the synthetic model and packages go "
            + "(default: a temporary directory, removed afterwards).")
    Path workDir;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        boolean temporary = workDir == null;
        Path work = temporary ? Files.createTempDirectory("ao4j-bench-") : Files.createDirectories(workDir);
        try {
            Path source = model;
            if (source == null) {
                SyntheticModel m = new SyntheticModel(hidden, intermediate, layers, heads, kvHeads, vocab);
                source = work.resolve("synthetic");
                long t0 = System.nanoTime();
                m.write(source, 1);
                out.printf(Locale.ROOT, "# synthetic Llama: hidden %d, intermediate %d, %d layers, vocab %d: %s bf16,"
                        + " written in %.1f s%n", hidden, intermediate, layers, vocab, Sizes.human(m.bytes()),
                        (System.nanoTime() - t0) / 1e9);
            }
            ModelConfig config = ModelConfig.read(source.resolve(ModelConfig.FILE_NAME));
            long largest;
            try (ShardedCheckpoint ck = ShardedCheckpoint.open(source)) {
                largest = ck.names().stream().mapToLong(n -> ck.info(n).byteSize()).max().orElse(0);
            }
            out.printf(Locale.ROOT, "# largest tensor %s; max heap %s; %s, %d cpus%n", Sizes.human(largest),
                    Sizes.human(Runtime.getRuntime().maxMemory()), System.getProperty("java.vm.version"),
                    Runtime.getRuntime().availableProcessors());
            out.println("| recipe | model | seconds | GB/s of input | peak anon RSS | peak / largest tensor |");
            out.println("|---|---:|---:|---:|---:|---:|");
            boolean defaults = recipes.isEmpty() && serving.isEmpty();
            for (String recipe : defaults ? List.of("int8wo", "int4wo-128", "fp8dq-row") : recipes) {
                QuantConfig qc = Recipes.config(recipe);
                Recipe r = new Recipe(recipe, qc, ModuleSelector.defaults(),
                        WeightQuantizers.forConfig(qc, DivMode.CUDA_RECIPROCAL, Kernel.VECTOR), false, null);
                Path outDir = work.resolve("out-" + recipe);
                PeakAnon peak = new PeakAnon();
                QuantReport report;
                try (ShardedCheckpoint ck = ShardedCheckpoint.open(source);
                     TorchAoPackageWriter sink = TorchAoPackageWriter.create(source, config,
                             TorchAoQuantizationConfig.of(qc), outDir, 5_000_000_000L, true)) {
                    report = Quantizer.quantize(ck, r, sink, peak);
                }
                printRow(out, recipe, report, peak, largest);
                deleteTree(outDir);
            }
            for (String spec : serving) {
                String[] fs = spec.split(":", 2);
                if (fs.length != 2) {
                    throw new InvalidConfigException("--serving takes FORMAT:SCHEME, e.g. gptq:w4a16, but was '" + spec
                            + "'");
                }
                Path outDir = work.resolve("out-" + fs[0] + "-" + fs[1]);
                PeakAnon peak = new PeakAnon();
                QuantReport report = ServingPackaging.write(source, outDir, new ServingPackaging.Request(
                        new Target(Engine.VLLM, 1, GpuArch.SM90), fs[0], fs[1], null, false, List.of(),
                        DivMode.CUDA_RECIPROCAL, 5_000_000_000L, true, false, peak)).report();
                printRow(out, spec, report, peak, largest);
                deleteTree(outDir);
            }
        } finally {
            if (temporary) deleteTree(work);
        }
        return 0;
    }

    private static void printRow(PrintWriter out, String what, QuantReport report, PeakAnon peak, long largest) {
        double s = report.nanos() / 1e9;
        out.printf(Locale.ROOT, "| %s | %s | %.2f | %.3f | %s | %.2f |%n", what, Sizes.human(report.inputBytes()), s,
                report.inputBytes() / 1e9 / s, Sizes.human(peak.max), (double) peak.max / largest);
        out.flush();
    }

    /** Samples RssAnon from /proc/self/status (Linux) after every tensor. */
    static final class PeakAnon implements QuantListener {
        long max;

        @Override
        public void tensorFinished(int index, TensorResult result) {
            max = Math.max(max, rssAnon());
        }

        static long rssAnon() {
            try (Stream<String> lines = Files.lines(Path.of("/proc/self/status"))) {
                return lines.filter(l -> l.startsWith("RssAnon:")).findFirst()
                        .map(l -> Long.parseLong(l.replaceAll("\\D+", "")) * 1024).orElse(-1L);
            } catch (IOException e) {
                throw new InvalidConfigException("bench-pipeline measures memory from /proc/self/status, which is "
                        + "not readable here: " + e.getMessage());
            }
        }
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) return;
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove " + dir, e);
        }
    }
}
