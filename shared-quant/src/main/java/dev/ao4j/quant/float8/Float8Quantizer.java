package dev.ao4j.quant.float8;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.quant.config.Float8MMConfig;
import dev.ao4j.quant.config.KernelPreference;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.numerics.BlockLayout;
import dev.ao4j.quant.numerics.ComputeDtypes;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.qtensor.Float8Tensor;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;

/**
 * TorchAO float8 quantization ({@code Float8Tensor.from_hp} on the torch path, {@code _choose_scale_float8},
 * {@code _quantize_affine_float8}, {@code _dequantize_affine_float8}), bit-exact with torchao 0.18 / torch 2.11.
 * Pure functions: inputs are only read, results are fresh tensors.
 *
 * <p>Numerics (torchao-numerics §1.6, §6.2), for a weight or activation {@code x} of dtype bf16, f16 or f32:
 * <pre>
 *   amax  = max |x| over each block                 exact, in x's dtype
 *   amax  = clamp(amax, lb, ub)                     only when a bound is set
 *   scale = amax / fp8_max                          in x's dtype, Python-scalar division (DivMode, rule R2)
 *   scale = f32(scale)                              stored [d_i / b_i ...]
 *   q     = cast_rne(clamp(f32(x) / scale, ±fp8_max))  f32 tensor division, fp8_max 448 (e4m3fn) or 57344 (e5m2)
 * </pre>
 * There is no eps: an all-zero block gets scale 0 and every element becomes 0/0 = NaN, code 0x7F on CUDA and 0xFF
 * on the CPU (x86's default NaN is negative; see {@link DeviceNaN}). The {@link DivMode} argument names the device
 * whose conventions to follow, for the scalar division and for NaN bits. For bf16 inputs the two divisions never
 * disagree once rounded to bf16 (checked over all bf16 values), so golden CPU/CUDA differences are NaN bits only.
 *
 * <p>The MSLK kernel path ({@code KernelPreference.MSLK}, or AUTO on sm90+ with MSLK installed) computes scales
 * differently and is not implemented; AUTO here means "MSLK absent", as in the golden vectors.
 */
public final class Float8Quantizer {
    private Float8Quantizer() {}

    /** {@code torch.finfo(float8Dtype).max}: 448 for F8_E4M3, 57344 for F8_E5M2. */
    public static float maxValue(DType float8Dtype) {
        return Fp8Format.of(float8Dtype).max;
    }

    /**
     * torchao {@code _choose_scale_float8(hp, block_size, float8_dtype, hp_value_lb, hp_value_ub)}: an F32 tensor
     * of shape {@code [d_i / b_i ...]}.
     */
    public static Tensor chooseScale(Tensor hp, Shape blockSize, DType float8Dtype, Float hpValueLb, Float hpValueUb,
                                     DivMode mode, Kernel kernel) {
        checkInput(hp);
        Fp8Format fmt = Fp8Format.of(float8Dtype);
        BlockLayout layout = rowTiled(new BlockLayout(hp.shape(), blockSize));
        return scaleTensor(scaleBits(hp, layout, fmt, hpValueLb, hpValueUb, mode, kernel), layout);
    }

    /**
     * torchao {@code _quantize_affine_float8(hp, scale, float8_dtype)}: {@code scale} (F32) has one element, or the
     * tensor's rank with each dim dividing the tensor's; each scale covers its block.
     */
    public static Tensor quantizeWithScale(Tensor hp, Tensor scale, DType float8Dtype, DivMode mode,
                                           Kernel kernel) {
        checkInput(hp);
        Fp8Format fmt = Fp8Format.of(float8Dtype);
        requireF32Scale(scale);
        BlockLayout layout = rowTiled(BlockLayout.fromScale(hp.shape(), scale.shape()));
        return quantize(hp, layout, readScaleBits(scale, layout), fmt, mode, kernel);
    }

    /**
     * The codes and scale of {@code Float8Tensor.from_hp} (torch path), without attributes. Use
     * {@link #fromHighPrecision} for the full record.
     */
    public record Float8Data(Tensor qdata, Tensor scale, Shape blockSize) {}

    public static Float8Data quantize(Tensor hp, Float8Spec spec, DivMode mode, Kernel kernel) {
        checkInput(hp);
        Fp8Format fmt = Fp8Format.of(spec.float8Dtype());
        Shape blockSize = BlockLayout.blockSizeFor(hp.shape(), spec.granularity());
        BlockLayout layout = rowTiled(new BlockLayout(hp.shape(), blockSize));
        int[] bits = scaleBits(hp, layout, fmt, spec.hpValueLb(), spec.hpValueUb(), mode, kernel);
        return new Float8Data(quantize(hp, layout, bits, fmt, mode, kernel), scaleTensor(bits, layout), blockSize);
    }

