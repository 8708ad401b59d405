package dev.ao4j.cli;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.quant.pipeline.ModuleSelector;
import dev.ao4j.quant.sparsity.Sparsifier;
import dev.ao4j.quant.sparsity.SparsifyReport;
import dev.ao4j.quant.sparsity.TopkTies;
import dev.ao4j.safetensors.ShardedCheckpoint;
import dev.ao4j.transformers.pack.DenseCheckpointWriter;
import dev.ao4j.transformers.pack.TorchAoPackageWriter;
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

@Command(name = "sparsify", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Prune every Linear weight to 2:4 sparsity (in each group of 4 along K, the 2 of smallest "
                + "magnitude become 0; torchao's magnitude mask) and write a plain dense Hugging Face checkpoint: "
                + "same tensors, dtypes and config.json, zeros where pruned. Any engine loads it, and "
                + "'ao4j quantize' quantizes it: sparsify first, then quantize (e.g. sparse24 then int4wo-128).", ""},
        footer = {"", "Examples:",
                "  ao4j sparsify MODEL --out MODEL-sparse24",
                "  ao4j quantize MODEL-sparse24 --recipe int4wo-128 --out MODEL-sparse24-int4"})
final class SparsifyCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", arity = "0..1", paramLabel = "MODEL_DIR",
            description = "Model directory (config.json + model.safetensors or a sharded index). "
                    + "Default: the bundled " + ModelDirs.DEFAULT_MODEL + ".")
    Path model;

    @Option(names = "--out", paramLabel = "DIR", description = "Output checkpoint directory. Default: <model>-sparse24.")
    Path out;

    @Option(names = "--format", paramLabel = "dense", defaultValue = "dense",
            description = "dense: the pruned weights as ordinary tensors with zeros (default). CUTLASS-compressed "
                    + "2:4 is refused: no engine ao4j targets loads such a checkpoint.")
    String format;

    @Option(names = "--force", description = "Replace the output directory if it exists (once the new one is complete).")
    boolean force;

    @Option(names = "--modules-to-not-convert", paramLabel = "MODULE", split = ",",
            description = "Modules to leave dense: a name, a dotted suffix, or re:REGEX. Repeatable.")
    List<String> modulesToNotConvert = new ArrayList<>();

    @Option(names = "--division", paramLabel = "cuda|cpu", defaultValue = "cuda",
            description = "Whose tie rule picks among equal magnitudes: CUDA's topk or the CPU's "
                    + "(default: ${DEFAULT-VALUE}).")
    String division;

    @Option(names = "--max-shard-size", paramLabel = "SIZE", defaultValue = "5GB",
            description = "Largest safetensors shard, e.g. 5GB, 500MB (default: ${DEFAULT-VALUE}).")
    String maxShardSize;

    @Override
    public Integer call() {
        checkFormat();
        TopkTies ties = TopkTies.of(ModelDirs.divMode(division));
        long shardBytes = Sizes.parse(maxShardSize, "--max-shard-size");
        Path modelDir = ModelDirs.orDefault(model);
        // pruning rewrites dense weights; quantized codes would be pruned as if they were values
        ModelDirs.unquantizedConfig(modelDir, "; sparsify the unquantized model, then quantize it");
        Path outDir = out != null ? out : Path.of(modelDir.toAbsolutePath().normalize().getFileName() + "-"
                + SparsifyReport.TRANSFORM);
        ModuleSelector selector = new ModuleSelector(modulesToNotConvert, false);
        SparsifyReport report;
        try (ShardedCheckpoint source = ShardedCheckpoint.open(modelDir);
             DenseCheckpointWriter sink = DenseCheckpointWriter.create(modelDir, outDir, shardBytes, force,
                     source.metadata())) {
            report = Sparsifier.sparsify24(source, selector, ties, sink::write);
            sink.commit(report);
        }
        printSummary(spec.commandLine().getOut(), report, outDir);
        return 0;
    }

    /** Only the dense form is written; the compressed one is refused before anything is read or created. */
    private void checkFormat() {
        switch (format.toLowerCase(Locale.ROOT)) {
            case "dense" -> { }
            case "compressed", "cutlass" -> throw new UnsupportedFormatException("--format " + format + ": no engine "
                    + "ao4j targets loads a CUTLASS-compressed 2:4 checkpoint today (torchao 0.18's "
                    + "SemiSparseWeightConfig tensors cannot be serialized, torchao's development head removed "
                    + "torchao.sparsity, and vLLM's 2:4 path reads compressed-tensors 'sparse-24-bitmask', which ao4j "
                    + "does not write yet), so nothing was written; use --format dense (zeros in ordinary tensors, "
                    + "loads everywhere), or the Java API Sparse24.compress/decompress for the compressed form");
            default -> throw new InvalidConfigException("--format must be dense (or compressed, which is refused) "
                    + "but was '" + format + "'");
        }
    }

    static void printSummary(PrintWriter out, SparsifyReport r, Path outDir) {
        double seconds = r.nanos() / 1e9;
        out.printf(Locale.ROOT, "wrote %s%n", outDir.toAbsolutePath().normalize());
        out.printf(Locale.ROOT, "%s (%s ties): %d of %d tensors pruned to 2:4, %s in %.2f s%n",
                SparsifyReport.TRANSFORM, r.ties() == TopkTies.CUDA_LOWEST_INDEX ? "cuda" : "cpu", r.prunedCount(),
                r.tensors().size(), Sizes.human(r.bytes()), seconds);
        double min = Double.POSITIVE_INFINITY, sqnrSum = 0, sparsitySum = 0;
        int n = 0;
        String worst = null;
        for (SparsifyReport.Entry t : r.tensors()) {
            if (!t.pruned()) continue;
            sparsitySum += t.sparsity();
            if (!Double.isNaN(t.sqnrDb())) {
                if (t.sqnrDb() < min) {
                    min = t.sqnrDb();
                    worst = t.name();
                }
                sqnrSum += t.sqnrDb();
            }
            n++;
        }
        if (n > 0) {
            out.printf(Locale.ROOT, "sparsity: mean %.4f; weight SQNR: mean %.2f dB, min %.2f dB (%s)%n",
                    sparsitySum / n, sqnrSum / n, min, worst);
        }
        long kept = r.tensors().stream().filter(t -> !t.pruned() && t.shape().rank() == 2).count();
        if (kept > 0) {
            out.println("left dense:");
            for (SparsifyReport.Entry t : r.tensors()) {
                if (!t.pruned() && t.shape().rank() == 2) out.printf("  %s: %s%n", t.name(), t.skipReason());
            }
        }
        out.println("per-tensor details: "
                + outDir.toAbsolutePath().normalize().resolve(TorchAoPackageWriter.REPORT_FILE));
        out.println("to quantize it: ao4j quantize " + outDir + " --recipe RECIPE");
    }
}
