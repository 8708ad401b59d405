package dev.ao4j.vllm.gptq;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.pipeline.QuantListener;
import dev.ao4j.quant.pipeline.QuantReport;
import dev.ao4j.quant.pipeline.Quantizer;
import dev.ao4j.quant.pipeline.Recipe;
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
        return IntWeightSink.quantize(modelDir, "GPTQ", recipe(options),
                config -> GptqPackageWriter.create(modelDir, config, out, options), listener);
    }

    /**
     * The pipeline recipe: no torchao config (GPTQ is not a torchao format), transformers' Linear selection, GPTQ's
     * RTN quantizer, stored dtypes kept.
     */
    public static Recipe recipe(GptqOptions options) {
        int bits = options.bits();
        int group = options.groupSize();
        return IntWeightQuantizer.recipe(recipeName(options), bits, group,
                w -> GptqRtn.quantizeIntx(w, bits, group, options.kernel()), options.modulesToNotConvert(),
                options.measureError(), options.kernel());
    }

    /** E.g. {@code gptq-w4-g128-rtn}, {@code gptq_v2-w8-gchannel-rtn}. */
    public static String recipeName(GptqOptions options) {
        return IntWeightQuantizer.recipeName(options.format().jsonName(), options.bits(), options.groupSize());
    }
}
