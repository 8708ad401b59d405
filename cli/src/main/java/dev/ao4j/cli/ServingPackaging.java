package dev.ao4j.cli;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.pipeline.FusedGroups;
import dev.ao4j.quant.pipeline.ModuleSelector;
import dev.ao4j.quant.pipeline.QuantListener;
import dev.ao4j.quant.pipeline.QuantReport;
import dev.ao4j.quant.pipeline.Quantizer;
import dev.ao4j.quant.pipeline.Recipe;
import dev.ao4j.quant.pipeline.Recipes;
import dev.ao4j.quant.pipeline.WeightQuantizers;
import dev.ao4j.safetensors.ShardedCheckpoint;
import dev.ao4j.sglang.SglangLaunch;
import dev.ao4j.sglang.SglangSupport;
import dev.ao4j.transformers.ModelConfig;
import dev.ao4j.transformers.pack.Fp8PackageWriter;
import dev.ao4j.transformers.pack.PackageCheck;
import dev.ao4j.vllm.awq.AwqOptions;
import dev.ao4j.vllm.awq.AwqPackager;
import dev.ao4j.vllm.compressed.CompressedTensorsPackager;
import dev.ao4j.vllm.compressed.CompressedTensorsScheme;
import dev.ao4j.vllm.gptq.GptqCheckpointFormat;
import dev.ao4j.vllm.gptq.GptqOptions;
import dev.ao4j.vllm.gptq.GptqPackager;
import dev.ao4j.vllm.serve.LaunchCommand;
import dev.ao4j.vllm.serve.ServeScript;
import dev.ao4j.vllm.serve.VllmLaunch;
import dev.ao4j.vllm.validate.Engine;
import dev.ao4j.vllm.validate.PackageValidator;
import dev.ao4j.vllm.validate.Target;
import dev.ao4j.vllm.validate.ValidationReport;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * {@code ao4j quantize --target vllm|sglang}: the package format and scheme the user asked for, written by its
 * adapter, checked by the validator for the target engine before it is published (a package the engine would
 * reject is never written), with a {@code serve.sh} holding the exact launch command of every engine that loads it.
 */
final class ServingPackaging {
    /** The formats a serving target takes, as {@code --format} spells them. */
    static final List<String> FORMATS = List.of("compressed-tensors", "gptq", "awq", "fp8");

    /**
     * @param format    one of {@link #FORMATS}
     * @param scheme    compressed-tensors scheme name ({@link CompressedTensorsScheme#parse}); for gptq w4a16 or
     *                  w8a16, for awq w4a16, for fp8 fp8-block; null for the format's default
     * @param groupSize overrides the scheme's group size (integer weight-only schemes), or null
     * @param asym      asymmetric integer weights (a zero point per group)
     */
    record Request(Target target, String format, String scheme, Integer groupSize, boolean asym,
                   List<String> modulesToNotConvert, DivMode divMode, long maxShardBytes, boolean replace,
                   boolean measureError, QuantListener listener) {}

    /** What was written and how to serve it. */
    record Result(QuantReport report, String description, LaunchCommand launch) {}

    private ServingPackaging() {}

    static Result write(Path modelDir, Path out, Request r) {
        String format = r.format() == null ? "compressed-tensors" : r.format().toLowerCase(Locale.ROOT);
        PackageCheck finish = PackageValidator.asCheck(r.target()).andThen(dir -> serveScript(dir, r.target())
                .writeTo(dir));
        LaunchCommand launch = r.target().engine() == Engine.VLLM
                ? VllmLaunch.forPackage(out.toString(), r.target().tensorParallel())
                : SglangLaunch.forPackage(out.toString(), r.target().tensorParallel());
        return switch (format) {
            case "compressed-tensors" -> {
                CompressedTensorsScheme scheme = compressedTensorsScheme(r);
                if (r.target().engine() == Engine.SGLANG) SglangSupport.requireLoadable(scheme);
                QuantReport report = CompressedTensorsPackager.write(modelDir, out,
                        CompressedTensorsPackager.Options.of(scheme)
                                .withSelector(new ModuleSelector(r.modulesToNotConvert(), false))
                                .withDivMode(r.divMode()).withMaxShardBytes(r.maxShardBytes())
                                .withReplace(r.replace()).withMeasureError(r.measureError()).withListener(r.listener())
                                .withCheck(finish));
                yield new Result(report, "compressed-tensors " + scheme.format() + " " + scheme.cliName(), launch);
            }
            case "gptq" -> {
                int bits = integerBits(r, "gptq");
                if (r.asym()) {
                    throw new InvalidConfigException("GPTQ packages are symmetric here: vLLM's gptq_marlin takes only "
                            + "sym=true; for asymmetric 4-bit weights use --format awq or --format "
                            + "compressed-tensors --asym");
                }
                GptqOptions options = GptqOptions.defaults().withBits(bits)
                        .withGroupSize(r.groupSize() == null ? 128 : r.groupSize())
                        .withFormat(GptqCheckpointFormat.V1).withModulesToNotConvert(r.modulesToNotConvert())
                        .withMaxShardBytes(r.maxShardBytes()).withReplace(r.replace())
                        .withMeasureError(r.measureError()).withCheck(finish);
                options = options.withModulesToNotConvert(withWholeFusedGroups(modelDir, GptqPackager.recipe(options)));
                yield new Result(GptqPackager.write(modelDir, out, options, r.listener()),
                        "GPTQ " + bits + "-bit, group " + options.groupSize() + " (round to nearest, v1 zeros)",
                        launch);
            }
            case "awq" -> {
                if (integerBits(r, "awq") != 4) {
                    throw new InvalidConfigException("AWQ packages are 4-bit (--scheme w4a16); vLLM has no 8-bit AWQ "
                            + "path. Use --format gptq or compressed-tensors for 8-bit weights");
                }
                AwqOptions options = AwqOptions.defaults().withGroupSize(r.groupSize() == null ? 128 : r.groupSize())
                        .withModulesToNotConvert(r.modulesToNotConvert()).withMaxShardBytes(r.maxShardBytes())
                        .withReplace(r.replace()).withMeasureError(r.measureError()).withCheck(finish);
                options = options.withModulesToNotConvert(withWholeFusedGroups(modelDir, AwqPackager.recipe(options)));
                yield new Result(AwqPackager.write(modelDir, out, options, r.listener()),
                        "AWQ gemm 4-bit, group " + options.groupSize() + " (asymmetric, round to nearest)", launch);
            }
            case "fp8" -> {
                if (r.scheme() != null && !r.scheme().equals("fp8-block")) {
                    throw new InvalidConfigException("--format fp8 (quant_method \"fp8\", DeepSeek-V3 style) stores "
                            + "128x128 blocks only (--scheme fp8-block) but the scheme is '" + r.scheme() + "'; use "
                            + "--format compressed-tensors --scheme " + r.scheme());
                }
                yield new Result(writeFineGrainedFp8(modelDir, out, r, finish),
                        "fp8 (FineGrainedFP8, weight_block_size [128, 128])", launch);
            }
            default -> throw new InvalidConfigException("--format for --target " + r.target().engine().wireName()
                    + " must be one of " + FORMATS + " but was '" + r.format() + "'");
        };
    }

