package dev.ao4j.vllm.gptq;

import dev.ao4j.quant.MalformedInputException;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.nio.file.Path;
import java.util.List;

/**
 * Reads a GPTQ package (single file or sharded): its {@code quantization_config} (config.json, else
 * {@code quantize_config.json}) and, per quantized Linear, the exact codes, scales and true zero points (v1's stored
 * "zero minus one" already added back) as an {@link IntWeightLinear}, and the dequantized weight.
 *
 * <p>As vLLM does, the groups follow {@code g_idx} only with {@code desc_act: true}; otherwise column k belongs to
 * group {@code k / G} and {@code g_idx}, when present, must only have the right shape. Every shape is checked against
 * {@code bits} and {@code group_size}, and errors name the file, the tensor and what was expected.
 */
public final class GptqReader extends IntWeightCheckpoint<GptqQuantizationConfig> {
    public static final List<String> PARTS = List.of(".qweight", ".qzeros", ".scales", ".g_idx");

    private GptqReader(Path dir) {
        super(dir, "GPTQ", GptqQuantizationConfig.SIDE_FILES, GptqQuantizationConfig::fromJson, PARTS,
                "a GPTQ Linear stores qweight, qzeros, scales and g_idx");
    }

    /**
     * @throws dev.ao4j.quant.UnsupportedFormatException when there is no GPTQ quantization_config
     * @throws MalformedInputException                    when it lacks or mistypes a required key
     */
    public static GptqReader open(Path dir) {
        return new GptqReader(dir);
    }

    /**
     * The codes, scales and true zeros of quantized Linear {@code module}, checked against the config.
     *
     * @throws MalformedInputException naming file, tensor and expectation for a missing part, a wrong dtype or shape
     */
    public IntWeightLinear linear(String module) {
        requireModule(module);
        GptqQuantizationConfig quantizationConfig = quantizationConfig();
        int bits = quantizationConfig.bits();
        int p = GptqPacking.perWord(bits);
        Tensor qweight = int32Part(module, ".qweight");
        long k = qweight.shape().dim(0) * p;
        long n = qweight.shape().dim(1);
        int g = quantizationConfig.groupSize();
        long groups = g == -1 ? 1 : (k + g - 1) / g;
        String bitsHint = " (qweight " + qweight.shape() + " holds K = " + k + " input columns at bits = " + bits + ")";

        Tensor scales = part(module, ".scales");
        if (!scales.dtype().isFloatingPoint() || !scales.shape().equals(Shape.of(groups, n))) {
            throw malformed(module + ".scales", "must be a float [" + groups + ", " + n + "] (group_size "
                    + g + ")" + bitsHint + " but is " + scales.dtype() + " " + scales.shape());
        }
        Tensor groupIndex = IntWeightLinear.contiguousGroups(k, g == -1 ? k : g);
        String gIdxName = module + ".g_idx";
        if (contains(gIdxName)) {
            Tensor stored = stored(gIdxName);
            if ((stored.dtype() != DType.I32 && stored.dtype() != DType.I64) || !stored.shape().equals(Shape.of(k))) {
                throw malformed(gIdxName, "must be I32 [" + k + "]" + bitsHint + " but is "
                        + stored.dtype() + " " + stored.shape());
            }
            if (quantizationConfig.descAct()) {
                for (long c = 0; c < k; c++) {
                    long v = stored.getLong(c);
                    if (v < 0 || v >= groups) {
                        throw malformed(gIdxName, "entry " + c + " is " + v + ", outside the " + groups
                                + " groups");
                    }
                    groupIndex.setLong(c, v);
                }
            }
        } else if (quantizationConfig.descAct()) {
            throw malformed(gIdxName, "is missing but desc_act is true (act-order needs each column's "
                    + "group)");
        }
        if (n % p != 0) {
            throw malformed(module + ".qweight", "out_features " + n + " is not a multiple of " + p
                    + ", so qzeros cannot be packed along N");
        }
        Tensor qzeros = int32Part(module, ".qzeros");
        if (!qzeros.shape().equals(Shape.of(groups, n / p))) {
            throw malformed(module + ".qzeros", "must be I32 [" + groups + ", " + n / p + "] (" + p
                    + " zeros per word at bits = " + bits + ") but is " + qzeros.shape());
        }
        Tensor codes = GptqPacking.unpackQweight(qweight, bits);
        Tensor zeros = GptqPacking.unpackQzeros(qzeros, bits, quantizationConfig.checkpointFormat().zeroOffset());
        return new IntWeightLinear(bits, codes, GptqPacking.transpose(scales), zeros, groupIndex);
    }

    /** Quantized Linear {@code module}'s weight, F32 {@code [N, K]}. */
    public Tensor dequantized(String module) {
        return linear(module).dequantize();
    }
}
