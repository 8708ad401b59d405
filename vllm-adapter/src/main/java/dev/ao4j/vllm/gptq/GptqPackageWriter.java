package dev.ao4j.vllm.gptq;

import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.transformers.ModelConfig;
import dev.ao4j.transformers.pack.PackageOutput;
import java.lang.foreign.Arena;
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
public final class GptqPackageWriter extends IntWeightSink {
    private static final Pattern IN_DECODER_LAYER = Pattern.compile("(^|\\.)layers\\.\\d+\\.");

    private GptqPackageWriter(PackageOutput output, ModelConfig config, GptqOptions options) {
        super(output, config, "GPTQ", options.bits(), options.groupSize(),
                (module, linear, arena) -> layout(module, linear, options.bits(), options.format(),
                        options.kernel() == Kernel.REFERENCE ? null : arena),
                kept -> GptqQuantizationConfig.rtn(options.bits(), options.groupSize(), options.format(),
                        skipPatterns(kept)).toJson(),
                options.check());
    }

    /**
     * @param sourceDir the model directory whose tokenizer and generation files are carried over
     * @param config    the source model's config.json
     * @param out       the package directory to create ({@code out.partial} until commit)
     */
    public static GptqPackageWriter create(Path sourceDir, ModelConfig config, Path out, GptqOptions options) {
        return new GptqPackageWriter(PackageOutput.create(sourceDir, out, options.maxShardBytes(), options.replace()),
                config, options);
    }

    /** @param arena null: the reference packers; else the bulk ones, allocating there */
    private static Map<String, Tensor> layout(String module, IntWeightLinear linear, int bits,
                                              GptqCheckpointFormat format, Arena arena) {
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put(module + ".qweight", arena == null ? GptqPacking.packQweight(linear.codes(), bits)
                : GptqPacking.packQweight(linear.codes(), bits, arena));
        t.put(module + ".qzeros", GptqPacking.packQzeros(linear.zeros(), bits, format.zeroOffset()));
        t.put(module + ".scales", arena == null ? GptqPacking.transpose(linear.scales())
                : GptqPacking.transpose(linear.scales(), arena));
        t.put(module + ".g_idx", linear.groupIndex());
        return t;
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
