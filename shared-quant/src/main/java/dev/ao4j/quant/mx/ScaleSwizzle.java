package dev.ao4j.quant.mx;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;

/**
 * The cuBLAS / CUTLASS block-scaling layout torchao uses for swizzled MX and NVFP4 scales (torchao's
 * {@code to_blocked}, torchao-numerics §7.5): a {@code [M, C]} matrix of one-byte scales is zero-padded to
 * {@code [ceil(M/128)·128, ceil(C/4)·4]}, cut into 128×4 tiles taken row-major over the tile grid, and each tile
 * is written as 512 bytes in which tile element {@code (r, c)} lands at {@code (r % 32)·16 + (r / 32)·4 + c}. The
 * result is shaped {@code [ceil(M/128)·32, ceil(C/4)·16]}.
 */
public final class ScaleSwizzle {
    private ScaleSwizzle() {}

    /** The stored shape of a swizzled {@code [rows, cols]} scale. */
    public static Shape swizzledShape(long rows, long cols) {
        return Shape.of(ceilDiv(rows, 128) * 32, ceilDiv(cols, 4) * 16);
    }

    /** {@code scale} ({@code [M, C]}, any one-byte dtype) in the swizzled layout, same dtype. */
    public static Tensor swizzle(Tensor scale) {
        Shape s = scale.shape();
        if (s.rank() != 2 || scale.dtype().byteSize() != 1) {
            throw new InvalidConfigException("scale swizzling needs a 2-D tensor of one-byte scales but got "
                    + scale.dtype() + s);
        }
        long rows = s.dim(0);
        long cols = s.dim(1);
        Tensor out = Tensor.allocate(scale.dtype(), swizzledShape(rows, cols));
        for (long r = 0; r < rows; r++) {
            for (long c = 0; c < cols; c++) {
                out.setByte(offset(r, c, cols), scale.getByte(r * cols + c));
            }
        }
        return out;
    }

    /** The inverse of {@link #swizzle}: the {@code [rows, cols]} scale (padding dropped). */
    public static Tensor unswizzle(Tensor swizzled, long rows, long cols) {
        Shape expected = swizzledShape(rows, cols);
        if (!swizzled.shape().equals(expected) || swizzled.dtype().byteSize() != 1) {
            throw new InvalidConfigException("a swizzled scale for [" + rows + ", " + cols + "] must be one-byte "
                    + expected + " but is " + swizzled.dtype() + swizzled.shape());
        }
        Tensor out = Tensor.allocate(swizzled.dtype(), Shape.of(rows, cols));
        for (long r = 0; r < rows; r++) {
            for (long c = 0; c < cols; c++) {
                out.setByte(r * cols + c, swizzled.getByte(offset(r, c, cols)));
            }
        }
        return out;
    }

    /** Byte offset of plain element {@code (r, c)} of a {@code [*, cols]} scale in the swizzled layout. */
    static long offset(long r, long c, long cols) {
        long tilesPerRow = ceilDiv(cols, 4);
        long tile = (r / 128) * tilesPerRow + c / 4;
        long tr = r % 128;
        return tile * 512 + (tr % 32) * 16 + (tr / 32) * 4 + c % 4;
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }
}
