package dev.ao4j.quant.int4;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.quant.dtype.Bf16;
import dev.ao4j.quant.dtype.F16;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;

/** Row access and argument checks shared by the int4 entry points. */
final class Rows {
    private Rows() {}

    /** Copy {@code len} elements starting at flat index {@code from} into {@code dst[0..len)} as f32. */
    static void read(Tensor t, long from, float[] dst, int len) {
        read(t, from, dst, 0, len);
    }

    /** Copy {@code len} elements starting at flat index {@code from} into {@code dst[off..off+len)} as f32. */
    static void read(Tensor t, long from, float[] dst, int off, int len) {
        switch (t.dtype()) {
            case BF16 -> {
                for (int i = 0; i < len; i++) dst[off + i] = Bf16.toFloat(t.data().getAtIndex(Tensor.I16, from + i));
            }
            case F16 -> {
                for (int i = 0; i < len; i++) dst[off + i] = F16.toFloat(t.data().getAtIndex(Tensor.I16, from + i));
            }
            case F32 -> {
                for (int i = 0; i < len; i++) dst[off + i] = t.data().getAtIndex(Tensor.F32, from + i);
            }
            default -> throw new IllegalStateException("unchecked dtype " + t.dtype());
        }
    }

    static void requireRank(String what, Tensor t, int... ranks) {
        for (int r : ranks) {
            if (t.shape().rank() == r) return;
        }
        StringBuilder sb = new StringBuilder();
        for (int r : ranks) sb.append(sb.isEmpty() ? "" : " or ").append(r);
        throw new UnsupportedFormatException(what + ": expected a rank-" + sb + " tensor, found shape " + t.shape());
    }

    /** A positive group size dividing {@code k}. Returns {@code k / groupSize}. */
    static int groups(String what, long k, int groupSize) {
        if (groupSize <= 0 || k % groupSize != 0) {
            throw new InvalidConfigException(what + ": group_size must be positive and divide the last dimension "
                    + k + ", found " + groupSize);
        }
        return Math.toIntExact(k / groupSize);
    }

    /** The last dimension as an int (a row must fit a Java array). */
    static int lastDim(String what, Tensor t) {
        long k = t.shape().cols();
        if (t.shape().rank() == 0 || k > Integer.MAX_VALUE - 8) {
            throw new UnsupportedFormatException(what + ": last dimension must be 1.." + (Integer.MAX_VALUE - 8)
                    + ", found shape " + t.shape());
        }
        return (int) k;
    }

    /** {@code shape} with its last dimension replaced. */
    static Shape withLast(Shape shape, long last) {
        long[] d = shape.dims();
        d[d.length - 1] = last;
        return Shape.of(d);
    }
}
