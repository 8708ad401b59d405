package dev.ao4j.vllm.gptq;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.pipeline.ModuleSelector;
import dev.ao4j.quant.pipeline.Recipe;
import dev.ao4j.quant.pipeline.WeightQuantizer;
import dev.ao4j.quant.qtensor.IntxUnpackedToInt8Tensor;
import dev.ao4j.quant.qtensor.QuantizedTensor;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.util.List;
import java.util.function.Function;

/**
 * A {@link WeightQuantizer} for the GPTQ-family packages: {@code rtn} computes the codes, scales and zeros of one
 * Linear weight, handed on as torchao's {@code IntxUnpackedToInt8Tensor} (the pipeline's currency). Weights whose
 * shape the int32 packing cannot hold are kept in high precision with the reason.
 */
public final class IntWeightQuantizer implements WeightQuantizer {
    private final int bits;
    private final int groupSize;
    private final Function<Tensor, IntWeightLinear> rtn;

    /** @param groupSize G, or −1 for one group spanning K */
    public IntWeightQuantizer(int bits, int groupSize, Function<Tensor, IntWeightLinear> rtn) {
        this.bits = bits;
        this.groupSize = groupSize;
        this.rtn = rtn;
    }

    /**
     * Packing needs K a multiple of the group size and of the codes per int32 word (GPTQ packs qweight along K), and
     * N a multiple of the codes per word (both formats pack zeros, AWQ also the weight, along N).
     */
    /**
     * The pipeline recipe of a GPTQ-family package: no torchao config (these are not torchao formats), transformers'
     * Linear selection less {@code modulesToNotConvert}, the format's RTN quantizer, stored dtypes kept.
     */
    public static Recipe recipe(String name, int bits, int groupSize, Function<Tensor, IntWeightLinear> rtn,
                                List<String> modulesToNotConvert, boolean measureError) {
        return new Recipe(name, null, new ModuleSelector(modulesToNotConvert, false),
                new IntWeightQuantizer(bits, groupSize, rtn), measureError, null);
    }

    /** E.g. {@code awq-w4-g128-rtn}, {@code gptq_v2-w8-gchannel-rtn} (group size −1 is "channel"). */
    public static String recipeName(String method, int bits, int groupSize) {
        return method + "-w" + bits + "-g" + (groupSize == -1 ? "channel" : String.valueOf(groupSize)) + "-rtn";
    }

    @Override
    public String skipReason(Shape shape, DType dtype) {
        if (dtype != DType.BF16 && dtype != DType.F16 && dtype != DType.F32) return "dtype " + dtype + " is not a float";
        long n = shape.dim(0);
        long k = shape.dim(1);
        int p = GptqPacking.perWord(bits);
        if (groupSize != -1 && k % groupSize != 0) {
            return "in_features " + k + " is not a multiple of the group size " + groupSize;
        }
        if (k % p != 0) return "in_features " + k + " is not a multiple of " + p + " (codes per int32 word)";
        if (n % p != 0) return "out_features " + n + " is not a multiple of " + p + " (codes per int32 word)";
        return null;
    }

    @Override
    public QuantizedTensor quantize(Tensor weight) {
        return rtn.apply(weight).toIntx(weight.dtype());
    }

    @Override
    public Tensor dequantize(QuantizedTensor quantized) {
        return IntWeightLinear.fromIntx("weight", (IntxUnpackedToInt8Tensor) quantized).dequantize();
    }
}