    /**
     * torchao {@code Float8Tensor.from_hp(hp, float8_dtype, granularity, mm_config, hp_value_lb, hp_value_ub,
     * kernel_preference, act_quant_kwargs)} on the torch path. The attributes ({@code mmConfig},
     * {@code activationQuant}, {@code kernelPreference}) are the config's choice and are stored as given
     * ({@code null} mm_config / act_quant_kwargs for weight-only).
     *
     * @throws InvalidConfigException for {@code KernelPreference.MSLK}, whose kernel has different numerics
     */
    public static Float8Tensor fromHighPrecision(Tensor hp, Float8Spec spec, Float8MMConfig mmConfig,
                                                 Float8Tensor.ActivationQuant activationQuant,
                                                 KernelPreference kernelPreference, DivMode mode, Kernel kernel) {
        if (kernelPreference == KernelPreference.MSLK) {
            throw new InvalidConfigException("KernelPreference.MSLK quantizes with MSLK's Triton kernel, whose scales "
                    + "differ from torch's; ao4j implements the torch path (AUTO without MSLK, TORCH)");
        }
        Float8Data d = quantize(hp, spec, mode, kernel);
        return new Float8Tensor(d.qdata(), d.scale(), d.blockSize(), mmConfig, activationQuant, kernelPreference,
                hp.dtype());
    }

    /**
     * Dynamic activation quantization as {@code act_quant_kwargs} describes it: the same {@code from_hp} on the
     * activation ([tokens, K] or any rank; PerRow is per token, PerBlock [1, 128] per token per 128 channels).
     */
    public static Float8Tensor quantizeActivation(Tensor activation, Float8Tensor.ActivationQuant aq, DivMode mode,
                                                  Kernel kernel) {
        Float8Spec spec = new Float8Spec(aq.float8Dtype(), aq.granularity(), aq.hpValueLb(), aq.hpValueUb());
        return fromHighPrecision(activation, spec, aq.mmConfig(), null, aq.kernelPreference(), mode, kernel);
    }

    /** {@code Float8Tensor.dequantize()}: into the weight's original dtype. */
    public static Tensor dequantize(Float8Tensor t, DivMode mode) {
        return dequantize(t.qdata(), t.scale(), t.originalDtype(), mode);
    }

    /** {@code Float8Tensor.dequantize(out)}. */
    public static Tensor dequantize(Float8Tensor t, DType out, DivMode mode) {
        return dequantize(t.qdata(), t.scale(), out, mode);
    }

    /**
     * torchao {@code _dequantize_affine_float8(q, scale, out)}: {@code (f32(q) * scale).to(out)}, the product in
     * f32, then one rounding to {@code out} (BF16, F16 or F32).
     */
    public static Tensor dequantize(Tensor qdata, Tensor scale, DType out, DivMode mode) {
        Fp8Format fmt = Fp8Format.of(qdata.dtype());
        requireF32Scale(scale);
        ComputeDtypes.require("float8 dequantize output", out);
        BlockLayout layout = rowTiled(BlockLayout.fromScale(qdata.shape(), scale.shape()));
        int[] scaleBits = readScaleBits(scale, layout);
        Tensor result = Tensor.allocate(out, qdata.shape());
        int cols = (int) layout.shape().cols();
        int blockCols = layout.segmentLength();
        for (long r = 0; r < layout.rows(); r++) {
            long firstBlock = layout.firstBlockOfRow(r);
            for (int c = 0; c < cols; c++) {
                long i = r * cols + c;
                int q = fmt.decodeBits(qdata.getByte(i));
                int s = scaleBits[(int) (firstBlock + c / blockCols)];
                float p = Float.intBitsToFloat(q) * Float.intBitsToFloat(s);
                int pBits = p != p ? DeviceNaN.nanResult(q, s, mode) : Float.floatToRawIntBits(p);
                // the .to(out) copy is one big vectorised conversion; NaNs take the vector packer's pattern
                int raw = DeviceNaN.roundBits(out, pBits, mode, true);
                if (out == DType.F32) {
                    result.data().setAtIndex(Tensor.I32, i, raw);
                } else {
                    result.data().setAtIndex(Tensor.I16, i, (short) raw);
                }
            }
        }
        return result;
    }

    // ---- internals ----

    /**
     * {@code layout} if its blocks are runs of whole rows of the {@code [rows, last dim]} view (block extents 1
     * over the leading dims, then one dim with any divisor, then full extents: per-tensor, per-row, [1, 128],
     * [128, 128], [1, 128, 128] on [E, N, K]) and its last dim fits an int (the kernels hold a row in an array).
     * The layouts verified against torchao are all of this kind; others are refused.
     */
    private static BlockLayout rowTiled(BlockLayout layout) {
        Shape shape = layout.shape();
        Shape block = layout.blockSize();
        int last = shape.rank() - 1;
        if (last < 0) return layout; // a scalar: one block
        if (shape.dim(last) > Integer.MAX_VALUE) {
            throw notRowTiled(layout, "last dim above " + Integer.MAX_VALUE + " is not supported");
        }
        int j = 0;
        while (j < last && block.dim(j) == 1) j++;
        for (int i = j + 1; i < last; i++) {
            if (block.dim(i) != shape.dim(i)) {
                throw notRowTiled(layout, "blocks over the leading dims must be contiguous rows (after dim " + j
                        + " every block dim must be the full extent)");
            }
        }
        return layout;
    }

