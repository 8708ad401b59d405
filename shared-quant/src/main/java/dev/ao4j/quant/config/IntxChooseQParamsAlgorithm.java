package dev.ao4j.quant.config;

import dev.ao4j.quant.InvalidConfigException;
import java.util.Arrays;

/**
 * torchao {@code IntxChooseQParamsAlgorithm} (a str enum): AFFINE ({@code choose_qparams_affine}) or
 * HQQ_SCALE_ONLY.
 */
public enum IntxChooseQParamsAlgorithm {
    AFFINE("affine"),
    HQQ_SCALE_ONLY("hqq_scale_only");

    private final String wireValue;

    IntxChooseQParamsAlgorithm(String wireValue) {
        this.wireValue = wireValue;
    }

    /** The str-enum value torchao compares against, e.g. {@code "affine"} (the member name is {@link #name()}). */
    public String wireValue() {
        return wireValue;
    }

    /** The member whose {@link #wireValue()} is {@code value}; throws listing the legal values otherwise. */
    public static IntxChooseQParamsAlgorithm fromWire(String value) {
        for (IntxChooseQParamsAlgorithm f : values()) {
            if (f.wireValue.equals(value)) return f;
        }
        throw new InvalidConfigException("unknown IntxChooseQParamsAlgorithm value '" + value + "'; legal values: "
                + Arrays.stream(values()).map(IntxChooseQParamsAlgorithm::wireValue).toList());
    }
}
