package dev.ao4j.vllm.compressed;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.lang.foreign.Arena;

/** Small torch-semantics helpers shared by the compressed-tensors numerics. */
final class CtOps {
    private CtOps() {}

    /** The weight's dtype, which compressed-tensors computes scales in. */
    static DType requireFloat(Tensor w) {
        if (w.shape().rank() != 2) throw new IllegalArgumentException("expected a 2-D weight but got " + w.shape());
        return switch (w.dtype()) {
            case BF16, F16, F32 -> w.dtype();
            default -> throw new IllegalArgumentException("expected a BF16, F16 or F32 weight but got " + w.dtype());
        };
    }

    /** A zero-filled tensor in {@code arena}'s memory (what {@link Tensor#allocate} does in an automatic one). */
    static Tensor allocate(Arena arena, DType dtype, Shape shape) {
        long bytes = Tensor.byteSize(dtype, shape);
        return new Tensor(dtype, shape, arena.allocate(Math.max(bytes, 1), 16).asSlice(0, bytes));
    }

    /** {@code torch.finfo(dtype).eps}, the value compressed-tensors puts in place of a zero scale. */
    static float eps(DType dt) {
        return switch (dt) {
            case BF16 -> 0x1p-7f;
            case F16 -> 0x1p-10f;
            case F32 -> 0x1p-23f;
            default -> throw new IllegalArgumentException("no eps for " + dt);
        };
    }

    /** {@code torch.finfo(dtype).tiny} (smallest normal). */
    static float tiny(DType dt) {
        return switch (dt) {
            case BF16, F32 -> Float.MIN_NORMAL;
            case F16 -> 0x1p-14f;
            default -> throw new IllegalArgumentException("no tiny for " + dt);
        };
    }

    /** torch.min: NaN propagates. */
    static float min(float a, float b) {
        return Float.isNaN(a) || Float.isNaN(b) ? Float.NaN : Math.min(a, b);
    }

    /** torch.max: NaN propagates. */
    static float max(float a, float b) {
        return Float.isNaN(a) || Float.isNaN(b) ? Float.NaN : Math.max(a, b);
    }

    /** {@code round(x).to(int8)} of a value already clamped to the int8 range; NaN gives 0. */
    static float toInt8(float x) {
        if (Float.isNaN(x)) return 0f;
        return (float) Math.rint(Math.max(-128f, Math.min(127f, x)));
    }
}
