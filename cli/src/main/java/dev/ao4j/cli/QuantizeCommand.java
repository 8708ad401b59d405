package dev.ao4j.cli;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.config.QuantConfig;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.pipeline.Backend;
import dev.ao4j.quant.pipeline.ModelSink;
import dev.ao4j.quant.pipeline.ModuleSelector;
import dev.ao4j.quant.pipeline.QuantReport;
import dev.ao4j.quant.pipeline.Quantizer;
import dev.ao4j.quant.pipeline.Recipe;
import dev.ao4j.quant.pipeline.Recipes;
import dev.ao4j.quant.pipeline.TensorResult;
import dev.ao4j.quant.pipeline.WeightQuantizer;
import dev.ao4j.quant.pipeline.WeightQuantizers;
import dev.ao4j.quant.sparsity.Sparse24Quantizer;
import dev.ao4j.quant.sparsity.TopkTies;
import dev.ao4j.quant.pipeline.QuantListener;
import dev.ao4j.safetensors.ShardedCheckpoint;
import dev.ao4j.vllm.validate.Engine;
import dev.ao4j.vllm.validate.GpuArch;
import dev.ao4j.vllm.validate.Target;
import dev.ao4j.transformers.ModelConfig;
import dev.ao4j.transformers.pack.Fp8PackageWriter;
import dev.ao4j.transformers.pack.PackageCheck;
import dev.ao4j.transformers.pack.TorchAoPackageWriter;
import dev.ao4j.transformers.torchao.TorchAoQuantizationConfig;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "quantize", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Quantize a Hugging Face model with TorchAO-exact numerics into a package that transformers "
                + "+ torchao load.", ""},
        footer = {"", "Examples:",
                "  ao4j quantize --recipe int4wo-128 --out out/tiny-int4      (the bundled default model)",
                "  ao4j quantize ~/models/Llama-3.2-1B --recipe fp8dq-row --out Llama-3.2-1B-fp8",
                "  ao4j quantize MODEL --recipe 8da4w-32 --modules-to-not-convert mlp.down_proj --out DIR",
                "  ao4j quantize MODEL --recipe fp8-block128 --format fp8 --out DIR   (DeepSeek-style, no torchao)",
                "  ao4j quantize MODEL-sparse24 --recipe int4wo-128 --out DIR   (after ao4j sparsify: 2:4 + int4)",
                "  ao4j quantize MODEL --recipe sparse24+int4wo-128 --out DIR   (the same in one pass)",
                "  ao4j quantize MODEL --target vllm --scheme w4a16 --tp 2 --out DIR   (compressed-tensors, Marlin)",
                "  ao4j quantize MODEL --target sglang --format fp8 --scheme fp8-block --out DIR",
                "  ao4j quantize MODEL --target vllm --format gptq --group-size 64 --gpu sm80 --out DIR"})
