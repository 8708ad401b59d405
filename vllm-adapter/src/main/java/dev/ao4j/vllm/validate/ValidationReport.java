package dev.ao4j.vllm.validate;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/** What {@link PackageValidator} found in one package for one {@link Target}. */
public record ValidationReport(Path packageDir, Target target, List<Finding> findings) {
    public ValidationReport {
        Objects.requireNonNull(packageDir, "packageDir");
        Objects.requireNonNull(target, "target");
        findings = List.copyOf(findings);
    }

    /** True when no finding is an {@link Severity#ERROR}. */
    public boolean loadable() {
        return findings.stream().noneMatch(f -> f.severity() == Severity.ERROR);
    }

    public List<Finding> errors() {
        return bySeverity(Severity.ERROR);
    }

    public List<Finding> warnings() {
        return bySeverity(Severity.WARNING);
    }

    /** Findings of one rule id. */
    public List<Finding> findings(String rule) {
        return findings.stream().filter(f -> f.rule().equals(rule)).toList();
    }

    private List<Finding> bySeverity(Severity s) {
        return findings.stream().filter(f -> f.severity() == s).toList();
    }

    /**
     * A human-readable report: a verdict line, then the package-wide findings, then one block per layer (in the
     * order layers were first reported), one line per finding.
     */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        int e = errors().size();
        int w = warnings().size();
        sb.append(packageDir).append(" for ").append(target).append(": ")
                .append(loadable() ? "loadable" : "REJECTED").append(" (").append(e).append(e == 1 ? " error, " : " errors, ")
                .append(w).append(w == 1 ? " warning)" : " warnings)").append('\n');
        Map<String, List<Finding>> byLayer = new LinkedHashMap<>();
        byLayer.put("", new ArrayList<>());
        for (Finding f : findings) byLayer.computeIfAbsent(f.layer(), k -> new ArrayList<>()).add(f);
        for (Map.Entry<String, List<Finding>> g : byLayer.entrySet()) {
            if (g.getValue().isEmpty()) continue;
            sb.append(g.getKey().isEmpty() ? "package" : g.getKey()).append(":\n");
            for (Finding f : g.getValue()) {
                sb.append("  ").append(f.severity()).append(" [").append(f.rule()).append("] ")
                        .append(f.message()).append('\n');
            }
        }
        return sb.toString();
    }

    /** @throws PackageRejectedException listing every error, naming the package directory, unless loadable */
    public void throwIfRejected() {
        if (!loadable()) throw new PackageRejectedException(this);
    }
}
