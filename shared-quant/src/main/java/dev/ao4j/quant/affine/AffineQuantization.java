package dev.ao4j.quant.affine;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.quant.config.MappingType;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.numerics.BlockLayout;
import dev.ao4j.quant.numerics.ComputeDtypes;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.numerics.TorchOps;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.util.Arrays;

/**
 * torchao's affine quantization primitives ({@code torchao.quantization.quant_primitives}:
 * {@code choose_qparams_affine}, {@code quantize_affine}, {@code dequantize_affine}; torchao-numerics §1.1–§1.4)
 * as pure functions over {@link Tensor}s, bit-exact with torch's per-op rounding.
 *
 * <p>Inputs may be bf16, f16 or f32. Every intermediate is rounded to the dtype torch would give it: the
 * qparams math runs in the input dtype, divisions by a Python number follow {@link DivMode}, and the quantize
 * product is rounded to the promotion of the input and scale dtypes before {@code rne} (R6).
 *
 * <p>The "tinygemm" float-zero-point variants (§1.5) are not here.
 */
public final class AffineQuantization {
    private AffineQuantization() {}

    /** {@code choose_qparams_affine} with torchao's defaults for the optional arguments. */
    public static QParams chooseQParams(Tensor input, MappingType mapping, Shape blockSize, QuantRange range,
                                        DivMode divMode, Kernel kernel) {
        ComputeDtypes.require("input", input.dtype());
        return chooseQParams(input, mapping, blockSize, range, QParamsOptions.torchDefaults(input.dtype()), divMode,
                kernel);
    }

    /**
     * {@code choose_qparams_affine(input, mapping, blockSize, _, qmin, qmax, eps, scale_dtype, zero_point_dtype,
     * keepdim)}. Per block, in the input dtype:
     * <pre>
     * mn0 = min(amin, 0); mx0 = max(amax, 0)
     * SYMMETRIC:                 scale = max(-mn0, mx0) / ((qmax - qmin) / 2);           zp = mid
     * SYMMETRIC_NO_CLIPPING_ERR: scale = (mn0 / qmin > mx0 / qmax) ? mn0 / qmin : mx0 / qmax; zp = mid
     * ASYMMETRIC:                scale = (mx0 - mn0) / (qmax - qmin)
     * scale = clamp(scale, min = eps)
     * ASYMMETRIC:                zp = clamp(qmin - rne(mn0 / scale), qmin, qmax)
     * </pre>
     * then the scale is cast to {@code options.scaleDtype()} and the zero point to {@code
     * options.zeroPointDtype()}. The divisions by a number follow {@code divMode}; {@code mn0 / scale} is a
     * tensor division (true division everywhere). NaN in a block gives a NaN scale (written as the canonical
     * quiet NaN) and, for ASYMMETRIC, a zero point of 0.
     *
     * @throws InvalidConfigException     the block size does not fit the shape
     * @throws UnsupportedFormatException the input is not bf16, f16 or f32
     */
    public static QParams chooseQParams(Tensor input, MappingType mapping, Shape blockSize, QuantRange range,
                                        QParamsOptions options, DivMode divMode, Kernel kernel) {
        ComputeDtypes.require("input", input.dtype());
        BlockLayout layout = layout(input.shape(), blockSize);
        int blocks = Math.toIntExact(layout.numBlocks());
        float[] mn = new float[blocks];
        float[] mx = new float[blocks];
        Arrays.fill(mn, Float.POSITIVE_INFINITY);
        Arrays.fill(mx, Float.NEGATIVE_INFINITY);
        SegmentKernel k = SegmentKernel.of(kernel);
        float[] acc = new float[2];
        forEachSegment(layout, (block, from, len) -> {
            acc[0] = mn[block];
            acc[1] = mx[block];
            k.minMax(input, from, len, acc);
            mn[block] = acc[0];
            mx[block] = acc[1];
        });

        DType dt = input.dtype();
        float eps = TorchOps.round(dt, (float) options.eps());
        Shape outShape = options.scaleShape(layout);
        Tensor scale = Tensor.allocate(options.scaleDtype(), outShape);
        Tensor zeroPoint = Tensor.allocate(options.zeroPointDtype(), outShape);
        for (int b = 0; b < blocks; b++) {
            float mn0 = Math.min(mn[b], 0f); // torch.min(min_val, zeros): NaN propagates
            float mx0 = Math.max(mx[b], 0f);
            float s;
            float zp;
            switch (mapping) {
                case SYMMETRIC -> {
                    s = TorchOps.divScalar(Math.max(-mn0, mx0), range.symmetricDivisor(), dt, divMode);
                    zp = range.mid();
                }
                case SYMMETRIC_NO_CLIPPING_ERR -> {
                    // For unsigned ranges qmin is 0: mn0 / 0 is -inf or NaN, never chosen, as in torch.
                    float smin = TorchOps.divScalar(mn0, range.qmin(), dt, divMode);
                    float smax = TorchOps.divScalar(mx0, range.qmax(), dt, divMode);
                    s = smin > smax ? smin : smax;
                    zp = range.mid();
                }
                case ASYMMETRIC -> {
                    float width = TorchOps.sub(mx0, mn0, dt);
                    s = TorchOps.divScalar(width, (double) range.qmax() - range.qmin(), dt, divMode);
                    s = TorchOps.clampMin(s, eps);
                    float shift = TorchOps.rne(TorchOps.div(mn0, s, dt));
                    zp = TorchOps.clamp(TorchOps.sub(range.qmin(), shift, dt), range.qmin(), range.qmax());
                }
                default -> throw new IllegalStateException("unhandled mapping " + mapping);
            }
            s = TorchOps.clampMin(s, eps); // idempotent for ASYMMETRIC
            // NaN payloads depend on which NaN an op propagated (platform-defined in torch); write the canonical one
            // so that the result does not depend on the kernel's reduction order.
            scale.setFloat(b, Float.isNaN(s) ? Float.NaN : s); // the cast rounds to scaleDtype
            if (options.zeroPointDtype().isFloatingPoint()) zeroPoint.setFloat(b, Float.isNaN(zp) ? Float.NaN : zp);
            else zeroPoint.setLong(b, (long) zp); // integral (or NaN -> 0)
        }
        return new QParams(scale, zeroPoint);
    }

