package dev.ao4j.vllm.validate;

import dev.ao4j.quant.InvalidConfigException;

/**
 * The NVIDIA GPU generations the validator knows, by CUDA compute capability: Ampere (A100), Ada (L4/L40),
 * Hopper (H100/H200), datacenter Blackwell (B200). The engines gate kernels on {@code capability >= N}.
 */
public enum GpuArch {
    SM80(80),
    SM89(89),
    SM90(90),
    SM100(100);

    private final int capability;

    GpuArch(int capability) {
        this.capability = capability;
    }

    /** Compute capability as the engines write it: major * 10 + minor (80, 89, 90, 100). */
    public int capability() {
        return capability;
    }

    public boolean atLeast(int minCapability) {
        return capability >= minCapability;
    }

    /** "sm80". */
    public String wireName() {
        return "sm" + capability;
    }

    /**
     * Parse "sm80", "sm_90", "SM100" or a bare capability "89".
     *
     * @throws InvalidConfigException for any other value (the message lists the known ones)
     */
    public static GpuArch parse(String name) {
        String s = name == null ? "" : name.strip().toLowerCase(java.util.Locale.ROOT);
        if (s.startsWith("sm")) s = s.substring(2);
        if (s.startsWith("_")) s = s.substring(1);
        for (GpuArch a : values()) {
            if (Integer.toString(a.capability).equals(s)) return a;
        }
        throw new InvalidConfigException("unknown GPU architecture '" + name + "'; expected one of sm80, sm89, sm90, sm100");
    }
}
