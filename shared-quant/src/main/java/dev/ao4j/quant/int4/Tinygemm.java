package dev.ao4j.quant.int4;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.numerics.ComputeDtypes;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.numerics.TorchOps;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * torchao's tinygemm ("float zero point") primitives, groupwise along the last dimension (torchao-numerics §1.5):
 * {@code _choose_qparams_affine_tinygemm}, {@code _quantize_affine_tinygemm}, {@code _dequantize_affine_tinygemm}
 * with mapping ASYMMETRIC and block_size {@code [1, ..., 1, groupSize]}. All arithmetic is in the input dtype
 * (bf16, f16 or f32), one rounding per torch op:
 * <pre>
 *   scale = clamp((max - min) / float(qmax - qmin), min=eps)    # Python-scalar division: DivMode
 *   zero  = min + scale * mid                                    # mid = (qmax + qmin + 1) / 2
 *   q     = clamp(round((x - (zero - scale * mid)) / scale), qmin, qmax)
 *   dq    = ((q - mid).to(out) * scale) + zero                   # each op rounded to out
 * </pre>
 * The zero point is not forced to include 0 and is never rounded to an integer.
 */
public final class Tinygemm {
    private Tinygemm() {}

    /** The int4 range torchao uses with these primitives (codes 0..15, mid point 8). */
    public static final int QUANT_MIN = GroupMath.QMIN;
    public static final int QUANT_MAX = GroupMath.QMAX;

    /** Fused int4 result: qparams plus unsigned codes 0..15 as a U8 tensor of the input's shape. */
    public record Quantized(TinygemmQParams qparams, Tensor codes) {}

    /** torchao's default eps: the smallest normal number of the input dtype (2^-126 for bf16/f32, 2^-14 for f16). */
    public static float defaultEps(DType dtype) {
        return switch (dtype) {
            case BF16, F32 -> Float.MIN_NORMAL;
            case F16 -> 0x1p-14f;
            default -> throw new IllegalArgumentException("no eps for non-float dtype " + dtype);
        };
    }

    /** {@code _choose_qparams_affine_tinygemm(x, ASYMMETRIC, [1,..,g], int32, 0, 15)} with the default eps. */
    public static TinygemmQParams chooseQParams(Tensor x, int groupSize, DivMode mode) {
        return chooseQParams(x, groupSize, QUANT_MIN, QUANT_MAX, defaultEps(checkedDtype(x)), mode);
    }

    /**
     * {@code _choose_qparams_affine_tinygemm} with an explicit range and eps. {@code eps} is rounded to the input
     * dtype (a Python clamp bound; CPU and CUDA agree, see R4).
     */
    public static TinygemmQParams chooseQParams(Tensor x, int groupSize, int quantMin, int quantMax, float eps,
                                                DivMode mode) {
        DType dt = checkedDtype(x);
        checkRange(quantMin, quantMax);
        int k = Rows.lastDim("tinygemm choose_qparams", x);
        int groups = Rows.groups("tinygemm choose_qparams", k, groupSize);
        float epsInDtype = TorchOps.round(dt, eps);
        float mid = GroupMath.tinygemmMid(quantMin, quantMax);
        long rows = x.shape().rows();
        Shape qShape = Rows.withLast(x.shape(), groups);
        Tensor scale = Tensor.allocate(dt, qShape);
        Tensor zero = Tensor.allocate(dt, qShape);
        float[] row = new float[k];
        for (long r = 0; r < rows; r++) {
            Rows.read(x, r * k, row, k);
            for (int j = 0; j < groups; j++) {
                float mn = GroupMath.groupMin(row, j * groupSize, groupSize);
                float mx = GroupMath.groupMax(row, j * groupSize, groupSize);
                float s = GroupMath.tinygemmScale(mn, mx, dt, mode, quantMin, quantMax, epsInDtype);
                scale.setFloat(r * groups + j, s);
                zero.setFloat(r * groups + j, GroupMath.tinygemmZero(mn, s, dt, mid));
            }
        }
        return new TinygemmQParams(scale, zero, groupSize);
    }

    /** {@code _quantize_affine_tinygemm(x, block, scale, zero, int32, 0, 15)}: I32 codes, shape of {@code x}. */
    public static Tensor quantize(Tensor x, TinygemmQParams qp) {
        return quantize(x, qp, QUANT_MIN, QUANT_MAX);
    }

    /** {@code _quantize_affine_tinygemm} with an explicit range; a NaN code becomes 0 (CUDA's cast). */
    public static Tensor quantize(Tensor x, TinygemmQParams qp, int quantMin, int quantMax) {
        DType dt = checkedDtype(x);
        checkRange(quantMin, quantMax);
        int k = Rows.lastDim("tinygemm quantize", x);
        int g = qp.groupSize();
        int groups = checkQParams("tinygemm quantize", x.shape(), k, qp);
        float mid = GroupMath.tinygemmMid(quantMin, quantMax);
        long rows = x.shape().rows();
        Tensor q = Tensor.allocate(DType.I32, x.shape());
        // qparams of another dtype are promoted: torch computes (x - low) / scale in the promoted dtype
        DType opDt = TorchOps.promote(dt, qp.scale().dtype());
        float[] row = new float[k];
        for (long r = 0; r < rows; r++) {
            Rows.read(x, r * k, row, k);
            for (int j = 0; j < groups; j++) {
                float s = qp.scale().getFloat(r * groups + j);
                float z = qp.zeroPoint().getFloat(r * groups + j);
                float low = GroupMath.tinygemmLow(z, s, qp.scale().dtype(), mid);
                for (int i = j * g; i < (j + 1) * g; i++) {
                    q.setLong(r * k + i, GroupMath.tinygemmCode(row[i], low, s, opDt, quantMin, quantMax));
                }
            }
        }
        return q;
    }