    /**
     * {@code quantize_affine}: {@code q = clamp(rne(x * (1 / scale)) + zp, qmin, qmax)} cast to {@code
     * outputDtype}. {@code 1 / scale} is a reciprocal rounded to the scale dtype (R3); the product is rounded to
     * {@code promote(x, scale)} (R6); the zero point sum to the same float dtype. NaN inputs quantize to 0.
     *
     * @param scale     one value per block in block order (any shape with that many elements)
     * @param zeroPoint one value per block, or null / empty for none (then treated as zero)
     */
    public static Tensor quantize(Tensor input, Shape blockSize, Tensor scale, Tensor zeroPoint, QuantRange range,
                                  DType outputDtype, Kernel kernel) {
        ComputeDtypes.require("input", input.dtype());
        ComputeDtypes.require("scale", scale.dtype());
        BlockLayout layout = layout(input.shape(), blockSize);
        int blocks = Math.toIntExact(layout.numBlocks());
        requireBlockCount(scale, "scale", blocks, layout);
        boolean hasZp = zeroPoint != null && zeroPoint.numel() > 0;
        if (hasZp) requireZeroPoint(zeroPoint, blocks, layout);
        if (!outputDtype.isIntegral() || outputDtype.byteSize() > 4 || !range.fitsIn(outputDtype)) {
            throw new InvalidConfigException("quantize output dtype " + outputDtype + " cannot hold quant range "
                    + range + "; expected an integer dtype of at most 32 bits that holds it");
        }
        DType product = TorchOps.promote(input.dtype(), scale.dtype());
        DType sum = hasZp && zeroPoint.dtype().isFloatingPoint()
                ? TorchOps.promote(product, zeroPoint.dtype()) : product;
        float[] inv = new float[blocks];
        float[] zp = new float[blocks];
        for (int b = 0; b < blocks; b++) {
            inv[b] = TorchOps.round(scale.dtype(), 1f / scale.getFloat(b));
            // the zero point is cast to the sum's float dtype before the add (exact for 8-bit ranges)
            if (hasZp) zp[b] = TorchOps.round(sum, zeroPointValue(zeroPoint, b));
        }
        var spec = new SegmentKernel.QuantizeSpec(product, hasZp, sum, range.qmin(), range.qmax());
        Tensor out = Tensor.allocate(outputDtype, input.shape());
        SegmentKernel k = SegmentKernel.of(kernel);
        forEachSegment(layout, (block, from, len) -> k.quantize(input, from, len, inv[block], zp[block], spec, out));
        return out;
    }

