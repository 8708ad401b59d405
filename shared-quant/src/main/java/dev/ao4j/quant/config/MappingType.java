package dev.ao4j.quant.config;

/** torchao {@code MappingType}: how the float range maps to the integer range. */
public enum MappingType {
    SYMMETRIC, SYMMETRIC_NO_CLIPPING_ERR, ASYMMETRIC
}
