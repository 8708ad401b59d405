package dev.ao4j.quant.mx;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.numerics.ComputeDtypes;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;

/**
 * TorchAO's MX quantization ({@code to_mx} / {@code MXTensor.to_dtype}, torchao 0.18, torchao-numerics §7),
 * bit-exact on both device conventions. Pure functions: inputs are only read, results are fresh tensors.
 *
 * <pre>
 *   per block of 32 along the last dim, on x = f32(hp):
 *   amax  = max |x|                                  NaN if any element is NaN
 *   code  = E8M0 scale by the ScalingMode            NaN amax → 255
 *   FLOOR / CEIL / EVEN:  y = x / max(2^(code-127), 2^-126)      (fp8: clamp ±max)
 *   RCEIL:                y = clamp(x · 2^(127-code), ±max)      (multiplier 1.0 for code 0, NaN for 255)
 *   q     = fp8 RNE cast, or torchao's saturating fp6 / fp4 encoder (fp4 packed two per byte)
 * </pre>
 * {@link DivMode} selects the device: RCEIL's {@code amax / max} is a Python-scalar division, and NaN bit
 * patterns (which the fp6/fp4 encoders turn into codes) follow {@link DeviceNan}.
 */
public final class MxQuantizer {
    private MxQuantizer() {}

    /** torchao's MX block size. */
    public static final int BLOCK_SIZE = 32;

    /**
     * {@code to_mx(hp, elem, 32, scaling)} and, for {@code swizzleScales}, the scale in the {@link ScaleSwizzle}
     * layout (2-D inputs only, as torchao's linear weights). {@code kernel} picks the scalar reference or its
     * Vector API twin (same bits).
     */
    public static MxTensor quantize(Tensor hp, MxElement elem, ScalingMode scaling, boolean swizzleScales,
                                    DivMode mode, Kernel kernel) {
        ComputeDtypes.require("MX quantization input", hp.dtype());
        Shape shape = hp.shape();
        if (shape.rank() < 1 || shape.cols() % BLOCK_SIZE != 0) {
            throw new InvalidConfigException("MX quantization needs a last dim divisible by the block size "
                    + BLOCK_SIZE + " but the input shape is " + shape);
        }
        if (swizzleScales && shape.rank() != 2) {
            throw new InvalidConfigException("swizzled MX scales are defined for 2-D tensors, input shape " + shape);
        }
        int cols = Math.toIntExact(shape.cols());
        long rows = shape.rows();
        long[] qDims = shape.dims();
        if (elem.isPacked()) qDims[qDims.length - 1] /= 2;
        long[] sDims = shape.dims();
        sDims[sDims.length - 1] /= BLOCK_SIZE;
        Tensor q = Tensor.allocate(elem.qdataDtype, Shape.of(qDims));
        Tensor scale = Tensor.allocate(DType.F8_E8M0, Shape.of(sDims));
        switch (kernel) {
            case REFERENCE -> MxReference.quantizeRows(hp, cols, BLOCK_SIZE, elem, scaling, mode, q, scale, 0, rows);
            case VECTOR -> MxVector.quantize(hp, cols, BLOCK_SIZE, elem, scaling, mode, q, scale, rows);
        }
        if (swizzleScales) scale = ScaleSwizzle.swizzle(scale);
        return new MxTensor(q, scale, elem, BLOCK_SIZE, swizzleScales, hp.dtype(), shape);
    }

    /** The scale in the plain {@code [..., K/32]} layout (un-swizzled when stored swizzled). */
    public static Tensor plainScale(MxTensor t) {
        if (!t.swizzled()) return t.scale();
        return ScaleSwizzle.unswizzle(t.scale(), t.shape().dim(0), t.shape().cols() / t.blockSize());
    }

    /**
     * {@code MXTensor.dequantize(out)}: per element {@code out(decode(q)) · out(2^(code-127))}, the product in f32
     * rounded once to {@code out} (F32, BF16 or F16); code 255 gives NaN.
     */
    public static Tensor dequantize(MxTensor t, DType out, DivMode mode) {
        ComputeDtypes.require("MX dequantize output", out);
        MxElement elem = t.element();
        if (t.qdata().dtype() != elem.qdataDtype) {
            throw new UnsupportedFormatException("MX " + elem.id() + " qdata must be " + elem.qdataDtype + " but is "
                    + t.qdata().dtype());
        }
        Tensor scale = plainScale(t);
        int cols = Math.toIntExact(t.shape().cols());
        long rows = t.shape().rows();
        int block = t.blockSize();
        Tensor result = Tensor.allocate(out, t.shape());
        for (long r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                long i = r * cols + c;
                int code = elem.isPacked()
                        ? (t.qdata().getByte(i / 2) >>> ((i & 1) * 4)) & 0xF
                        : t.qdata().getByte(i) & 0xFF;
                int v = DeviceNan.roundTo(out, elem.decodeBits(code), mode);
                int s = DeviceNan.roundTo(out, MxScale.dequantScaleBits(scale.getByte(r * (cols / block) + c / block)
                        & 0xFF), mode);
                // torchao multiplies data by the broadcast scale; on the CPU a NaN scale is the one returned
                int p = DeviceNan.result(Float.intBitsToFloat(v) * Float.intBitsToFloat(s), s, v, mode);
                int raw = DeviceNan.store(out, p, mode);
                if (out == DType.F32) {
                    result.data().setAtIndex(Tensor.I32, i, raw);
                } else {
                    result.data().setAtIndex(Tensor.I16, i, (short) raw);
                }
            }
        }
        return result;
    }
}
