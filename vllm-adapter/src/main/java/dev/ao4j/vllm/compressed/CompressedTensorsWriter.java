package dev.ao4j.vllm.compressed;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.quant.Where;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.pipeline.ModelSink;
import dev.ao4j.quant.pipeline.QuantReport;
import dev.ao4j.quant.qtensor.QuantizedTensor;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.transformers.ModelConfig;
import dev.ao4j.transformers.pack.PackageCheck;
import dev.ao4j.transformers.pack.PackageOutput;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import tools.jackson.databind.node.JsonNodeFactory;

/**
 * Writes a compressed-tensors package that vLLM (and SGLang) serve without a {@code --quantization} flag: plain
 * tensors under their own names; each quantized Linear {@code <module>.weight} replaced by the scheme's tensors
 * ({@link CompressedLinear#stored()}: e.g. {@code weight_packed}, {@code weight_scale}, {@code weight_shape});
 * shards with {@code __metadata__ {"format": "pt"}}; {@code config.json} with the {@link CompressedTensorsConfig}
 * and both {@code dtype} and {@code torch_dtype}; tokenizer and generation files carried over.
 *
 * <p>{@code ignore} lists {@code lm_head} and every other Linear whose weight was kept in high precision (input
 * embeddings are not Linear and not listed). With {@code tie_word_embeddings}, a stray {@code lm_head.weight} is
 * not written: vLLM and SGLang tie it to the embeddings themselves.
 *
 * <p>Quantized weights come through {@link #writeLinear} with compressed-tensors numerics ({@link CtQuantizer});
 * torchao's tensor subclasses ({@link #writeQuantized}) are refused, their scale rules being torchao's, not
 * compressed-tensors'. {@link CompressedTensorsPackager} drives the whole run.
 */
public final class CompressedTensorsWriter implements ModelSink {
    private static final String WEIGHT_SUFFIX = ".weight";
    private static final String OUTPUT_EMBEDDING = "lm_head";
    private static final String FORMAT = "the compressed-tensors format";
    /** Input embeddings, which are nn.Embedding rather than Linear and so never in {@code ignore}. */
    private static final Pattern INPUT_EMBEDDING = Pattern.compile(
            "(^|\\.)(embed_tokens|embed_in|wte|wpe|word_embeddings|position_embeddings|token_type_embeddings|"
                    + "tok_embeddings|shared)$");

    private final PackageOutput output;
    private final ModelConfig config;
    private final CompressedTensorsScheme scheme;
    private final PackageCheck check;
    private final boolean tied;
    /** Linear modules whose 2-D weight stays in high precision, in source order. */
    private final Set<String> kept = new LinkedHashSet<>();
    private DType modelDtype;

    private CompressedTensorsWriter(PackageOutput output, ModelConfig config, CompressedTensorsScheme scheme,
                                    PackageCheck check) {
        this.output = output;
        this.config = config;
        this.scheme = scheme;
        this.check = check;
        this.tied = config.tieWordEmbeddings();
        this.modelDtype = config.dtype().orElse(null);
    }

    /**
     * @param sourceDir     the model directory whose tokenizer and generation files are carried over
     * @param config        the source model's config.json
     * @param out           the package directory to create
     * @param maxShardBytes tensor bytes per safetensors shard
     * @param replace       whether an existing {@code out} may be replaced (only once the new package is complete)
     */
    public static CompressedTensorsWriter create(Path sourceDir, ModelConfig config, CompressedTensorsScheme scheme,
                                                 Path out, long maxShardBytes, boolean replace) {
        return create(sourceDir, config, scheme, out, maxShardBytes, replace, PackageCheck.NONE);
    }

    /** Like {@link #create(Path, ModelConfig, CompressedTensorsScheme, Path, long, boolean)}, with a last check of
     * the finished package before it is published. */
    public static CompressedTensorsWriter create(Path sourceDir, ModelConfig config, CompressedTensorsScheme scheme,
                                                 Path out, long maxShardBytes, boolean replace, PackageCheck check) {
        return new CompressedTensorsWriter(PackageOutput.create(sourceDir, out, maxShardBytes, replace), config,
                scheme, check);
    }

