package dev.ao4j.quant.float8;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.tensor.Shape;
import java.util.Arrays;

/**
 * A tensor of any rank seen as a row-major matrix {@code [rows, cols]} (cols = last dim) tiled by blocks of
 * {@code blockRows x blockCols}, one scale per block. A torchao block_size maps to such tiles when, over the leading
 * dims, it is 1 up to some dim, then any divisor, then the full extent (e.g. [1, 128, 128] on [E, N, K], or the
 * full shape for per-tensor). Scales are numbered row-major over blocks, which is torchao's scale layout
 * {@code [d_i / b_i ...]} flattened.
 */
record BlockLayout(long rows, int cols, long blockRows, int blockCols, Shape blockSize, Shape scaleShape) {

    long colBlocks() {
        return cols / blockCols;
    }

    long blocks() {
        return rows / blockRows * colBlocks();
    }

    long blockIndex(long row, int col) {
        return row / blockRows * colBlocks() + col / blockCols;
    }

    static BlockLayout of(Shape shape, Shape blockSize) {
        long[] d = shape.dims();
        long[] b = blockSize.dims();
        if (d.length == 0) {
            if (b.length != 0) throw mismatch(shape, blockSize, "a scalar takes an empty block_size");
            return new BlockLayout(1, 1, 1, 1, blockSize, Shape.of(new long[0]));
        }
        if (b.length != d.length) {
            throw mismatch(shape, blockSize, "block_size must have the tensor's rank " + d.length);
        }
        long[] scaleDims = new long[d.length];
        for (int i = 0; i < d.length; i++) {
            if (b[i] < 1 || b[i] > d[i] || d[i] % b[i] != 0) {
                throw mismatch(shape, blockSize, "block_size[" + i + "] = " + b[i] + " must divide dim " + d[i]);
            }
            scaleDims[i] = d[i] / b[i];
        }
        int last = d.length - 1;
        if (d[last] > Integer.MAX_VALUE) {
            throw mismatch(shape, blockSize, "last dim above " + Integer.MAX_VALUE + " is not supported");
        }
        long rows = 1;
        for (int i = 0; i < last; i++) rows = Math.multiplyExact(rows, d[i]);
        // leading block: 1s, then one dim with any divisor, then full extents
        int j = 0;
        while (j < last && b[j] == 1) j++;
        long blockRows = 1;
        if (j < last) {
            blockRows = b[j];
            for (int i = j + 1; i < last; i++) {
                if (b[i] != d[i]) {
                    throw mismatch(shape, blockSize, "blocks over the leading dims must be contiguous rows (after dim "
                            + j + " every block dim must be the full extent)");
                }
                blockRows *= d[i];
            }
        }
        return new BlockLayout(rows, (int) d[last], blockRows, (int) b[last], blockSize, Shape.of(scaleDims));
    }

    /** The layout implied by a scale of {@code scaleShape} for a tensor of {@code shape} (torchao's scale expansion). */
    static BlockLayout fromScale(Shape shape, Shape scaleShape) {
        long[] d = shape.dims();
        long[] s = scaleShape.dims();
        if (scaleShape.numel() == 1) {
            return of(shape, shape); // one scale broadcasts over everything
        }
        if (s.length != d.length) {
            throw new InvalidConfigException("scale shape " + scaleShape + " must have the rank of the tensor "
                    + shape + " (or hold one element)");
        }
        long[] b = new long[d.length];
        for (int i = 0; i < d.length; i++) {
            if (s[i] < 1 || d[i] % s[i] != 0) {
                throw new InvalidConfigException("scale shape " + scaleShape + " does not tile tensor shape " + shape
                        + ": dim " + i + " size " + d[i] + " is not a multiple of " + s[i]);
            }
            b[i] = d[i] / s[i];
        }
        return of(shape, Shape.of(b));
    }

    private static InvalidConfigException mismatch(Shape shape, Shape blockSize, String why) {
        return new InvalidConfigException("block_size " + Arrays.toString(blockSize.dims()) + " for tensor shape "
                + shape + ": " + why);
    }
}
