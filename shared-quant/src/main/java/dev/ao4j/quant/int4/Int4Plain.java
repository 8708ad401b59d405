package dev.ao4j.quant.int4;

import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.quant.config.Granularity;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.numerics.BlockLayout;
import dev.ao4j.quant.numerics.ComputeDtypes;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.qtensor.Int4Tensor;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;

/**
 * {@code Int4WeightOnlyConfig(int4_packing_format="plain")}: torchao's {@code Int4Tensor.from_hp}, which calls
 * MSLK's {@code int4_row_quantize_zp} and {@code pack_int4} (torchao-numerics §2.1). Per group of {@code g}
 * columns, all in f32:
 * <pre>
 *   scale = clamp(max - min, min=1e-6) / 15        # Python-int divisor: DivMode
 *   zero  = min + scale * 8
 *   q     = clamp(round((x - min) / scale), 0, 15) - 8      # signed int4, -8..7
 * </pre>
 * Stored: {@code qdata} int8 {@code [N, K/2]} with column {@code 2j} in the low nibble and {@code 2j+1} in the
 * high nibble (two's-complement nibbles); {@code scale} and {@code zero_point} transposed to {@code [K/g, N]}
 * and rounded to the weight dtype. A 3-D weight {@code [E, N, K]} is quantized per expert and stacked.
 *
 * <p>Golden coverage: torchao 0.18 could not run this path (MSLK was not installed), so the golden vectors are
 * an independent re-implementation of MSLK's functions; ours matches it bit for bit on both devices.
 */
public final class Int4Plain {
    private Int4Plain() {}

    /** {@code Int4Tensor.from_hp(weight, [1, groupSize])} using the {@link Kernel#VECTOR} kernel. */
    public static Int4Tensor quantize(Tensor weight, int groupSize, DivMode mode) {
        return quantize(weight, groupSize, mode, Kernel.VECTOR);
    }

    /**
     * {@code Int4Tensor.from_hp(weight, [1, groupSize])}. {@code weight} is bf16, f16 or f32 with rank 2
     * {@code [N, K]} or 3 {@code [E, N, K]}; {@code K} even and divisible by {@code groupSize}. The result's
     * activation dtype is bf16 (weight-only: MSLK's bf16 x int4 kernel).
     */
    public static Int4Tensor quantize(Tensor weight, int groupSize, DivMode mode, Kernel kernel) {
        String what = "Int4Tensor (plain) weight";
        ComputeDtypes.require(what, weight.dtype());
        Rows.requireRank(what, weight, 2, 3);
        int k = Rows.lastDim(what, weight);
        int groups = Rows.groups(what, k, groupSize);
        if (k % 2 != 0) {
            throw new UnsupportedFormatException(what + ": last dimension must be even to pack two int4 per byte,"
                    + " found " + weight.shape());
        }
        Shape shape = weight.shape();
        int rank = shape.rank();
        long n = shape.dim(-2);
        long experts = rank == 3 ? shape.dim(0) : 1;
        DType wdt = weight.dtype();

        Shape qShape = Rows.withLast(shape, k / 2);
        Shape sShape = rank == 3 ? Shape.of(experts, groups, n) : Shape.of(groups, n);
        Tensor qdata = Tensor.allocate(DType.I8, qShape);
        Tensor scale = Tensor.allocate(wdt, sShape);
        Tensor zero = Tensor.allocate(wdt, sShape);

        float[] row = new float[k];
        float[] s = new float[groups];
        float[] z = new float[groups];
        byte[] u = new byte[k];
        GroupKernel impl = GroupKernel.of(kernel);
        for (long e = 0; e < experts; e++) {
            for (long r = 0; r < n; r++) {
                long flatRow = e * n + r;
                Rows.read(weight, flatRow * k, row, k);
                impl.mslk(row, 0, k, groupSize, mode, s, z, 0, u, 0);
                for (int j = 0; j < k / 2; j++) {
                    int lo = (u[2 * j] - 8) & 0x0F;
                    int hi = (u[2 * j + 1] - 8) & 0x0F;
                    qdata.setByte(flatRow * (k / 2) + j, (byte) (lo | (hi << 4)));
                }
                for (int j = 0; j < groups; j++) {
                    long at = (e * groups + j) * n + r;  // [E][K/g][N]: transposed for CUTLASS
                    scale.setFloat(at, s[j]);
                    zero.setFloat(at, z[j]);
                }
            }
        }
        Shape blockSize = BlockLayout.blockSizeFor(shape, new Granularity.PerGroup(groupSize));
        return new Int4Tensor(qdata, scale, zero, blockSize, shape, DType.BF16);
    }

    /** The signed codes -8..7 of {@code t} as I8 {@code [.., N, K]} (low nibble = even column). */
    public static Tensor unpackCodes(Int4Tensor t) {
        Tensor qdata = t.qdata();
        if (qdata.dtype() != DType.I8 && qdata.dtype() != DType.U8) {
            throw new UnsupportedFormatException("Int4Tensor qdata: dtype must be int8, found "
                    + qdata.dtype().torchName());
        }
        Shape shape = t.shape();
        if (!Rows.withLast(shape, shape.cols() / 2).equals(qdata.shape()) || shape.cols() % 2 != 0) {
            throw new UnsupportedFormatException("Int4Tensor qdata: shape must be " + Rows.withLast(shape,
                    shape.cols() / 2) + " for weight shape " + shape + ", found " + qdata.shape());
        }
        Tensor codes = Tensor.allocate(DType.I8, shape);
        long bytes = qdata.numel();
        for (long b = 0; b < bytes; b++) {
            int v = qdata.getByte(b);
            codes.setByte(2 * b, (byte) ((v << 28) >> 28));  // sign-extend the low nibble
            codes.setByte(2 * b + 1, (byte) (v >> 4));       // arithmetic shift keeps the high nibble's sign
        }
        return codes;
    }

    /**
     * {@code q * scale + zero} per element, as the weight dtype: the product and sum in f32, rounded once at the
     * end. (MSLK's CUTLASS kernel dequantizes inside the GEMM at its own precision; the golden data does not pin
     * that down, so use this for error statistics, not for bit-exact matmul parity.)
     */
    public static Tensor dequantize(Int4Tensor t) {
        Tensor codes = unpackCodes(t);
        Shape shape = t.shape();
        int rank = shape.rank();
        long k = shape.cols();
        long n = shape.dim(-2);
        long experts = rank == 3 ? shape.dim(0) : 1;
        int g = Math.toIntExact(t.blockSize().dim(-1));
        long groups = k / g;
        Shape sShape = rank == 3 ? Shape.of(experts, groups, n) : Shape.of(groups, n);
        if (!t.scale().shape().equals(sShape) || !t.zeroPoint().shape().equals(sShape)) {
            throw new UnsupportedFormatException("Int4Tensor scale/zero_point: shape must be " + sShape
                    + ", found " + t.scale().shape() + " / " + t.zeroPoint().shape());
        }
        Tensor out = Tensor.allocate(t.scale().dtype(), shape);
        for (long e = 0; e < experts; e++) {
            for (long r = 0; r < n; r++) {
                for (long c = 0; c < k; c++) {
                    long at = (e * groups + c / g) * n + r;
                    long idx = (e * n + r) * k + c;
                    float v = codes.getLong(idx) * t.scale().getFloat(at) + t.zeroPoint().getFloat(at);
                    out.setFloat(idx, v);
                }
            }
        }
        return out;
    }
}