    public CompressedTensorsScheme scheme() {
        return scheme;
    }

    @Override
    public void writePlain(String name, Tensor tensor) {
        boolean linearWeight = name.endsWith(WEIGHT_SUFFIX) && tensor.shape().rank() == 2;
        if (linearWeight) {
            String module = module(name);
            if (module.equals(OUTPUT_EMBEDDING) && tied) return; // tied: the engine reuses embed_tokens
            if (!INPUT_EMBEDDING.matcher(module).find()) kept.add(module);
        }
        if (modelDtype == null && tensor.dtype().isFloatingPoint() && linearWeight) modelDtype = tensor.dtype();
        output.add(name, tensor, name, FORMAT);
    }

    /**
     * Stores {@code linear} in place of the Linear weight {@code name} ({@code <module>.weight}).
     *
     * @return the tensor bytes written
     * @throws InvalidConfigException when {@code name} is not a {@code .weight} or {@code linear} does not belong
     *                                to this writer's scheme
     */
    public long writeLinear(String name, CompressedLinear linear) {
        if (!name.endsWith(WEIGHT_SUFFIX)) {
            throw new InvalidConfigException(FORMAT + " quantizes '<module>.weight' tensors but got '" + name + "'");
        }
        if (!fits(linear)) {
            throw new InvalidConfigException("scheme " + scheme.cliName() + " cannot store '" + name + "' as a "
                    + linear.getClass().getSimpleName());
        }
        String module = module(name);
        long bytes = 0;
        for (Map.Entry<String, Tensor> e : linear.stored().entrySet()) {
            output.add(module + "." + e.getKey(), e.getValue(), name, FORMAT);
            bytes += e.getValue().byteSize();
        }
        return bytes;
    }

    /** @throws UnsupportedFormatException always: torchao's numerics are not compressed-tensors' */
    @Override
    public void writeQuantized(String name, QuantizedTensor tensor) {
        throw new UnsupportedFormatException(FORMAT + " stores weights quantized with compressed-tensors' own scale "
                + "rules, but '" + name + "' is a torchao " + tensor.typeName() + "; quantize with CtQuantizer "
                + "(CompressedTensorsPackager) and write it with writeLinear", Where.NOWHERE);
    }

    @Override
    public void commit(QuantReport report) {
        List<String> ignore = new ArrayList<>();
        ignore.add(OUTPUT_EMBEDDING);
        for (String m : kept) {
            if (!m.equals(OUTPUT_EMBEDDING)) ignore.add(m);
        }
        CompressedTensorsConfig q = new CompressedTensorsConfig(scheme, ignore);
        ModelConfig c = config.with("quantization_config", q.toJson());
        if (modelDtype != null) {
            c = c.with("dtype", JsonNodeFactory.instance.stringNode(modelDtype.torchName()))
                    .with("torch_dtype", JsonNodeFactory.instance.stringNode(modelDtype.torchName()));
        }
        output.commit(Map.of("format", "pt"), c, report, check);
    }

    /** The published package directory. */
    public Path out() {
        return output.out();
    }

    @Override
    public void close() {
        output.close();
    }

    private boolean fits(CompressedLinear linear) {
        return switch (scheme.preset()) {
            case W4A16, W8A16 -> linear instanceof CompressedLinear.PackedInt p && p.bits() == scheme.preset().bits()
                    && (p.zeroPoint() == null) == scheme.symmetric();
            case W8A8 -> linear instanceof CompressedLinear.Int8;
            case FP8, FP8_DYNAMIC, FP8_BLOCK -> linear instanceof CompressedLinear.Fp8;
            case NVFP4A16 -> linear instanceof CompressedLinear.Nvfp4;
            case MXFP4A16 -> linear instanceof CompressedLinear.Mxfp4;
        };
    }

    private static String module(String weightName) {
        return weightName.substring(0, weightName.length() - WEIGHT_SUFFIX.length());
    }
}
