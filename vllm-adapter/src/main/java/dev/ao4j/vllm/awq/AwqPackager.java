package dev.ao4j.vllm.awq;

import dev.ao4j.quant.pipeline.ModuleSelector;
import dev.ao4j.quant.pipeline.QuantListener;
import dev.ao4j.quant.pipeline.QuantReport;
import dev.ao4j.quant.pipeline.Quantizer;
import dev.ao4j.quant.pipeline.Recipe;
import dev.ao4j.safetensors.ShardedCheckpoint;
import dev.ao4j.transformers.ModelConfig;
import dev.ao4j.vllm.gptq.IntWeightQuantizer;
import dev.ao4j.vllm.gptq.IntWeightSink;
import java.nio.file.Path;

/**
 * One call from a Hugging Face model directory to an AWQ package: every Linear weight (not the embeddings, not
 * lm_head, not {@code modulesToNotConvert}) round-to-nearest quantized with AWQ's asymmetric quantizer
 * ({@link AwqRtn}), streamed tensor by tensor through {@link Quantizer} into an {@link AwqPackageWriter}.
 */
public final class AwqPackager {
    private AwqPackager() {}

    public static QuantReport write(Path modelDir, Path out, AwqOptions options) {
        return write(modelDir, out, options, QuantListener.NONE);
    }

    /**
     * @throws dev.ao4j.quant.InvalidConfigException when the source is already quantized
     */
    public static QuantReport write(Path modelDir, Path out, AwqOptions options, QuantListener listener) {
        ModelConfig config = IntWeightSink.sourceConfig(modelDir, "AWQ");
        try (ShardedCheckpoint source = ShardedCheckpoint.open(modelDir);
             AwqPackageWriter sink = AwqPackageWriter.create(modelDir, config, out, options)) {
            return Quantizer.quantize(source, recipe(options), sink, listener);
        }
    }

    /**
     * The pipeline recipe: no torchao config (AWQ is not a torchao format), transformers' Linear selection, AWQ's
     * RTN quantizer, stored dtypes kept.
     */
    public static Recipe recipe(AwqOptions options) {
        int group = options.groupSize();
        return new Recipe(recipeName(options), null, new ModuleSelector(options.modulesToNotConvert(), false),
                new IntWeightQuantizer(AwqRtn.BITS, group, w -> AwqRtn.quantize(w, group)), options.measureError(),
                null);
    }

    /** E.g. {@code awq-w4-g128-rtn}. */
    public static String recipeName(AwqOptions options) {
        return "awq-w4-g" + (options.groupSize() == -1 ? "channel" : String.valueOf(options.groupSize())) + "-rtn";
    }
}
