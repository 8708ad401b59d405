package dev.ao4j.vllm.validate;

import java.util.Objects;

/**
 * One observation about a package.
 *
 * @param rule    stable rule id from {@link Rules}, e.g. {@code marlin.shape-k}
 * @param layer   the module ({@code model.layers.0.mlp.down_proj}) or tensor or file it is about, "" for the package
 * @param message what was found, what the engine needs, and what to do instead
 */
public record Finding(Severity severity, String rule, String layer, String message) {
    public Finding {
        Objects.requireNonNull(severity, "severity");
        Objects.requireNonNull(rule, "rule");
        Objects.requireNonNull(message, "message");
        layer = layer == null ? "" : layer;
    }

    @Override
    public String toString() {
        return severity + " [" + rule + "]" + (layer.isEmpty() ? "" : " " + layer) + ": " + message;
    }
}
