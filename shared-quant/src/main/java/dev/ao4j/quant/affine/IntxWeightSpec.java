package dev.ao4j.quant.affine;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.config.Granularity;
import dev.ao4j.quant.config.MappingType;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.numerics.ComputeDtypes;

/**
 * How an intx weight is quantized (the weight half of IntxWeightOnlyConfig and
 * Int8DynamicActivationIntxWeightConfig, AFFINE qparams algorithm, unpacked_to_int8 packing).
 *
 * @param bits        N of {@code torch.intN}, 1..8 (8da4w: 4)
 * @param granularity PerGroup(g) along the last dim, or PerAxis(0) (one scale per output row)
 * @param mappingType SYMMETRIC, SYMMETRIC_NO_CLIPPING_ERR or ASYMMETRIC
 * @param scaleDtype  null to keep the scale in the weight dtype (default); otherwise the scale is cast to it and
 *                    qdata recomputed with the cast scale ({@code weight_scale_dtype} / {@code scale_dtype})
 */
public record IntxWeightSpec(int bits, Granularity granularity, MappingType mappingType, DType scaleDtype) {
    public IntxWeightSpec {
        if (bits < 1 || bits > 8) {
            throw new InvalidConfigException("IntxWeightSpec.bits must be in 1..8 (torch.int1..int8) but was " + bits);
        }
        if (!(granularity instanceof Granularity.PerGroup
                || granularity instanceof Granularity.PerAxis(int axis) && axis == 0)) {
            throw new InvalidConfigException("IntxWeightSpec.granularity must be PerGroup or PerAxis(0) but was "
                    + granularity);
        }
        if (mappingType == null) throw new InvalidConfigException("IntxWeightSpec.mappingType must not be null");
        if (scaleDtype != null) ComputeDtypes.require("IntxWeightSpec.scaleDtype", scaleDtype);
    }

    /** Symmetric, scale in the weight dtype: the config defaults. */
    public static IntxWeightSpec symmetric(int bits, Granularity granularity) {
        return new IntxWeightSpec(bits, granularity, MappingType.SYMMETRIC, null);
    }

    /** The 8da4w recipe's weight: int4, PerGroup(32), symmetric. */
    public static IntxWeightSpec int4Group32() {
        return symmetric(4, new Granularity.PerGroup(32));
    }

    public QuantRange range() {
        return QuantRange.signedBits(bits);
    }
}
