package dev.ao4j.transformers.pack;

import dev.ao4j.quant.pipeline.ModelSink;
import dev.ao4j.quant.pipeline.QuantReport;
import dev.ao4j.quant.qtensor.QuantizedTensor;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.transformers.ModelConfig;
import dev.ao4j.transformers.torchao.TorchAoQuantizationConfig;
import dev.ao4j.transformers.torchao.TorchAoSafetensorsLayout;
import dev.ao4j.transformers.torchao.TorchAoSafetensorsLayout.Flattened;
import dev.ao4j.transformers.torchao.TorchAoSafetensorsLayout.NamedTensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes a quantized model the way transformers' {@code save_pretrained} does for a TorchAO-quantized model:
 * torchao's flattened safetensors layout (one shard or an index) with the same {@code __metadata__} in every
 * shard, {@code config.json} with the {@code quantization_config}, and the tokenizer/generation files copied
 * unchanged — plus {@code ao4j_report.json}.
 *
 * <p>Everything goes into {@code <out>.partial/} first and is renamed to {@code <out>} only at {@link #commit}, so
 * a crash never leaves a directory that looks finished, and an existing {@code <out>} is replaced only when
 * {@code replace} is set and the new package is complete.
 */
public final class TorchAoPackageWriter implements ModelSink {
    public static final String REPORT_FILE = "ao4j_report.json";

    private final PackageOutput output;
    private final ModelConfig config;
    private final TorchAoQuantizationConfig quantizationConfig;
    /** Key and metadata per state-dict entry, without tensors: holding those would defeat streaming. */
    private final List<Flattened> entries = new ArrayList<>();

    private TorchAoPackageWriter(PackageOutput output, ModelConfig config,
                                 TorchAoQuantizationConfig quantizationConfig) {
        this.output = output;
        this.config = config;
        this.quantizationConfig = quantizationConfig;
    }

    /**
     * @param sourceDir     the model directory whose tokenizer and generation files are carried over
     * @param config        the source model's config.json
     * @param out           the package directory to create
     * @param maxShardBytes tensor bytes per safetensors shard
     * @param replace       whether an existing {@code out} may be replaced (only once the new package is complete)
     */
    public static TorchAoPackageWriter create(Path sourceDir, ModelConfig config,
                                              TorchAoQuantizationConfig quantizationConfig, Path out,
                                              long maxShardBytes, boolean replace) {
        return new TorchAoPackageWriter(PackageOutput.create(sourceDir, out, maxShardBytes, replace), config,
                quantizationConfig);
    }

    /** Each tensor's bytes go to the shard file when it is added; only names and metadata are kept. */
    @Override
    public boolean writesThrough() {
        return true;
    }

    @Override
    public void writePlain(String name, Tensor tensor) {
        add(TorchAoSafetensorsLayout.plain(name, tensor));
    }

    @Override
    public void writeQuantized(String name, QuantizedTensor tensor) {
        add(TorchAoSafetensorsLayout.flatten(name, tensor));
    }

    private void add(Flattened f) {
        for (NamedTensor t : f.tensors()) output.add(t.name(), t.tensor(), f.key(), "torchao");
        entries.add(new Flattened(f.key(), List.of(), f.metadata()));
    }

    @Override
    public void commit(QuantReport report) {
        output.commit(TorchAoSafetensorsLayout.fileMetadata(entries),
                config.withQuantizationConfig(quantizationConfig), report);
    }

    /** The published package directory. */
    public Path out() {
        return output.out();
    }

    @Override
    public void close() {
        output.close();
    }
}
