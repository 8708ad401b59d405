package dev.ao4j.quant.nvfp4;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.dtype.Float8E4M3Fn;
import dev.ao4j.quant.dtype.Fp4E2M1;
import dev.ao4j.quant.mx.DeviceNan;
import dev.ao4j.quant.mx.ScaleSwizzle;
import dev.ao4j.quant.numerics.ComputeDtypes;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.numerics.F32Bits;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;

/**
 * TorchAO's NVFP4 quantization ({@code nvfp4_quantize}, {@code per_tensor_amax_to_scale},
 * {@code NVFP4Tensor.dequantize}, torchao 0.18, torchao-numerics §8), bit-exact on both device conventions.
 * All arithmetic is f32 on {@code x = f32(hp)} per block of 16 along the last dim:
 * <pre>
 *   bmax = max |x|;  bs = bmax / 6.0                          Python-scalar division (DivMode)
 *   single level:  s8 = e4m3(clamp(bs, 2^-6, 448));           y = x · (1 / f32(s8))
 *   two level:     s8 = e4m3(clamp(bs / pts, 2^-6, 448));     y = x · ((1 / pts) / f32(s8))
 *   q = fp4(clamp(y, ±6)), packed two per byte
 * </pre>
 * with {@code pts = amax(|hp|) / 2688} ({@link #perTensorScale}). NaN bit patterns follow {@link DeviceNan}: the
 * fp4 encoder turns a NaN's bits into a code, so CPU and CUDA codes differ in NaN blocks.
 */
public final class Nvfp4Quantizer {
    private Nvfp4Quantizer() {}

    private static final int BLOCK = Nvfp4Tensor.BLOCK_SIZE;
    private static final float E4M3_MIN_NORMAL = 0x1p-6f;

    /**
     * {@code per_tensor_amax_to_scale(amax(|hp|))}: an F32 scalar {@code f32(amax) / 2688}. {@code kernel} picks how
     * the amax is reduced (same bits either way: it is an integer max over {@code |x|}'s bits).
     */
    public static Tensor perTensorScale(Tensor hp, DivMode mode, Kernel kernel) {
        ComputeDtypes.require("NVFP4 per-tensor scale input", hp.dtype());
        int amax = switch (kernel) {
            case REFERENCE -> {
                int m = 0;
                for (long i = 0; i < hp.numel(); i++) m = Math.max(m, F32Bits.load(hp, i) & 0x7FFFFFFF);
                yield m;
            }
            case VECTOR -> Nvfp4Vector.absMaxBits(hp);
        };
        // a NaN maximum comes out of the reduction as the quiet NaN
        if (DeviceNan.isNaN(amax)) amax = DeviceNan.QUIET_NAN;
        float a = Float.intBitsToFloat(amax);
        float d = mode == DivMode.CUDA_RECIPROCAL ? a * (float) (1.0 / 2688.0) : a / 2688f;
        Tensor pts = Tensor.allocate(DType.F32, Shape.of());
        pts.data().setAtIndex(Tensor.I32, 0, DeviceNan.result(d, amax, Float.floatToRawIntBits(2688f), mode));
        return pts;
    }

