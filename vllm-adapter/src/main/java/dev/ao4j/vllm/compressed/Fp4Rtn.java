package dev.ao4j.vllm.compressed;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.dtype.Float8E4M3Fn;
import dev.ao4j.quant.dtype.Fp4E2M1;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.numerics.TorchOps;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;

/**
 * compressed-tensors' fp4 (e2m1) weight quantization: NVFP4 (e4m3 scales per 16 under an f32 global scale) and
 * MXFP4 (power-of-two scales per 32). Elements round to the nearest e2m1 value, ties to the even code, after
 * clamping to ±6; the sign comes from the sign bit (a negative value that rounds to zero is code 8). Codes pack
 * two per byte, element {@code 2i} in the low nibble.
 *
 * <p>NVFP4, as llm-compressor computes it in the weight dtype:
 * <ul>
 *   <li>{@code global = dtype(dtype(1 / max(amax, tiny)) * 2688)} (2688 = 448 * 6; torch evaluates a scalar
 *       divided by a tensor as the tensor's reciprocal times the scalar), as f32, NaN/Inf → 1; {@code amax}
 *       spans every member of a fused group (q/k/v, gate/up) so that they share one global scale, as vLLM
 *       requires;</li>
 *   <li>per block of 16: {@code scale = e4m3(clamp(global * dtype(amax_block / 6), ±448))} in f32, 0 → 0.125
 *       (e4m3's epsilon);</li>
 *   <li>{@code code = e2m1(clamp(w / (scale / global), ±6))} in f32; dequantized {@code e2m1 * (scale / global)}.</li>
 * </ul>
 *
 * <p>MXFP4: per block of 32, {@code amax} rounded to a power of two by adding half of the dtype's mantissa step
 * below e2m1's precision and masking the mantissa ({@code round_to_power_2}), exponent
 * {@code e = clamp(127 + floor(log2(p)) - 2, 0, 255)}, {@code scale = 2^(e - 127)} in the dtype,
 * {@code code = e2m1(clamp(dtype(w / scale), ±6))}; dequantized {@code e2m1 * 2^(e - 127)}.
 */
public final class Fp4Rtn {
    private Fp4Rtn() {}

    public static final int NVFP4_BLOCK = 16;
    public static final int MXFP4_BLOCK = 32;
    private static final float FP8_FP4_MAX = Float8E4M3Fn.MAX * Fp4E2M1.MAX;
    private static final byte E4M3_EPS = Float8E4M3Fn.fromFloat(0.125f);

    /** The codes and scales of one weight. */
    public record Result(Tensor codes, Tensor scale) {}

    /** {@code max(|w|)} over a tensor, in its dtype (NaN propagates). */
    public static float amax(Tensor w) {
        float m = 0f;
        for (long i = 0, n = w.numel(); i < n; i++) m = CtOps.max(m, Math.abs(w.getFloat(i)));
        return m;
    }

    /** The NVFP4 {@code weight_global_scale} for an absolute maximum {@code amax} of dtype {@code dt}. */
    public static float globalScale(float amax, DType dt) {
        float a = Math.max(amax, CtOps.tiny(dt)); // NaN stays NaN, as torch.clamp lets it through
        float g = TorchOps.mul(TorchOps.round(dt, 1f / a), FP8_FP4_MAX, dt);
        return Float.isNaN(g) || Float.isInfinite(g) ? 1f : g;
    }

