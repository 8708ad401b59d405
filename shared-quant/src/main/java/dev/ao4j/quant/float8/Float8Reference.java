package dev.ao4j.quant.float8;

import dev.ao4j.quant.numerics.F32Bits;
import dev.ao4j.quant.numerics.BlockLayout;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The scalar reference: torchao's {@code _choose_scale_float8} reduction and {@code _quantize_affine_float8}, one
 * element at a time. Values travel as f32 bit patterns so that NaN signs survive exactly (see {@link DeviceNaN}).
 */
final class Float8Reference {
    private Float8Reference() {}

    /**
     * Per block, the largest |x| as f32 bits: {@code abs().amax(block)} in the tensor's dtype, which is exact.
     * The sign bit cleared, bit patterns of non-NaN floats order like their magnitudes, so an integer max suffices;
     * any NaN (its pattern exceeds 0x7F800000) wins and is reported as such. Raw maxima, not yet canonicalised.
     */
    static int[] blockAbsMax(Tensor hp, BlockLayout layout) {
        int[] amax = new int[Math.toIntExact(layout.numBlocks())];
        int cols = (int) layout.shape().cols();
        int blockCols = layout.segmentLength();
        for (long r = 0; r < layout.rows(); r++) {
            long base = r * cols;
            long firstBlock = layout.firstBlockOfRow(r);
            for (int c = 0; c < cols; c++) {
                int abs = F32Bits.load(hp, base + c) & 0x7FFFFFFF;
                int b = (int) (firstBlock + c / blockCols);
                if (abs > amax[b]) amax[b] = abs;
            }
        }
        return amax;
    }

    /** Rows [rowFrom, rowTo) of {@code cast(clamp(f32(x) / scale, ±max))}, codes written to {@code out}. */
    static void quantizeRows(Tensor hp, BlockLayout layout, int[] scaleBits, Fp8Format fmt, DivMode mode,
                             MemorySegment out, long rowFrom, long rowTo) {
        int cols = (int) layout.shape().cols();
        int blockCols = layout.segmentLength();
        for (long r = rowFrom; r < rowTo; r++) {
            long base = r * cols;
            long firstBlock = layout.firstBlockOfRow(r);
            for (int c = 0; c < cols; c++) {
                int s = scaleBits[(int) (firstBlock + c / blockCols)];
                out.set(ValueLayout.JAVA_BYTE, base + c, quantizeOne(F32Bits.load(hp, base + c), s, fmt, mode));
            }
        }
    }

    /** One element: f32 tensor division, clamp to ±max (NaN passes through clamp), RNE cast. */
    static byte quantizeOne(int xBits, int scaleBits, Fp8Format fmt, DivMode mode) {
        float y = Float.intBitsToFloat(xBits) / Float.intBitsToFloat(scaleBits);
        if (y != y) {
            // The cast keeps only the NaN's sign: 0x7F or 0xFF. Which sign depends on the device (DeviceNaN).
            return (byte) ((DeviceNaN.nanSign(xBits, scaleBits, mode) << 7) | 0x7F);
        }
        if (y > fmt.max) {
            y = fmt.max;
        } else if (y < -fmt.max) {
            y = -fmt.max;
        }
        return fmt.encode(y);
    }
}
