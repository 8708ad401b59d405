package dev.ao4j.quant.affine;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.numerics.BlockLayout;
import dev.ao4j.quant.numerics.ComputeDtypes;
import dev.ao4j.quant.tensor.Shape;

/**
 * The optional arguments of torchao's {@code choose_qparams_affine}, resolved to concrete values.
 *
 * @param eps            lower bound of the scale, applied in the input dtype before the cast to {@code scaleDtype}
 * @param scaleDtype     dtype of the returned scale (bf16, f16 or f32)
 * @param zeroPointDtype dtype of the returned zero point (an integer dtype, or a float one)
 * @param keepdim        true: scale shape is the block grid {@code [size_i / block_i]} (rank kept); false: torch's
 *                       reduced shape ({@link BlockLayout#reducedShape()}, e.g. {@code []} for per-tensor)
 */
public record QParamsOptions(double eps, DType scaleDtype, DType zeroPointDtype, boolean keepdim) {
    public QParamsOptions {
        if (!(eps >= 0) || Double.isInfinite(eps)) {
            throw new InvalidConfigException("QParamsOptions.eps must be a finite value >= 0 but was " + eps);
        }
        ComputeDtypes.require("QParamsOptions.scaleDtype", scaleDtype);
        if (zeroPointDtype == null || !(zeroPointDtype.isIntegral() || zeroPointDtype.isFloatingPoint())
                || zeroPointDtype.byteSize() > 8) {
            throw new InvalidConfigException("QParamsOptions.zeroPointDtype must be an integer or float dtype but was "
                    + zeroPointDtype);
        }
    }

    /**
     * torchao's defaults for an input of {@code inputDtype}: eps = the dtype's smallest normal (2^-126 for bf16 and
     * f32, 2^-14 for f16), scale in the input dtype, int32 zero point, keepdim false.
     */
    public static QParamsOptions torchDefaults(DType inputDtype) {
        return new QParamsOptions(smallestNormal(inputDtype), inputDtype, DType.I32, false);
    }

    /** {@code torch.finfo(dtype).smallest_normal}. */
    public static double smallestNormal(DType dtype) {
        return switch (dtype) {
            case BF16, F32 -> 0x1p-126;
            case F16 -> 0x1p-14;
            case F64 -> Double.MIN_NORMAL;
            default -> throw new InvalidConfigException("smallest normal asked of non-float dtype " + dtype);
        };
    }

    public QParamsOptions withEps(double newEps) {
        return new QParamsOptions(newEps, scaleDtype, zeroPointDtype, keepdim);
    }

    public QParamsOptions withScaleDtype(DType dtype) {
        return new QParamsOptions(eps, dtype, zeroPointDtype, keepdim);
    }

    public QParamsOptions withZeroPointDtype(DType dtype) {
        return new QParamsOptions(eps, scaleDtype, dtype, keepdim);
    }

    public QParamsOptions withKeepdim(boolean newKeepdim) {
        return new QParamsOptions(eps, scaleDtype, zeroPointDtype, newKeepdim);
    }

    Shape scaleShape(BlockLayout layout) {
        return keepdim ? layout.grid() : layout.reducedShape();
    }
}
