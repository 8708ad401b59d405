package dev.ao4j.quant.cuda;

import dev.ao4j.quant.tensor.Tensor;
import java.util.List;
import java.util.function.Function;
import java.util.function.LongFunction;

/**
 * One quantize job for the GPU, described without JCuda so that it can be built and checked anywhere: a bf16
 * input of {@code inputRows} rows, outputs laid out per row, scratch buffers, and the kernel launches for a run of
 * rows. {@link CudaDevice} cuts the rows into chunks of a multiple of {@code rowAlign} to pipeline copies and
 * kernels. A job whose scales need the whole tensor (per-tensor amax) has a {@code reduce} pass: its launches run
 * over every chunk first, accumulating into scratch buffers that then live for the whole tensor, and only then
 * the {@code launches} of every chunk.
 *
 * @param rows      rows of the output row space (at least {@code inputRows}: tinygemm pads N to a multiple of 8)
 * @param scratchBytes chunk rows to the sizes of the scratch buffers (with {@code reduce}: called with
 *                     {@code rows}, one set for the whole tensor, zeroed once)
 * @param launches     a chunk to its launches
 * @param reduce       a chunk to the launches of the first pass, or null for single-pass jobs
 */
record Plan(Tensor input, long inputRows, long rows, long rowAlign, List<Output> outputs,
            LongFunction<List<Long>> scratchBytes, Function<Chunk, List<Launch>> launches,
            Function<Chunk, List<Launch>> reduce) {

    /** A single-pass plan (scratch zeroed before each chunk). */
    Plan(Tensor input, long inputRows, long rows, long rowAlign, List<Output> outputs,
         LongFunction<List<Long>> scratchBytes, Function<Chunk, List<Launch>> launches) {
        this(input, inputRows, rows, rowAlign, outputs, scratchBytes, launches, null);
    }

    /** Bytes of one input row. */
    long inputRowBytes() {
        return input.byteSize() / Math.max(1, inputRows);
    }

    /**
     * A result tensor. {@code columnGroups == 0}: chunk rows form a contiguous slab of {@code bytesPerRow} per
     * row. {@code columnGroups > 0}: the tensor is {@code [columnGroups, rows, bytesPerRow]} (scales stored
     * transposed), so a chunk's part is a column band that the kernel writes as {@code [columnGroups, chunkRows,
     * bytesPerRow]} and the host scatters. {@code perBlockOfRows > 1}: one output row per that many input rows.
     * Rows past the end of {@code target} (padding rows of the row space) are computed but not copied back.
     * {@code zeroed}: the device buffer is zeroed before the chunk's launches (kernels that leave padding
     * entries untouched, like the swizzled MX/NVFP4 scales).
     */
    record Output(Tensor target, long bytesPerRow, int columnGroups, long perBlockOfRows, boolean zeroed) {
        Output(Tensor target, long bytesPerRow, int columnGroups, long perBlockOfRows) {
            this(target, bytesPerRow, columnGroups, perBlockOfRows, false);
        }

        static Output rows(Tensor target, long bytesPerRow) {
            return new Output(target, bytesPerRow, 0, 1, false);
        }

        /** Like {@link #rows} for a buffer the kernels only partly write: zeroed before each chunk. */
        static Output zeroedRows(Tensor target, long bytesPerRow) {
            return new Output(target, bytesPerRow, 0, 1, true);
        }

        long chunkBytes(long chunkRows) {
            long r = (chunkRows + perBlockOfRows - 1) / perBlockOfRows;
            return r * bytesPerRow * Math.max(1, columnGroups);
        }
    }

    /** Rows {@code [rowFrom, rowFrom + rows)} of the output row space, of which {@code inputRows} exist in the input. */
    record Chunk(long rowFrom, long rows, long inputRows) {}

    /** The chunk of {@code rows} rows starting at {@code rowFrom}. */
    Chunk chunk(long rowFrom, long chunkRows) {
        return new Chunk(rowFrom, chunkRows, Math.max(0, Math.min(chunkRows, inputRows - rowFrom)));
    }

    /** One kernel launch: {@code grid} blocks of 256 threads. */
    record Launch(String kernel, long grid, List<Arg> args) {}

    /** A kernel argument. */
    sealed interface Arg {
        /** The chunk's input rows on the device. */
        record In() implements Arg {}

        /** The chunk's part of output {@code index} on the device. */
        record Out(int index) implements Arg {}

        /** Scratch buffer {@code index}, zeroed before the chunk's launches. */
        record Scratch(int index) implements Arg {}

        record I64(long value) implements Arg {}

        record I32(int value) implements Arg {}

        record F32(float value) implements Arg {}
    }
}
