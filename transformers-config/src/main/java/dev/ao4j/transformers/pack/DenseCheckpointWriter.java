package dev.ao4j.transformers.pack;

import dev.ao4j.quant.sparsity.SparsifyReport;
import dev.ao4j.quant.tensor.Tensor;
import java.nio.file.Path;
import java.util.Map;

/**
 * Writes a plain (unquantized) Hugging Face checkpoint: every tensor under its own name in its own dtype, the
 * source's {@code config.json} copied unchanged, the tokenizer/generation files carried over, plus
 * {@code ao4j_report.json}. Used for model transforms whose result is still an ordinary dense model, such as 2:4
 * pruning (zeros where pruned), so every engine loads it and {@code ao4j quantize} can take it as input. Shards,
 * the partial directory and the atomic publish are {@link PackageOutput}'s.
 */
public final class DenseCheckpointWriter implements AutoCloseable {
    private final PackageOutput output;
    private final Map<String, String> fileMetadata;

    private DenseCheckpointWriter(PackageOutput output, Map<String, String> fileMetadata) {
        this.output = output;
        this.fileMetadata = Map.copyOf(fileMetadata);
    }

    /**
     * @param sourceDir     the model directory whose config.json, tokenizer and generation files are carried over
     * @param out           the checkpoint directory to create
     * @param maxShardBytes tensor bytes per safetensors shard
     * @param replace       whether an existing {@code out} may be replaced (only once the new one is complete)
     * @param fileMetadata  every shard's {@code __metadata__} (the source's, so loaders see what they saw before)
     */
    public static DenseCheckpointWriter create(Path sourceDir, Path out, long maxShardBytes, boolean replace,
                                               Map<String, String> fileMetadata) {
        return new DenseCheckpointWriter(PackageOutput.create(sourceDir, out, maxShardBytes, replace), fileMetadata);
    }

    /** Streams {@code tensor} into the shards as {@code name} (a view of the source is fine: it is copied). */
    public void write(String name, Tensor tensor) {
        output.add(name, tensor, name, "the dense checkpoint");
    }

    /** Finishes the shards, copies config.json and the auxiliary files, writes the report and publishes. */
    public void commit(SparsifyReport report) {
        output.commitWithSourceConfig(fileMetadata, SparsifyReportJson.toJson(report));
    }

    /** The published checkpoint directory. */
    public Path out() {
        return output.out();
    }

    @Override
    public void close() {
        output.close();
    }
}
