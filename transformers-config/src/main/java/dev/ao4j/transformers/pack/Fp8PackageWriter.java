package dev.ao4j.transformers.pack;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.pipeline.ModelSink;
import dev.ao4j.quant.pipeline.QuantReport;
import dev.ao4j.quant.mx.MxElement;
import dev.ao4j.quant.mx.MxQuantizer;
import dev.ao4j.quant.qtensor.Float8Tensor;
import dev.ao4j.quant.qtensor.MXTensor;
import dev.ao4j.quant.qtensor.QuantizedTensor;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.transformers.ModelConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes a quantized model in transformers' FineGrainedFP8 format ({@code quant_method: "fp8"}, as DeepSeek-V3 and
 * the Qwen FP8 checkpoints are published), which transformers loads without torchao and vLLM/SGLang serve natively:
 * plain tensors under their own names; each quantized Linear as {@code <module>.weight} (F8_E4M3, [N, K]) and
 * {@code <module>.weight_scale_inv} (F32, [N / bn, K / bk]) — despite its name the <em>dequantization multiplier</em>,
 * block amax / 448, which is exactly torchao's blockwise {@code Float8Tensor} scale; shards carry
 * {@code __metadata__ {"format": "pt"}}, and {@code config.json} the {@link FineGrainedFp8Config}.
 *
 * <p>Its {@code modules_to_not_convert} lists every module whose 2-D weight was kept in high precision (embeddings
 * included, which transformers ignores since it only swaps Linear layers) plus {@code lm_head}: an explicit list
 * replaces transformers' default skip of the output embedding, and a tied {@code lm_head} has no tensor of its own.
 * The partial directory, sharding and atomic publish are shared with {@link TorchAoPackageWriter}.
 *
 * <p>The same writer makes transformers' MXFP8 checkpoints ({@link Layout#MXFP8}, {@code quant_method: "mxfp8"}):
 * torchao's MX numerics ({@code MXTensor} with e4m3fn elements), the codes as {@code weight} and the unswizzled E8M0
 * scale bytes {@code [N, K/32]} as a U8 {@code weight_scale_inv}, the layout transformers' FP8 loader unpacks as
 * {@code 2^(byte - 127)}.
 */
public final class Fp8PackageWriter implements ModelSink {
    public static final String SCALE_SUFFIX = ".weight_scale_inv";
    private static final String WEIGHT_SUFFIX = ".weight";
    private static final String OUTPUT_EMBEDDING = "lm_head";

    /** The two checkpoints of transformers' FineGrainedFP8 loader. */
    public enum Layout {
        /** {@code quant_method "fp8"}: f32 multiplier per 128x128 block (torchao's blockwise Float8Tensor). */
        BLOCK_128X128(FineGrainedFp8Config.QUANT_METHOD, FineGrainedFp8Config.BLOCK_128X128),
        /** {@code quant_method "mxfp8"}: E8M0 byte per [1, 32] block (torchao's MXTensor, e4m3fn). */
        MXFP8(FineGrainedFp8Config.MXFP8, FineGrainedFp8Config.BLOCK_1X32);

        final String quantMethod;
        final List<Integer> blockSize;

        Layout(String quantMethod, List<Integer> blockSize) {
            this.quantMethod = quantMethod;
            this.blockSize = blockSize;
        }
    }

    private final PackageOutput output;
    private final ModelConfig config;
    private final Layout layout;
    private final List<Integer> blockSize;
    /** Modules whose 2-D weight stays in high precision, in source order. */
    private final Set<String> kept = new LinkedHashSet<>();
    private final PackageCheck check;

    private Fp8PackageWriter(PackageOutput output, ModelConfig config, Layout layout, PackageCheck check) {
        this.output = output;
        this.config = config;
        this.layout = layout;
        this.blockSize = layout.blockSize;
        this.check = check;
    }

    /**
     * @param sourceDir     the model directory whose tokenizer and generation files are carried over
     * @param config        the source model's config.json
     * @param out           the package directory to create
     * @param maxShardBytes tensor bytes per safetensors shard
     * @param replace       whether an existing {@code out} may be replaced (only once the new package is complete)
     */
    public static Fp8PackageWriter create(Path sourceDir, ModelConfig config, Path out, long maxShardBytes,
                                          boolean replace) {
        return create(sourceDir, config, out, maxShardBytes, replace, PackageCheck.NONE);
    }

