package dev.ao4j.quant.config;

/** torchao {@code Float8MMConfig} (a NamedTuple): options of the fp8 matmul. */
public record Float8MMConfig(boolean emulate, boolean useFastAccum, boolean padInnerDim) {
    public static Float8MMConfig defaults() {
        return new Float8MMConfig(false, true, false);
    }
}
