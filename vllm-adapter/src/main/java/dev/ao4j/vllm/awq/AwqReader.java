package dev.ao4j.vllm.awq;

import dev.ao4j.quant.MalformedInputException;
import dev.ao4j.quant.Where;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.safetensors.ShardedCheckpoint;
import dev.ao4j.transformers.ModelConfig;
import dev.ao4j.vllm.gptq.GptqPacking;
import dev.ao4j.vllm.gptq.IntWeightLinear;
import dev.ao4j.vllm.gptq.QuantConfigJson;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Reads an AWQ "gemm" package (single file or sharded): its {@code quantization_config} (config.json, else
 * {@code quant_config.json} / {@code quantize_config.json}) and, per quantized Linear, the exact codes, scales and
 * zero points (un-interleaved) as an {@link IntWeightLinear}, and the dequantized weight
 * {@code (code − zero) · scale}. Shapes are checked against the 4-bit packing and the group size; errors name the
 * file, the tensor and what was expected.
 */
public final class AwqReader implements AutoCloseable {
    public static final List<String> PARTS = List.of(".qweight", ".qzeros", ".scales");
    private static final int PER_WORD = 8;

    private final ShardedCheckpoint checkpoint;
    private final ModelConfig config;
    private final AwqQuantizationConfig quantizationConfig;
    private final List<String> modules;
    private final List<String> plainNames;

    private AwqReader(ShardedCheckpoint checkpoint, ModelConfig config, AwqQuantizationConfig q) {
        this.checkpoint = checkpoint;
        this.config = config;
        this.quantizationConfig = q;
        Set<String> m = new LinkedHashSet<>();
        for (String name : checkpoint.names()) {
            if (name.endsWith(".qweight")) m.add(name.substring(0, name.length() - ".qweight".length()));
        }
        List<String> plain = new ArrayList<>();
        for (String name : checkpoint.names()) {
            boolean part = PARTS.stream().anyMatch(s -> name.endsWith(s)
                    && m.contains(name.substring(0, name.length() - s.length())));
            if (!part) plain.add(name);
        }
        this.modules = List.copyOf(m);
        this.plainNames = List.copyOf(plain);
    }

    /**
     * @throws dev.ao4j.quant.UnsupportedFormatException when there is no AWQ gemm quantization_config
     * @throws MalformedInputException                    when it lacks or mistypes a required key
     */
    public static AwqReader open(Path dir) {
        ModelConfig config = ModelConfig.read(dir.resolve(ModelConfig.FILE_NAME));
        QuantConfigJson.Located located = QuantConfigJson.find(dir, config, AwqQuantizationConfig.SIDE_FILES, "AWQ");
        AwqQuantizationConfig q = AwqQuantizationConfig.fromJson(located.json(), located.where());
        ShardedCheckpoint checkpoint = ShardedCheckpoint.open(dir);
        try {
            return new AwqReader(checkpoint, config, q);
        } catch (RuntimeException e) {
            checkpoint.close();
            throw e;
        }
    }

    public ModelConfig config() {
        return config;
    }

    public AwqQuantizationConfig quantizationConfig() {
        return quantizationConfig;
    }

    /** The quantized Linear modules (those with a {@code qweight}), in file order. */
    public List<String> quantizedModules() {
        return modules;
    }

    /** The stored tensors that are not parts of a quantized Linear. */
    public List<String> plainNames() {
        return plainNames;
    }

    /** A stored tensor as it is in the file (a view). */
    public Tensor stored(String name) {
        return checkpoint.tensor(name);
    }

    /**
     * The codes, scales and zeros of quantized Linear {@code module}, checked against the config.
     *
     * @throws MalformedInputException naming file, tensor and expectation for a missing part, a wrong dtype or shape
     */
    public IntWeightLinear linear(String module) {
        if (!modules.contains(module)) {
            throw new IllegalArgumentException("'" + module + "' is not a quantized module of " + checkpoint.source());
        }
        Tensor qweight = part(module, ".qweight");
        requireInt32(qweight, module + ".qweight");
        long k = qweight.shape().dim(0);
        long n = qweight.shape().dim(1) * PER_WORD;
        int g = quantizationConfig.groupSize();
        long groups = g == -1 ? 1 : (k + g - 1) / g;
        Tensor scales = part(module, ".scales");
        if (!scales.dtype().isFloatingPoint() || !scales.shape().equals(Shape.of(groups, n))) {
            throw malformed(module + ".scales", "must be a float [" + groups + ", " + n + "] (qweight "
                    + qweight.shape() + " packs " + PER_WORD + " 4-bit output columns per word, group_size " + g
                    + ") but is " + scales.dtype() + " " + scales.shape());
        }
        if (g != -1 && k % g != 0) {
            throw malformed(module + ".qweight", "in_features " + k + " is not a multiple of group_size " + g);
        }
        Tensor qzeros = part(module, ".qzeros");
        requireInt32(qzeros, module + ".qzeros");
        if (!qzeros.shape().equals(Shape.of(groups, n / PER_WORD))) {
            throw malformed(module + ".qzeros", "must be I32 [" + groups + ", " + n / PER_WORD + "] but is "
                    + qzeros.shape());
        }
        return new IntWeightLinear(AwqRtn.BITS, AwqPacking.unpackQweight(qweight), GptqPacking.transpose(scales),
                AwqPacking.unpackQzeros(qzeros), IntWeightLinear.contiguousGroups(k, g == -1 ? k : g));
    }

    /** Quantized Linear {@code module}'s weight, F32 {@code [N, K]}. */
    public Tensor dequantized(String module) {
        return linear(module).dequantize();
    }

    @Override
    public void close() {
        checkpoint.close();
    }

    private Tensor part(String module, String suffix) {
        String name = module + suffix;
        if (!checkpoint.contains(name)) {
            throw new MalformedInputException("quantized module '" + module + "' has no " + name + " tensor (an AWQ "
                    + "Linear stores qweight, qzeros and scales)",
                    Where.tensor(checkpoint.fileOf(module + ".qweight"), name));
        }
        return checkpoint.tensor(name);
    }

    private void requireInt32(Tensor t, String name) {
        if (t.dtype() != DType.I32 || t.shape().rank() != 2) {
            throw malformed(name, "must be a 2-D I32 tensor but is " + t.dtype() + " " + t.shape());
        }
    }

    private MalformedInputException malformed(String name, String what) {
        return new MalformedInputException(name + " " + what, Where.tensor(checkpoint.fileOf(name), name));
    }
}
