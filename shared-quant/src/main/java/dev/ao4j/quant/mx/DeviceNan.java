package dev.ao4j.quant.mx;

import dev.ao4j.quant.dtype.Bf16;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.dtype.F16;
import dev.ao4j.quant.numerics.DivMode;

/**
 * The NaN bit patterns torch's f32 kernels produce, per device ({@link DivMode} names the device, as everywhere in
 * ao4j). They matter here because the fp6/fp4 encoders turn a NaN's bits into a code, and the fp8 cast keeps a
 * NaN's sign. CUDA returns the canonical NaN 0x7FFFFFFF from every f32 operation and writes 0x7FFF into bf16/f16.
 * An x86 CPU returns a NaN operand quieted, and the "default NaN" 0xFFC00000 for an invalid operation (0/0,
 * Inf/Inf, 0·Inf); which NaN operand wins is the kernel's operand order, so callers name it: the golden vectors
 * show the block divisor/multiplier winning over a NaN element in products, and the element in {@code x / s}.
 * The CPU's vectorised bf16 packer writes 0xFFFF for any NaN (float8 package, {@code DeviceNaN}, has the same
 * findings for Float8Tensor).
 */
public final class DeviceNan {
    private DeviceNan() {}

    /** CUDA's f32 NaN. */
    public static final int CUDA_NAN = 0x7FFFFFFF;
    /** x86's default NaN (negative). */
    public static final int X86_DEFAULT_NAN = 0xFFC00000;
    /** The NaN a CPU max-reduction and Python's {@code float("nan")} give: positive quiet NaN. */
    public static final int QUIET_NAN = 0x7FC00000;

    public static boolean isNaN(int f32Bits) {
        return (f32Bits & 0x7FFFFFFF) > 0x7F800000;
    }

    /**
     * The f32 bits of an op on {@code first} and {@code second} (bits, in the order the device kernel sees them)
     * whose IEEE result is {@code r}: r's own bits when it is a number, else the device's NaN.
     */
    public static int result(float r, int first, int second, DivMode mode) {
        if (r == r) return Float.floatToRawIntBits(r);
        if (mode == DivMode.CUDA_RECIPROCAL) return CUDA_NAN;
        if (isNaN(first)) return first | 0x00400000;
        if (isNaN(second)) return second | 0x00400000;
        return X86_DEFAULT_NAN;
    }

    /**
     * {@code f32Bits} stored into {@code out} (F32, BF16 or F16) by an elementwise kernel, as raw bits of that
     * dtype: numbers rounded to nearest even; a NaN as the device writes it (the CPU's vectorised loop for 16-bit
     * outputs: bf16 0xFFFF, f16 sign | 0x7E00 | payload).
     */
    public static int store(DType out, int f32Bits, DivMode mode) {
        boolean cuda = mode == DivMode.CUDA_RECIPROCAL;
        if (!isNaN(f32Bits)) {
            float f = Float.intBitsToFloat(f32Bits);
            return switch (out) {
                case F32 -> f32Bits;
                case BF16 -> Bf16.fromFloat(f) & 0xFFFF;
                case F16 -> F16.fromFloat(f) & 0xFFFF;
                default -> throw new IllegalArgumentException("not a float output dtype: " + out);
            };
        }
        return switch (out) {
            case F32 -> cuda ? CUDA_NAN : f32Bits;
            case BF16 -> cuda ? 0x7FFF : 0xFFFF;
            case F16 -> cuda ? 0x7FFF : ((f32Bits >>> 16) & 0x8000) | 0x7E00 | ((f32Bits >>> 13) & 0x3FF);
            default -> throw new IllegalArgumentException("not a float output dtype: " + out);
        };
    }

    /** {@code store} then widened back to f32 bits: the value a tensor of {@code dtype} holds. */
    public static int roundTo(DType dtype, int f32Bits, DivMode mode) {
        int raw = store(dtype, f32Bits, mode);
        return switch (dtype) {
            case F32 -> raw;
            case BF16 -> raw << 16;
            case F16 -> ((raw >>> 10) & 0x1F) == 0x1F
                    ? ((raw & 0x8000) << 16) | 0x7F800000 | ((raw & 0x3FF) << 13)
                    : Float.floatToRawIntBits(Float.float16ToFloat((short) raw));
            default -> throw new IllegalArgumentException("not a float dtype: " + dtype);
        };
    }
}