    /**
     * {@code NVFP4Tensor.to_nvfp4(hp, per_tensor_scale, is_swizzled_scales)} on the PyTorch path.
     *
     * @param perTensorScale an F32 scalar for two-level scaling (see {@link #perTensorScale}), or null
     * @param kernel         the scalar reference loop or its Vector API twin (same bits)
     */
    public static Nvfp4Tensor quantize(Tensor hp, Tensor perTensorScale, boolean swizzleScales, DivMode mode,
                                       Kernel kernel) {
        ComputeDtypes.require("NVFP4 quantization input", hp.dtype());
        Shape shape = hp.shape();
        if (shape.rank() < 1 || shape.cols() % BLOCK != 0) {
            throw new InvalidConfigException("NVFP4 quantization needs a last dim divisible by " + BLOCK
                    + " but the input shape is " + shape);
        }
        if (swizzleScales && shape.rank() != 2) {
            throw new InvalidConfigException("swizzled NVFP4 scales are defined for 2-D tensors, input shape " + shape);
        }
        Integer pts = perTensorScale == null ? null : scalarBits(perTensorScale);
        int cols = Math.toIntExact(shape.cols());
        long[] qDims = shape.dims();
        qDims[qDims.length - 1] /= 2;
        long[] sDims = shape.dims();
        sDims[sDims.length - 1] /= BLOCK;
        Tensor q = Tensor.allocate(DType.U8, Shape.of(qDims));
        Tensor scale = Tensor.allocate(DType.F8_E4M3, Shape.of(sDims));
        switch (kernel) {
            case REFERENCE -> quantizeRows(hp, cols, pts, mode, q, scale, shape.rows());
            case VECTOR -> Nvfp4Vector.quantize(hp, cols, pts, mode, q, scale, shape.rows());
        }
        if (swizzleScales) scale = ScaleSwizzle.swizzle(scale);
        return new Nvfp4Tensor(q, scale, perTensorScale == null ? null : perTensorScale.copy(), swizzleScales,
                hp.dtype(), shape);
    }

    /**
     * The reference loop (the specification): per block of 16 the largest |x| (any NaN wins), its e4m3 scale and
     * multiplier, then every element scaled, clamped and encoded, two codes per byte. Scales go to {@code scale}
     * in the plain {@code [rows, cols / 16]} layout.
     */
    static void quantizeRows(Tensor hp, int cols, Integer pts, DivMode mode, Tensor q, Tensor scale, long rows) {
        int[] x = new int[BLOCK];
        int blocks = cols / BLOCK;
        for (long r = 0; r < rows; r++) {
            for (int b = 0; b < blocks; b++) {
                long base = r * cols + (long) b * BLOCK;
                int bmax = 0;
                for (int i = 0; i < BLOCK; i++) {
                    x[i] = F32Bits.load(hp, base + i);
                    bmax = Math.max(bmax, x[i] & 0x7FFFFFFF);
                }
                byte s8 = blockScale(bmax, pts, mode);
                scale.setByte(r * blocks + b, s8);
                int mult = multiplier(s8, pts, mode);
                for (int i = 0; i < BLOCK; i += 2) {
                    int lo = encode(x[i], mult, mode);
                    int hi = encode(x[i + 1], mult, mode);
                    q.setByte((base + i) / 2, (byte) (lo | (hi << 4)));
                }
            }
        }
    }

    /** The e4m3 block scale for a block whose largest |x| has bits {@code bmax}. */
    static byte blockScale(int bmax, Integer pts, DivMode mode) {
        if (DeviceNan.isNaN(bmax)) bmax = DeviceNan.QUIET_NAN; // the amax reduction's NaN
        float b = Float.intBitsToFloat(bmax);
        float bsF = mode == DivMode.CUDA_RECIPROCAL ? b * (float) (1.0 / 6.0) : b / 6f;
        int bs = DeviceNan.result(bsF, bmax, Float.floatToRawIntBits(6f), mode);
        if (pts != null) {
            bs = DeviceNan.result(Float.intBitsToFloat(bs) / Float.intBitsToFloat(pts), bs, pts, mode);
        }
        return Float8E4M3Fn.fromFloat(Float.intBitsToFloat(clamp(bs, E4M3_MIN_NORMAL, Float8E4M3Fn.MAX)));
    }

    /** The f32 bits of what the block's elements are multiplied by: {@code 1 / s} or {@code (1 / pts) / s}. */
    static int multiplier(byte s8, Integer pts, DivMode mode) {
        int s = Float8E4M3Fn.toFloatBits(s8);
        int one = Float.floatToRawIntBits(1f);
        if (pts == null) {
            return DeviceNan.result(1f / Float.intBitsToFloat(s), one, s, mode);
        }
        int rp = DeviceNan.result(1f / Float.intBitsToFloat(pts), one, pts, mode);
        return DeviceNan.result(Float.intBitsToFloat(rp) / Float.intBitsToFloat(s), rp, s, mode);
    }

