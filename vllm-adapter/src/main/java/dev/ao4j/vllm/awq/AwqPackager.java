package dev.ao4j.vllm.awq;

import dev.ao4j.quant.pipeline.QuantListener;
import dev.ao4j.quant.pipeline.QuantReport;
import dev.ao4j.quant.pipeline.Quantizer;
import dev.ao4j.quant.pipeline.Recipe;
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
        return IntWeightSink.quantize(modelDir, "AWQ", recipe(options),
                config -> AwqPackageWriter.create(modelDir, config, out, options), listener);
    }

    /**
     * The pipeline recipe: no torchao config (AWQ is not a torchao format), transformers' Linear selection, AWQ's
     * RTN quantizer, stored dtypes kept.
     */
    public static Recipe recipe(AwqOptions options) {
        int group = options.groupSize();
        return IntWeightQuantizer.recipe(recipeName(options), AwqRtn.BITS, group,
                w -> AwqRtn.quantizeIntx(w, group, options.kernel()), options.modulesToNotConvert(),
                options.measureError(), options.kernel());
    }

    /** E.g. {@code awq-w4-g128-rtn}. */
    public static String recipeName(AwqOptions options) {
        return IntWeightQuantizer.recipeName("awq", AwqRtn.BITS, options.groupSize());
    }
}
