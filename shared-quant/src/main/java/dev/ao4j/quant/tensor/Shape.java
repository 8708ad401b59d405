package dev.ao4j.quant.tensor;

import java.util.Arrays;

/** An immutable tensor shape (row-major). A rank-0 shape is a scalar with one element. */
public final class Shape {
    private final long[] dims;

    private Shape(long[] dims) {
        for (long d : dims) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(dims));
        }
        this.dims = dims;
    }

    public static Shape of(long... dims) {
        return new Shape(dims.clone());
    }

    public static Shape of(int... dims) {
        return new Shape(Arrays.stream(dims).asLongStream().toArray());
    }

    public int rank() {
        return dims.length;
    }

    public long dim(int i) {
        return dims[i < 0 ? dims.length + i : i];
    }

    public long[] dims() {
        return dims.clone();
    }

    public long numel() {
        long n = 1;
        for (long d : dims) n = Math.multiplyExact(n, d);
        return n;
    }

    /** The row count of the shape seen as 2-D {@code [prod(dims[:-1]), dims[-1]]}. */
    public long rows() {
        return dims.length == 0 ? 1 : numel() / Math.max(1, dims[dims.length - 1]);
    }

    /** The last dimension (1 for a scalar). */
    public long cols() {
        return dims.length == 0 ? 1 : dims[dims.length - 1];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Shape s && Arrays.equals(dims, s.dims);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dims);
    }

    /** Python style: {@code [256, 512]}. */
    @Override
    public String toString() {
        return Arrays.toString(dims);
    }
}
