package dev.ao4j.quant.numerics;

import dev.ao4j.quant.dtype.Bf16;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.dtype.F16;

/**
 * Scalar versions of torch's elementwise ops with torch's rounding: every op computes in f32 and rounds once to
 * its result dtype (torchao-numerics R1).
 */
public final class TorchOps {
    private TorchOps() {}

    /** {@code f} rounded (RNE) to a float dtype: bf16, f16 or f32. */
    public static float round(DType dtype, float f) {
        return switch (dtype) {
            case BF16 -> Bf16.round(f);
            case F16 -> F16.round(f);
            case F32 -> f;
            default -> throw new IllegalArgumentException("not a float compute dtype: " + dtype);
        };
    }

    /** {@code t / c} for a tensor of {@code dtype} and a Python scalar {@code c}, on the device {@code mode} models. */
    public static float divScalar(float t, double c, DType dtype, DivMode mode) {
        float r = mode == DivMode.CUDA_RECIPROCAL ? t * (float) (1.0 / c) : t / (float) c;
        return round(dtype, r);
    }

    /** {@code a * b} in {@code dtype}. */
    public static float mul(float a, float b, DType dtype) {
        return round(dtype, a * b);
    }

    /** {@code a / b} (tensor by tensor: true division on every device) in {@code dtype}. */
    public static float div(float a, float b, DType dtype) {
        return round(dtype, a / b);
    }

    /** {@code a + b} in {@code dtype}. */
    public static float add(float a, float b, DType dtype) {
        return round(dtype, a + b);
    }

    /** {@code a - b} in {@code dtype}. */
    public static float sub(float a, float b, DType dtype) {
        return round(dtype, a - b);
    }

    /** {@code torch.round}: to nearest integer, ties to even. */
    public static float rne(float f) {
        return (float) Math.rint(f);
    }

    /** {@code torch.clamp(x, min=lo)}: NaN passes through. */
    public static float clampMin(float x, float lo) {
        return x < lo ? lo : x;
    }

    /** {@code torch.clamp(x, lo, hi)}: NaN passes through. */
    public static float clamp(float x, float lo, float hi) {
        return Math.min(Math.max(x, lo), hi);
    }

    /**
     * torch's result dtype of a binary op between two float tensors: equal dtypes stay, anything with f32 is
     * f32, and bf16 with f16 is f32.
     */
    public static DType promote(DType a, DType b) {
        ComputeDtypes.require("operand", a);
        ComputeDtypes.require("operand", b);
        return a == b ? a : DType.F32;
    }
}
