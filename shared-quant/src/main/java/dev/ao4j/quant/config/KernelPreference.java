package dev.ao4j.quant.config;

/** torchao {@code KernelPreference}. */
public enum KernelPreference {
    AUTO, TORCH, MSLK, FBGEMM, EMULATED
}
