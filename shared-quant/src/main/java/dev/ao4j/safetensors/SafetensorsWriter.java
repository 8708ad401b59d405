package dev.ao4j.safetensors;

import dev.ao4j.quant.json.PythonJsonText;
import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.quant.Where;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.tensor.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SequencedMap;
import java.util.Set;
import java.util.TreeMap;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Streams tensors into a safetensors file without holding them in memory, and publishes the file atomically.
 *
 * <p>Tensor bytes go to a temporary file next to the target as they are {@link #add added}, after a hole reserved
 * for the header, which can only be written once every tensor is known. At {@link #commit} a large file whose
 * header fits the hole gets its header written in place — padded with spaces to fill the hole, which the format
 * allows and every reader accepts — and is fsynced and renamed onto the target: the tensor bytes are written once.
 * Otherwise (small files, where the unused part of the hole would be a noticeable share, or a header larger than
 * the hole) header + body are copied into a second temporary file ({@code <target>.tmp-<random>}) that is renamed
 * onto the target; the header is then padded only to a multiple of 8 bytes, exactly as the Python/Rust writer
 * does. Either way the data buffer starts 8-byte aligned, the target is untouched until the rename, and
 * {@link #close} without a successful commit deletes every temporary. Tensors appear in the header in insertion
 * order with {@code __metadata__} first.
 *
 * <p>Not thread-safe.
 */
public final class SafetensorsWriter implements AutoCloseable {
    private static final int CHUNK = 8 << 20;

    /**
     * How much room the body file leaves for the header, and from which body size writing the header in place is
     * worth its unused padding.
     *
     * @param reserve      bytes reserved after the 8-byte length prefix (a multiple of 8)
     * @param minBodyBytes the header is written in place only when the tensors take at least this many bytes
     */
    record HeaderSpace(long reserve, long minBodyBytes) {
        /** 1 MiB of header room (transformers repeats torchao's metadata for the whole model in every shard), used
         * from 1 GiB of tensors on, where the padding costs at most 0.1% of the file. */
        static final HeaderSpace DEFAULT = new HeaderSpace(1 << 20, 1L << 30);

        HeaderSpace {
            if (reserve < 0 || reserve % 8 != 0) throw new IllegalArgumentException("reserve must be a multiple of 8");
        }
    }

    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path target;
    private Map<String, String> metadata;
    private final Path bodyPath;
    private final FileChannel body;
    private final HeaderSpace headerSpace;
    /** Where the data buffer starts in the body file: after the length prefix and the header hole. */
    private final long dataStart;
    private final List<Entry> entries = new ArrayList<>();
    private final Set<String> names = new HashSet<>();
    private long bytesWritten;
    private Path finalTemp;
    private State state = State.OPEN;
    private boolean cleaned;

    private enum State { OPEN, COMMITTED, CLOSED }

    private record Entry(String name, DType dtype, long[] headerShape, long begin, long end) {}

    private SafetensorsWriter(Path target, Map<String, String> metadata, Path bodyPath, FileChannel body,
                              HeaderSpace headerSpace) {
        this.target = target;
        this.metadata = metadata;
        this.bodyPath = bodyPath;
        this.body = body;
        this.headerSpace = headerSpace;
        this.dataStart = 8 + headerSpace.reserve();
    }

    /**
     * Start writing {@code target}. Nothing at {@code target} changes until {@link #commit()}.
     *
     * @param metadata string map stored as {@code __metadata__} (omitted from the header when empty)
     */
    public static SafetensorsWriter create(Path target, Map<String, String> metadata) {
        return create(target, metadata, HeaderSpace.DEFAULT);
    }

    static SafetensorsWriter create(Path target, Map<String, String> metadata, HeaderSpace headerSpace) {
        Objects.requireNonNull(target, "target");
        Map<String, String> md = orderedCopy(metadata, target);
        Path abs = target.toAbsolutePath();
        Path body = sibling(abs, ".body-");
        try {
            FileChannel ch = FileChannel.open(body, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                    StandardOpenOption.READ);
            return new SafetensorsWriter(abs, md, body, ch, headerSpace);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create temporary body file " + body + " for " + target, e);
        }
    }

    /**
     * The metadata in a reproducible order: a {@link SequencedMap}'s own order, otherwise sorted by key (the
     * iteration order of {@code Map.of} changes from one JVM run to the next, and output files should not).
     */
    static Map<String, String> orderedCopy(Map<String, String> metadata, Path target) {
        Map<String, String> md = metadata instanceof SequencedMap<String, String>
                ? new LinkedHashMap<>() : new TreeMap<>(PythonJsonText::compareKeys);
        for (Map.Entry<String, String> e : metadata.entrySet()) {
            if (e.getKey() == null || e.getValue() == null) {
                throw new IllegalArgumentException("metadata for " + target + " has a null key or value: " + e);
            }
            md.put(e.getKey(), e.getValue());
        }
        return Collections.unmodifiableMap(md);
    }

    /**
     * Write {@code tensors} to {@code target} in one go: in the map's order when it is a {@link SequencedMap},
     * otherwise sorted by name so that the file does not depend on hash iteration order.
     */
    public static void write(Path target, Map<String, Tensor> tensors, Map<String, String> metadata) {
        Map<String, Tensor> ordered = tensors;
        if (!(tensors instanceof SequencedMap<String, Tensor>)) {
            ordered = new TreeMap<>(PythonJsonText::compareKeys);
            ordered.putAll(tensors);
        }
        try (SafetensorsWriter w = create(target, metadata)) {
            for (Map.Entry<String, Tensor> e : ordered.entrySet()) w.add(e.getKey(), e.getValue());
            w.commit();
        }
    }

    /** A name in the same directory, so the final rename stays within one file system. */
    static Path sibling(Path target, String infix) {
        byte[] r = new byte[8];
        RANDOM.nextBytes(r);
        return target.resolveSibling(target.getFileName() + infix + HexFormat.of().formatHex(r));
    }

    /**
     * Append tensor {@code name}; its bytes are copied to the body file immediately, so {@code t} may be released
     * (or its mapping closed) as soon as this returns.
     */
    public void add(String name, Tensor t) {
        requireOpen();
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(t, "tensor");
        Where where = Where.tensor(target, name);
        if (name.equals(SafetensorsFile.METADATA_KEY)) {
            throw new IllegalArgumentException(where + ": '__metadata__' is reserved and cannot name a tensor");
        }
        if (!names.add(name)) {
            throw new IllegalArgumentException(where + ": duplicate tensor name; each name may be added once");
        }
        long[] headerShape = headerShape(t, where);
        long begin = bytesWritten;
        long end;
        try {
            end = writeSegment(t.data(), dataStart + begin) - dataStart;
        } catch (IOException e) {
            names.remove(name);
            throw new UncheckedIOException(where + ": cannot write tensor bytes to " + bodyPath, e);
        } catch (RuntimeException | Error e) {
            names.remove(name);
            throw e;
        }
        // Only now does the tensor count: after a failed add, the next tensor overwrites the partial bytes.
        bytesWritten = end;
        entries.add(new Entry(name, t.dtype(), headerShape, begin, end));
    }

    /** The shape recorded in the header: packed fp4 records logical elements, so its last dim doubles. */
    private static long[] headerShape(Tensor t, Where where) {
        long[] dims = t.shape().dims();
        if (t.dtype() == DType.F4_E2M1X2) {
            if (dims.length == 0) {
                throw new UnsupportedFormatException("a scalar " + t.dtype() + " tensor has no safetensors form "
                        + "(F4 needs a last dimension to hold two values per byte)", where);
            }
            dims[dims.length - 1] = Math.multiplyExact(dims[dims.length - 1], 2L);
        }
        return dims;
    }

    /** Positional writes starting at {@code pos}; returns the end position. */
    private long writeSegment(MemorySegment seg, long pos) throws IOException {
        long size = seg.byteSize();
        for (long off = 0; off < size; off += CHUNK) {
            long n = Math.min(CHUNK, size - off);
            ByteBuffer buf = seg.asSlice(off, n).asByteBuffer();
            while (buf.hasRemaining()) pos += body.write(buf, pos);
        }
        return pos;
    }

    /** Tensor bytes written so far (the size the data buffer will have). */
    public long bytesWritten() {
        return bytesWritten;
    }

    /** Number of tensors added so far. */
    public int size() {
        return entries.size();
    }

    public Path target() {
        return target;
    }

    /** The exact header bytes (JSON padded to a multiple of 8) for the tensors added so far. */
    byte[] headerBytes() {
        ObjectNode root = SafetensorsFile.MAPPER.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode md = root.putObject(SafetensorsFile.METADATA_KEY);
            metadata.forEach(md::put);
        }
        for (Entry e : entries) {
            ObjectNode o = root.putObject(e.name());
            o.put("dtype", e.dtype().safetensorsName());
            ArrayNode shape = o.putArray("shape");
            for (long d : e.headerShape()) shape.add(d);
            o.putArray("data_offsets").add(e.begin()).add(e.end());
        }
        byte[] json = SafetensorsFile.MAPPER.writeValueAsString(root).getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) & ~7;
        if (padded > ReadLimits.DEFAULT_MAX_HEADER_BYTES) {
            throw new UnsupportedFormatException("header would be " + padded + " bytes, over the "
                    + ReadLimits.DEFAULT_MAX_HEADER_BYTES + "-byte limit every safetensors reader enforces",
                    Where.file(target));
        }
        return spacePadded(json, padded);
    }

    /** {@code bytes} followed by spaces up to {@code length} (the header padding the format allows). */
    private static byte[] spacePadded(byte[] bytes, int length) {
        byte[] out = Arrays.copyOf(bytes, length);
        Arrays.fill(out, bytes.length, length, (byte) ' ');
        return out;
    }

    /**
     * Write header + body to a temporary file, fsync it, and atomically rename it onto the target (replacing an
     * existing file). After a failure the target is unchanged and the temporaries are removed.
     */
    public void commit() {
        commitWith(metadata);
    }

    /**
     * {@link #commit()} with {@code __metadata__} replaced by {@code finalMetadata}: for writers whose metadata
     * depends on everything written (transformers puts the same torchao metadata into every shard).
     */
    public void commit(Map<String, String> finalMetadata) {
        requireOpen();
        commitWith(orderedCopy(finalMetadata, target));
    }

    private void commitWith(Map<String, String> finalMetadata) {
        requireOpen();
        metadata = finalMetadata;
        try {
            byte[] header = headerBytes();
            if (header.length <= headerSpace.reserve() && bytesWritten >= headerSpace.minBodyBytes()) {
                publishInPlace(spacePadded(header, (int) headerSpace.reserve()));
            } else {
                publishCopy(header);
            }
        } catch (IOException e) {
            UncheckedIOException u = new UncheckedIOException("cannot write safetensors file " + target + ": "
                    + e.getMessage(), e);
            closeAfterFailure(u);
            throw u;
        } catch (RuntimeException | Error e) {
            closeAfterFailure(e);
            throw e;
        }
        state = State.COMMITTED;
        syncDirectory(target.getParent());
        close(); // only removes the body temporary now, if it was not renamed
    }

    /** The header fills the hole before the data: write it there, fsync, rename the body file onto the target. */
    private void publishInPlace(byte[] header) throws IOException {
        ByteBuffer prefix = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
        writeFullyAt(body, prefix, 0);
        writeFullyAt(body, ByteBuffer.wrap(header), 8);
        body.force(true);
        body.close();
        moveAtomically(bodyPath, target);
    }

    /** Header then the body's data buffer into a new temporary, which is fsynced and renamed onto the target. */
    private void publishCopy(byte[] header) throws IOException {
        finalTemp = sibling(target, ".tmp-");
        try (FileChannel out = FileChannel.open(finalTemp, StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE)) {
            ByteBuffer prefix = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
            writeFully(out, prefix);
            writeFully(out, ByteBuffer.wrap(header));
            long pos = 0;
            while (pos < bytesWritten) {
                long n = body.transferTo(dataStart + pos, bytesWritten - pos, out);
                if (n <= 0) throw new IOException("body transfer stalled at byte " + pos + " of " + bytesWritten);
                pos += n;
            }
            out.force(true);
        }
        moveAtomically(finalTemp, target);
        finalTemp = null;
    }

    private void closeAfterFailure(Throwable failure) {
        try {
            close();
        } catch (RuntimeException suppressed) {
            failure.addSuppressed(suppressed);
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) ch.write(buf);
    }

    private static void writeFullyAt(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) pos += ch.write(buf, pos);
    }

    static void moveAtomically(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            // Same directory, so this only happens on exotic file systems; a plain replace is the best left.
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Make the rename durable; best effort because not every platform can open a directory. */
    static void syncDirectory(Path dir) {
        if (dir == null) return;
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | UnsupportedOperationException ignored) {
            // durability of the directory entry is not guaranteed here; the data itself was fsynced
        }
    }

    private void requireOpen() {
        if (state != State.OPEN) {
            throw new IllegalStateException("SafetensorsWriter for " + target + " is already "
                    + (state == State.COMMITTED ? "committed" : "closed"));
        }
    }

    /** Release the writer; without a successful {@link #commit()} this deletes every temporary it created. */
    @Override
    public void close() {
        if (cleaned) return;
        cleaned = true;
        if (state == State.OPEN) state = State.CLOSED;
        IOException first = null;
        try {
            body.close();
        } catch (IOException e) {
            first = e;
        }
        for (Path p : new Path[] {bodyPath, finalTemp}) {
            if (p == null) continue;
            try {
                Files.deleteIfExists(p);
            } catch (IOException e) {
                if (first == null) first = e;
            }
        }
        finalTemp = null;
        if (first != null) throw new UncheckedIOException("cannot clean up temporaries of " + target, first);
    }
}
