package dev.ao4j.cli;

import dev.ao4j.quant.pipeline.QuantListener;
import dev.ao4j.quant.pipeline.QuantReport;
import dev.ao4j.quant.pipeline.TensorResult;
import java.io.PrintWriter;
import java.util.Locale;

/** Progress on stderr: a self-updating line on a terminal, one plain line per tensor otherwise. */
final class ProgressListener implements QuantListener {
    private final PrintWriter err;
    private final boolean terminal;
    private int total;
    private long totalBytes;
    private long doneBytes;
    private long start;

    ProgressListener(PrintWriter err, boolean terminal) {
        this.err = err;
        this.terminal = terminal;
    }

    @Override
    public void runStarted(int tensorCount, long inputBytes) {
        total = tensorCount;
        totalBytes = inputBytes;
        start = System.nanoTime();
    }

    @Override
    public void tensorFinished(int index, TensorResult r) {
        doneBytes += r.inputBytes();
        String what = r.quantized()
                ? r.quantizedAs() + (Double.isNaN(r.sqnrDb()) ? "" : String.format(Locale.ROOT, " %.1f dB", r.sqnrDb()))
                : "kept";
        String line = String.format(Locale.ROOT, "[%d/%d %3.0f%%] %s -> %s", index + 1, total,
                100.0 * doneBytes / Math.max(1, totalBytes), r.name(), what);
        if (terminal) {
            err.print("\r\033[2K" + line);
        } else {
            err.println(line);
        }
        err.flush();
    }

    @Override
    public void runFinished(QuantReport report) {
        if (terminal) err.println();
        err.printf(Locale.ROOT, "done in %.2f s%n", (System.nanoTime() - start) / 1e9);
        err.flush();
    }
}
