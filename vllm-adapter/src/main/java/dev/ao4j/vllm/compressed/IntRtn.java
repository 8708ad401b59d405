package dev.ao4j.vllm.compressed;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.numerics.TorchOps;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;

/**
 * compressed-tensors' integer round-to-nearest for weights (its min-max observer, {@code calculate_qparams} and
 * {@code quantize}), which differs from torchao's affine path in the scale rule and in computing in the weight's
 * own dtype:
 *
 * <ul>
 *   <li>per group, {@code min = min(min(w), 0)}, {@code max = max(max(w), 0)} in the weight dtype;</li>
 *   <li>symmetric: {@code scale = max(|min|, |max|) / ((2^b - 1) / 2)} (7.5 for 4 bits, 127.5 for 8; a tensor by
 *       Python-scalar division, whose rounding depends on the device, see {@link DivMode}), zero point 0;</li>
 *   <li>asymmetric: {@code scale = (max - min) / (2^b - 1)}, {@code zp = clamp(-2^(b-1) - min / scale)} rounded
 *       half to even into int8;</li>
 *   <li>a zero scale becomes the dtype's epsilon (after the zero point was computed);</li>
 *   <li>{@code q = round_half_even(clamp(dtype(dtype(w / scale) + zp), -2^(b-1), 2^(b-1) - 1))}: each op rounds to
 *       the weight dtype as torch does;</li>
 *   <li>dequantized: {@code (q - zp) * scale}.</li>
 * </ul>
 * A NaN that reaches an int8 conversion becomes 0 (what x86 and CUDA conversions give).
 */
public final class IntRtn {
    private IntRtn() {}

    /** The codes, scales and zero points of one weight. */
    public record Result(Tensor codes, Tensor scale, Tensor zeroPoint) {}

    /**
     * @param w         BF16, F16 or F32 {@code [N, K]}
     * @param groupSize columns per scale; K (or {@link CompressedTensorsScheme#CHANNEL}) for one per row
     * @return codes I8 {@code [N, K]}, scale in w's dtype {@code [N, K / groupSize]}, zero point I8 of the same
     *         shape (null when symmetric)
     */
    public static Result quantize(Tensor w, int bits, int groupSize, boolean symmetric, DivMode mode) {
        DType dt = CtOps.requireFloat(w);
        long n = w.shape().dim(0);
        long k = w.shape().dim(1);
        int g = groupSize == CompressedTensorsScheme.CHANNEL ? (int) k : groupSize;
        if (g <= 0 || k % g != 0) {
            throw new IllegalArgumentException("in-features " + k + " not a multiple of group size " + g);
        }
        long groups = k / g;
        float qmin = -(1 << (bits - 1));
        float qmax = (1 << (bits - 1)) - 1;
        Tensor codes = Tensor.allocate(DType.I8, Shape.of(n, k));
        Tensor scale = Tensor.allocate(dt, Shape.of(n, groups));
        Tensor zero = symmetric ? null : Tensor.allocate(DType.I8, Shape.of(n, groups));
        float eps = CtOps.eps(dt);
        for (long r = 0; r < n; r++) {
            for (long c = 0; c < groups; c++) {
                long base = r * k + c * g;
                float min = 0f;
                float max = 0f;
                for (int j = 0; j < g; j++) {
                    float x = w.getFloat(base + j);
                    min = CtOps.min(min, x);
                    max = CtOps.max(max, x);
                }
                float s = scaleOf(min, max, symmetric, bits, dt, mode);
                float zp = 0f;
                if (!symmetric) {
                    zp = zeroOf(min, s, bits, dt);
                    zero.setLong(r * groups + c, (long) zp);
                }
                if (s == 0f) s = eps;
                scale.setFloat(r * groups + c, s);
                for (int j = 0; j < g; j++) {
                    float v = TorchOps.div(w.getFloat(base + j), s, dt);
                    if (!symmetric) v = TorchOps.add(v, zp, dt);
                    codes.setLong(base + j, (long) CtOps.toInt8(TorchOps.clamp(v, qmin, qmax)));
                }
            }
        }
        return new Result(codes, scale, zero);
    }

    /** A group's scale from its {@code min(min(w), 0)} and {@code max(max(w), 0)}, before a zero becomes eps. */
    static float scaleOf(float min, float max, boolean symmetric, int bits, DType dt, DivMode mode) {
        double levels = (1 << bits) - 1;
        return symmetric ? TorchOps.divScalar(Math.max(Math.abs(min), Math.abs(max)), levels / 2, dt, mode)
                : TorchOps.divScalar(TorchOps.sub(max, min, dt), levels, dt, mode);
    }

    /** An asymmetric group's zero point from its min and its scale (before a zero scale becomes eps). */
    static float zeroOf(float min, float s, int bits, DType dt) {
        float qmin = -(1 << (bits - 1));
        float qmax = (1 << (bits - 1)) - 1;
        return CtOps.toInt8(TorchOps.clamp(TorchOps.sub(qmin, TorchOps.div(min, s, dt), dt), qmin, qmax));
    }

    /** The code of one element: the reference's per-element steps, for the vector kernel's tails. */
    static int codeOf(float x, float s, float zp, boolean symmetric, float qmin, float qmax, DType dt) {
        float v = TorchOps.div(x, s, dt);
        if (!symmetric) v = TorchOps.add(v, zp, dt);
        return (int) CtOps.toInt8(TorchOps.clamp(v, qmin, qmax));
    }

    /**
     * {@code (q - zp) * scale} per element, the scale column chosen by {@code K / scale.cols()}, rounded once to
     * {@code out}.
     */
    public static Tensor dequantize(Tensor codes, Tensor scale, Tensor zeroPoint, DType out) {
        long n = codes.shape().dim(0);
        long k = codes.shape().dim(1);
        long groups = scale.shape().dim(1);
        long g = k / groups;
        Tensor w = Tensor.allocate(out, Shape.of(n, k));
        for (long r = 0; r < n; r++) {
            for (long c = 0; c < k; c++) {
                long si = r * groups + c / g;
                long q = codes.getLong(r * k + c) - (zeroPoint == null ? 0 : zeroPoint.getLong(si));
                w.setFloat(r * k + c, TorchOps.round(out, q * scale.getFloat(si)));
            }
        }
        return w;
    }
}
