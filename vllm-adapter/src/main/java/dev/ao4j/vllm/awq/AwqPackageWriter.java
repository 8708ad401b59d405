package dev.ao4j.vllm.awq;

import dev.ao4j.quant.pipeline.ModuleSelector;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.transformers.ModelConfig;
import dev.ao4j.transformers.pack.PackageOutput;
import dev.ao4j.vllm.gptq.GptqPacking;
import dev.ao4j.vllm.gptq.IntWeightLinear;
import dev.ao4j.vllm.gptq.IntWeightSink;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes an AWQ package ({@code quant_method: "awq"}, 4-bit, zero points, AutoAWQ's "gemm" layout) that vLLM loads
 * through awq_marlin and transformers through GPTQModel: each quantized Linear {@code <m>} as {@code <m>.qweight}
 * (I32 {@code [K, N/8]}), {@code <m>.qzeros} (I32 {@code [groups, N/8]}) and {@code <m>.scales} (F16
 * {@code [groups, N]}), see {@link AwqPacking}; every other tensor as it comes, shards with {@code {"format": "pt"}}.
 *
 * <p>{@code modules_to_not_convert} is null (AutoAWQ's default) unless a Linear that transformers would quantize was
 * kept; then it lists every module whose 2-D weight stayed in high precision plus {@code lm_head}, since a list
 * replaces transformers' default skip.
 */
public final class AwqPackageWriter extends IntWeightSink {
    private static final String OUTPUT_EMBEDDING = "lm_head";

    private AwqPackageWriter(PackageOutput output, ModelConfig config, AwqOptions options) {
        super(output, config, "AWQ", AwqRtn.BITS, options.groupSize(),
                (module, linear, arena) -> layout(module, linear, options.kernel() == Kernel.REFERENCE ? null : arena),
                kept -> AwqQuantizationConfig.gemm(options.groupSize(), modulesToNotConvert(kept)).toJson(),
                options.check());
    }

    /**
     * @param sourceDir the model directory whose tokenizer and generation files are carried over
     * @param config    the source model's config.json
     * @param out       the package directory to create ({@code out.partial} until commit)
     */
    public static AwqPackageWriter create(Path sourceDir, ModelConfig config, Path out, AwqOptions options) {
        return new AwqPackageWriter(PackageOutput.create(sourceDir, out, options.maxShardBytes(), options.replace()),
                config, options);
    }

    /** @param arena null: the reference packers; else the bulk ones, allocating there */
    private static Map<String, Tensor> layout(String module, IntWeightLinear linear, Arena arena) {
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put(module + ".qweight", arena == null ? AwqPacking.packQweight(linear.codes())
                : AwqPacking.packQweight(linear.codes(), arena));
        t.put(module + ".qzeros", AwqPacking.packQzeros(linear.zeros()));
        t.put(module + ".scales", arena == null ? GptqPacking.transpose(linear.scales())
                : GptqPacking.transpose(linear.scales(), arena));
        return t;
    }

    /** Null when only embeddings / lm_head were kept, else every kept module plus lm_head. */
    static List<String> modulesToNotConvert(List<String> keptModules) {
        ModuleSelector linears = ModuleSelector.defaults();
        boolean keptLinear = keptModules.stream()
                .anyMatch(m -> linears.skipReason(m + ".weight", Shape.of(1L, 1L)) == null);
        if (!keptLinear) return null;
        List<String> list = new ArrayList<>(keptModules);
        if (!list.contains(OUTPUT_EMBEDDING)) list.add(OUTPUT_EMBEDDING);
        return list;
    }
}
