package dev.ao4j.quant.pipeline;

import static dev.ao4j.quant.pipeline.QuantizerOverlapTest.fill;
import static dev.ao4j.quant.pipeline.QuantizerOverlapTest.recipe;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.pipeline.QuantizerOverlapTest.RecordingSink;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.safetensors.SafetensorsWriter;
import dev.ao4j.safetensors.ShardedCheckpoint;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link Quantizer}'s read-ahead: tensor i+1 while tensor i is processed and never further, always joined before
 * quantize returns (also when it throws), a failure logged once and harmless, the sink's calls and bytes unchanged.
 */
class QuantizerReadAheadTest {
    @TempDir
    Path dir;

    /** Five Linear weights, all quantized by int8wo, so the quantize hook runs for every tensor. */
    private ShardedCheckpoint checkpoint() {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (int l = 0; l < 5; l++) tensors.put("model.layers." + l + ".mlp.up_proj.weight", fill(Shape.of(32, 64), l));
        SafetensorsWriter.write(dir.resolve("model.safetensors"), tensors, Map.of());
        return ShardedCheckpoint.open(dir);
    }

    /** Remembers the index of the tensor the pipeline is processing (read on the same thread by the quantize hook). */
    private static final class Current implements QuantListener {
        final AtomicInteger index = new AtomicInteger(-1);
        final List<String> events;

        Current(List<String> events) {
            this.events = events;
        }

        @Override
        public void tensorStarted(int i, String name) {
            index.set(i);
            events.add("start " + i);
        }
    }

