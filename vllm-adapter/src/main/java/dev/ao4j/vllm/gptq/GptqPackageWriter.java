package dev.ao4j.vllm.gptq;

import dev.ao4j.quant.pipeline.ModelSink;
import dev.ao4j.quant.pipeline.QuantReport;
import dev.ao4j.quant.qtensor.QuantizedTensor;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.transformers.ModelConfig;
import dev.ao4j.transformers.pack.PackageOutput;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Writes a GPTQ package ({@code quant_method: "gptq"}, symmetric, {@code desc_act: false}) that vLLM loads through
 * gptq_marlin and transformers through GPTQModel: each quantized Linear {@code <m>} as {@code <m>.qweight} (I32
 * {@code [K·b/32, N]}), {@code <m>.qzeros} (I32 {@code [groups, N·b/32]}, v1 or v2 zeros), {@code <m>.scales} (F16
 * {@code [groups, N]}) and {@code <m>.g_idx} (I32 {@code [K]}, {@code k / G}); every other tensor as it comes, shards
 * with {@code {"format": "pt"}}. See {@link GptqPacking} for the bit layout and {@link GptqQuantizationConfig} for
 * config.json.
 *
 * <p>Linear modules inside the decoder layers that stay in high precision are listed as GPTQModel {@code dynamic}
 * skips (vLLM would also infer them from the dtypes; transformers' loader converts every Linear of a block otherwise).
 */
public final class GptqPackageWriter implements ModelSink {
    private static final Pattern IN_DECODER_LAYER = Pattern.compile("(^|\\.)layers\\.\\d+\\.");

    private final IntWeightSink sink;

    private GptqPackageWriter(IntWeightSink sink) {
        this.sink = sink;
    }

    /**
     * @param sourceDir the model directory whose tokenizer and generation files are carried over
     * @param config    the source model's config.json
     * @param out       the package directory to create ({@code out.partial} until commit)
     */
    public static GptqPackageWriter create(Path sourceDir, ModelConfig config, Path out, GptqOptions options) {
        PackageOutput output = PackageOutput.create(sourceDir, out, options.maxShardBytes(), options.replace());
        int bits = options.bits();
        GptqCheckpointFormat format = options.format();
        IntWeightSink.Layout layout = (module, linear) -> {
            Map<String, Tensor> t = new LinkedHashMap<>();
            t.put(module + ".qweight", GptqPacking.packQweight(linear.codes(), bits));
            t.put(module + ".qzeros", GptqPacking.packQzeros(linear.zeros(), bits, format.zeroOffset()));
            t.put(module + ".scales", GptqPacking.transpose(linear.scales()));
            t.put(module + ".g_idx", linear.groupIndex());
            return t;
        };
        return new GptqPackageWriter(new IntWeightSink(output, config, "GPTQ", bits, options.groupSize(), layout,
                kept -> GptqQuantizationConfig.rtn(bits, options.groupSize(), format, skipPatterns(kept)).toJson(),
                options.check()));
    }

    @Override
    public void writePlain(String name, Tensor tensor) {
        sink.writePlain(name, tensor);
    }

    @Override
    public void writeQuantized(String name, QuantizedTensor tensor) {
        sink.writeQuantized(name, tensor);
    }

    @Override
    public void commit(QuantReport report) {
        sink.commit(report);
    }

    /** The published package directory. */
    public Path out() {
        return sink.out();
    }

    @Override
    public void close() {
        sink.close();
    }

    /** Anchored Python regexes for the kept Linear modules of decoder layers. */
    static List<String> skipPatterns(List<String> keptModules) {
        List<String> p = new ArrayList<>();
        for (String m : keptModules) {
            if (IN_DECODER_LAYER.matcher(m).find()) p.add("^" + pythonEscape(m) + "$");
        }
        return p;
    }

    private static String pythonEscape(String s) {
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) {
            if (!Character.isLetterOrDigit(c) && c != '_') b.append('\\');
            b.append(c);
        }
        return b.toString();
    }
}
