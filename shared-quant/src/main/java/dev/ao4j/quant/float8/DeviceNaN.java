package dev.ao4j.quant.float8;

import dev.ao4j.quant.dtype.Bf16;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.dtype.F16;
import dev.ao4j.quant.numerics.DivMode;

/**
 * The NaN bit patterns torch's kernels write, per device. Finite results are IEEE on both devices; only NaN bits
 * differ, and they matter because a float8 cast keeps a NaN's sign (code 0x7F vs 0xFF). {@link DivMode} names the
 * device: {@link DivMode#CUDA_RECIPROCAL} is CUDA, {@link DivMode#TRUE_DIV} is the x86 CPU.
 *
 * <ul>
 * <li>CUDA: every f32 operation that yields NaN returns the canonical NaN 0x7FFFFFFF, and the bf16/f16 packers
 *     write 0x7FFF. So a NaN code is always 0x7F.</li>
 * <li>x86 CPU: an operation with a NaN operand returns that operand quieted (the first one if both are NaN); an
 *     invalid operation (0/0, Inf/Inf, 0·Inf) returns the "default NaN" 0xFFC00000, whose sign bit is set. So
 *     the zero rows torchao turns into 0/0 get code 0xFF on CPU but 0x7F on CUDA (golden
 *     {@code fp8.from_hp_torch.edge_64x512.float8_e4m3fn.row}, row 0).</li>
 * <li>x86 CPU, f32 → bf16: ATen's vectorised packer writes 0xFFFF for any NaN while its scalar loop (c10's
 *     round-to-nearest-even) writes 0x7FC0. An elementwise kernel runs vectorised over whole steps of 32 bf16
 *     elements and finishes the remainder with the scalar loop (ATen's AVX2 kernels). Golden: a [1, 1] per-tensor
 *     NaN scale is 0x7FC0, a [32, 1] per-row NaN scale is 0xFFFF, dequantized NaNs are 0xFFFF.</li>
 * </ul>
 * The f16 patterns, and which NaN an f32 amax reduction returns, are not covered by the golden vectors; we follow
 * the same kernels' documented instruction behaviour (F16C conversion keeps sign and payload, c10's scalar half
 * conversion writes {@code sign | 0x7E00}) and treat an f32/f16 amax NaN as the quiet NaN 0x7FC00000.
 */
final class DeviceNaN {
    private DeviceNaN() {}

    static final int CUDA_NAN_F32 = 0x7FFFFFFF;
    static final int X86_DEFAULT_NAN = 0xFFC00000;
    static final int QUIET_NAN = 0x7FC00000;
    /** Elements per vectorised step of ATen's AVX2 elementwise loop on 16-bit floats (2 vectors of 16). */
    static final int CPU_VECTOR_STEP = 32;

    static boolean isCuda(DivMode mode) {
        return mode == DivMode.CUDA_RECIPROCAL;
    }

    static boolean isNaN(int f32Bits) {
        return (f32Bits & 0x7FFFFFFF) > 0x7F800000;
    }

    /** The f32 NaN an op on {@code a} and {@code b} (bit patterns) returns when its result is NaN. */
    static int nanResult(int a, int b, DivMode mode) {
        if (isCuda(mode)) return CUDA_NAN_F32;
        if (isNaN(a)) return a | 0x00400000;
        if (isNaN(b)) return b | 0x00400000;
        return X86_DEFAULT_NAN;
    }

    /** Sign bit (0 or 1) of the NaN an op on {@code a} and {@code b} returns; what a float8 NaN code keeps. */
    static int nanSign(int a, int b, DivMode mode) {
        return nanResult(a, b, mode) >>> 31;
    }

    /**
     * {@code value} (an f32 bit pattern) rounded to {@code dtype} as an elementwise kernel writes it, returned as
     * raw bits of that dtype (16 bits for BF16/F16). {@code cpuVectorLane} says whether the CPU kernel's vector
     * loop or its scalar remainder wrote this element.
     */
    static int roundBits(DType dtype, int value, DivMode mode, boolean cpuVectorLane) {
        if (!isNaN(value)) {
            float f = Float.intBitsToFloat(value);
            return switch (dtype) {
                case BF16 -> Bf16.fromFloat(f) & 0xFFFF;
                case F16 -> F16.fromFloat(f) & 0xFFFF;
                case F32 -> value;
                default -> throw new IllegalArgumentException("not a float compute dtype: " + dtype);
            };
        }
        if (isCuda(mode)) {
            return switch (dtype) {
                case BF16, F16 -> 0x7FFF;
                case F32 -> CUDA_NAN_F32;
                default -> throw new IllegalArgumentException("not a float compute dtype: " + dtype);
            };
        }
        int sign16 = (value >>> 16) & 0x8000;
        return switch (dtype) {
            case BF16 -> cpuVectorLane ? 0xFFFF : 0x7FC0;
            case F16 -> cpuVectorLane
                    ? sign16 | 0x7E00 | ((value >>> 13) & 0x3FF)
                    : sign16 | 0x7E00;
            case F32 -> value;
            default -> throw new IllegalArgumentException("not a float compute dtype: " + dtype);
        };
    }

    /** Whether element {@code index} of an {@code n}-element CPU elementwise kernel runs in the vector loop. */
    static boolean cpuVectorLane(long index, long n) {
        return index < n - n % CPU_VECTOR_STEP;
    }

    /** Widen raw {@code dtype} bits to f32 bits exactly (NaN payload and sign kept). */
    static int widen(DType dtype, int raw) {
        return switch (dtype) {
            case BF16 -> (raw & 0xFFFF) << 16;
            case F16 -> f16ToF32Bits(raw);
            case F32 -> raw;
            default -> throw new IllegalArgumentException("not a float compute dtype: " + dtype);
        };
    }

    private static int f16ToF32Bits(int h) {
        int sign = (h & 0x8000) << 16;
        int e = (h >>> 10) & 0x1F;
        int m = h & 0x3FF;
        if (e == 0x1F) return sign | 0x7F800000 | (m << 13);
        return Float.floatToRawIntBits(Float.float16ToFloat((short) h));
    }
}
