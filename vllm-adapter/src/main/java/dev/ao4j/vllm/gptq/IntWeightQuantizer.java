package dev.ao4j.vllm.gptq;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.pipeline.ModuleSelector;
import dev.ao4j.quant.pipeline.Recipe;
import dev.ao4j.quant.pipeline.WeightQuantizer;
import dev.ao4j.quant.qtensor.IntxUnpackedToInt8Tensor;
import dev.ao4j.quant.qtensor.QuantizedTensor;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.function.Function;

/**
 * A {@link WeightQuantizer} for the GPTQ-family packages: {@code rtn} computes the codes, scales and zeros of one
 * Linear weight as torchao's {@code IntxUnpackedToInt8Tensor} (the pipeline's currency). Weights whose shape the
 * int32 packing cannot hold are kept in high precision with the reason.
 */
public final class IntWeightQuantizer implements WeightQuantizer {
    private final int bits;
    private final int groupSize;
    private final Function<Tensor, IntxUnpackedToInt8Tensor> rtn;
    private final Kernel kernel;

    /**
     * @param groupSize G, or −1 for one group spanning K
     * @param rtn       e.g. {@link GptqRtn#quantizeIntx}
     * @param kernel    how {@link #dequantize} runs (the plain loop, or bulk rows: the same values)
     */
    public IntWeightQuantizer(int bits, int groupSize, Function<Tensor, IntxUnpackedToInt8Tensor> rtn,
                              Kernel kernel) {
        this.bits = bits;
        this.groupSize = groupSize;
        this.rtn = rtn;
        this.kernel = kernel;
    }

    /**
     * Packing needs K a multiple of the group size and of the codes per int32 word (GPTQ packs qweight along K), and
     * N a multiple of the codes per word (both formats pack zeros, AWQ also the weight, along N).
     */
    /**
     * The pipeline recipe of a GPTQ-family package: no torchao config (these are not torchao formats), transformers'
     * Linear selection less {@code modulesToNotConvert}, the format's RTN quantizer, stored dtypes kept.
     */
    public static Recipe recipe(String name, int bits, int groupSize,
                                Function<Tensor, IntxUnpackedToInt8Tensor> rtn, List<String> modulesToNotConvert,
                                boolean measureError, Kernel kernel) {
        return new Recipe(name, null, new ModuleSelector(modulesToNotConvert, false),
                new IntWeightQuantizer(bits, groupSize, rtn, kernel), measureError, null);
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
        return rtn.apply(weight);
    }

    /** F32 {@code (qdata − zero_point) · scale}, as {@link IntWeightLinear#dequantize} computes it. */
    @Override
    public Tensor dequantize(QuantizedTensor quantized) {
        IntxUnpackedToInt8Tensor t = (IntxUnpackedToInt8Tensor) quantized;
        if (kernel == Kernel.REFERENCE) return IntWeightLinear.fromIntx("weight", t).dequantize();
        // signed codes minus signed zeros: the same integers as the unsigned ones, a row at a time
        int n = Math.toIntExact(t.qdata().shape().dim(0));
        int k = Math.toIntExact(t.qdata().shape().dim(1));
        int groups = Math.toIntExact(t.scale().shape().dim(1));
        int g = k / groups;
        Tensor out = Tensor.allocate(DType.F32, t.qdata().shape());
        byte[] q = new byte[k];
        float[] row = new float[k];
        for (int r = 0; r < n; r++) {
            MemorySegment.copy(t.qdata().data(), ValueLayout.JAVA_BYTE, (long) r * k, q, 0, k);
            for (int j = 0; j < groups; j++) {
                long z = t.zeroPoint().getLong((long) r * groups + j);
                float s = t.scale().getFloat((long) r * groups + j);
                for (int c = j * g, end = c + g; c < end; c++) row[c] = (q[c] - z) * s;
            }
            MemorySegment.copy(row, 0, out.data(), Tensor.F32, (long) r * k * 4, k);
        }
        return out;
    }
}
