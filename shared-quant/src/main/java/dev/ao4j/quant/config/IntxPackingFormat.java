package dev.ao4j.quant.config;

import dev.ao4j.quant.InvalidConfigException;
import java.util.Arrays;

/**
 * torchao {@code IntxPackingFormat} (a str enum). UNPACKED_TO_INT8 ({@code IntxUnpackedToInt8Tensor}) is the
 * portable, serializable one; the opaque formats are packed by torchao's CPU kernels and cannot be saved.
 */
public enum IntxPackingFormat {
    UNPACKED_TO_INT8("unpacked_to_int8"),
    OPAQUE_ATEN_KLEIDIAI("opaque_aten_kleidiai"),
    OPAQUE_TORCHAO_AUTO("opaque_torchao_auto"),
    OPAQUE_TORCHAO_KLEIDIAI("opaque_torchao_kleidiai"),
    OPAQUE_TORCHAO_LOWBIT("opaque_torchao_lowbit");

    private final String wireValue;

    IntxPackingFormat(String wireValue) {
        this.wireValue = wireValue;
    }

    /** The str-enum value torchao compares against, e.g. {@code "unpacked_to_int8"} (the member name is name()). */
    public String wireValue() {
        return wireValue;
    }

    /** The member whose {@link #wireValue()} is {@code value}; throws listing the legal values otherwise. */
    public static IntxPackingFormat fromWire(String value) {
        for (IntxPackingFormat f : values()) {
            if (f.wireValue.equals(value)) return f;
        }
        throw new InvalidConfigException("unknown IntxPackingFormat value '" + value + "'; legal values: "
                + Arrays.stream(values()).map(IntxPackingFormat::wireValue).toList());
    }
}
