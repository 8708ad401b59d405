package dev.ao4j.quant.config;

import dev.ao4j.quant.InvalidConfigException;
import java.util.Arrays;
import java.util.Locale;

/**
 * torchao {@code KernelPreference} (a str enum; 0.18 members AUTO, TORCH, MSLK, EMULATED, TRITON). FBGEMM is
 * the pre-0.16 name of MSLK, kept so older configs read.
 */
public enum KernelPreference {
    AUTO, TORCH, MSLK, FBGEMM, EMULATED, TRITON;

    /** The str-enum value, the lower-case member name (e.g. {@code "auto"}). */
    public String wireValue() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The member whose {@link #wireValue()} is {@code value}; throws listing the legal values otherwise. */
    public static KernelPreference fromWire(String value) {
        for (KernelPreference k : values()) {
            if (k.wireValue().equals(value)) return k;
        }
        throw new InvalidConfigException("unknown KernelPreference value '" + value + "'; legal values: "
                + Arrays.stream(values()).map(KernelPreference::wireValue).toList());
    }
}
