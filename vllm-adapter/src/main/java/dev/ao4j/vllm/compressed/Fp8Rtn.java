package dev.ao4j.vllm.compressed;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.dtype.Float8E4M3Fn;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.numerics.TorchOps;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;

/**
 * compressed-tensors' fp8 (e4m3fn) weight quantization, which unlike torchao's computes in the weight dtype: per
 * region (the tensor, a row, or a {@code bn x bk} block, edge blocks partial) {@code amax} over the region and 0,
 * {@code scale = amax / 448} (a Python-scalar division, see {@link DivMode}) kept in the weight dtype, a zero
 * scale replaced by the dtype's epsilon; {@code code = e4m3(clamp(dtype(w / scale), -448, 448))} with torch's
 * round-to-nearest-even cast. Dequantized: {@code e4m3(code) * scale}.
 */
public final class Fp8Rtn {
    private Fp8Rtn() {}

    /** The codes and scales of one weight. */
    public record Result(Tensor codes, Tensor scale) {}

    /** One scale for the whole tensor, {@code [1]}. */
    public static Result perTensor(Tensor w, DivMode mode) {
        long n = w.shape().dim(0);
        long k = w.shape().dim(1);
        return quantize(w, n, k, Shape.of(1), mode);
    }

    /** One scale per output row, {@code [N, 1]}. */
    public static Result perChannel(Tensor w, DivMode mode) {
        long k = w.shape().dim(1);
        return quantize(w, 1, k, Shape.of(w.shape().dim(0), 1), mode);
    }

    /** One scale per {@code bn x bk} block, {@code [ceil(N / bn), ceil(K / bk)]}. */
    public static Result perBlock(Tensor w, int bn, int bk, DivMode mode) {
        return quantize(w, bn, bk, Shape.of(ceilDiv(w.shape().dim(0), bn), ceilDiv(w.shape().dim(1), bk)), mode);
    }

    private static Result quantize(Tensor w, long bn, long bk, Shape scaleShape, DivMode mode) {
        DType dt = CtOps.requireFloat(w);
        long n = w.shape().dim(0);
        long k = w.shape().dim(1);
        Tensor codes = Tensor.allocate(DType.F8_E4M3, w.shape());
        Tensor scale = Tensor.allocate(dt, scaleShape);
        long gridCols = ceilDiv(k, bk);
        float eps = CtOps.eps(dt);
        for (long br = 0; br * bn < n; br++) {
            for (long bc = 0; bc < gridCols; bc++) {
                long r1 = Math.min(n, (br + 1) * bn);
                long c1 = Math.min(k, (bc + 1) * bk);
                float min = 0f;
                float max = 0f;
                for (long r = br * bn; r < r1; r++) {
                    for (long c = bc * bk; c < c1; c++) {
                        float x = w.getFloat(r * k + c);
                        min = CtOps.min(min, x);
                        max = CtOps.max(max, x);
                    }
                }
                float s = TorchOps.divScalar(Math.max(Math.abs(min), Math.abs(max)), Float8E4M3Fn.MAX, dt, mode);
                if (s == 0f) s = eps;
                scale.setFloat(scaleShape.numel() == 1 ? 0 : br * gridCols + bc, s);
                for (long r = br * bn; r < r1; r++) {
                    for (long c = bc * bk; c < c1; c++) {
                        float v = TorchOps.clamp(TorchOps.div(w.getFloat(r * k + c), s, dt), -Float8E4M3Fn.MAX,
                                Float8E4M3Fn.MAX);
                        codes.setByte(r * k + c, Float8E4M3Fn.fromFloat(v));
                    }
                }
            }
        }
        return new Result(codes, scale);
    }

    /**
     * {@code e4m3(code) * scale} rounded once to {@code out}; the scale's shape says its granularity ({@code [1]},
     * {@code [N, 1]}, or a block grid with {@code block = [bn, bk]}).
     */
    public static Tensor dequantize(Tensor codes, Tensor scale, Shape block, DType out) {
        long n = codes.shape().dim(0);
        long k = codes.shape().dim(1);
        Tensor w = Tensor.allocate(out, codes.shape());
        long gridCols = scale.shape().rank() == 2 ? scale.shape().dim(1) : 1;
        for (long r = 0; r < n; r++) {
            for (long c = 0; c < k; c++) {
                long si;
                if (scale.numel() == 1) si = 0;
                else if (block == null) si = r;
                else si = (r / block.dim(0)) * gridCols + c / block.dim(1);
                float v = Float8E4M3Fn.toFloat(codes.getByte(r * k + c)) * scale.getFloat(si);
                w.setFloat(r * k + c, TorchOps.round(out, v));
            }
        }
        return w;
    }

    static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }
}
