package dev.ao4j.hub;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Renders transfer progress on a stream (stderr): one self-updating line on a terminal, else one plain log line per
 * finished file. {@code HF_HUB_DISABLE_PROGRESS_BARS=1} turns the self-updating line off, as it does Python's bars.
 */
public final class ConsoleProgress implements TransferListener {
    private static final long REDRAW_NANOS = 200_000_000L;

    private final PrintWriter err;
    private final boolean live;
    private final String verb;
    private final long startNanos = System.nanoTime();
    private final AtomicLong total = new AtomicLong();
    private final AtomicLong done = new AtomicLong();
    private final AtomicInteger started = new AtomicInteger();
    private final AtomicInteger finished = new AtomicInteger();
    private long lastDraw;

    /** @param verb what the line says is happening, e.g. "downloaded" or "uploaded" */
    public ConsoleProgress(PrintWriter err, boolean terminal, String verb) {
        this.err = err;
        this.live = terminal && !HubConfig.isTrue(System.getenv("HF_HUB_DISABLE_PROGRESS_BARS"));
        this.verb = verb;
    }

    @Override
    public void started(String path, long size) {
        started.incrementAndGet();
        total.addAndGet(size);
    }

    @Override
    public void progressed(String path, long bytes) {
        done.addAndGet(bytes);
        if (live) draw(false);
    }

    @Override
    public void finished(String path) {
        finished.incrementAndGet();
        if (live) {
            draw(false);
        } else {
            synchronized (this) {
                err.println(verb + " " + path);
                err.flush();
            }
        }
    }

    /** Ends the live line (call once the transfer is over). */
    public void close() {
        if (live) {
            draw(true);
            synchronized (this) {
                err.println();
                err.flush();
            }
        }
    }

    private synchronized void draw(boolean force) {
        long now = System.nanoTime();
        if (!force && now - lastDraw < REDRAW_NANOS) return;
        lastDraw = now;
        double seconds = Math.max(1e-9, (now - startNanos) / 1e9);
        err.print(String.format(Locale.ROOT, "\r\033[2K%s %d files, %s of %s (%s/s)", verb, finished.get(),
                human(done.get()), human(total.get()), human((long) (done.get() / seconds))));
        err.flush();
    }

    private static String human(long bytes) {
        return ByteSizes.human(bytes, 1);
    }
}
