package dev.ao4j.quant.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.qtensor.QuantizedTensor;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.safetensors.SafetensorsWriter;
import dev.ao4j.safetensors.ShardedCheckpoint;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Each tensor's memory is freed once a write-through sink has written it, and only then. */
class QuantizerMemoryTest {
    @TempDir
    Path dir;

    private ShardedCheckpoint checkpoint() {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (int l = 0; l < 3; l++) {
            tensors.put("model.layers." + l + ".input_layernorm.weight", QuantizerOverlapTest.fill(Shape.of(64), l));
            tensors.put("model.layers." + l + ".mlp.up_proj.weight", QuantizerOverlapTest.fill(Shape.of(32, 64), l));
        }
        SafetensorsWriter.write(dir.resolve("model.safetensors"), tensors, Map.of());
        return ShardedCheckpoint.open(dir);
    }

    /** Keeps the segments it was given (to look at them after the run) and says whether they are alive then. */
    static class KeepingSink extends QuantizerOverlapTest.RecordingSink {
        final boolean through;
        final List<MemorySegment> written = Collections.synchronizedList(new ArrayList<>());
        final List<Boolean> aliveWhileWriting = Collections.synchronizedList(new ArrayList<>());

        KeepingSink(boolean through) {
            this.through = through;
        }

        @Override
        public boolean writesThrough() {
            return through;
        }

        @Override
        public void writeQuantized(String name, QuantizedTensor tensor) {
            for (var p : tensor.parts()) {
                written.add(p.tensor().data());
                aliveWhileWriting.add(p.tensor().data().scope().isAlive());
            }
            super.writeQuantized(name, tensor);
        }
    }

    @ParameterizedTest
    @EnumSource(Quantizer.Overlap.class)
    void aWriteThroughSinksTensorsAreFreedAfterTheirWrite(Quantizer.Overlap overlap) {
        KeepingSink sink = new KeepingSink(true);
        try (ShardedCheckpoint ck = checkpoint()) {
            Quantizer.quantize(ck, QuantizerOverlapTest.recipe(w -> {}), sink, QuantListener.NONE, overlap);
        }
        assertEquals(9, sink.written.size(), "three weights: qdata, scale and zero point each");
        assertTrue(sink.aliveWhileWriting.stream().allMatch(a -> a), "alive while the sink writes them");
        assertTrue(sink.written.stream().noneMatch(s -> s.scope().isAlive()), "freed after");
    }

    @ParameterizedTest
    @EnumSource(Quantizer.Overlap.class)
    void otherSinksKeepTheirTensors(Quantizer.Overlap overlap) {
        KeepingSink sink = new KeepingSink(false);
        try (ShardedCheckpoint ck = checkpoint()) {
            Quantizer.quantize(ck, QuantizerOverlapTest.recipe(w -> {}), sink, QuantListener.NONE, overlap);
        }
        assertEquals(9, sink.written.size());
        assertTrue(sink.written.stream().allMatch(s -> s.scope().isAlive()), "GC-managed, still reachable here");
    }

    @ParameterizedTest
    @EnumSource(Quantizer.Overlap.class)
    void aFailedRunFreesWhatItQuantized(Quantizer.Overlap overlap) {
        List<MemorySegment> quantized = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger calls = new AtomicInteger();
        KeepingSink sink = new KeepingSink(true) {
            @Override
            public void writeQuantized(String name, QuantizedTensor tensor) {
                if (name.contains("layers.1.")) throw new IllegalStateException("disk full (test)");
                super.writeQuantized(name, tensor);
            }
        };
        Recipe recipe = QuantizerOverlapTest.recipe(w -> {
            // the allocation the quantizer makes for this weight lands in the tensor's arena
            quantized.add(Tensor.allocate(dev.ao4j.quant.dtype.DType.F32, Shape.of(4)).data());
            calls.incrementAndGet();
        });
        try (ShardedCheckpoint ck = checkpoint()) {
            assertThrows(RuntimeException.class,
                    () -> Quantizer.quantize(ck, recipe, sink, QuantListener.NONE, overlap));
        }
        assertTrue(calls.get() >= 2, "layers 0 and 1 were quantized");
        assertTrue(quantized.stream().noneMatch(s -> s.scope().isAlive()),
                "every tensor's arena is closed, written or not");
        assertFalse(sink.calls.contains("commit 6"));
    }
}
