package dev.ao4j.vllm.validate;

import dev.ao4j.quant.InvalidConfigException;

/** The serving engine a package is validated for, with its command-line spelling. */
public enum Engine {
    VLLM("vllm", "vLLM"),
    SGLANG("sglang", "SGLang");

    private final String wireName;
    private final String displayName;

    Engine(String wireName, String displayName) {
        this.wireName = wireName;
        this.displayName = displayName;
    }

    /** "vllm" or "sglang". */
    public String wireName() {
        return wireName;
    }

    /** "vLLM" or "SGLang", as messages spell it. */
    public String displayName() {
        return displayName;
    }

    /** @throws InvalidConfigException for anything but "vllm" / "sglang" (case-insensitive) */
    public static Engine parse(String name) {
        for (Engine e : values()) {
            if (e.wireName.equalsIgnoreCase(name == null ? "" : name.strip())) return e;
        }
        throw new InvalidConfigException("unknown engine '" + name + "'; expected vllm or sglang");
    }
}