    private static InvalidConfigException notRowTiled(BlockLayout layout, String why) {
        return new InvalidConfigException("block_size " + layout.blockSize() + " for tensor shape " + layout.shape()
                + ": " + why);
    }

    private static void checkInput(Tensor hp) {
        ComputeDtypes.require("float8 quantization input", hp.dtype());
    }

    private static void requireF32Scale(Tensor scale) {
        if (scale.dtype() != DType.F32) {
            throw new UnsupportedFormatException("float8 scale must be F32 but is " + scale.dtype());
        }
    }

    /** The F32 scale tensor (block grid shape) holding {@code bits}. */
    private static Tensor scaleTensor(int[] bits, BlockLayout layout) {
        Tensor scale = Tensor.allocate(DType.F32, layout.grid());
        for (int i = 0; i < bits.length; i++) scale.data().setAtIndex(Tensor.I32, i, bits[i]);
        return scale;
    }

    /** The f32 bits of {@code scale}, one per block of {@code layout}. */
    private static int[] readScaleBits(Tensor scale, BlockLayout layout) {
        int[] bits = new int[Math.toIntExact(layout.numBlocks())];
        for (int i = 0; i < bits.length; i++) bits[i] = scale.data().getAtIndex(Tensor.I32, i);
        return bits;
    }

    private static Tensor quantize(Tensor hp, BlockLayout layout, int[] scaleBits, Fp8Format fmt, DivMode mode,
                                   Kernel kernel) {
        Tensor q = Tensor.allocate(fmt.dtype, hp.shape());
        switch (kernel) {
            case REFERENCE -> Float8Reference.quantizeRows(hp, layout, scaleBits, fmt, mode, q.data(), 0,
                    layout.rows());
            case VECTOR -> Float8Vector.quantize(hp, layout, scaleBits, fmt, mode, q.data());
        }
        return q;
    }

    /** Scale per block as f32 bits: amax, optional clamp, scalar division in the input dtype, widened to f32. */
    static int[] scaleBits(Tensor hp, BlockLayout layout, Fp8Format fmt, Float lb, Float ub, DivMode mode,
                           Kernel kernel) {
        int[] amax = switch (kernel) {
            case REFERENCE -> Float8Reference.blockAbsMax(hp, layout);
            case VECTOR -> Float8Vector.blockAbsMax(hp, layout);
        };
        DType dt = hp.dtype();
        long n = amax.length;
        for (int i = 0; i < amax.length; i++) {
            int a = amax[i];
            if (DeviceNaN.isNaN(a)) a = DeviceNaN.QUIET_NAN;
            if (lb != null) a = clampBound(a, lb, dt, mode, true);
            if (ub != null) a = clampBound(a, ub, dt, mode, false);
            float av = Float.intBitsToFloat(a);
            // R2: CUDA multiplies by f32(1 / (double) max), the CPU divides by f32(max); both in f32, then round
            float r = DeviceNaN.isCuda(mode) ? av * (float) (1.0 / fmt.max) : av / fmt.max;
            int rBits = r != r ? DeviceNaN.nanResult(a, Float.floatToRawIntBits(fmt.max), mode)
                    : Float.floatToRawIntBits(r);
            int raw = DeviceNaN.roundBits(dt, rBits, mode, DeviceNaN.cpuVectorLane(i, n));
            amax[i] = DeviceNaN.widen(dt, raw);
        }
        return amax;
    }

    /**
     * {@code torch.clamp(a, min=bound)} or {@code (max=bound)} on a tensor of {@code dtype} (R4): the CPU turns the
     * bound into the dtype first and compares there; CUDA compares in f32 against f32(bound); a clipped result is
     * the bound rounded to the dtype either way; NaN passes through.
     */
    private static int clampBound(int aBits, float bound, DType dtype, DivMode mode, boolean lower) {
        if (DeviceNaN.isNaN(aBits)) return aBits;
        float a = Float.intBitsToFloat(aBits);
        float rounded = dtype == DType.F32 ? bound
                : Float.intBitsToFloat(DeviceNaN.widen(dtype, DeviceNaN.roundBits(dtype,
                        Float.floatToRawIntBits(bound), mode, false)));
        float cmp = DeviceNaN.isCuda(mode) ? bound : rounded;
        boolean clip = lower ? a < cmp : a > cmp;
        return clip ? Float.floatToRawIntBits(rounded) : aBits;
    }
}
