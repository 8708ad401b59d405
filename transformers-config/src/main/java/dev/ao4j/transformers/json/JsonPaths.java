package dev.ao4j.transformers.json;

import dev.ao4j.quant.Where;

/**
 * Builds the dotted JSON paths ({@code quantization_config.quant_type.default._type}, {@code a[0].b}) that a
 * {@link Where} carries.
 */
public final class JsonPaths {
    private JsonPaths() {}

    /** {@code where}'s path extended by an object member. */
    public static Where child(Where where, String name) {
        String p = where.jsonPath();
        return where.withJsonPath(p == null || p.isEmpty() ? name : p + "." + name);
    }

    /** {@code where}'s path extended by an array index. */
    public static Where index(Where where, int i) {
        String p = where.jsonPath();
        return where.withJsonPath((p == null ? "" : p) + "[" + i + "]");
    }
}
