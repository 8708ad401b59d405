package dev.ao4j.quant.config;

import dev.ao4j.quant.InvalidConfigException;
import java.util.Collection;

/** Message helpers so every config error reads "Config.javaField (torchao_field) must be X but was Y". */
final class ConfigChecks {
    private ConfigChecks() {}

    static InvalidConfigException invalid(String config, String javaField, String torchaoField, String expected,
                                          Object found) {
        return new InvalidConfigException(config + "." + javaField + " (" + torchaoField + ") must be " + expected
                + " but was " + found);
    }

    static <T> T nonNull(T value, String config, String javaField, String torchaoField, String expected) {
        if (value == null) throw invalid(config, javaField, torchaoField, expected, "null");
        return value;
    }

    static void oneOf(Object value, Collection<?> allowed, String config, String javaField, String torchaoField) {
        if (!allowed.contains(value)) throw invalid(config, javaField, torchaoField, "one of " + allowed, value);
    }
}
