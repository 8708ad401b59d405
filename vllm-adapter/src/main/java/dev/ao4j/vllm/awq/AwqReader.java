package dev.ao4j.vllm.awq;

import dev.ao4j.quant.MalformedInputException;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.vllm.gptq.GptqPacking;
import dev.ao4j.vllm.gptq.IntWeightCheckpoint;
import dev.ao4j.vllm.gptq.IntWeightLinear;
import java.nio.file.Path;
import java.util.List;

/**
 * Reads an AWQ "gemm" package (single file or sharded): its {@code quantization_config} (config.json, else
 * {@code quant_config.json} / {@code quantize_config.json}) and, per quantized Linear, the exact codes, scales and
 * zero points (un-interleaved) as an {@link IntWeightLinear}, and the dequantized weight
 * {@code (code − zero) · scale}. Shapes are checked against the 4-bit packing and the group size; errors name the
 * file, the tensor and what was expected.
 */
public final class AwqReader extends IntWeightCheckpoint<AwqQuantizationConfig> {
    public static final List<String> PARTS = List.of(".qweight", ".qzeros", ".scales");
    private static final int PER_WORD = 8;

    private AwqReader(Path dir) {
        super(dir, "AWQ", AwqQuantizationConfig.SIDE_FILES, AwqQuantizationConfig::fromJson, PARTS,
                "an AWQ Linear stores qweight, qzeros and scales");
    }

    /**
     * @throws dev.ao4j.quant.UnsupportedFormatException when there is no AWQ gemm quantization_config
     * @throws MalformedInputException                    when it lacks or mistypes a required key
     */
    public static AwqReader open(Path dir) {
        return new AwqReader(dir);
    }

    /**
     * The codes, scales and zeros of quantized Linear {@code module}, checked against the config.
     *
     * @throws MalformedInputException naming file, tensor and expectation for a missing part, a wrong dtype or shape
     */
    public IntWeightLinear linear(String module) {
        requireModule(module);
        Tensor qweight = int32Part(module, ".qweight");
        long k = qweight.shape().dim(0);
        long n = qweight.shape().dim(1) * PER_WORD;
        int g = quantizationConfig().groupSize();
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
        Tensor qzeros = int32Part(module, ".qzeros");
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
}