    /**
     * @param w           BF16, F16 or F32 {@code [N, K]}, K a multiple of 16
     * @param globalScale from {@link #globalScale}, over w's whole fused group
     * @return codes U8 {@code [N, K]} (one per byte), scale F8_E4M3 {@code [N, K / 16]}
     */
    public static Result nvfp4(Tensor w, float globalScale, DivMode mode) {
        DType dt = CtOps.requireFloat(w);
        long n = w.shape().dim(0);
        long k = w.shape().dim(1);
        requireMultiple(k, NVFP4_BLOCK);
        long blocks = k / NVFP4_BLOCK;
        Tensor codes = Tensor.allocate(DType.U8, Shape.of(n, k));
        Tensor scale = Tensor.allocate(DType.F8_E4M3, Shape.of(n, blocks));
        for (long r = 0; r < n; r++) {
            for (long b = 0; b < blocks; b++) {
                long base = r * k + b * NVFP4_BLOCK;
                byte sc = nvfp4Scale(blockAmax(w, base, NVFP4_BLOCK), globalScale, dt, mode);
                scale.setByte(r * blocks + b, sc);
                float eff = Float8E4M3Fn.toFloat(sc) / globalScale;
                for (int j = 0; j < NVFP4_BLOCK; j++) {
                    float v = TorchOps.clamp(w.getFloat(base + j) / eff, -Fp4E2M1.MAX, Fp4E2M1.MAX);
                    codes.setByte(base + j, (byte) Fp4E2M1.fromFloat(v));
                }
            }
        }
        return new Result(codes, scale);
    }

    /**
     * @param w BF16, F16 or F32 {@code [N, K]}, K a multiple of 32
     * @return codes U8 {@code [N, K]} (one per byte), scale U8 {@code [N, K / 32]} (biased exponents)
     */
    public static Result mxfp4(Tensor w, DivMode mode) {
        DType dt = CtOps.requireFloat(w);
        long n = w.shape().dim(0);
        long k = w.shape().dim(1);
        requireMultiple(k, MXFP4_BLOCK);
        long blocks = k / MXFP4_BLOCK;
        Tensor codes = Tensor.allocate(DType.U8, Shape.of(n, k));
        Tensor scale = Tensor.allocate(DType.U8, Shape.of(n, blocks));
        float eps = CtOps.eps(dt);
        for (long r = 0; r < n; r++) {
            for (long b = 0; b < blocks; b++) {
                long base = r * k + b * MXFP4_BLOCK;
                float s = mxfp4Scale(blockAmax(w, base, MXFP4_BLOCK), dt, eps);
                scale.setLong(r * blocks + b, biasedExponent(s));
                for (int j = 0; j < MXFP4_BLOCK; j++) {
                    float v = TorchOps.clamp(TorchOps.div(w.getFloat(base + j), s, dt), -Fp4E2M1.MAX, Fp4E2M1.MAX);
                    codes.setByte(base + j, (byte) Fp4E2M1.fromFloat(v));
                }
            }
        }
        return new Result(codes, scale);
    }

    /** An NVFP4 block's e4m3 scale from its {@code amax} (0 becomes e4m3's epsilon). */
    static byte nvfp4Scale(float amax, float globalScale, DType dt, DivMode mode) {
        float local = TorchOps.divScalar(amax, Fp4E2M1.MAX, dt, mode);
        byte sc = Float8E4M3Fn.fromFloat(TorchOps.clamp(globalScale * local, -Float8E4M3Fn.MAX, Float8E4M3Fn.MAX));
        return Float8E4M3Fn.toFloat(sc) == 0f ? E4M3_EPS : sc;
    }

    /** An MXFP4 block's power-of-two scale in the weight dtype from its {@code amax} (0 becomes {@code eps}). */
    static float mxfp4Scale(float amax, DType dt, float eps) {
        float p = roundToPowerOf2(amax, dt);
        double e = 127 + Math.floor(Math.log(p) / Math.log(2)) - 2;
        double clamped = Double.isNaN(e) ? 0 : Math.rint(Math.max(0, Math.min(255, e)));
        float s = TorchOps.round(dt, (float) Math.pow(2, clamped - 127));
        return s == 0f ? eps : s;
    }

    /** The stored (biased) exponent of a power-of-two scale. */
    static int biasedExponent(float s) {
        return 127 + (int) Math.floor(Math.log(s) / Math.log(2));
    }

