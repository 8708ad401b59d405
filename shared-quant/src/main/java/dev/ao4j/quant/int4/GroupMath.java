package dev.ao4j.quant.int4;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.numerics.TorchOps;

/**
 * The scalar formulas of both int4 group quantizers, one torch op per line, each rounded to its result dtype
 * (torchao-numerics R1/R2). Per-group values (scale, zero) are computed only here, by both kernels, so the
 * kernels can differ only in the per-element loops.
 *
 * <p>Two algorithms:
 * <ul>
 *   <li><b>tinygemm</b> ({@code _choose_qparams_affine_tinygemm} / {@code _quantize_affine_tinygemm}, §1.5):
 *       every op in the input dtype; the float zero point is {@code mn + scale*mid}, NOT clamped to include 0.
 *   <li><b>MSLK</b> ({@code int4_row_quantize_zp}, §2.1): every op in f32; codes are taken against the raw
 *       group minimum with the unrounded f32 scale.
 * </ul>
 *
 * <p>NaN: torch's amin/amax propagate NaN, so a group holding a NaN gets a NaN scale and zero; we canonicalize
 * that NaN (Java's NaN payloads are not pinned down across JIT paths). Every code of such a group is then NaN
 * before torch's float-to-int cast, which CUDA performs as 0: tinygemm stores 0, MSLK (which subtracts 8 in
 * float first) stores signed 0, i.e. unsigned code 8.
 */
final class GroupMath {
    private GroupMath() {}

    /** {@code quant_min}/{@code quant_max} of the int4 paths (tinygemm stores 0..15, MSLK stores u - 8). */
    static final int QMIN = 0;
    static final int QMAX = 15;
    /** MSLK's {@code (max - min).clamp(min=1e-6)}, an f32 bound. */
    static final float MSLK_MIN_RANGE = 1e-6f;
    /** The unsigned code MSLK ends up with for a NaN element (signed 0 after its float {@code - 8}). */
    static final int MSLK_NAN_CODE = 8;

    static float canonicalNaN(float v) {
        return v != v ? Float.NaN : v;
    }

    /** torch {@code amin} over {@code x[from, from + len)}: NaN wins (then canonical), like {@link Math#min}. */
    static float groupMin(float[] x, int from, int len) {
        float m = Float.POSITIVE_INFINITY;
        for (int i = from; i < from + len; i++) m = Math.min(m, x[i]);
        return canonicalNaN(m);
    }

    /** torch {@code amax} over {@code x[from, from + len)}: NaN wins (then canonical), like {@link Math#max}. */
    static float groupMax(float[] x, int from, int len) {
        float m = Float.NEGATIVE_INFINITY;
        for (int i = from; i < from + len; i++) m = Math.max(m, x[i]);
        return canonicalNaN(m);
    }

    /** {@code (quant_max + quant_min + 1) / 2} as the Python float torchao computes. */
    static float tinygemmMid(int qmin, int qmax) {
        return (float) ((qmax + qmin + 1) / 2.0);
    }

    /** {@code clamp((mx - mn) / float(qmax - qmin), min=eps)}: subtract, divide by a Python scalar, clamp. */
    static float tinygemmScale(float mn, float mx, DType dt, DivMode mode, int qmin, int qmax, float eps) {
        float range = TorchOps.sub(mx, mn, dt);
        float scale = TorchOps.divScalar(range, (double) (qmax - qmin), dt, mode);
        return TorchOps.clampMin(scale, eps);
    }

    /** {@code mn + scale * mid}: two rounded ops in the input dtype. */
    static float tinygemmZero(float mn, float scale, DType dt, float mid) {
        return TorchOps.add(mn, TorchOps.mul(scale, mid, dt), dt);
    }

    /** {@code zero - scale * mid}, recomputed by the quantizer from the already rounded zero point. */
    static float tinygemmLow(float zero, float scale, DType dt, float mid) {
        return TorchOps.sub(zero, TorchOps.mul(scale, mid, dt), dt);
    }

    /** {@code clamp(round((x - low) / scale), qmin, qmax)} with both ops rounded to {@code dt}; NaN to 0. */
    static int tinygemmCode(float x, float low, float scale, DType dt, int qmin, int qmax) {
        float v = TorchOps.div(TorchOps.sub(x, low, dt), scale, dt);
        float r = TorchOps.rne(v);
        if (r != r) return 0;
        return (int) TorchOps.clamp(r, qmin, qmax);
    }

    /** {@code (q - mid).to(out) * scale + zero}, each op rounded to {@code out} (in-place torch ops). */
    static float tinygemmDequant(int q, float scale, float zero, DType out, float mid) {
        float centered = TorchOps.round(out, (float) q - mid);
        return TorchOps.add(TorchOps.mul(centered, scale, out), zero, out);
    }

    /** MSLK: {@code (mx - mn).clamp(min=1e-6) / 15} in f32 (a Python-int divisor: R2 applies). */
    static float mslkScale(float mn, float mx, DivMode mode) {
        return TorchOps.divScalar(TorchOps.clampMin(mx - mn, MSLK_MIN_RANGE), QMAX - QMIN, DType.F32, mode);
    }

    /** MSLK: {@code mn + scale * 8} in f32. */
    static float mslkZero(float mn, float scale) {
        return mn + scale * 8f;
    }

    /** MSLK: unsigned code {@code clamp(round((x - mn) / scale), 0, 15)} in f32; NaN gives 8 (signed 0). */
    static int mslkCode(float x, float mn, float scale) {
        float r = TorchOps.rne((x - mn) / scale);
        if (r != r) return MSLK_NAN_CODE;
        return (int) TorchOps.clamp(r, QMIN, QMAX);
    }
}
