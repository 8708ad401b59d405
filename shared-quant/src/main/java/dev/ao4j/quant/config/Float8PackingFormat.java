package dev.ao4j.quant.config;

import dev.ao4j.quant.InvalidConfigException;
import java.util.Arrays;

/**
 * torchao {@code Float8PackingFormat} (a str enum). PLAIN is {@code Float8Tensor}; the sparse formats are 2:4
 * packed (CUTLASS sm90 / hipSPARSELt) and not serializable. torchao's alias SPARSE_CUTLASS is
 * SPARSE_2D_DATA_2D_METADATA.
 */
public enum Float8PackingFormat {
    PLAIN("plain"),
    SPARSE_2D_DATA_2D_METADATA("sparse_2d_data_2d_metadata"),
    SPARSE_1D_DATA_1D_METADATA("sparse_1d_data_1d_metadata");

    private final String wireValue;

    Float8PackingFormat(String wireValue) {
        this.wireValue = wireValue;
    }

    /** The str-enum value torchao compares against, e.g. {@code "plain"} (the member name is {@link #name()}). */
    public String wireValue() {
        return wireValue;
    }

    /** The member whose {@link #wireValue()} is {@code value}; throws listing the legal values otherwise. */
    public static Float8PackingFormat fromWire(String value) {
        for (Float8PackingFormat f : values()) {
            if (f.wireValue.equals(value)) return f;
        }
        throw new InvalidConfigException("unknown Float8PackingFormat value '" + value + "'; legal values: "
                + Arrays.stream(values()).map(Float8PackingFormat::wireValue).toList());
    }
}
