package dev.ao4j.quant.float8;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.config.Granularity;
import dev.ao4j.quant.dtype.DType;

/**
 * What {@code Float8Tensor.from_hp} is asked for: the float8 element type, the granularity, and optional bounds
 * {@code hp_value_lb / hp_value_ub} that clamp each block's amax before the scale is computed (null = unset).
 */
public record Float8Spec(DType float8Dtype, Granularity granularity, Float hpValueLb, Float hpValueUb) {
    public Float8Spec {
        if (float8Dtype == null || granularity == null) {
            throw new InvalidConfigException("Float8Spec.float8Dtype and granularity must be set but were "
                    + float8Dtype + ", " + granularity);
        }
        Fp8Format.of(float8Dtype); // validates the dtype
        if (hpValueLb != null && hpValueLb.isNaN() || hpValueUb != null && hpValueUb.isNaN()) {
            throw new InvalidConfigException("Float8Spec bounds must not be NaN but were lb=" + hpValueLb
                    + ", ub=" + hpValueUb);
        }
    }

    /** No amax bounds. */
    public static Float8Spec of(DType float8Dtype, Granularity granularity) {
        return new Float8Spec(float8Dtype, granularity, null, null);
    }
}
