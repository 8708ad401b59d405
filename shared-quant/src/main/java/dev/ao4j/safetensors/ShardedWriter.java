package dev.ao4j.safetensors;

import dev.ao4j.quant.json.PythonJsonText;
import dev.ao4j.quant.tensor.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Writes a checkpoint the way transformers' {@code save_pretrained} lays it out: one {@code model.safetensors},
 * or shards {@code model-00001-of-0000N.safetensors} plus {@code model.safetensors.index.json} when the tensor
 * bytes exceed {@code maxShardBytes}.
 *
 * <p>Tensors are streamed (see {@link SafetensorsWriter}); a shard is closed when the next tensor would push it
 * over the limit, so a tensor larger than the limit gets a shard to itself. Shards are first published under
 * temporary names because the final names need the shard count; {@link #commit()} renames them into place and
 * writes the index last. Until then no file with a final name is touched, and {@link #close()} without commit
 * removes every temporary.
 *
 * <p>After a successful commit, checkpoint files of an earlier run in {@code outDir} that are not part of the new
 * output ({@code model.safetensors}, the index, {@code model-NNNNN-of-NNNNN.safetensors}) are deleted: transformers
 * loads {@code model.safetensors} in preference to an index, so a stale single file would shadow new shards.
 */
public final class ShardedWriter implements AutoCloseable {
    private static final Pattern OUR_NAMES =
            Pattern.compile("model\\.safetensors|model\\.safetensors\\.index\\.json|model-\\d{5,}-of-\\d{5,}\\.safetensors");

    private final Path outDir;
    private final long maxShardBytes;
    private final Map<String, String> metadata;
    private final Set<String> names = new HashSet<>();
    private final List<Shard> done = new ArrayList<>();
    private SafetensorsWriter current;
    private Path currentPending;
    private List<String> currentNames = new ArrayList<>();
    private long finishedBytes;
    private List<Path> outputs;
    private boolean closed;

    /** A finished shard: its tensors are on disk in the writer's body file; the header is written at commit. */
    private record Shard(SafetensorsWriter writer, Path pending, List<String> names) {}

    private ShardedWriter(Path outDir, long maxShardBytes, Map<String, String> metadata) {
        this.outDir = outDir;
        this.maxShardBytes = maxShardBytes;
        this.metadata = metadata;
    }

    /**
     * @param outDir        existing directory to write into
     * @param maxShardBytes tensor bytes per shard (header not counted), like transformers' {@code max_shard_size}
     * @param metadata      {@code __metadata__} written into every shard (unless {@link #commit(Map)} replaces it)
     */
    public static ShardedWriter create(Path outDir, long maxShardBytes, Map<String, String> metadata) {
        Objects.requireNonNull(outDir, "outDir");
        if (maxShardBytes <= 0) throw new IllegalArgumentException("maxShardBytes must be > 0, got " + maxShardBytes);
        if (!Files.isDirectory(outDir)) {
            throw new UncheckedIOException(new java.nio.file.NotDirectoryException(outDir.toString()));
        }
        return new ShardedWriter(outDir.toAbsolutePath(), maxShardBytes,
                SafetensorsWriter.orderedCopy(metadata, outDir));
    }

    public void add(String name, Tensor t) {
        requireOpen();
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(t, "tensor");
        if (!names.add(name)) {
            throw new IllegalArgumentException(outDir + ": tensor '" + name + "': duplicate tensor name");
        }
        try {
            if (current != null && current.size() > 0 && current.bytesWritten() + t.byteSize() > maxShardBytes) {
                finishShard();
            }
            if (current == null) startShard();
        } catch (RuntimeException | Error e) {
            // a shard that failed to publish cannot be recovered: drop everything
            closeAfterFailure(e);
            throw e;
        }
        try {
            current.add(name, t);
        } catch (RuntimeException | Error e) {
            names.remove(name); // the shard writer rejected this tensor and is still usable
            throw e;
        }
        currentNames.add(name);
    }

    private void startShard() {
        currentPending = SafetensorsWriter.sibling(outDir.resolve("model.safetensors"), ".shard" + (done.size() + 1)
                + "-");
        current = SafetensorsWriter.create(currentPending, metadata);
        currentNames = new ArrayList<>();
    }

    private void finishShard() {
        SafetensorsWriter w = current;
        current = null;
        done.add(new Shard(w, currentPending, List.copyOf(currentNames)));
        finishedBytes += w.bytesWritten();
    }

    /** Tensor bytes written so far over all shards. */
    public long bytesWritten() {
        return finishedBytes + (current == null ? 0 : current.bytesWritten());
    }

    /** Publish the checkpoint; returns the files written (shards, then the index when sharded). */
    public List<Path> commit() {
        return commit(metadata);
    }

    /**
     * {@link #commit()} with {@code metadata} as every shard's {@code __metadata__}: shard headers are only written
     * now, so metadata that depends on all tensors (torchao's {@code tensor_names}) can go into each shard.
     */
    public List<Path> commit(Map<String, String> metadata) {
        requireOpen();
        Map<String, String> md = SafetensorsWriter.orderedCopy(metadata, outDir);
        try {
            if (current == null && done.isEmpty()) startShard(); // an empty model is still one valid file
            if (current != null) finishShard();
            int n = done.size();
            List<Path> out = new ArrayList<>();
            TreeMap<String, String> weightMap = new TreeMap<>(PythonJsonText::compareKeys);
            for (int i = 0; i < n; i++) {
                String fname = n == 1 ? ShardedCheckpoint.SINGLE_FILE : shardName(i + 1, n);
                for (String t : done.get(i).names()) weightMap.put(t, fname);
                out.add(outDir.resolve(fname));
            }
            // Renames are atomic one by one but not as a group: a failure here can leave some new shards in place
            // next to the previous index, which is why the index goes last.
            for (Shard s : done) s.writer().commit(md);
            for (int i = 0; i < n; i++) SafetensorsWriter.moveAtomically(done.get(i).pending(), out.get(i));
            if (n > 1) {
                Path index = outDir.resolve(ShardedCheckpoint.INDEX_FILE);
                writeAtomically(index, indexJson(finishedBytes, weightMap));
                out.add(index);
            }
            SafetensorsWriter.syncDirectory(outDir);
            done.clear();
            closed = true;
            outputs = List.copyOf(out);
            removeStale(out);
            return outputs;
        } catch (IOException e) {
            UncheckedIOException u = new UncheckedIOException("cannot publish checkpoint in " + outDir + ": "
                    + e.getMessage(), e);
            closeAfterFailure(u);
            throw u;
        } catch (RuntimeException | Error e) {
            closeAfterFailure(e);
            throw e;
        }
    }

    private void closeAfterFailure(Throwable failure) {
        try {
            close();
        } catch (RuntimeException suppressed) {
            failure.addSuppressed(suppressed);
        }
    }

    /** The files published by {@link #commit()}, or null before it. */
    public List<Path> outputs() {
        return outputs;
    }

    static String shardName(int i, int n) {
        return String.format("model-%05d-of-%05d.safetensors", i, n);
    }

    /** The index as Python's {@code json.dumps(index, indent=2, sort_keys=True) + "\n"} prints it. */
    static String indexJson(long totalSize, Map<String, String> sortedWeightMap) {
        StringBuilder sb = new StringBuilder();
        sb.append("{\n  \"metadata\": {\n    \"total_size\": ").append(totalSize).append("\n  },\n");
        sb.append("  \"weight_map\": {");
        if (sortedWeightMap.isEmpty()) {
            sb.append("}\n");
        } else {
            sb.append('\n');
            int k = 0;
            for (Map.Entry<String, String> e : sortedWeightMap.entrySet()) {
                sb.append("    ");
                PythonJsonText.appendQuoted(sb, e.getKey());
                sb.append(": ");
                PythonJsonText.appendQuoted(sb, e.getValue());
                sb.append(++k < sortedWeightMap.size() ? ",\n" : "\n");
            }
            sb.append("  }\n");
        }
        return sb.append("}\n").toString();
    }

    private static void writeAtomically(Path target, String text) throws IOException {
        Path tmp = SafetensorsWriter.sibling(target, ".tmp-");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                ByteBuffer buf = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
                while (buf.hasRemaining()) ch.write(buf);
                ch.force(true);
            }
            SafetensorsWriter.moveAtomically(tmp, target);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private void removeStale(List<Path> keep) throws IOException {
        Set<Path> k = new HashSet<>(keep);
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(outDir)) {
            for (Path p : ds) {
                if (OUR_NAMES.matcher(p.getFileName().toString()).matches() && !k.contains(p)) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    private void requireOpen() {
        if (closed) throw new IllegalStateException("ShardedWriter for " + outDir + " is already committed or closed");
    }

    /** Without a successful {@link #commit()}, deletes every shard and temporary this writer created. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        RuntimeException first = null;
        if (current != null) {
            try {
                current.close();
            } catch (RuntimeException e) {
                first = e;
            }
            current = null;
        }
        for (Shard s : done) {
            try {
                s.writer().close();
                Files.deleteIfExists(s.pending());
            } catch (IOException e) {
                if (first == null) first = new UncheckedIOException("cannot delete " + s.pending(), e);
            }
        }
        done.clear();
        if (first != null) throw first;
    }
}
