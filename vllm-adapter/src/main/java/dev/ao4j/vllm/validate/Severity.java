package dev.ao4j.vllm.validate;

/**
 * How much a finding matters. {@link #ERROR}: the engine refuses the package, or loads it and computes wrong
 * outputs. {@link #WARNING}: it loads and runs, but slower, on a fallback kernel, or only on some engine versions.
 * {@link #INFO}: what the engine will do (which method and kernel it picks).
 */
public enum Severity {
    ERROR,
    WARNING,
    INFO
}
