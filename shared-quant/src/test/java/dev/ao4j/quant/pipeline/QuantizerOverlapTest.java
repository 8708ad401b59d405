package dev.ao4j.quant.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.Ao4jException;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.qtensor.QuantizedTensor;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.safetensors.SafetensorsWriter;
import dev.ao4j.safetensors.ShardedCheckpoint;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** {@link Quantizer}'s two overlap modes: same sink calls in source order, errors named, at most two in flight. */
class QuantizerOverlapTest {
    @TempDir
    Path dir;

    /** Six Linear weights and two kept tensors, interleaved, in a single-file checkpoint. */
    private ShardedCheckpoint checkpoint() {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (int l = 0; l < 3; l++) {
            tensors.put("model.layers." + l + ".input_layernorm.weight", fill(Shape.of(64), l));
            tensors.put("model.layers." + l + ".mlp.up_proj.weight", fill(Shape.of(32, 64), 10 + l));
            tensors.put("model.layers." + l + ".mlp.down_proj.weight", fill(Shape.of(64, 32), 20 + l));
        }
        Path f = dir.resolve("model.safetensors");
        SafetensorsWriter.write(f, tensors, Map.of());
        return ShardedCheckpoint.open(dir);
    }

    static Tensor fill(Shape shape, int seed) {
        Tensor t = Tensor.allocate(DType.BF16, shape);
        for (long i = 0; i < shape.numel(); i++) t.setFloat(i, (float) Math.sin(seed * 31 + i) * 0.05f);
        return t;
    }

    /** int8wo on the CPU, with a hook run before each quantize. */
    static Recipe recipe(Consumer<Tensor> beforeQuantize) {
        var config = Recipes.config("int8wo");
        WeightQuantizer cpu = WeightQuantizers.forConfig(config, DivMode.CUDA_RECIPROCAL, Kernel.REFERENCE);
        WeightQuantizer hooked = new WeightQuantizer() {
            @Override
            public String skipReason(Shape shape, DType dtype) {
                return cpu.skipReason(shape, dtype);
            }

            @Override
            public QuantizedTensor quantize(Tensor weight) {
                beforeQuantize.accept(weight);
                return cpu.quantize(weight);
            }

            @Override
            public Tensor dequantize(QuantizedTensor quantized) {
                return cpu.dequantize(quantized);
            }
        };
        return new Recipe("int8wo", config, ModuleSelector.defaults(), hooked, true, null);
    }

    /** Records every call, and the threads that made them. */
    static class RecordingSink implements ModelSink {
        final List<String> calls = Collections.synchronizedList(new ArrayList<>());
        final Set<Thread> writeThreads = ConcurrentHashMap.newKeySet();
        final List<byte[]> bytes = Collections.synchronizedList(new ArrayList<>());

        void onWrite(String name) {}

