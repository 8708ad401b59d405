package dev.ao4j.quant.numerics;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.config.Granularity;
import dev.ao4j.quant.tensor.Shape;
import java.util.Arrays;
import java.util.List;

/**
 * How a tensor of {@code shape} is cut into blocks of {@code blockSize} elements that share one scale (and zero
 * point): torchao's {@code block_size} (torchao-numerics §1.1). {@code blockSize} has the rank of {@code shape};
 * each extent divides the dim. Blocks are numbered row-major over the block grid {@code [size_i / block_i]},
 * which is the order of torchao's scale and zero-point tensors. A scalar (rank 0, block size {@code []}) is one
 * block of one element.
 *
 * <p>Elements are visited as <em>segments</em>: runs of {@link #segmentLength()} consecutive elements of the
 * last dim that belong to one block. A row of the last dim (there are {@link #rows()} of them) holds {@link
 * #segmentsPerRow()} segments, in consecutive blocks from {@link #firstBlockOfRow}; a block spanning several rows
 * (per-tensor, 2-D blocks) is the union of segments from several rows.
 */
public record BlockLayout(Shape shape, Shape blockSize) {
    public BlockLayout {
        if (blockSize.rank() != shape.rank()) {
            throw new InvalidConfigException("block_size " + blockSize + " must have the rank of the input shape "
                    + shape);
        }
        for (int i = 0; i < shape.rank(); i++) {
            long b = blockSize.dim(i);
            long n = shape.dim(i);
            if (n == 0) {
                throw new InvalidConfigException("cannot quantize an empty tensor: shape " + shape);
            }
            if (b < 1 || b > n || n % b != 0) {
                throw new InvalidConfigException("block_size " + blockSize + " does not divide input shape " + shape
                        + " at dim " + i + ": " + b + " must be in 1.." + n + " and divide " + n);
            }
        }
    }

    /**
     * torchao's {@code get_block_size(shape, granularity)}: PerTensor → the shape; PerRow(dim) → 1 everywhere
     * but {@code dim}; PerAxis(axis) → the shape with 1 at {@code axis}; PerGroup(g) → 1 everywhere but g in the
     * last dim; PerBlock → its sizes, left-padded with 1s to the rank. As in torchao, only PerGroup and PerBlock
     * are checked to divide the shape here; the layout constructor checks the rest.
     */
    public static Shape blockSizeFor(Shape shape, Granularity granularity) {
        int r = shape.rank();
        long[] b = new long[r];
        switch (granularity) {
            case Granularity.PerTensor ignored -> b = shape.dims();
            case Granularity.PerRow(int dim) -> {
                int d = axis(dim, r, "PerRow.dim");
                Arrays.fill(b, 1);
                b[d] = shape.dim(d);
            }
            case Granularity.PerAxis(int axis) -> {
                int d = axis(axis, r, "PerAxis.axis");
                b = shape.dims();
                b[d] = 1;
            }
            case Granularity.PerGroup(int groupSize) -> {
                if (r == 0 || shape.dim(r - 1) % groupSize != 0) {
                    throw new InvalidConfigException("PerGroup.groupSize " + groupSize
                            + " must divide the last dim of shape " + shape);
                }
                Arrays.fill(b, 1);
                b[r - 1] = groupSize;
            }
            case Granularity.PerBlock(List<Integer> sizes) -> {
                if (sizes.size() > r) {
                    throw new InvalidConfigException("PerBlock.blockSize " + sizes + " has more dims than shape "
                            + shape);
                }
                Arrays.fill(b, 1);
                for (int i = 0; i < sizes.size(); i++) b[r - sizes.size() + i] = sizes.get(i);
                for (int i = 0; i < r; i++) {
                    if (b[i] < 1 || shape.dim(i) % b[i] != 0) {
                        throw new InvalidConfigException("PerBlock.blockSize " + sizes + " does not divide shape "
                                + shape + ": block_size[" + i + "] = " + b[i] + " must divide dim " + shape.dim(i));
                    }
                }
            }
        }
        return Shape.of(b);
    }

    /**
     * The layout a scale of {@code scaleShape} implies for a tensor of {@code shape}, as torchao expands a scale to
     * the tensor's shape: one element broadcasts over everything; otherwise the scale has the tensor's rank and
     * each of its dims divides the tensor's, giving block extents {@code shape_i / scale_i}.
     */
    public static BlockLayout fromScale(Shape shape, Shape scaleShape) {
        if (scaleShape.numel() == 1) {
            return new BlockLayout(shape, shape);
        }
        if (scaleShape.rank() != shape.rank()) {
            throw new InvalidConfigException("scale shape " + scaleShape + " must have the rank of the tensor "
                    + shape + " (or hold one element)");
        }
        long[] b = new long[shape.rank()];
        for (int i = 0; i < b.length; i++) {
            long n = shape.dim(i);
            long s = scaleShape.dim(i);
            if (s < 1 || n % s != 0) {
                throw new InvalidConfigException("scale shape " + scaleShape + " does not tile tensor shape " + shape
                        + ": dim " + i + " size " + n + " is not a multiple of " + s);
            }
            b[i] = n / s;
        }
        return new BlockLayout(shape, Shape.of(b));
    }

    private static int axis(int dim, int rank, String field) {
        int d = dim < 0 ? rank + dim : dim;
        if (d < 0 || d >= rank) {
            throw new InvalidConfigException(field + " must be in " + -rank + ".." + (rank - 1) + " but was " + dim);
        }
        return d;
    }

    /** The block grid {@code [size_i / block_i]}: the scale shape with {@code keepdim=True}. */
    public Shape grid() {
        long[] g = new long[shape.rank()];
        for (int i = 0; i < g.length; i++) g[i] = shape.dim(i) / blockSize.dim(i);
        return Shape.of(g);
    }

    /**
     * The scale / zero-point shape torchao's {@code choose_qparams_affine} returns with {@code keepdim=False}:
     * a dim with block 1 stays, a dim with block equal to its size disappears, a split dim keeps its block count.
     */
    public Shape reducedShape() {
        long[] out = new long[shape.rank()];
        int k = 0;
        for (int i = 0; i < shape.rank(); i++) {
            long b = blockSize.dim(i);
            long n = shape.dim(i);
            if (b == 1) out[k++] = n;
            else if (b != n) out[k++] = n / b;
        }
        return Shape.of(Arrays.copyOf(out, k));
    }

    public long numBlocks() {
        return grid().numel();
    }

    /** Rows of the last dim: numel / last dim (1 for a scalar). */
    public long rows() {
        return shape.rows();
    }

    /** Elements per segment: the block extent of the last dim (1 for a scalar). */
    public int segmentLength() {
        return Math.toIntExact(blockSize.cols());
    }

    public long segmentsPerRow() {
        return shape.cols() / blockSize.cols();
    }

    /** The block of the first segment of {@code row}; segment {@code s} of that row is in block {@code + s}. */
    public long firstBlockOfRow(long row) {
        long block = 0;
        long stride = segmentsPerRow();
        long rest = row;
        for (int i = shape.rank() - 2; i >= 0; i--) {
            long n = shape.dim(i);
            long idx = rest % n;
            rest /= n;
            block += (idx / blockSize.dim(i)) * stride;
            stride *= n / blockSize.dim(i);
        }
        return block;
    }
}
