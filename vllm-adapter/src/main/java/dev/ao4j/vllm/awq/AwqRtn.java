package dev.ao4j.vllm.awq;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.MalformedInputException;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.qtensor.IntxUnpackedToInt8Tensor;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.vllm.gptq.GptqRtn;
import dev.ao4j.vllm.gptq.GroupRtnVector;
import dev.ao4j.vllm.gptq.IntWeightLinear;

/**
 * Round-to-nearest in AWQ's layout: AutoAWQ's asymmetric ({@code zero_point=True}) 4-bit quantizer
 * ({@code pseudo_quantize_tensor}) per group of G input columns, applied to the weight as it is — without AWQ's
 * activation-aware scale search or clipping (no calibration data).
 *
 * <p>Per row and group, in f32:
 * <pre>
 *   scale = max(max(x) − min(x), 1e−5) / 15
 *   zero  = clamp(−round_half_even(min(x) / scale), 0, 15)
 *   code  = clamp(round_half_even(x / scale) + zero, 0, 15)
 * </pre>
 * The scale is stored as f16 (AutoAWQ stores {@code scales.half()}); codes and zeros come from the f32 scale (AutoAWQ
 * re-derives the codes from the fake-quantized weight, which recovers exactly these). AutoAWQ computes in the
 * model's dtype (usually f16); this is its result for an f32 model.
 *
 * <p>Where this differs from torchao's ASYMMETRIC {@code choose_qparams_affine} + {@code quantize_affine} (shared-quant's
 * {@code quant.affine}): torchao widens the range to include 0 ({@code min(mn, 0)}, {@code max(mx, 0)}), clamps the
 * scale to eps instead of the range to 1e−5, computes in the weight's dtype (bf16 for a bf16 model) rather than
 * f32, takes the zero as {@code qmin − round(min / scale)} over signed codes, and quantizes with a reciprocal
 * multiply {@code round(x · (1/scale))}; AWQ divides and, its range not containing 0, clamps the zero into
 * {@code [0, 15]}, so an all-positive (or all-negative) group saturates at one end. Hence the own functions here.
 */
public final class AwqRtn {
    public static final int BITS = 4;
    private static final int MAX_INT = 15;

    private AwqRtn() {}

    /**
     * @param weight    {@code [N, K]} in BF16, F16 or F32
     * @param groupSize G dividing K, or −1 for one group per row
     * @throws InvalidConfigException when G does not divide K
     * @throws MalformedInputException on a non-finite weight or a scale beyond f16
     */
    public static IntWeightLinear quantize(Tensor weight, int groupSize) {
        long n = weight.shape().dim(0);
        long k = weight.shape().dim(1);
        long g = groupSize == -1 ? k : groupSize;
        if (g <= 0 || k % g != 0) {
            throw new InvalidConfigException("group size " + groupSize + " does not divide in_features " + k);
        }
        long groups = k / g;
        Tensor codes = Tensor.allocate(DType.U8, Shape.of(n, k));
        Tensor scales = Tensor.allocate(DType.F16, Shape.of(n, groups));
        Tensor zeros = Tensor.allocate(DType.I32, Shape.of(n, groups));
        for (long r = 0; r < n; r++) {
            for (long j = 0; j < groups; j++) {
                long base = r * k + j * g;
                float lo = Float.POSITIVE_INFINITY;
                float hi = Float.NEGATIVE_INFINITY;
                for (long c = 0; c < g; c++) {
                    float x = GptqRtn.finite(weight, base + c, k);
                    lo = Math.min(lo, x);
                    hi = Math.max(hi, x);
                }
                float[] p = new float[3];
                params(lo, hi, r, j, p);
                float scale = p[0];
                float stored = p[1];
                double zero = p[2];
                scales.setFloat(r * groups + j, stored);
                zeros.setLong(r * groups + j, (long) zero);
                for (long c = 0; c < g; c++) {
                    double q = Math.rint(weight.getFloat(base + c) / scale) + zero;
                    codes.setLong(base + c, (long) Math.max(0, Math.min(MAX_INT, q)));
                }
            }
        }
        return new IntWeightLinear(BITS, codes, scales, zeros, IntWeightLinear.contiguousGroups(k, g));
    }

    /**
     * {@link #quantize} then {@link IntWeightLinear#toIntx}, the pipeline's form: {@link Kernel#REFERENCE} runs
     * exactly that; {@link Kernel#VECTOR} its Vector API twin {@link GroupRtnVector}, straight to the signed codes.
     */
    public static IntxUnpackedToInt8Tensor quantizeIntx(Tensor weight, int groupSize, Kernel kernel) {
        if (kernel == Kernel.REFERENCE) return quantize(weight, groupSize).toIntx(weight.dtype());
        GptqRtn.requireGroups(weight, groupSize);
        return GroupRtnVector.quantize(weight, BITS, groupSize, false, AwqRtn::params);
    }

    /** AWQ's asymmetric scale and zero of a group from its own min and max: f32 scale, f16 scale, zero. */
    private static void params(float lo, float hi, long row, long group, float[] out) {
        float scale = Math.max(hi - lo, 1e-5f) / MAX_INT;
        out[0] = scale;
        out[1] = GptqRtn.f16(scale, row, group);
        out[2] = (float) Math.max(0, Math.min(MAX_INT, -Math.rint(lo / scale)));
    }
}
