package dev.ao4j.quant.config;

import dev.ao4j.quant.InvalidConfigException;
import java.util.Arrays;

/**
 * torchao {@code Int4ChooseQParamsAlgorithm} (a str enum): how int4 scales and zero points are chosen. HQQ is
 * only valid with {@link Int4PackingFormat#TILE_PACKED_TO_4D}.
 */
public enum Int4ChooseQParamsAlgorithm {
    TINYGEMM("tinygemm"),
    HQQ("hqq");

    private final String wireValue;

    Int4ChooseQParamsAlgorithm(String wireValue) {
        this.wireValue = wireValue;
    }

    /** The str-enum value torchao compares against, e.g. {@code "tinygemm"} (the member name is {@link #name()}). */
    public String wireValue() {
        return wireValue;
    }

    /** The member whose {@link #wireValue()} is {@code value}; throws listing the legal values otherwise. */
    public static Int4ChooseQParamsAlgorithm fromWire(String value) {
        for (Int4ChooseQParamsAlgorithm f : values()) {
            if (f.wireValue.equals(value)) return f;
        }
        throw new InvalidConfigException("unknown Int4ChooseQParamsAlgorithm value '" + value + "'; legal values: "
                + Arrays.stream(values()).map(Int4ChooseQParamsAlgorithm::wireValue).toList());
    }
}
