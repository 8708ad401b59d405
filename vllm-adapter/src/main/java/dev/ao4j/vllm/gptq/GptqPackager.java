package dev.ao4j.vllm.gptq;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.pipeline.ModuleSelector;
import dev.ao4j.quant.pipeline.QuantListener;
import dev.ao4j.quant.pipeline.QuantReport;
import dev.ao4j.quant.pipeline.Quantizer;
import dev.ao4j.quant.pipeline.Recipe;
import dev.ao4j.safetensors.ShardedCheckpoint;
import dev.ao4j.transformers.ModelConfig;
import java.nio.file.Path;

/**
 * One call from a Hugging Face model directory to a GPTQ package: every Linear weight (not the embeddings, not
 * lm_head, not {@code modulesToNotConvert}) round-to-nearest quantized with GPTQ's symmetric quantizer
 * ({@link GptqRtn}), streamed tensor by tensor through {@link Quantizer} into a {@link GptqPackageWriter}.
 */
public final class GptqPackager {
    private GptqPackager() {}

    public static QuantReport write(Path modelDir, Path out, GptqOptions options) {
        return write(modelDir, out, options, QuantListener.NONE);
    }

    /**
     * @throws InvalidConfigException when the source is already quantized
     */
    public static QuantReport write(Path modelDir, Path out, GptqOptions options, QuantListener listener) {
        ModelConfig config = IntWeightSink.sourceConfig(modelDir, "GPTQ");
        try (ShardedCheckpoint source = ShardedCheckpoint.open(modelDir);
             GptqPackageWriter sink = GptqPackageWriter.create(modelDir, config, out, options)) {
            return Quantizer.quantize(source, recipe(options), sink, listener);
        }
    }

    /**
     * The pipeline recipe: no torchao config (GPTQ is not a torchao format), transformers' Linear selection, GPTQ's
     * RTN quantizer, stored dtypes kept.
     */
    public static Recipe recipe(GptqOptions options) {
        int bits = options.bits();
        int group = options.groupSize();
        return new Recipe(recipeName(options), null, new ModuleSelector(options.modulesToNotConvert(), false),
                new IntWeightQuantizer(bits, group, w -> GptqRtn.quantize(w, bits, group)), options.measureError(),
                null);
    }

    /** E.g. {@code gptq-w4-g128-rtn}, {@code gptq_v2-w8-gchannel-rtn}. */
    public static String recipeName(GptqOptions options) {
        return options.format().jsonName() + "-w" + options.bits() + "-g"
                + (options.groupSize() == -1 ? "channel" : String.valueOf(options.groupSize())) + "-rtn";
    }
}
