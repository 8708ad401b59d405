package dev.ao4j.vllm.gptq;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.MalformedInputException;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.qtensor.IntxUnpackedToInt8Tensor;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;

/**
 * Round-to-nearest in GPTQ's layout: the scale and zero of GPTQ's own quantizer ({@code Quantizer.find_params} of
 * GPTQ / AutoGPTQ / GPTQModel with {@code sym=True}, per group of G input columns) applied to the weight as it is,
 * without GPTQ's Hessian-driven error feedback (no calibration data, {@code desc_act=false}).
 *
 * <p>Per row and group, in f32 (the reference runs on {@code W.float()}):
 * <pre>
 *   xmin = min(min(x), 0), xmax = max(max(x), 0)
 *   xmax = max(|xmin|, xmax); if xmin &lt; 0 then xmin = −xmax      (sym)
 *   if xmin == 0 and xmax == 0 then xmin = −1, xmax = 1
 *   scale = (xmax − xmin) / (2^b − 1),  zero = 2^(b−1)
 *   code  = clamp(round_half_even(x / scale) + zero, 0, 2^b − 1)
 * </pre>
 * The scale is stored as f16 (rounded to nearest even), as GPTQ's packer stores {@code scales.half()}; the codes come
 * from the f32 scale (the packer re-derives them from the fake-quantized weight, which recovers exactly these codes).
 *
 * <p>Where this differs from torchao's SYMMETRIC {@code choose_qparams_affine} + {@code quantize_affine} (shared-quant's
 * {@code quant.affine}): torchao's scale is {@code amax / ((qmax − qmin) / 2)} computed in the weight's dtype (bf16
 * for a bf16 model) and clamped to eps, and its codes use a reciprocal multiply {@code round(x · (1/scale))}; GPTQ
 * works in f32, divides, replaces an all-zero group's range by ±1 instead of eps, and — a GPTQ quirk kept on purpose
 * — gives a group without negative values {@code scale = max / (2^b − 1)} with the zero still at {@code 2^(b−1)}, so
 * its values above {@code (2^(b−1) − 1) · scale} saturate at the top code. With a negative value in the group the
 * f32 scales agree ({@code 2·amax/15} and {@code amax/7.5} round the same real number). Hence the own functions here.
 */
public final class GptqRtn {
    private GptqRtn() {}

    /**
     * @param weight    {@code [N, K]} in BF16, F16 or F32
     * @param bits      4 or 8 (any width dividing 32 works)
     * @param groupSize G dividing K, or −1 for one group per row (per-channel)
     * @throws InvalidConfigException when G does not divide K
     * @throws MalformedInputException on a non-finite weight or a scale beyond f16
     */
    public static IntWeightLinear quantize(Tensor weight, int bits, int groupSize) {
        long n = weight.shape().dim(0);
        long k = weight.shape().dim(1);
        long g = groupSize == -1 ? k : groupSize;
        if (g <= 0 || k % g != 0) {
            throw new InvalidConfigException("group size " + groupSize + " does not divide in_features " + k);
        }
        long groups = k / g;
        int maxq = (1 << bits) - 1;
        int zero = 1 << (bits - 1);
        Tensor codes = Tensor.allocate(DType.U8, Shape.of(n, k));
        Tensor scales = Tensor.allocate(DType.F16, Shape.of(n, groups));
        Tensor zeros = Tensor.allocate(DType.I32, Shape.of(n, groups));
        for (long r = 0; r < n; r++) {
            for (long j = 0; j < groups; j++) {
                long base = r * k + j * g;
                float lo = 0f;
                float hi = 0f;
                for (long c = 0; c < g; c++) {
                    float x = finite(weight, base + c, k);
                    lo = Math.min(lo, x);
                    hi = Math.max(hi, x);
                }
                float[] p = new float[3];
                params(lo, hi, maxq, zero, r, j, p);
                float scale = p[0];
                float stored = p[1];
                scales.setFloat(r * groups + j, stored);
                zeros.setLong(r * groups + j, zero);
                for (long c = 0; c < g; c++) {
                    double q = Math.rint(weight.getFloat(base + c) / scale) + zero;
                    codes.setLong(base + c, (long) Math.max(0, Math.min(maxq, q)));
                }
            }
        }
        return new IntWeightLinear(bits, codes, scales, zeros, IntWeightLinear.contiguousGroups(k, g));
    }

    /**
     * {@link #quantize} then {@link IntWeightLinear#toIntx}, the pipeline's form: {@link Kernel#REFERENCE} runs
     * exactly that; {@link Kernel#VECTOR} its Vector API twin {@link GroupRtnVector}, straight to the signed codes.
     */
    public static IntxUnpackedToInt8Tensor quantizeIntx(Tensor weight, int bits, int groupSize, Kernel kernel) {
        if (kernel == Kernel.REFERENCE) return quantize(weight, bits, groupSize).toIntx(weight.dtype());
        requireGroups(weight, groupSize);
        int maxq = (1 << bits) - 1;
        int zero = 1 << (bits - 1);
        return GroupRtnVector.quantize(weight, bits, groupSize, true,
                (lo, hi, row, group, out) -> params(lo, hi, maxq, zero, row, group, out));
    }

    /** GPTQ's symmetric scale of a group from its min and max (both taken with 0): f32 scale, f16 scale, zero. */
    private static void params(float lo, float hi, int maxq, int zero, long row, long group, float[] out) {
        hi = Math.max(Math.abs(lo), hi);
        if (lo < 0) lo = -hi;
        if (lo == 0f && hi == 0f) {
            lo = -1f;
            hi = 1f;
        }
        float scale = (hi - lo) / maxq;
        out[0] = scale;
        out[1] = f16(scale, row, group);
        out[2] = zero;
    }

    /** @throws InvalidConfigException when the group size does not divide in_features */
    public static void requireGroups(Tensor weight, int groupSize) {
        long k = weight.shape().dim(1);
        long g = groupSize == -1 ? k : groupSize;
        if (g <= 0 || k % g != 0) {
            throw new InvalidConfigException("group size " + groupSize + " does not divide in_features " + k);
        }
    }

    /** Element {@code i} of the {@code [N, K]} weight ({@code K = k}), refused when not finite (AWQ's RTN too). */
    public static float finite(Tensor weight, long i, long k) {
        float x = weight.getFloat(i);
        if (!Float.isFinite(x)) {
            throw new MalformedInputException("weight holds " + x + " at [" + i / k + ", " + i % k + "]; only finite "
                    + "weights can be quantized");
        }
        return x;
    }

    /** {@code scale} as the f16 the package stores; an overflow would silently turn a whole group into inf/NaN. */
    public static float f16(float scale, long row, long group) {
        float stored = Float.float16ToFloat(Float.floatToFloat16(scale));
        if (!Float.isFinite(stored)) {
            throw new MalformedInputException("the scale of row " + row + ", group " + group + " is " + scale
                    + ", beyond float16 (max 65504): the weights are too large for an f16-scaled format");
        }
        return stored;
    }
}
