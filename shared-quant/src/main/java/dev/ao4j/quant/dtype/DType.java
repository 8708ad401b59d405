package dev.ao4j.quant.dtype;

import dev.ao4j.quant.UnsupportedFormatException;

/**
 * Storage dtypes, with their safetensors code and torch name. Sub-byte types are stored packed:
 * {@link #F4_E2M1X2} holds two fp4 e2m1 codes per byte (torch {@code float4_e2m1fn_x2}), element 2i in the
 * low nibble.
 */
public enum DType {
    BOOL("BOOL", "bool", 1, false, false),
    U8("U8", "uint8", 1, false, true),
    I8("I8", "int8", 1, false, true),
    I16("I16", "int16", 2, false, true),
    U16("U16", "uint16", 2, false, true),
    I32("I32", "int32", 4, false, true),
    U32("U32", "uint32", 4, false, true),
    I64("I64", "int64", 8, false, true),
    U64("U64", "uint64", 8, false, true),
    F16("F16", "float16", 2, true, false),
    BF16("BF16", "bfloat16", 2, true, false),
    F32("F32", "float32", 4, true, false),
    F64("F64", "float64", 8, true, false),
    F8_E4M3("F8_E4M3", "float8_e4m3fn", 1, true, false),
    F8_E5M2("F8_E5M2", "float8_e5m2", 1, true, false),
    F8_E8M0("F8_E8M0", "float8_e8m0fnu", 1, true, false),
    F4_E2M1X2("F4", "float4_e2m1fn_x2", 1, true, false);

    private final String safetensorsName;
    private final String torchName;
    private final int byteSize;
    private final boolean floating;
    private final boolean integral;

    DType(String safetensorsName, String torchName, int byteSize, boolean floating, boolean integral) {
        this.safetensorsName = safetensorsName;
        this.torchName = torchName;
        this.byteSize = byteSize;
        this.floating = floating;
        this.integral = integral;
    }

    /** The dtype string of a safetensors header ("BF16", "F8_E4M3", ...). */
    public String safetensorsName() {
        return safetensorsName;
    }

    /** The torch dtype name without the {@code torch.} prefix ("bfloat16", "float8_e4m3fn", ...). */
    public String torchName() {
        return torchName;
    }

    /** Bytes per stored element (per packed pair for {@link #F4_E2M1X2}). */
    public int byteSize() {
        return byteSize;
    }

    public boolean isFloatingPoint() {
        return floating;
    }

    public boolean isIntegral() {
        return integral;
    }

    public static DType fromSafetensors(String name) {
        for (DType t : values()) {
            if (t.safetensorsName.equals(name)) return t;
        }
        throw new UnsupportedFormatException("unknown safetensors dtype '" + name + "'; supported: " + names(true));
    }

    public static DType fromTorch(String name) {
        String n = name.startsWith("torch.") ? name.substring(6) : name;
        for (DType t : values()) {
            if (t.torchName.equals(n)) return t;
        }
        throw new UnsupportedFormatException("unknown torch dtype '" + name + "'; supported: " + names(false));
    }

    private static String names(boolean safetensors) {
        StringBuilder sb = new StringBuilder();
        for (DType t : values()) {
            if (!sb.isEmpty()) sb.append(", ");
            sb.append(safetensors ? t.safetensorsName : t.torchName);
        }
        return sb.toString();
    }
}
