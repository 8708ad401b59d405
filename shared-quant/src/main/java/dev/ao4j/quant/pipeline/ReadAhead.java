package dev.ao4j.quant.pipeline;

import dev.ao4j.quant.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * How the pipeline brings the next source tensor's bytes into memory while the current one is quantized (see
 * {@link Quantizer}): source tensors are memory-mapped views, and without this the quantizer itself blocks on the
 * disk at the first touch of each page. It is only a hint: the pipeline runs it on a thread of its own, at most one
 * tensor ahead, interrupts it once its tensor is behind or the run ends, and logs (never rethrows) a failure.
 */
@FunctionalInterface
public interface ReadAhead {
    /** Reads nothing ahead. */
    ReadAhead NONE = (name, tensor) -> {};

    /**
     * Memory-mapped bytes into the page cache ({@link MemorySegment#load()}: {@code madvise(WILLNEED)} and a touch of
     * every page) in 8 MiB pieces, stopping at the next piece once the thread is interrupted. The pages are the
     * file's, so the kernel may drop them again under pressure: no anonymous memory is taken. Heap and native
     * tensors are in memory already and need nothing.
     */
    ReadAhead PAGE_CACHE = ReadAhead::loadMapped;

    /**
     * Brings {@code tensor}'s bytes in. Runs on the read-ahead thread and should return soon after that thread is
     * interrupted; it must not change the bytes.
     */
    void load(String name, Tensor tensor);

    private static void loadMapped(String name, Tensor tensor) {
        MemorySegment data = tensor.data();
        if (!data.isMapped()) return;
        long piece = 8L << 20; // small enough that an interrupt is seen within milliseconds, large enough for the disk
        for (long at = 0; at < data.byteSize(); at += piece) {
            if (Thread.currentThread().isInterrupted()) return;
            data.asSlice(at, Math.min(piece, data.byteSize() - at)).load();
        }
    }
}