    /**
     * {@code dequantize_affine}: {@code ((q.to(out) - zp.to(out)) * scale).to(out)}. The subtraction is in
     * {@code outputDtype}; the product in {@code promote(outputDtype, scale)} (f32 for an f32 scale and bf16
     * output), rounded once more to {@code outputDtype}.
     *
     * @param zeroPoint one value per block, or null / empty for none
     */
    public static Tensor dequantize(Tensor q, Shape blockSize, Tensor scale, Tensor zeroPoint, DType outputDtype) {
        ComputeDtypes.require("outputDtype", outputDtype);
        ComputeDtypes.require("scale", scale.dtype());
        if (!q.dtype().isIntegral()) {
            throw new UnsupportedFormatException("dequantize input must be an integer tensor but is " + q.dtype());
        }
        BlockLayout layout = layout(q.shape(), blockSize);
        int blocks = Math.toIntExact(layout.numBlocks());
        requireBlockCount(scale, "scale", blocks, layout);
        boolean hasZp = zeroPoint != null && zeroPoint.numel() > 0;
        if (hasZp) requireZeroPoint(zeroPoint, blocks, layout);
        DType product = TorchOps.promote(outputDtype, scale.dtype());
        Tensor out = Tensor.allocate(outputDtype, q.shape());
        forEachSegment(layout, (block, from, len) -> {
            float s = scale.getFloat(block);
            float z = hasZp ? TorchOps.round(outputDtype, zeroPointValue(zeroPoint, block)) : 0f;
            for (long i = from, end = from + len; i < end; i++) {
                float d = TorchOps.round(outputDtype, (float) q.getLong(i));
                if (hasZp) d = TorchOps.sub(d, z, outputDtype);
                out.setFloat(i, TorchOps.round(outputDtype, TorchOps.mul(d, s, product)));
            }
        });
        return out;
    }

    /** {@code t.to(dtype)} for float tensors: every element rounded (RNE) to {@code dtype}. */
    public static Tensor castFloat(Tensor t, DType dtype) {
        ComputeDtypes.require("tensor", t.dtype());
        ComputeDtypes.require("target dtype", dtype);
        return t.dtype() == dtype ? t.copy() : t.to(dtype);
    }

    /** The blocks of {@code shape}; the affine primitives take tensors of rank >= 1, not scalars. */
    private static BlockLayout layout(Shape shape, Shape blockSize) {
        if (shape.rank() == 0) {
            throw new InvalidConfigException("block layout needs a tensor of rank >= 1 but the shape is " + shape);
        }
        return new BlockLayout(shape, blockSize);
    }

    private static void requireBlockCount(Tensor t, String name, int blocks, BlockLayout layout) {
        if (t.numel() != blocks) {
            throw new InvalidConfigException(name + " has " + t.numel() + " elements " + t.shape()
                    + " but block_size " + layout.blockSize() + " on shape " + layout.shape() + " makes " + blocks
                    + " blocks " + layout.grid());
        }
    }

    private static void requireZeroPoint(Tensor zp, int blocks, BlockLayout layout) {
        if (!zp.dtype().isIntegral() && !ComputeDtypes.ALL.contains(zp.dtype())) {
            throw new UnsupportedFormatException("zero_point dtype must be an integer dtype or bf16/f16/f32 but was "
                    + zp.dtype());
        }
        requireBlockCount(zp, "zero_point", blocks, layout);
    }

    private static float zeroPointValue(Tensor zp, long i) {
        return zp.dtype().isFloatingPoint() ? zp.getFloat(i) : (float) zp.getLong(i);
    }

    @FunctionalInterface
    interface SegmentVisitor {
        void visit(int block, long from, int len);
    }

    /** Visit every segment of the layout, row by row, with the block it belongs to and its flat element range. */
    static void forEachSegment(BlockLayout layout, SegmentVisitor visitor) {
        long rows = layout.rows();
        long cols = layout.shape().cols();
        int len = layout.segmentLength();
        long perRow = layout.segmentsPerRow();
        for (long row = 0; row < rows; row++) {
            long first = layout.firstBlockOfRow(row);
            for (long s = 0; s < perRow; s++) {
                visitor.visit((int) (first + s), row * cols + s * len, len);
            }
        }
    }
}