    @ParameterizedTest
    @EnumSource(Quantizer.Overlap.class)
    void readsTensorIPlus1AheadWhileTensorIIsProcessedAndNeverFurther(Quantizer.Overlap overlap) throws Exception {
        List<String> events = Collections.synchronizedList(new ArrayList<>());
        Current current = new Current(events);
        Map<Integer, CountDownLatch> begun = new java.util.concurrent.ConcurrentHashMap<>();
        List<Boolean> seenInTime = Collections.synchronizedList(new ArrayList<>());
        try (ShardedCheckpoint ck = checkpoint()) {
            List<String> names = ck.names();
            for (int i = 0; i < names.size(); i++) begun.put(i, new CountDownLatch(1));
            ReadAhead recording = (name, tensor) -> {
                int j = names.indexOf(name);
                events.add("ahead " + j + " during " + current.index.get());
                begun.get(j).countDown();
            };
            // while tensor i is quantized, wait for the read-ahead of i+1: it must come without tensor i ending
            Recipe r = recipe(w -> {
                int i = current.index.get();
                if (i + 1 < names.size()) {
                    try {
                        seenInTime.add(begun.get(i + 1).await(20, TimeUnit.SECONDS));
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                }
            });
            Quantizer.quantize(ck, r, new RecordingSink(), current, overlap, recording);
            List<String> expected = new ArrayList<>();
            for (int i = 0; i < names.size(); i++) {
                expected.add("start " + i);
                if (i + 1 < names.size()) expected.add("ahead " + (i + 1) + " during " + i);
            }
            assertEquals(expected, events);
            assertEquals(List.of(true, true, true, true), seenInTime);
        }
    }

    /** Where a run fails, if it does. */
    enum Failure { NONE, SINK, QUANTIZER }

    static Stream<Arguments> overlapsAndFailures() {
        return Stream.of(Quantizer.Overlap.values())
                .flatMap(o -> Stream.of(Failure.values()).map(f -> Arguments.of(o, f)));
    }

    @ParameterizedTest
    @MethodSource("overlapsAndFailures")
    void everyReadAheadIsInterruptedAndHasReturnedWhenQuantizeReturnsOrThrows(Quantizer.Overlap overlap,
                                                                              Failure failure) {
        AtomicInteger begun = new AtomicInteger();
        AtomicInteger running = new AtomicInteger();
        AtomicInteger interrupted = new AtomicInteger();
        // a disk that never finishes: each read-ahead ends only by being interrupted (or after 20 s, which fails)
        ReadAhead slow = (name, tensor) -> {
            begun.incrementAndGet();
            running.incrementAndGet();
            try {
                Thread.sleep(20_000);
            } catch (InterruptedException e) {
                interrupted.incrementAndGet();
            } finally {
                running.decrementAndGet();
            }
        };
        AtomicInteger quantizes = new AtomicInteger();
        Recipe r = recipe(w -> {
            // the first read-ahead starts before the second weight: a run that fails fast must still stop one
            if (quantizes.incrementAndGet() == 2) awaitBegun(begun);
            if (failure == Failure.QUANTIZER && quantizes.get() == 3) {
                throw new IllegalStateException("kernel failed");
            }
        });
        RecordingSink sink = new RecordingSink() {
            @Override
            void onWrite(String name) {
                if (failure == Failure.SINK && name.startsWith("model.layers.2.")) {
                    throw new UncheckedIOException(new IOException("disk full"));
                }
            }
        };
        try (ShardedCheckpoint ck = checkpoint()) {
            if (failure == Failure.NONE) {
                Quantizer.quantize(ck, r, sink, QuantListener.NONE, overlap, slow);
                assertTrue(sink.calls.contains("commit 5"), sink.calls.toString());
            } else {
                RuntimeException e = assertThrows(RuntimeException.class,
                        () -> Quantizer.quantize(ck, r, sink, QuantListener.NONE, overlap, slow));
                assertTrue(e.getMessage().contains(failure == Failure.SINK ? "disk full" : "kernel failed"),
                        e.getMessage());
            }
            // checked while the checkpoint is still open: nothing may touch it once the caller closes it
            assertEquals(0, running.get());
        }
        assertTrue(begun.get() >= 1, "no read-ahead ran at all");
        assertEquals(begun.get(), interrupted.get());
    }

    @Test
    void aFailingReadAheadIsLoggedOnceAndTheRunGoesOnWithTheSameBytes() throws Exception {
        Logger log = Logger.getLogger("dev.ao4j.quant.pipeline");
        List<LogRecord> records = Collections.synchronizedList(new ArrayList<>());
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord record) {
                records.add(record);
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        boolean parentHandlers = log.getUseParentHandlers();
        log.addHandler(capture);
        log.setUseParentHandlers(false);
        try (ShardedCheckpoint ck = checkpoint()) {
            List<String> names = ck.names();
            List<String> attempts = Collections.synchronizedList(new ArrayList<>());
            CountDownLatch failed = new CountDownLatch(1);
            ReadAhead broken = (name, tensor) -> {
                attempts.add(name);
                failed.countDown();
                throw new UncheckedIOException(new IOException("Input/output error"));
            };
            AtomicInteger quantizes = new AtomicInteger();
            Recipe r = recipe(w -> {
                // the first tensor waits for the failure, so that it happens while the run is young
                if (quantizes.incrementAndGet() == 1) {
                    try {
                        assertTrue(failed.await(20, TimeUnit.SECONDS));
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                }
            });
            RecordingSink serial = new RecordingSink();
            RecordingSink overlapped = new RecordingSink();
            QuantReport a = Quantizer.quantize(ck, recipe(w -> {}), serial, QuantListener.NONE,
                    Quantizer.Overlap.SERIAL, ReadAhead.NONE);
            QuantReport b = Quantizer.quantize(ck, r, overlapped, QuantListener.NONE, Quantizer.Overlap.WRITE_BEHIND,
                    broken);
            assertEquals(List.of(names.get(1)), attempts); // no read-ahead after the failure
            assertEquals(serial.calls, overlapped.calls);
            assertBytesEqual(serial, overlapped);
            assertEquals(a.outputBytes(), b.outputBytes());
            assertEquals(1, records.size(), records.toString());
            LogRecord rec = records.getFirst();
            assertEquals(Level.WARNING, rec.getLevel());
            assertTrue(rec.getMessage().contains(names.get(1)) && rec.getMessage().contains("Input/output error"),
                    rec.getMessage());
        } finally {
            log.removeHandler(capture);
            log.setUseParentHandlers(parentHandlers);
        }
    }

    @Test
    void pageCacheReadAheadGivesTheSameCallsAndBytesInBothModes() {
        try (ShardedCheckpoint ck = checkpoint()) {
            assertTrue(ck.tensor(ck.names().getFirst()).data().isMapped()); // so the read-ahead really loads pages
            RecordingSink serial = new RecordingSink();
            RecordingSink serialAhead = new RecordingSink();
            RecordingSink writeBehind = new RecordingSink();
            Quantizer.quantize(ck, recipe(w -> {}), serial, QuantListener.NONE, Quantizer.Overlap.SERIAL);
            Quantizer.quantize(ck, recipe(w -> {}), serialAhead, QuantListener.NONE, Quantizer.Overlap.SERIAL,
                    ReadAhead.PAGE_CACHE);
            Quantizer.quantize(ck, recipe(w -> {}), writeBehind, QuantListener.NONE, Quantizer.Overlap.WRITE_BEHIND);
            assertEquals(serial.calls, serialAhead.calls);
            assertEquals(serial.calls, writeBehind.calls);
            assertBytesEqual(serial, serialAhead);
            assertBytesEqual(serial, writeBehind);
        }
    }

    @Test
    void pageCacheReadAheadLoadsMappedTensorsAndLeavesHeapAndNativeOnesAlone() {
        try (ShardedCheckpoint ck = checkpoint()) {
            for (String name : ck.names()) {
                Tensor t = ck.tensor(name);
                ReadAhead.PAGE_CACHE.load(name, t);
                assertTrue(t.data().isLoaded(), name);
            }
        }
        // MemorySegment.load() refuses segments that are not mapped: the read-ahead must not call it on them
        Tensor onHeap = new Tensor(DType.BF16, Shape.of(4, 8), MemorySegment.ofArray(new byte[64]));
        Tensor nativeMemory = Tensor.allocate(DType.BF16, Shape.of(4, 8));
        ReadAhead.PAGE_CACHE.load("heap", onHeap);
        ReadAhead.PAGE_CACHE.load("native", nativeMemory);
    }

    private static void assertBytesEqual(RecordingSink expected, RecordingSink actual) {
        assertEquals(expected.bytes.size(), actual.bytes.size());
        for (int i = 0; i < expected.bytes.size(); i++) assertArrayEquals(expected.bytes.get(i), actual.bytes.get(i));
    }

    /** Waits (at most 10 s) until a read-ahead has begun on its thread. */
    private static void awaitBegun(AtomicInteger begun) {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (begun.get() == 0 && System.nanoTime() < deadline) Thread.onSpinWait();
    }
}