    /** Like {@link #create(Path, ModelConfig, Path, long, boolean)}, running {@code check} before publishing. */
    public static Fp8PackageWriter create(Path sourceDir, ModelConfig config, Path out, long maxShardBytes,
                                          boolean replace, PackageCheck check) {
        return create(sourceDir, config, out, maxShardBytes, replace, Layout.BLOCK_128X128, check);
    }

    /** A writer of either {@link Layout}. */
    public static Fp8PackageWriter create(Path sourceDir, ModelConfig config, Path out, long maxShardBytes,
                                          boolean replace, Layout layout, PackageCheck check) {
        return new Fp8PackageWriter(PackageOutput.create(sourceDir, out, maxShardBytes, replace), config, layout,
                check);
    }

    /** Each tensor's bytes go to the shard file when it is added; only names and metadata are kept. */
    @Override
    public boolean writesThrough() {
        return true;
    }

    @Override
    public void writePlain(String name, Tensor tensor) {
        if (name.endsWith(WEIGHT_SUFFIX) && tensor.shape().rank() == 2) kept.add(module(name));
        output.add(name, tensor, name, "the fp8 format");
    }

    /**
     * @throws InvalidConfigException unless {@code tensor} is, under a {@code <module>.weight} name, an e4m3fn
     *                                {@code Float8Tensor} with block size 128x128 ({@link Layout#BLOCK_128X128}) or
     *                                an e4m3fn {@code MXTensor} with block 32 ({@link Layout#MXFP8})
     */
    @Override
    public void writeQuantized(String name, QuantizedTensor tensor) {
        if (!name.endsWith(WEIGHT_SUFFIX)) {
            throw new InvalidConfigException("the " + layout.quantMethod + " (FineGrainedFP8) format quantizes "
                    + "'<module>.weight' tensors but got '" + name + "'");
        }
        Tensor scale = switch (layout) {
            case BLOCK_128X128 -> tensor instanceof Float8Tensor f && f.qdata().dtype() == DType.F8_E4M3
                    && f.blockSize().equals(Shape.of(blockSize.get(0).longValue(), blockSize.get(1).longValue()))
                    ? f.scale() : null;
            case MXFP8 -> tensor instanceof MXTensor m && m.element() == MxElement.FP8_E4M3
                    && m.blockSize() == MxQuantizer.BLOCK_SIZE ? asBytes(MxQuantizer.plainScale(m.numerics())) : null;
        };
        if (scale == null) {
            throw new InvalidConfigException("the " + layout.quantMethod + " (FineGrainedFP8) format stores "
                    + (layout == Layout.MXFP8 ? "e4m3fn MXTensor weights with block 32" : "e4m3fn Float8Tensor "
                    + "weights with block size " + blockSize) + " but '" + name + "' is " + describe(tensor));
        }
        Tensor codes = tensor instanceof Float8Tensor f ? f.qdata() : ((MXTensor) tensor).qdata();
        output.add(name, codes, name, "the " + layout.quantMethod + " format");
        output.add(module(name) + SCALE_SUFFIX, scale, name, "the " + layout.quantMethod + " format");
    }

    /** E8M0 exponents as the U8 bytes transformers' loader expects (same bits, integer dtype). */
    private static Tensor asBytes(Tensor e8m0) {
        return new Tensor(DType.U8, e8m0.shape(), e8m0.data());
    }

    @Override
    public void commit(QuantReport report) {
        List<String> skip = new ArrayList<>(kept);
        if (!kept.contains(OUTPUT_EMBEDDING)) skip.add(OUTPUT_EMBEDDING);
        FineGrainedFp8Config q = new FineGrainedFp8Config("dynamic", blockSize, skip, layout.quantMethod);
        output.commit(Map.of("format", "pt"), config.with("quantization_config", q.toJson()), report, check);
    }

    /** The published package directory. */
    public Path out() {
        return output.out();
    }

    @Override
    public void close() {
        output.close();
    }

    private static String module(String weightName) {
        return weightName.substring(0, weightName.length() - WEIGHT_SUFFIX.length());
    }

    private static String describe(QuantizedTensor t) {
        return switch (t) {
            case Float8Tensor f -> "a Float8Tensor of " + f.qdata().dtype() + " with block size " + f.blockSize();
            case MXTensor m -> "an MXTensor of " + m.element() + " with block " + m.blockSize();
            default -> "a " + t.typeName();
        };
    }
}
