package dev.ao4j.quant.float8;

import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.dtype.Float8E4M3Fn;
import dev.ao4j.quant.dtype.Float8E5M2;

/** The two torch float8 element types torchao's Float8Tensor uses, with their codecs. */
enum Fp8Format {
    E4M3FN(DType.F8_E4M3, Float8E4M3Fn.MAX),
    E5M2(DType.F8_E5M2, Float8E5M2.MAX);

    final DType dtype;
    /** {@code torch.finfo(dtype).max}, the divisor of the scale and the clamp bound. */
    final float max;

    Fp8Format(DType dtype, float max) {
        this.dtype = dtype;
        this.max = max;
    }

    static Fp8Format of(DType dtype) {
        return switch (dtype) {
            case F8_E4M3 -> E4M3FN;
            case F8_E5M2 -> E5M2;
            default -> throw new UnsupportedFormatException("float8 quantization targets float8_e4m3fn (F8_E4M3) or "
                    + "float8_e5m2 (F8_E5M2), not " + dtype.torchName() + " (" + dtype + ")");
        };
    }

    /** torch's eager cast to this format. */
    byte encode(float f) {
        return this == E4M3FN ? Float8E4M3Fn.fromFloat(f) : Float8E5M2.fromFloat(f);
    }

    /** The f32 bits torch decodes {@code code} to. */
    int decodeBits(byte code) {
        return this == E4M3FN ? Float8E4M3Fn.toFloatBits(code) : Float8E5M2.toFloatBits(code);
    }
}
