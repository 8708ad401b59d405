package dev.ao4j.quant.config;

import dev.ao4j.quant.InvalidConfigException;
import java.util.Arrays;

/**
 * torchao {@code Int4PackingFormat} (a str enum): how an int4 weight is stored. PLAIN ({@code Int4Tensor}) and
 * TILE_PACKED_TO_4D ({@code Int4TilePackedTo4dTensor}) have ao4j tensor types; PRESHUFFLED is not serializable
 * and PLAIN_INT32 ({@code Int4PlainInt32Tensor}) targets Intel XPU / Ascend NPU.
 */
public enum Int4PackingFormat {
    PLAIN("plain"),
    PRESHUFFLED("preshuffled"),
    PLAIN_INT32("plain_int32"),
    TILE_PACKED_TO_4D("tile_packed_to_4d");

    private final String wireValue;

    Int4PackingFormat(String wireValue) {
        this.wireValue = wireValue;
    }

    /** The str-enum value torchao compares against, e.g. {@code "plain"} (the member name is {@link #name()}). */
    public String wireValue() {
        return wireValue;
    }

    /** The member whose {@link #wireValue()} is {@code value}; throws listing the legal values otherwise. */
    public static Int4PackingFormat fromWire(String value) {
        for (Int4PackingFormat f : values()) {
            if (f.wireValue.equals(value)) return f;
        }
        throw new InvalidConfigException("unknown Int4PackingFormat value '" + value + "'; legal values: "
                + Arrays.stream(values()).map(Int4PackingFormat::wireValue).toList());
    }
}