        @Override
        public void writePlain(String name, Tensor tensor) {
            writeThreads.add(Thread.currentThread());
            onWrite(name);
            bytes.add(tensor.data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
            calls.add("plain " + name);
        }

        @Override
        public void writeQuantized(String name, QuantizedTensor tensor) {
            writeThreads.add(Thread.currentThread());
            onWrite(name);
            for (var p : tensor.parts()) bytes.add(p.tensor().data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
            calls.add("quantized " + name);
        }

        @Override
        public void commit(QuantReport report) {
            calls.add("commit " + report.tensors().size());
        }

        @Override
        public void close() {
            calls.add("close");
        }
    }

    @ParameterizedTest
    @EnumSource(Quantizer.Overlap.class)
    void bothModesWriteTheSameCallsInSourceOrderFromOneThread(Quantizer.Overlap overlap) {
        RecordingSink serial = new RecordingSink();
        RecordingSink other = new RecordingSink();
        List<String> events = Collections.synchronizedList(new ArrayList<>());
        QuantListener listener = new QuantListener() {
            @Override
            public void tensorFinished(int index, TensorResult result) {
                events.add(index + " " + result.name());
            }
        };
        QuantReport a;
        QuantReport b;
        try (ShardedCheckpoint ck = checkpoint()) {
            a = Quantizer.quantize(ck, recipe(w -> {}), serial, QuantListener.NONE, Quantizer.Overlap.SERIAL);
            b = Quantizer.quantize(ck, recipe(w -> {}), other, listener, overlap);
            assertEquals(ck.names().size(), events.size());
            for (int i = 0; i < events.size(); i++) assertEquals(i + " " + ck.names().get(i), events.get(i));
        }
        assertEquals(serial.calls, other.calls);
        assertEquals(9 + 1, other.calls.size());
        assertEquals(serial.bytes.size(), other.bytes.size());
        for (int i = 0; i < serial.bytes.size(); i++) assertTrue(java.util.Arrays.equals(serial.bytes.get(i), other.bytes.get(i)));
        assertEquals(1, other.writeThreads.size());
        assertEquals(a.tensors().stream().map(TensorResult::name).toList(),
                b.tensors().stream().map(TensorResult::name).toList());
        assertEquals(a.outputBytes(), b.outputBytes());
        assertEquals(6, b.quantizedCount());
    }

    @Test
    void writeBehindWritesTensorIWhileTensorIPlus1IsQuantized() throws Exception {
        CountDownLatch secondQuantizeStarted = new CountDownLatch(1);
        AtomicInteger quantizes = new AtomicInteger();
        AtomicInteger overlapped = new AtomicInteger();
        RecordingSink sink = new RecordingSink() {
            @Override
            void onWrite(String name) {
                // the first quantized weight's write waits until the next weight's quantization has begun: only a
                // pipeline that overlaps gets past this (the serial one would time out here)
                if (name.equals("model.layers.0.mlp.up_proj.weight")) {
                    try {
                        if (secondQuantizeStarted.await(20, TimeUnit.SECONDS)) overlapped.incrementAndGet();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            }
        };
        try (ShardedCheckpoint ck = checkpoint()) {
            Quantizer.quantize(ck, recipe(w -> {
                if (quantizes.incrementAndGet() == 2) secondQuantizeStarted.countDown();
            }), sink, QuantListener.NONE, Quantizer.Overlap.WRITE_BEHIND);
        }
        assertEquals(1, overlapped.get());
    }

    @Test
    void writeBehindKeepsAtMostTwoTensorsInFlight() {
        AtomicInteger started = new AtomicInteger();
        AtomicInteger written = new AtomicInteger();
        AtomicInteger maxInFlight = new AtomicInteger();
        RecordingSink sink = new RecordingSink() {
            @Override
            void onWrite(String name) {
                try {
                    Thread.sleep(5); // a slow disk: the quantizer runs ahead as far as it is allowed
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                written.incrementAndGet();
            }
        };
        QuantListener listener = new QuantListener() {
            @Override
            public void tensorStarted(int index, String name) {
                maxInFlight.accumulateAndGet(started.incrementAndGet() - written.get(), Math::max);
            }
        };
        try (ShardedCheckpoint ck = checkpoint()) {
            Quantizer.quantize(ck, recipe(w -> {}), sink, listener, Quantizer.Overlap.WRITE_BEHIND);
        }
        // the tensor being started plus at most the one being written; 2 shows that writes did run behind
        assertEquals(2, maxInFlight.get());
        assertEquals(9, written.get());
    }

    @Test
    void aFailingWriteSurfacesWithItsTensorNameAndNothingIsWrittenOrCommittedAfterIt() {
        String bad = "model.layers.1.mlp.up_proj.weight";
        RecordingSink sink = new RecordingSink() {
            @Override
            void onWrite(String name) {
                if (name.equals(bad)) throw new UncheckedIOException(new java.io.IOException("disk full"));
            }
        };
        Ao4jException e;
        try (ShardedCheckpoint ck = checkpoint()) {
            e = assertThrows(Ao4jException.class, () -> Quantizer.quantize(ck, recipe(w -> {}), sink,
                    QuantListener.NONE, Quantizer.Overlap.WRITE_BEHIND));
        }
        assertEquals(bad, e.where().tensor());
        assertTrue(e.getMessage().contains("disk full"), e.getMessage());
        assertTrue(e.getCause() instanceof UncheckedIOException);
        int failedAt = List.of("model.layers.0.input_layernorm.weight", "model.layers.0.mlp.up_proj.weight",
                "model.layers.0.mlp.down_proj.weight", "model.layers.1.input_layernorm.weight").size();
        assertEquals(failedAt, sink.calls.size(), sink.calls.toString());
        assertTrue(sink.calls.stream().noneMatch(c -> c.startsWith("commit")));
    }

    @Test
    void aWriteErrorThatNamesItsTensorIsRethrownAsIs() {
        Ao4jException own = new Ao4jException("shard too large", dev.ao4j.quant.Where.tensor(null, "x.weight"));
        RecordingSink sink = new RecordingSink() {
            @Override
            void onWrite(String name) {
                throw own;
            }
        };
        try (ShardedCheckpoint ck = checkpoint()) {
            assertSame(own, assertThrows(Ao4jException.class, () -> Quantizer.quantize(ck, recipe(w -> {}), sink,
                    QuantListener.NONE, Quantizer.Overlap.WRITE_BEHIND)));
        }
    }

    @Test
    void aFailingQuantizeWaitsForTheWriteInFlightBeforeItPropagates() {
        AtomicInteger calls = new AtomicInteger();
        AtomicInteger writesRunning = new AtomicInteger();
        RecordingSink sink = new RecordingSink() {
            @Override
            void onWrite(String name) {
                writesRunning.incrementAndGet();
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                writesRunning.decrementAndGet();
            }
        };
        IllegalStateException e;
        try (ShardedCheckpoint ck = checkpoint()) {
            e = assertThrows(IllegalStateException.class, () -> Quantizer.quantize(ck, recipe(w -> {
                if (calls.incrementAndGet() == 3) throw new IllegalStateException("kernel failed");
            }), sink, QuantListener.NONE, Quantizer.Overlap.WRITE_BEHIND));
            // when quantize returns, no write is still running: the caller may close the sink
            assertEquals(0, writesRunning.get());
        }
        assertNotNull(e);
        assertTrue(sink.calls.stream().noneMatch(c -> c.startsWith("commit")));
    }
}