final class QuantizeCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", arity = "0..1", paramLabel = "MODEL",
            description = "Model directory (config.json + model.safetensors or a sharded index), or a Hugging Face Hub "
                    + "repository id (org/name), fetched into the shared Hugging Face cache. "
                    + "Default: the bundled " + ModelDirs.DEFAULT_MODEL + ".")
    Path model;

    @Option(names = "--revision", paramLabel = "REV", defaultValue = "main",
            description = "Branch, tag or commit of a Hub MODEL (default: ${DEFAULT-VALUE}).")
    String revision;

    @Option(names = "--push", paramLabel = "REPO",
            description = "Upload the finished package to this Hub repository (created if missing), with a model card "
                    + "naming a Hub MODEL as its base model.")
    String push;

    @Option(names = "--recipe", paramLabel = "RECIPE",
            description = "For --target transformers (required there): int4wo-<g>, int4wo-<g>-plain, int8wo, int8dq, "
                    + "8da4w-<g>, fp8wo, fp8dq-row, fp8dq-tensor, fp8-block128, mxfp8, mxfp4, nvfp4, sparse24+<recipe>")
    String recipe;

    @Option(names = "--target", paramLabel = "transformers|vllm|sglang", defaultValue = "transformers",
            description = "Who loads the package: transformers (torchao or fp8 format, --recipe), or the vLLM / SGLang "
                    + "serving engines (--format/--scheme; the package is validated for the engine, --tp and --gpu, "
                    + "before it is published, and carries serve.sh). Default: ${DEFAULT-VALUE}.")
    String target;

    @Option(names = "--format", paramLabel = "FORMAT",
            description = "transformers: torchao (default; every recipe) or fp8 (transformers' FineGrainedFP8 loader: "
                    + "recipe fp8-block128 as quant_method fp8, recipe mxfp8 as quant_method mxfp8). "
                    + "vllm/sglang: compressed-tensors (default), gptq, awq or fp8.")
    String format;

    @Option(names = "--scheme", paramLabel = "SCHEME",
            description = "vllm/sglang: w4a16 (default), w8a16, w8a8, fp8, fp8-dynamic, fp8-block, nvfp4a16, mxfp4a16 "
                    + "(compressed-tensors); w4a16|w8a16 (gptq); w4a16 (awq); fp8-block (fp8).")
    String scheme;

    @Option(names = "--group-size", paramLabel = "G",
            description = "vllm/sglang integer weight-only schemes: 32, 64, 128 (default) or -1 (one scale per row).")
    Integer groupSize;

    @Option(names = "--asym", description = "vllm/sglang integer weight-only schemes: asymmetric weights (a zero "
            + "point per group; compressed-tensors W4A16/W8A16 on vLLM only). AWQ is always asymmetric.")
    boolean asym;

    @Option(names = "--tp", paramLabel = "N", defaultValue = "1",
            description = "vllm/sglang: tensor-parallel size the package must load with (default: ${DEFAULT-VALUE}).")
    int tensorParallel;

    @Option(names = "--gpu", paramLabel = "SM", defaultValue = "sm90",
            description = "vllm/sglang: GPU generation to load on: sm80, sm89, sm90, sm100 (default: ${DEFAULT-VALUE}).")
    String gpu;

    @Option(names = "--out", paramLabel = "DIR", description = "Output package directory. Default: <model>-<recipe>.")
    Path out;

    @Option(names = "--force", description = "Replace the output directory if it exists (once the new one is complete).")
    boolean force;

    @Option(names = "--modules-to-not-convert", paramLabel = "MODULE", split = ",",
            description = "Modules to keep in high precision: a name, a dotted suffix, or re:REGEX. Repeatable.")
    List<String> modulesToNotConvert = new ArrayList<>();

    @Option(names = "--division", paramLabel = "cuda|cpu", defaultValue = "cuda",
            description = "Which device's scalar-division rounding to reproduce (default: ${DEFAULT-VALUE}).")
    String division;

    @Option(names = "--device", paramLabel = "auto|cpu|cuda", defaultValue = "auto",
            description = "Where weights are quantized: cuda (GPU kernels, same bits), cpu, or auto (the GPU when a "
                    + "CUDA driver and device are there; default: ${DEFAULT-VALUE}). Falls back to the CPU with one "
                    + "log line saying why.")
    String device;

    @Option(names = "--kernel", paramLabel = "vector|reference", defaultValue = "vector",
            description = "CPU kernels: Vector API or the plain reference loops (bit-identical; default: ${DEFAULT-VALUE}).")
    String kernel;

    @Option(names = "--max-shard-size", paramLabel = "SIZE", defaultValue = "5GB",
            description = "Largest safetensors shard, e.g. 5GB, 500MB (default: ${DEFAULT-VALUE}).")
    String maxShardSize;

    @Option(names = "--dtype", paramLabel = "auto|bfloat16|float16|float32", defaultValue = "auto",
            description = "Cast floating-point weights to this dtype first, like transformers' from_pretrained(dtype=...);"
                    + " auto keeps the stored dtypes (default: ${DEFAULT-VALUE}).")
    String dtype;

    @Option(names = "--no-error-report", description = "Skip the per-layer SQNR measurement (faster).")
    boolean noErrorReport;

    @Option(names = "--quiet", description = "No progress on stderr.")
    boolean quiet;

    @Override
    public Integer call() {
        Path modelDir = ModelDirs.orDownload(model, revision, spec);
        ModelConfig config = ModelDirs.unquantizedConfig(modelDir, "");
        String targetName = target.toLowerCase(Locale.ROOT);
        if (!targetName.equals("transformers")) {
            Engine engine = Engine.parse(targetName);
            return pushIfAsked(serving(modelDir, engine, outDir(modelDir,
                    (format == null ? "compressed-tensors" : format) + (scheme == null ? "" : "-" + scheme))));
        }
        if (recipe == null) {
            throw new InvalidConfigException("--recipe is required for --target transformers; known recipes: "
                    + String.join(", ", Recipes.NAMES));
        }
        refuseServingOption("--scheme", scheme != null);
        refuseServingOption("--group-size", groupSize != null);
        refuseServingOption("--asym", asym);
        QuantConfig quantConfig = Recipes.config(recipe);
        Fp8PackageWriter.Layout fp8Layout = fp8Layout(recipe);
        WeightQuantizer quantizer = WeightQuantizers.forConfig(quantConfig, ModelDirs.divMode(division), kernelChoice(),
                Backend.parse(device));
        if (Recipes.isSparse24(recipe)) {
            quantizer = new Sparse24Quantizer(quantizer, TopkTies.of(ModelDirs.divMode(division)));
        }
        Recipe r = new Recipe(recipe, quantConfig, new ModuleSelector(modulesToNotConvert, false), quantizer,
                !noErrorReport, computeDtype());
        if (r.computeDtype() != null) config = config.withDtype(r.computeDtype());
        TorchAoQuantizationConfig hfConfig = fp8Layout != null ? null : TorchAoQuantizationConfig.of(quantConfig)
                .withModulesToNotConvert(modulesToNotConvert.isEmpty() ? null : List.copyOf(modulesToNotConvert))
                .withBareEnumFields(Recipes.bareEnumFields(quantConfig));
        Path outDir = outDir(modelDir, recipe);
        long shardBytes = Sizes.parse(maxShardSize, "--max-shard-size");
        PrintWriter err = spec.commandLine().getErr();
        QuantReport report;
        try (ShardedCheckpoint source = ShardedCheckpoint.open(modelDir);
             ModelSink sink = fp8Layout != null ? Fp8PackageWriter.create(modelDir, config, outDir, shardBytes, force,
                     fp8Layout, PackageCheck.NONE)
                     : TorchAoPackageWriter.create(modelDir, config, hfConfig, outDir, shardBytes, force)) {
            // the sink writes tensor i while tensor i+1 is quantized (CPU or GPU): same bytes, two tensors in flight
            report = Quantizer.quantize(source, r, sink, quiet ? QuantListener.NONE
                    : new ProgressListener(err, System.console() != null), Quantizer.Overlap.WRITE_BEHIND);
        }
        printSummary(spec.commandLine().getOut(), report, outDir);
        return pushIfAsked(outDir);
    }

    /** {@code --out}, or {@code <model name>-<label>} in the working directory. */
    private Path outDir(Path modelDir, String label) {
        if (out != null) return out;
        String repo = ModelDirs.repoIdOf(model);
        String name = repo != null ? repo.substring(repo.indexOf('/') + 1)
                : modelDir.toAbsolutePath().normalize().getFileName().toString();
        return Path.of(name + "-" + label);
    }

    /** {@code --push REPO}: the published package goes to the Hub, its card naming a Hub MODEL as the base. */
    private int pushIfAsked(Path outDir) {
        if (push == null) return 0;
        try (var client = Ao4j.hubClient(spec)) {
            PushCommand.push(client, outDir, push, new PushCommand.Settings(ModelDirs.repoIdOf(model), false, false,
                    null, "main", 5), spec.commandLine().getOut(), spec.commandLine().getErr());
        }
        return 0;
    }

    private static void refuseServingOption(String option, boolean given) {
        if (given) {
            throw new InvalidConfigException(option + " applies to --target vllm|sglang; for transformers the recipe "
                    + "sets the scheme (e.g. --recipe int4wo-64)");
        }
    }

    /** {@code --target vllm|sglang}: the serving package, validated for the engine, with its serve.sh. */
    private Path serving(Path modelDir, Engine engine, Path outDir) {
        if (recipe != null) {
            throw new InvalidConfigException("--recipe applies to --target transformers; for " + engine.displayName()
                    + " choose --format " + String.join("|", ServingPackaging.FORMATS) + " and --scheme");
        }
        Target t = new Target(engine, tensorParallel, GpuArch.parse(gpu));
        PrintWriter err = spec.commandLine().getErr();
        ServingPackaging.Result result = ServingPackaging.write(modelDir, outDir, new ServingPackaging.Request(t,
                format, scheme, groupSize, asym, List.copyOf(modulesToNotConvert), ModelDirs.divMode(division),
                Sizes.parse(maxShardSize, "--max-shard-size"), force, !noErrorReport,
                quiet ? QuantListener.NONE : new ProgressListener(err, System.console() != null)));
        PrintWriter o = spec.commandLine().getOut();
        printSummary(o, result.report(), outDir);
        o.printf(Locale.ROOT, "%s, validated for %s%n", result.description(), t);
        o.printf(Locale.ROOT, "serve: %s   (or %s/serve.sh)%n", result.launch().shellLine(), outDir);
        return outDir;
    }

    /**
     * The FineGrainedFP8 layout {@code --format fp8} asks for (null for the torchao format); each format refuses the
     * recipes the other one must carry.
     */
    private Fp8PackageWriter.Layout fp8Layout(String recipe) {
        String inner = Recipes.isSparse24(recipe) ? Recipes.withoutSparse24(recipe) : recipe;
        boolean blockwise = Recipes.FP8_BLOCK128.equals(inner);
        return switch (format == null ? "torchao" : format.toLowerCase(Locale.ROOT)) {
            case "torchao" -> {
                if (blockwise) {
                    // torchao's safetensors loader rebuilds only allow-listed classes, and PerBlock (the activation
                    // granularity stored in every weight's act_quant_kwargs) is not one: the load would fail
                    throw new InvalidConfigException("recipe " + recipe + " cannot be written with --format torchao: "
                            + "torchao's safetensors loader cannot rebuild its PerBlock activation granularity, so "
                            + "transformers could not load the package; use --recipe " + recipe + " --format fp8");
                }
                yield null;
            }
            case "fp8" -> {
                if (blockwise) yield Fp8PackageWriter.Layout.BLOCK_128X128;
                if (inner.equals("mxfp8")) yield Fp8PackageWriter.Layout.MXFP8;
                throw new InvalidConfigException("--format fp8 (transformers' FineGrainedFP8 loader) stores recipe "
                        + Recipes.FP8_BLOCK128 + " (quant_method fp8, 128x128 blocks) or mxfp8 (quant_method mxfp8, "
                        + "E8M0 scales per 32) but the recipe is '" + recipe + "'; use --format torchao for " + recipe);
            }
            default -> throw new InvalidConfigException("--format must be torchao or fp8 but was '" + format + "'");
        };
    }

    private DType computeDtype() {
        return switch (dtype.toLowerCase(Locale.ROOT)) {
            case "auto" -> null;
            case "bfloat16", "bf16" -> DType.BF16;
            case "float16", "fp16", "half" -> DType.F16;
            case "float32", "fp32", "float" -> DType.F32;
            default -> throw new InvalidConfigException("--dtype must be auto, bfloat16, float16 or float32 but was '"
                    + dtype + "'");
        };
    }

    private Kernel kernelChoice() {
        return switch (kernel.toLowerCase(Locale.ROOT)) {
            case "vector" -> Kernel.VECTOR;
            case "reference" -> Kernel.REFERENCE;
            default -> throw new InvalidConfigException("--kernel must be vector or reference but was '" + kernel + "'");
        };
    }

    static void printSummary(PrintWriter out, QuantReport r, Path outDir) {
        double seconds = r.nanos() / 1e9;
        out.printf(Locale.ROOT, "wrote %s%n", outDir.toAbsolutePath().normalize());
        out.printf(Locale.ROOT, "recipe %s: %d of %d tensors quantized, %s -> %s in %.2f s (%.3f GB/s of input)%n",
                r.recipe(), r.quantizedCount(), r.tensors().size(), Sizes.human(r.inputBytes()),
                Sizes.human(r.outputBytes()), seconds, r.inputBytes() / 1e9 / Math.max(seconds, 1e-9));
        double min = Double.POSITIVE_INFINITY, sum = 0;
        int n = 0;
        String worst = null;
        for (TensorResult t : r.tensors()) {
            if (t.quantized() && !Double.isNaN(t.sqnrDb())) {
                if (t.sqnrDb() < min) {
                    min = t.sqnrDb();
                    worst = t.name();
                }
                sum += t.sqnrDb();
                n++;
            }
        }
        if (n > 0) {
            out.printf(Locale.ROOT, "weight SQNR: mean %.2f dB, min %.2f dB (%s)%n", sum / n, min, worst);
        }
        long kept = r.tensors().stream().filter(t -> !t.quantized() && t.shape().rank() == 2).count();
        if (kept > 0) {
            out.println("kept in high precision:");
            for (TensorResult t : r.tensors()) {
                if (!t.quantized() && t.shape().rank() == 2) out.printf("  %s: %s%n", t.name(), t.skipReason());
            }
        }
        out.println("per-tensor details: " + outDir.toAbsolutePath().normalize().resolve(TorchAoPackageWriter.REPORT_FILE));
    }
}
