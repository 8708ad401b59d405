package dev.ao4j.quant.tensor;

import dev.ao4j.quant.dtype.Bf16;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.dtype.F16;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * A dense row-major tensor: dtype, shape and little-endian bytes in a {@link MemorySegment} of any size
 * (a mapped safetensors region, or memory from {@link #allocate}). Element accessors take a flat index.
 */
public record Tensor(DType dtype, Shape shape, MemorySegment data) {
    public static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public Tensor {
        long expected = byteSize(dtype, shape);
        if (data.byteSize() != expected) {
            throw new IllegalArgumentException(dtype + shape.toString() + " needs " + expected + " bytes, data has "
                    + data.byteSize());
        }
    }

    /** Bytes needed for {@code shape} elements of {@code dtype}; packed fp4 shapes count bytes (pairs). */
    public static long byteSize(DType dtype, Shape shape) {
        return Math.multiplyExact(shape.numel(), (long) dtype.byteSize());
    }

    /**
     * While bound, the arena {@link #allocate} takes memory from. The pipeline binds one per tensor and closes it
     * once that tensor is written, so the tensor's outputs and temporaries are freed at once instead of whenever the
     * garbage collector finds them (the JVM collects native memory lazily, up to its direct-memory limit).
     */
    public static final ScopedValue<Arena> ALLOCATION_ARENA = ScopedValue.newInstance();

    /**
     * A zero-filled tensor in native memory: from {@link #ALLOCATION_ARENA} when it is bound on this thread, else
     * GC-managed.
     */
    public static Tensor allocate(DType dtype, Shape shape) {
        long bytes = byteSize(dtype, shape);
        Arena arena = ALLOCATION_ARENA.isBound() ? ALLOCATION_ARENA.get() : Arena.ofAuto();
        return new Tensor(dtype, shape, arena.allocate(Math.max(bytes, 1), 16).asSlice(0, bytes));
    }

    public long numel() {
        return shape.numel();
    }

    public long byteSize() {
        return data.byteSize();
    }

    /** Element {@code i} of a floating-point tensor (bf16, f16, f32, f64) as an f32. */
    public float getFloat(long i) {
        return switch (dtype) {
            case BF16 -> Bf16.toFloat(data.getAtIndex(I16, i));
            case F16 -> F16.toFloat(data.getAtIndex(I16, i));
            case F32 -> data.getAtIndex(F32, i);
            case F64 -> (float) data.getAtIndex(F64, i);
            default -> throw new UnsupportedOperationException("getFloat on " + dtype + " tensor; use getLong or a codec");
        };
    }

    /** Store {@code v}, rounded to nearest even into the tensor's float dtype. */
    public void setFloat(long i, float v) {
        switch (dtype) {
            case BF16 -> data.setAtIndex(I16, i, Bf16.fromFloat(v));
            case F16 -> data.setAtIndex(I16, i, F16.fromFloat(v));
            case F32 -> data.setAtIndex(F32, i, v);
            case F64 -> data.setAtIndex(F64, i, v);
            default -> throw new UnsupportedOperationException("setFloat on " + dtype + " tensor");
        }
    }

    /** Element {@code i} of an integer or bool tensor (unsigned types zero-extended). */
    public long getLong(long i) {
        return switch (dtype) {
            case BOOL, U8 -> data.get(ValueLayout.JAVA_BYTE, i) & 0xFFL;
            case I8 -> data.get(ValueLayout.JAVA_BYTE, i);
            case I16 -> data.getAtIndex(I16, i);
            case U16 -> data.getAtIndex(I16, i) & 0xFFFFL;
            case I32 -> data.getAtIndex(I32, i);
            case U32 -> data.getAtIndex(I32, i) & 0xFFFFFFFFL;
            case I64, U64 -> data.getAtIndex(I64, i);
            default -> throw new UnsupportedOperationException("getLong on " + dtype + " tensor");
        };
    }

    /** Store the low bits of {@code v} in an integer or bool tensor. */
    public void setLong(long i, long v) {
        switch (dtype) {
            case BOOL, U8, I8 -> data.set(ValueLayout.JAVA_BYTE, i, (byte) v);
            case I16, U16 -> data.setAtIndex(I16, i, (short) v);
            case I32, U32 -> data.setAtIndex(I32, i, (int) v);
            case I64, U64 -> data.setAtIndex(I64, i, v);
            default -> throw new UnsupportedOperationException("setLong on " + dtype + " tensor");
        }
    }

    /** Raw byte {@code i} (for 1-byte dtypes: the element's bit pattern). */
    public byte getByte(long i) {
        return data.get(ValueLayout.JAVA_BYTE, i);
    }

    public void setByte(long i, byte v) {
        data.set(ValueLayout.JAVA_BYTE, i, v);
    }

    /** The same bytes seen with another shape of equal byte size. */
    public Tensor reshape(Shape newShape) {
        return new Tensor(dtype, newShape, data);
    }

    /** The same bytes seen as another dtype of equal total size (like torch's {@code view(dtype)} on bytes). */
    public Tensor viewAs(DType newDtype, Shape newShape) {
        return new Tensor(newDtype, newShape, data);
    }

    /**
     * {@code tensor.to(dtype)} between floating dtypes (bf16, f16, f32, f64): each element rounded once, to nearest
     * even, as torch casts. Returns this tensor when the dtype already matches.
     */
    public Tensor to(DType target) {
        if (target == dtype) return this;
        if (!isCastable(dtype) || !isCastable(target)) {
            throw new UnsupportedOperationException("cast " + dtype + " -> " + target + ": only BF16, F16, F32 and F64"
                    + " convert");
        }
        Tensor out = allocate(target, shape);
        long n = numel();
        if (dtype == DType.F64) {
            for (long i = 0; i < n; i++) {
                double d = data.getAtIndex(F64, i);
                if (target == DType.F64) out.data.setAtIndex(F64, i, d);
                else out.setFloat(i, target == DType.F32 ? (float) d : roundToOddFloat(d));
            }
        } else if (target == DType.F64) {
            for (long i = 0; i < n; i++) out.data.setAtIndex(F64, i, getFloat(i));
        } else {
            for (long i = 0; i < n; i++) out.setFloat(i, getFloat(i));
        }
        return out;
    }

    private static boolean isCastable(DType t) {
        return t == DType.BF16 || t == DType.F16 || t == DType.F32 || t == DType.F64;
    }

    /**
     * {@code d} as an f32 rounded to odd: truncated toward zero, lowest mantissa bit set when inexact. Rounding
     * that once more to bf16 or f16 (at least two bits narrower) equals rounding {@code d} directly, which is
     * what torch's double-to-half casts do.
     */
    static float roundToOddFloat(double d) {
        float f = (float) d;
        if (Double.isNaN(d) || Double.isInfinite(f) || (double) f == d) return f;
        if (Math.abs((double) f) > Math.abs(d)) f = Math.nextAfter(f, 0.0);
        return Float.intBitsToFloat(Float.floatToRawIntBits(f) | 1);
    }

    /** Copy into fresh memory (so it outlives a mapping). */
    public Tensor copy() {
        Tensor t = allocate(dtype, shape);
        MemorySegment.copy(data, 0, t.data, 0, data.byteSize());
        return t;
    }

    /** True when dtype, shape and every byte are equal. */
    public boolean contentEquals(Tensor o) {
        return dtype == o.dtype && shape.equals(o.shape) && data.mismatch(o.data) < 0;
    }

    @Override
    public String toString() {
        return "Tensor[" + dtype + " " + shape + "]";
    }
}
