package dev.ao4j.quant.pipeline;

import dev.ao4j.quant.Ao4jException;
import dev.ao4j.quant.Where;
import dev.ao4j.quant.qtensor.QuantizedTensor;
import dev.ao4j.safetensors.ShardedCheckpoint;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.safetensors.TensorInfo;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The streaming quantization pipeline: source checkpoint → per-tensor decision → quantize → sink, in source order.
 * {@link Overlap#SERIAL} handles one tensor at a time, so peak memory is bounded by the largest tensor (source
 * tensors are memory-mapped views; each output is released once the sink has written it). {@link Overlap#WRITE_BEHIND}
 * hands each result to one writer thread and quantizes the next tensor while the sink writes it: the disk write of
 * tensor i overlaps the read and quantization of tensor i+1 (on the CPU or the GPU), with at most two tensors in
 * flight. It also reads ahead ({@link ReadAhead#PAGE_CACHE}): while tensor i is quantized, a third thread brings
 * tensor i+1's mapped bytes into the page cache, so that with a cold cache the disk read of tensor i+1 overlaps too
 * instead of blocking the quantizer page by page. Read-ahead is at most one tensor ahead and takes page cache only,
 * no anonymous memory; it is a hint, so a failure is logged once and the run goes on without it; and it never
 * outlives {@code quantize}, which interrupts and joins it before returning, also on failure (the caller may unmap
 * the checkpoint right after). The sink sees the same calls in the same order in every mode, all from one thread;
 * commit comes after the last write.
 *
 * <p>For a sink that {@linkplain ModelSink#writesThrough writes through}, each tensor is processed with its own
 * arena bound as {@link Tensor#ALLOCATION_ARENA}, closed as soon as the sink has written the tensor (or the run
 * failed before it could): the tensor's outputs and temporaries are freed then, so resident memory stays at the
 * tensors in flight however large the JVM's heap and direct-memory limits are.
 */
public final class Quantizer {
    private static final System.Logger LOG = System.getLogger("dev.ao4j.quant.pipeline");

    private Quantizer() {}

    /** Whether the sink's writes overlap the quantization of the next tensor. */
    public enum Overlap {
        /** Read, quantize, write; then the next tensor. At most one tensor in flight. */
        SERIAL,
        /**
         * The sink writes tensor i on a writer thread while tensor i+1 is quantized, and tensor i+1's bytes are read
         * into the page cache on a read-ahead thread while tensor i is quantized. At most two tensors in flight.
         */
        WRITE_BEHIND
    }

    /** Runs {@code recipe} over every tensor of {@code source} into {@code sink}, one tensor at a time, then commits. */
    public static QuantReport quantize(ShardedCheckpoint source, Recipe recipe, ModelSink sink, QuantListener listener) {
        return quantize(source, recipe, sink, listener, Overlap.SERIAL);
    }

    /**
     * Runs {@code recipe} over every tensor of {@code source} into {@code sink}, then commits the sink. With
     * {@link Overlap#WRITE_BEHIND} a failing write surfaces here, naming its tensor, once the tensor after it is
     * quantized (or at the end); nothing is written after a failure and the sink is not committed. Reads ahead with
     * {@link ReadAhead#PAGE_CACHE} in {@link Overlap#WRITE_BEHIND} mode and not at all in {@link Overlap#SERIAL}.
     */
    public static QuantReport quantize(ShardedCheckpoint source, Recipe recipe, ModelSink sink, QuantListener listener,
                                       Overlap overlap) {
        return quantize(source, recipe, sink, listener, overlap,
                overlap == Overlap.WRITE_BEHIND ? ReadAhead.PAGE_CACHE : ReadAhead.NONE);
    }

    /**
     * {@link #quantize(ShardedCheckpoint, Recipe, ModelSink, QuantListener, Overlap)} with the read-ahead chosen by
     * the caller, in either mode: {@code readAhead} runs for tensor i+1 once tensor i has started (after
     * {@link QuantListener#tensorStarted}), on its own thread, and is interrupted when tensor i+2 starts or the run
     * ends; every read-ahead has returned when this method returns or throws.
     */
    public static QuantReport quantize(ShardedCheckpoint source, Recipe recipe, ModelSink sink, QuantListener listener,
                                       Overlap overlap, ReadAhead readAhead) {
        long start = System.nanoTime();
        List<String> names = source.names();
        long inputBytes = names.stream().mapToLong(n -> source.info(n).byteSize()).sum();
        listener.runStarted(names.size(), inputBytes);
        List<TensorResult> results;
        try (Prefetch prefetch = new Prefetch(source, readAhead)) {
            results = overlap == Overlap.SERIAL ? serial(source, recipe, sink, listener, prefetch)
                    : writeBehind(source, recipe, sink, listener, prefetch);
        }
        QuantReport report = new QuantReport(recipe.name(), results, System.nanoTime() - start);
        sink.commit(report);
        listener.runFinished(report);
        return report;
    }

    private static List<TensorResult> serial(ShardedCheckpoint source, Recipe recipe, ModelSink sink,
                                             QuantListener listener, Prefetch prefetch) {
        List<String> names = source.names();
        List<TensorResult> results = new ArrayList<>(names.size());
        for (int i = 0; i < names.size(); i++) {
            String name = names.get(i);
            listener.tensorStarted(i, name);
            prefetch.started(i);
            Done d = process(name, source.info(name), source.tensor(name), recipe, sink);
            TensorResult r = d.writeAndRelease(sink);
            results.add(r);
            listener.tensorFinished(i, r);
        }
        return results;
    }

    /**
     * Quantizes on the calling thread, writes on one writer thread. Before handing tensor i+1 to the writer, waits
     * for tensor i's write: so writes stay in order, one at a time, and at most two results are alive (the one
     * being written and the one waiting). Listener events stay on the calling thread.
     */
    private static List<TensorResult> writeBehind(ShardedCheckpoint source, Recipe recipe, ModelSink sink,
                                                  QuantListener listener, Prefetch prefetch) {
        List<String> names = source.names();
        List<TensorResult> results = new ArrayList<>(names.size());
        ExecutorService writer = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "ao4j-sink-writer");
            t.setDaemon(true);
            return t;
        });
        Future<TensorResult> inFlight = null;
        int inFlightIndex = -1;
        List<Done> unwritten = new ArrayList<>(2); // released in finally if the run fails before their write
        boolean failed = true;
        try {
            for (int i = 0; i < names.size(); i++) {
                String name = names.get(i);
                listener.tensorStarted(i, name);
                prefetch.started(i);
                Done d = process(name, source.info(name), source.tensor(name), recipe, sink);
                unwritten.add(d);
                if (inFlight != null) finish(inFlight, names.get(inFlightIndex), inFlightIndex, results, listener);
                inFlight = writer.submit(() -> d.writeAndRelease(sink));
                inFlightIndex = i;
                unwritten.removeIf(Done::released);
            }
            if (inFlight != null) finish(inFlight, names.get(inFlightIndex), inFlightIndex, results, listener);
            failed = false;
            return results;
        } finally {
            if (failed && inFlight != null) {
                inFlight.cancel(false); // not started: never runs; running: we wait for it below
            }
            writer.shutdown();
            awaitQuietly(writer); // the caller closes the sink next: no write may still be running then
            for (Done d : unwritten) d.release();
        }
    }

    private static void finish(Future<TensorResult> f, String name, int index, List<TensorResult> results,
                               QuantListener listener) {
        TensorResult r;
        try {
            r = f.get();
        } catch (ExecutionException e) {
            throw writeFailure(name, e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Ao4jException("interrupted while writing a tensor", Where.tensor(null, name), e);
        } catch (CancellationException e) {
            throw new IllegalStateException("the write of " + name + " was cancelled", e);
        }
        results.add(r);
        listener.tensorFinished(index, r);
    }

    /** The writer's exception, as is when it already names a tensor or is an Error, else wrapped with the name. */
    private static RuntimeException writeFailure(String name, Throwable cause) {
        if (cause instanceof Error err) throw err;
        if (cause instanceof Ao4jException a && a.where().tensor() != null) return a;
        String msg = cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
        return new Ao4jException("writing the tensor failed: " + msg, Where.tensor(null, name), cause);
    }

    private static void awaitQuietly(ExecutorService pool) {
        boolean interrupted = false;
        while (true) {
            try {
                if (pool.awaitTermination(1, java.util.concurrent.TimeUnit.DAYS)) break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    /**
     * Runs the read-ahead of tensor i+1 once tensor i has started, on one daemon thread. When tensor i starts, the
     * read-ahead of tensor i-1 is interrupted (its tensor is done) while that of tensor i may go on (it is still
     * ahead of the quantizer inside tensor i): so at most one read-ahead runs and one waits, never more than one
     * tensor past the one being processed. The first failure is logged, with its tensor, and read-ahead stops for
     * the rest of the run; the run itself goes on.
     */
    private static final class Prefetch implements AutoCloseable {
        private final ShardedCheckpoint source;
        private final List<String> names;
        private final ReadAhead readAhead;
        private final ExecutorService thread; // null: nothing to read ahead
        private final AtomicBoolean failed = new AtomicBoolean();
        private Future<?> behind; // the read-ahead of the tensor being processed
        private Future<?> ahead; // the read-ahead of the next tensor

        Prefetch(ShardedCheckpoint source, ReadAhead readAhead) {
            this.source = source;
            this.names = source.names();
            this.readAhead = readAhead;
            this.thread = readAhead == ReadAhead.NONE ? null : Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "ao4j-read-ahead");
                t.setDaemon(true);
                return t;
            });
        }

        /** Tensor {@code index} has started: read the one after it ahead. */
        void started(int index) {
            if (thread == null) return;
            if (behind != null) behind.cancel(true);
            behind = ahead;
            ahead = null;
            if (index + 1 < names.size() && !failed.get()) {
                String name = names.get(index + 1);
                Tensor tensor = source.tensor(name);
                ahead = thread.submit(() -> load(name, tensor));
            }
        }

        private void load(String name, Tensor tensor) {
            if (failed.get()) return;
            try {
                readAhead.load(name, tensor);
            } catch (RuntimeException | Error e) {
                // Errors too (a page fault on a truncated file is an InternalError): rethrown here they would only
                // sit unread in the Future, and the quantizer meets the same bytes anyway and fails with its own
                if (Thread.currentThread().isInterrupted()) return; // stopped because its tensor was behind
                if (failed.compareAndSet(false, true)) {
                    String msg = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
                    LOG.log(System.Logger.Level.WARNING, "read-ahead of tensor " + name + " failed (" + msg
                            + "); the run goes on without reading ahead");
                }
            }
        }

        /** Interrupts the running read-ahead, drops the waiting one, and waits until the thread has ended. */
        @Override
        public void close() {
            if (thread == null) return;
            thread.shutdownNow();
            awaitQuietly(thread);
        }
    }

    /**
     * A tensor ready for the sink: kept as is (quantized == null) or quantized; {@code arena} (or null) holds the
     * memory allocated while processing it.
     */
    private record Done(String name, TensorInfo info, Tensor plain, QuantizedTensor quantized, String skip,
                        double sqnr, long nanos, Arena arena, AtomicBoolean freed) {
        /** Writes the tensor, then frees its arena (also when the write fails); returns its result. */
        TensorResult writeAndRelease(ModelSink sink) {
            try {
                long w0 = System.nanoTime();
                if (quantized == null) sink.writePlain(name, plain);
                else sink.writeQuantized(name, quantized);
                return result(System.nanoTime() - w0);
            } finally {
                release();
            }
        }

        /** Frees the arena, once; a no-op without one. */
        void release() {
            if (arena != null && freed.compareAndSet(false, true)) arena.close();
        }

        boolean released() {
            return arena == null || freed.get();
        }

        /** The tensor's result; its time is the quantization plus the sink's write. */
        TensorResult result(long writeNanos) {
            if (quantized == null) {
                return new TensorResult(name, info.dtype(), info.shape(), null, skip, info.byteSize(),
                        plain.byteSize(), Double.NaN, nanos + writeNanos);
            }
            long outBytes = quantized.parts().stream().mapToLong(p -> p.tensor().byteSize()).sum();
            return new TensorResult(name, info.dtype(), info.shape(), quantized.typeName(), null, info.byteSize(),
                    outBytes, sqnr, nanos + writeNanos);
        }
    }

    /** Decides, quantizes and measures one tensor; in its own arena when the sink writes through. */
    private static Done process(String name, TensorInfo info, Tensor stored, Recipe recipe, ModelSink sink) {
        if (!sink.writesThrough()) return compute(name, info, stored, recipe, null);
        Arena arena = Arena.ofShared(); // closed by the writer thread, or here on failure
        try {
            return ScopedValue.where(Tensor.ALLOCATION_ARENA, arena)
                    .call(() -> compute(name, info, stored, recipe, arena));
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    private static Done compute(String name, TensorInfo info, Tensor stored, Recipe recipe, Arena arena) {
        long t0 = System.nanoTime();
        Tensor tensor = recipe.casts(info.dtype()) ? stored.to(recipe.computeDtype()) : stored;
        String skip = recipe.selector().skipReason(name, info.shape());
        if (skip == null) skip = recipe.quantizer().skipReason(info.shape(), tensor.dtype());
        if (skip != null) {
            return new Done(name, info, tensor, null, skip, Double.NaN, System.nanoTime() - t0, arena,
                    new AtomicBoolean());
        }
        QuantizedTensor q = recipe.quantizer().quantize(tensor);
        double sqnr = recipe.measureError() ? Sqnr.db(tensor, recipe.quantizer().dequantize(q)) : Double.NaN;
        return new Done(name, info, null, q, null, sqnr, System.nanoTime() - t0, arena, new AtomicBoolean());
    }
}
