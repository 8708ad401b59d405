package dev.ao4j.vllm.validate;

import java.util.ArrayList;
import java.util.List;

/** Accumulates findings while the rules run. */
final class Collector {
    private final List<Finding> findings = new ArrayList<>();

    void error(String rule, String layer, String message) {
        findings.add(new Finding(Severity.ERROR, rule, layer, message));
    }

    void warn(String rule, String layer, String message) {
        findings.add(new Finding(Severity.WARNING, rule, layer, message));
    }

    void info(String rule, String layer, String message) {
        findings.add(new Finding(Severity.INFO, rule, layer, message));
    }

    void add(Severity s, String rule, String layer, String message) {
        findings.add(new Finding(s, rule, layer, message));
    }

    List<Finding> findings() {
        return findings;
    }
}