    /**
     * compressed-tensors' {@code round_to_power_2} on {@code x}'s bits in dtype {@code dt}: add half a step of the
     * mantissa bit just below e2m1's one mantissa bit, keep sign and exponent.
     */
    static float roundToPowerOf2(float x, DType dt) {
        return switch (dt) {
            case BF16 -> {
                int bits = (Float.floatToRawIntBits(x) >>> 16) & 0xFFFF;
                yield Float.intBitsToFloat((((bits + (1 << 5)) & 0xFF80) & 0xFFFF) << 16);
            }
            case F16 -> {
                int bits = Float.floatToFloat16(x) & 0xFFFF;
                yield Float.float16ToFloat((short) (((bits + (1 << 8)) & 0xFC00) & 0xFFFF));
            }
            case F32 -> Float.intBitsToFloat((Float.floatToRawIntBits(x) + (1 << 21)) & 0xFF800000);
            default -> throw new IllegalArgumentException("no power-of-two rounding for " + dt);
        };
    }

    /** {@code e2m1 * (scale / global)} in f32, rounded once to {@code out}. */
    public static Tensor dequantizeNvfp4(Tensor codes, Tensor scale, float globalScale, DType out) {
        long n = codes.shape().dim(0);
        long k = codes.shape().dim(1);
        long blocks = scale.shape().dim(1);
        Tensor w = Tensor.allocate(out, codes.shape());
        for (long r = 0; r < n; r++) {
            for (long c = 0; c < k; c++) {
                float eff = Float8E4M3Fn.toFloat(scale.getByte(r * blocks + c / NVFP4_BLOCK)) / globalScale;
                w.setFloat(r * k + c, TorchOps.round(out, Fp4E2M1.toFloat((int) codes.getLong(r * k + c)) * eff));
            }
        }
        return w;
    }

    /** {@code e2m1 * 2^(e - 127)}, rounded once to {@code out}. */
    public static Tensor dequantizeMxfp4(Tensor codes, Tensor scale, DType out) {
        long n = codes.shape().dim(0);
        long k = codes.shape().dim(1);
        long blocks = scale.shape().dim(1);
        Tensor w = Tensor.allocate(out, codes.shape());
        for (long r = 0; r < n; r++) {
            for (long c = 0; c < k; c++) {
                float s = (float) Math.pow(2, scale.getLong(r * blocks + c / MXFP4_BLOCK) - 127);
                w.setFloat(r * k + c, TorchOps.round(out, Fp4E2M1.toFloat((int) codes.getLong(r * k + c)) * s));
            }
        }
        return w;
    }

    /** U8 {@code [N, K]} codes → U8 {@code [N, K / 2]}, element {@code 2i} in the low nibble. */
    public static Tensor pack(Tensor codes) {
        long n = codes.shape().dim(0);
        long k = codes.shape().dim(1);
        requireMultiple(k, 2);
        Tensor out = Tensor.allocate(DType.U8, Shape.of(n, k / 2));
        for (long i = 0, m = out.numel(); i < m; i++) {
            out.setByte(i, Fp4E2M1.pack((int) codes.getLong(2 * i), (int) codes.getLong(2 * i + 1)));
        }
        return out;
    }

    /** U8 {@code [N, K / 2]} → U8 {@code [N, K]} codes. */
    public static Tensor unpack(Tensor packed) {
        long n = packed.shape().dim(0);
        long half = packed.shape().dim(1);
        Tensor out = Tensor.allocate(DType.U8, Shape.of(n, half * 2));
        for (long i = 0, m = packed.numel(); i < m; i++) {
            byte b = packed.getByte(i);
            out.setByte(2 * i, (byte) Fp4E2M1.low(b));
            out.setByte(2 * i + 1, (byte) Fp4E2M1.high(b));
        }
        return out;
    }

    private static float blockAmax(Tensor w, long base, int len) {
        float min = 0f;
        float max = 0f;
        for (int j = 0; j < len; j++) {
            float x = w.getFloat(base + j);
            min = CtOps.min(min, x);
            max = CtOps.max(max, x);
        }
        return CtOps.max(Math.abs(min), Math.abs(max));
    }

    private static void requireMultiple(long k, int b) {
        if (k % b != 0) throw new IllegalArgumentException("in-features " + k + " not a multiple of " + b);
    }
}