    /** {@code _dequantize_affine_tinygemm(q, block, scale, zero, int32, 0, 15, output_dtype=out)}. */
    public static Tensor dequantize(Tensor q, TinygemmQParams qp, DType outputDtype) {
        return dequantize(q, qp, QUANT_MIN, QUANT_MAX, outputDtype);
    }

    /** {@code _dequantize_affine_tinygemm} with an explicit range; {@code q} may be any integer dtype. */
    public static Tensor dequantize(Tensor q, TinygemmQParams qp, int quantMin, int quantMax, DType outputDtype) {
        if (!q.dtype().isIntegral()) {
            throw new IllegalArgumentException("tinygemm dequantize: codes must have an integer dtype, found "
                    + q.dtype().torchName());
        }
        if (!ComputeDtypes.ALL.contains(outputDtype)) {
            throw new IllegalArgumentException("tinygemm dequantize: output dtype must be bfloat16, float16 or"
                    + " float32, found " + outputDtype.torchName());
        }
        checkRange(quantMin, quantMax);
        int k = Rows.lastDim("tinygemm dequantize", q);
        int g = qp.groupSize();
        int groups = checkQParams("tinygemm dequantize", q.shape(), k, qp);
        float mid = GroupMath.tinygemmMid(quantMin, quantMax);
        long rows = q.shape().rows();
        Tensor out = Tensor.allocate(outputDtype, q.shape());
        for (long r = 0; r < rows; r++) {
            for (int j = 0; j < groups; j++) {
                float s = qp.scale().getFloat(r * groups + j);
                float z = qp.zeroPoint().getFloat(r * groups + j);
                for (int i = j * g; i < (j + 1) * g; i++) {
                    long idx = r * k + i;
                    out.setFloat(idx, GroupMath.tinygemmDequant((int) q.getLong(idx), s, z, outputDtype, mid));
                }
            }
        }
        return out;
    }

    /**
     * choose_qparams + quantize in one pass over each group (range 0..15, default eps), run by {@code kernel}.
     * Equal to {@link #chooseQParams(Tensor, int, DivMode)} followed by {@link #quantize(Tensor, TinygemmQParams)},
     * with the codes as U8.
     */
    public static Quantized quantizeWithQParams(Tensor x, int groupSize, DivMode mode, Kernel kernel) {
        DType dt = checkedDtype(x);
        int k = Rows.lastDim("tinygemm quantize", x);
        int groups = Rows.groups("tinygemm quantize", k, groupSize);
        long rows = x.shape().rows();
        Shape qShape = Rows.withLast(x.shape(), groups);
        Tensor scale = Tensor.allocate(dt, qShape);
        Tensor zero = Tensor.allocate(dt, qShape);
        Tensor codes = Tensor.allocate(DType.U8, x.shape());
        float eps = defaultEps(dt);
        float[] row = new float[k];
        float[] s = new float[groups];
        float[] z = new float[groups];
        byte[] c = new byte[k];
        GroupKernel impl = GroupKernel.of(kernel);
        for (long r = 0; r < rows; r++) {
            Rows.read(x, r * k, row, k);
            impl.tinygemm(row, 0, k, groupSize, dt, mode, eps, s, z, 0, c, 0);
            for (int j = 0; j < groups; j++) {
                scale.setFloat(r * groups + j, s[j]);
                zero.setFloat(r * groups + j, z[j]);
            }
            MemorySegment.copy(c, 0, codes.data(), ValueLayout.JAVA_BYTE, r * k, k);
        }
        return new Quantized(new TinygemmQParams(scale, zero, groupSize), codes);
    }

    private static DType checkedDtype(Tensor x) {
        return ComputeDtypes.require("tinygemm input", x.dtype());
    }

    private static void checkRange(int quantMin, int quantMax) {
        if (quantMin >= quantMax || quantMin < -(1 << 20) || quantMax > (1 << 20)) {
            throw new InvalidConfigException("tinygemm: need quant_min < quant_max within +-2^20, found quant_min="
                    + quantMin + ", quant_max=" + quantMax);
        }
    }

    private static int checkQParams(String what, Shape shape, int k, TinygemmQParams qp) {
        int groups = Rows.groups(what, k, qp.groupSize());
        Shape expected = Rows.withLast(shape, groups);
        if (!qp.scale().shape().equals(expected)) {
            throw new IllegalArgumentException(what + ": scale/zero_point shape must be " + expected + " for input "
                    + shape + " and group size " + qp.groupSize() + ", found " + qp.scale().shape());
        }
        ComputeDtypes.require(what + " scale", qp.scale().dtype());
        return groups;
    }
}
