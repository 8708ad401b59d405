package dev.ao4j.vllm.validate;

import dev.ao4j.quant.Ao4jException;
import dev.ao4j.quant.Where;

/** A package the target engine would refuse (or load with wrong outputs); the message lists every error. */
public class PackageRejectedException extends Ao4jException {
    private final transient ValidationReport report;

    public PackageRejectedException(ValidationReport report) {
        super(summary(report), Where.file(report.packageDir()));
        this.report = report;
    }

    public ValidationReport report() {
        return report;
    }

    private static String summary(ValidationReport report) {
        StringBuilder sb = new StringBuilder();
        var errors = report.errors();
        sb.append(report.target().engine().displayName()).append(" would reject this package (")
                .append(report.target()).append("): ").append(errors.size())
                .append(errors.size() == 1 ? " error" : " errors");
        for (Finding f : errors) {
            sb.append("\n  [").append(f.rule()).append(']');
            if (!f.layer().isEmpty()) sb.append(' ').append(f.layer());
            sb.append(": ").append(f.message());
        }
        return sb.toString();
    }
}