    private static CompressedTensorsScheme compressedTensorsScheme(Request r) {
        CompressedTensorsScheme s = CompressedTensorsScheme.parse(r.scheme() == null ? "w4a16" : r.scheme());
        if (r.groupSize() == null && !r.asym()) return s;
        return new CompressedTensorsScheme(s.preset(), r.groupSize() == null ? s.groupSize() : r.groupSize(),
                s.symmetric() && !r.asym());
    }

    /** 4 or 8 from {@code --scheme w4a16|w8a16} (default w4a16) for the GPTQ/AWQ formats. */
    private static int integerBits(Request r, String format) {
        String s = r.scheme() == null ? "w4a16" : r.scheme().toLowerCase(Locale.ROOT);
        return switch (s) {
            case "w4a16" -> 4;
            case "w8a16" -> 8;
            default -> throw new InvalidConfigException("--format " + format + " takes --scheme w4a16 or w8a16 (set "
                    + "the group with --group-size) but the scheme is '" + r.scheme() + "'");
        };
    }

    /** torchao's blockwise fp8 numerics in transformers' FineGrainedFP8 layout (what vLLM and SGLang load). */
    private static QuantReport writeFineGrainedFp8(Path modelDir, Path out, Request r, PackageCheck finish) {
        ModelConfig config = ModelDirs.unquantizedConfig(modelDir, "");
        var quantConfig = Recipes.config(Recipes.FP8_BLOCK128);
        Recipe recipe = new Recipe(Recipes.FP8_BLOCK128, quantConfig,
                new ModuleSelector(r.modulesToNotConvert(), false),
                WeightQuantizers.forConfig(quantConfig, r.divMode(), Kernel.VECTOR), r.measureError(), null);
        recipe = new Recipe(recipe.name(), quantConfig, new ModuleSelector(withWholeFusedGroups(modelDir, recipe),
                false), recipe.quantizer(), recipe.measureError(), null);
        try (ShardedCheckpoint source = ShardedCheckpoint.open(modelDir);
             Fp8PackageWriter sink = Fp8PackageWriter.create(modelDir, config, out, r.maxShardBytes(), r.replace(),
                     finish)) {
            return Quantizer.quantize(source, recipe, sink, r.listener());
        }
    }

    /**
     * The recipe's modules not to convert plus the fused-group members that must stay with a kept sibling: the
     * engines fuse q/k/v and gate/up into one layer with one method, so a group is quantized whole or kept whole
     * (e.g. k/v projections too narrow for 128x128 fp8 blocks keep q_proj in high precision too).
     */
    private static List<String> withWholeFusedGroups(Path modelDir, Recipe recipe) {
        List<String> modules = new ArrayList<>(recipe.selector().modulesToNotConvert());
        try (ShardedCheckpoint source = ShardedCheckpoint.open(modelDir)) {
            modules.addAll(FusedGroups.membersToKeepWithTheirGroup(source, recipe));
        }
        return modules;
    }

    /**
     * serve.sh for the finished package: the target engine (already validated) and, when it loads the package too,
     * the other engine; otherwise the other engine's entry says why it would not.
     */
    private static ServeScript serveScript(Path dir, Target target) {
        List<LaunchCommand> commands = new ArrayList<>();
        Map<Engine, String> refused = new EnumMap<>(Engine.class);
        for (Engine engine : Engine.values()) {
            ValidationReport report = engine == target.engine() ? null
                    : PackageValidator.validate(dir, new Target(engine, target.tensorParallel(), target.gpu()));
            if (report != null && !report.loadable()) {
                refused.put(engine, report.errors().stream().map(f -> f.message()).collect(Collectors.joining("; ")));
                continue;
            }
            String modelDir = LaunchCommand.SCRIPT_MODEL_DIR;
            commands.add(engine == Engine.VLLM ? VllmLaunch.forPackage(modelDir, target.tensorParallel())
                    : SglangLaunch.forPackage(modelDir, target.tensorParallel()));
        }
        // the target engine first: it is the script's default
        commands.sort((a, b) -> Boolean.compare(b.engine() == target.engine(), a.engine() == target.engine()));
        return new ServeScript(commands, refused);
    }
}