    /** fp4 code of {@code clamp(x · mult, ±6)}; on the CPU a NaN multiplier is the NaN returned. */
    static int encode(int xBits, int mult, DivMode mode) {
        int y = DeviceNan.result(Float.intBitsToFloat(xBits) * Float.intBitsToFloat(mult), mult, xBits, mode);
        return Fp4E2M1.fromFloat(Float.intBitsToFloat(clamp(y, -Fp4E2M1.MAX, Fp4E2M1.MAX)));
    }

    /** The block scales {@code [..., K/16]} in the plain layout (un-swizzled when stored swizzled). */
    public static Tensor plainScale(Nvfp4Tensor t) {
        if (!t.swizzled()) return t.scale();
        return ScaleSwizzle.unswizzle(t.scale(), t.shape().dim(0), t.shape().cols() / BLOCK);
    }

    /** The f32 scale each block dequantizes with: {@code pts · f32(s8)}, or {@code f32(s8)}; shape {@code [..., K/16]}. */
    public static Tensor highPrecisionScales(Nvfp4Tensor t, DivMode mode) {
        Tensor s = plainScale(t);
        Tensor out = Tensor.allocate(DType.F32, s.shape());
        Integer pts = t.perTensorScale() == null ? null : scalarBits(t.perTensorScale());
        for (long i = 0; i < s.numel(); i++) out.data().setAtIndex(Tensor.I32, i, hpScale(s.getByte(i), pts, mode));
        return out;
    }

    private static int hpScale(byte s8, Integer pts, DivMode mode) {
        int s = Float8E4M3Fn.toFloatBits(s8);
        if (pts == null) return s;
        return DeviceNan.result(Float.intBitsToFloat(pts) * Float.intBitsToFloat(s), pts, s, mode);
    }

    /**
     * {@code NVFP4Tensor.dequantize(out)}: {@code decode(q) · hs} in f32 ({@code hs} as in
     * {@link #highPrecisionScales}), then one rounding to {@code out} (F32, BF16 or F16).
     */
    public static Tensor dequantize(Nvfp4Tensor t, DType out, DivMode mode) {
        ComputeDtypes.require("NVFP4 dequantize output", out);
        if (t.qdata().dtype() != DType.U8) {
            throw new UnsupportedFormatException("NVFP4 qdata must be U8 (packed fp4) but is " + t.qdata().dtype());
        }
        Tensor hs = highPrecisionScales(t, mode);
        int cols = Math.toIntExact(t.shape().cols());
        Tensor result = Tensor.allocate(out, t.shape());
        for (long i = 0; i < t.shape().numel(); i++) {
            int code = (t.qdata().getByte(i / 2) >>> ((i & 1) * 4)) & 0xF;
            int v = Float.floatToRawIntBits(Fp4E2M1.toFloat(code));
            long r = i / cols;
            int s = hs.data().getAtIndex(Tensor.I32, r * (cols / BLOCK) + (i % cols) / BLOCK);
            int p = DeviceNan.result(Float.intBitsToFloat(v) * Float.intBitsToFloat(s), s, v, mode);
            int raw = DeviceNan.store(out, p, mode);
            if (out == DType.F32) {
                result.data().setAtIndex(Tensor.I32, i, raw);
            } else {
                result.data().setAtIndex(Tensor.I16, i, (short) raw);
            }
        }
        return result;
    }

    private static int scalarBits(Tensor pts) {
        if (pts.dtype() != DType.F32 || pts.numel() != 1) {
            throw new UnsupportedFormatException("NVFP4 per_tensor_scale must be one F32 element but is " + pts);
        }
        return pts.data().getAtIndex(Tensor.I32, 0);
    }

    /** {@code torch.clamp(v, lo, hi)} on f32 bits: NaN passes through with its bits. */
    private static int clamp(int bits, float lo, float hi) {
        float v = Float.intBitsToFloat(bits);
        if (v < lo) return Float.floatToRawIntBits(lo);
        if (v > hi) return Float.floatToRawIntBits(hi);
        return bits;
    }
}
