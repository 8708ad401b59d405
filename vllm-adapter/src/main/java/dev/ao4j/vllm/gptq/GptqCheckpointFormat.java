package dev.ao4j.vllm.gptq;

/**
 * GPTQ's two zero-point conventions ({@code checkpoint_format}). Only {@code qzeros} differ: v1 stores each zero
 * point minus one (AutoGPTQ's original kernels add the one back, so a true zero of 0 cannot be stored), v2 stores it
 * as is. For symmetric checkpoints every zero is {@code 2^(bits−1)}: v1 words read {@code 0x77777777} (4-bit) or
 * {@code 0x7F7F7F7F} (8-bit), v2 words {@code 0x88888888} or {@code 0x80808080}.
 */
public enum GptqCheckpointFormat {
    /** {@code "gptq"}: AutoGPTQ's layout, the default when the key is absent; what most loaders expect. */
    V1("gptq", 1),
    /** {@code "gptq_v2"}: GPTQModel's internal layout. */
    V2("gptq_v2", 0);

    private final String jsonName;
    private final int zeroOffset;

    GptqCheckpointFormat(String jsonName, int zeroOffset) {
        this.jsonName = jsonName;
        this.zeroOffset = zeroOffset;
    }

    /** The {@code checkpoint_format} value. */
    public String jsonName() {
        return jsonName;
    }

    /** What is subtracted from a true zero point before it is stored (and added back when read). */
    public int zeroOffset() {
        return zeroOffset;
    }

    /** The format named {@code name} (case-insensitive), or null. */
    public static GptqCheckpointFormat byName(String name) {
        for (GptqCheckpointFormat f : values()) {
            if (f.jsonName.equalsIgnoreCase(name)) return f;
        }
        return null;
    }
}
