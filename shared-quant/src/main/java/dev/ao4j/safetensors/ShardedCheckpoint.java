package dev.ao4j.safetensors;

import dev.ao4j.quant.MalformedInputException;
import dev.ao4j.quant.Where;
import dev.ao4j.quant.tensor.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.databind.JsonNode;

/**
 * A Hugging Face checkpoint: either one {@code model.safetensors} or the shards listed by
 * {@code model.safetensors.index.json}, seen as one set of tensors. Opening validates the index against the
 * shards (every listed file exists, every tensor is where the index says, no tensor is in two shards, no shard
 * holds an unlisted tensor) in addition to each shard's own header checks.
 */
public final class ShardedCheckpoint implements AutoCloseable {
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";

    private final Path source;
    private final Path index; // null for a single file
    private final List<SafetensorsFile> shards;
    private final Map<String, SafetensorsFile> owner; // names in iteration order
    private final Map<String, String> metadata;
    private final Set<String> conflictingMetadataKeys;
    private final OptionalLong totalSize;

    private ShardedCheckpoint(Path source, Path index, List<SafetensorsFile> shards, Map<String, SafetensorsFile> owner,
                              OptionalLong totalSize) {
        this.source = source;
        this.index = index;
        this.shards = shards;
        this.owner = owner;
        this.totalSize = totalSize;
        Map<String, String> md = new LinkedHashMap<>();
        Set<String> conflicts = new LinkedHashSet<>();
        for (SafetensorsFile f : shards) {
            f.metadata().forEach((k, v) -> {
                String prev = md.putIfAbsent(k, v);
                if (prev != null && !prev.equals(v)) conflicts.add(k);
            });
        }
        this.metadata = Collections.unmodifiableMap(md);
        this.conflictingMetadataKeys = Collections.unmodifiableSet(conflicts);
    }

    public static ShardedCheckpoint open(Path dirOrFile) {
        return open(dirOrFile, ReadLimits.defaults());
    }

    /**
     * Open a checkpoint directory (preferring {@code model.safetensors} over the index, as transformers does), an
     * index file ({@code *.index.json}), or a single {@code .safetensors} file.
     */
    public static ShardedCheckpoint open(Path dirOrFile, ReadLimits limits) {
        Path p = dirOrFile;
        if (Files.isDirectory(p)) {
            Path single = p.resolve(SINGLE_FILE);
            Path idx = p.resolve(INDEX_FILE);
            if (Files.isRegularFile(single)) return openSingle(single, limits);
            if (Files.isRegularFile(idx)) return openIndex(idx, limits);
            throw new MalformedInputException("directory holds neither " + SINGLE_FILE + " nor " + INDEX_FILE,
                    Where.file(p));
        }
        if (!Files.exists(p)) {
            throw new UncheckedIOException(new java.nio.file.NoSuchFileException(p.toString(), null,
                    "checkpoint not found"));
        }
        if (p.getFileName().toString().endsWith(".index.json")) return openIndex(p, limits);
        return openSingle(p, limits);
    }

    private static ShardedCheckpoint openSingle(Path file, ReadLimits limits) {
        SafetensorsFile f = SafetensorsFile.open(file, limits);
        Map<String, SafetensorsFile> owner = new LinkedHashMap<>();
        for (String n : f.names()) owner.put(n, f);
        return new ShardedCheckpoint(file, null, List.of(f), Collections.unmodifiableMap(owner), OptionalLong.empty());
    }

    private static ShardedCheckpoint openIndex(Path indexPath, ReadLimits limits) {
        Where where = Where.file(indexPath);
        JsonNode root = readJson(indexPath, limits);
        if (!root.isObject()) {
            throw new MalformedInputException("index is not a JSON object (found " + root.getNodeType() + ")", where);
        }
        OptionalLong totalSize = OptionalLong.empty();
        JsonNode md = root.get("metadata");
        if (md != null && !md.isNull()) {
            if (!md.isObject()) {
                throw new MalformedInputException("'metadata' must be an object, found " + md.getNodeType(),
                        where.withJsonPath("metadata"));
            }
            JsonNode ts = md.get("total_size");
            if (ts != null && !ts.isNull()) {
                if (!ts.isIntegralNumber() || !ts.canConvertToLong() || ts.longValue() < 0) {
                    throw new MalformedInputException("'total_size' must be a non-negative integer, found " + ts,
                            where.withJsonPath("metadata.total_size"));
                }
                totalSize = OptionalLong.of(ts.longValue());
            }
        }
        JsonNode wm = root.get("weight_map");
        if (wm == null) throw new MalformedInputException("missing 'weight_map'", where.withJsonPath("weight_map"));
        if (!wm.isObject()) {
            throw new MalformedInputException("'weight_map' must be an object of tensor name -> file name, found "
                    + wm.getNodeType(), where.withJsonPath("weight_map"));
        }
        Path dir = indexPath.toAbsolutePath().getParent();
        Map<String, Path> expected = new LinkedHashMap<>();
        TreeMap<String, Path> files = new TreeMap<>(); // file name -> path, sorted for a stable order
        for (Map.Entry<String, JsonNode> e : wm.properties()) {
            Where w = where.withTensor(e.getKey()).withJsonPath("weight_map");
            if (!e.getValue().isString()) {
                throw new MalformedInputException("weight_map value must be a file name string, found "
                        + e.getValue().getNodeType(), w);
            }
            String fname = e.getValue().asString();
            Path file = files.get(fname);
            if (file == null) {
                file = resolveShard(dir, fname, w);
                files.put(fname, file);
            }
            expected.put(e.getKey(), file);
        }
        List<SafetensorsFile> opened = new ArrayList<>();
        try {
            Map<Path, SafetensorsFile> byPath = new LinkedHashMap<>();
            for (Path file : files.values()) {
                SafetensorsFile f = SafetensorsFile.open(file, limits);
                opened.add(f);
                byPath.put(file, f);
            }
            Map<String, SafetensorsFile> owner = new LinkedHashMap<>();
            for (SafetensorsFile f : opened) {
                for (String n : f.names()) {
                    Where w = Where.tensor(f.path(), n);
                    SafetensorsFile other = owner.putIfAbsent(n, f);
                    if (other != null) {
                        throw new MalformedInputException("tensor is in two shards: " + other.path().getFileName()
                                + " and " + f.path().getFileName(), w);
                    }
                    Path want = expected.get(n);
                    if (want == null) {
                        throw new MalformedInputException("shard holds a tensor that " + indexPath.getFileName()
                                + " does not list in weight_map", w);
                    }
                    if (!want.equals(f.path())) {
                        throw new MalformedInputException("tensor is in shard " + f.path().getFileName()
                                + " but " + indexPath.getFileName() + " maps it to " + want.getFileName(), w);
                    }
                }
            }
            for (Map.Entry<String, Path> e : expected.entrySet()) {
                if (!owner.containsKey(e.getKey())) {
                    throw new MalformedInputException("weight_map maps this tensor to " + e.getValue().getFileName()
                            + " but that shard does not contain it", where.withTensor(e.getKey())
                            .withJsonPath("weight_map"));
                }
            }
            return new ShardedCheckpoint(indexPath, indexPath, List.copyOf(opened),
                    Collections.unmodifiableMap(owner), totalSize);
        } catch (RuntimeException e) {
            for (SafetensorsFile f : opened) f.close();
            throw e;
        }
    }

    /** A shard path inside the checkpoint directory; names that escape it (absolute, "..") are rejected. */
    private static Path resolveShard(Path dir, String fname, Where w) {
        Path rel;
        try {
            rel = Path.of(fname);
        } catch (java.nio.file.InvalidPathException ex) {
            throw new MalformedInputException("weight_map file name '" + fname + "' is not a valid path", w);
        }
        Path file = dir.resolve(rel).normalize();
        if (fname.isEmpty() || rel.isAbsolute() || !file.startsWith(dir.normalize())) {
            throw new MalformedInputException("weight_map file name '" + fname
                    + "' must be a relative path inside " + dir, w);
        }
        if (!Files.isRegularFile(file)) {
            throw new MalformedInputException("weight_map names shard '" + fname + "', which does not exist in "
                    + dir, w);
        }
        return file;
    }

    private static JsonNode readJson(Path path, ReadLimits limits) {
        Where where = Where.file(path);
        byte[] bytes;
        try {
            long size = Files.size(path);
            if (size > limits.maxHeaderBytes()) {
                throw new MalformedInputException("index is " + size + " bytes, over the limit of "
                        + limits.maxHeaderBytes() + " (ReadLimits.maxHeaderBytes)", where);
            }
            bytes = Files.readAllBytes(path);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path + ": " + e.getMessage(), e);
        }
        String json;
        try {
            json = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new MalformedInputException("index is not valid UTF-8", where, e);
        }
        try (JsonParser p = SafetensorsFile.MAPPER.createParser(json)) {
            p.nextToken();
            JsonNode root = SafetensorsFile.MAPPER.readTree(p);
            if (root == null || p.nextToken() != null) {
                throw new MalformedInputException("index is not a single JSON value", where);
            }
            return root;
        } catch (JacksonException e) {
            throw new MalformedInputException("invalid JSON in index: " + e.getOriginalMessage(), where, e);
        }
    }

    /** All tensor names: shards in file-name order, each in data-offset order. */
    public List<String> names() {
        return List.copyOf(owner.keySet());
    }

    public boolean contains(String name) {
        return owner.containsKey(name);
    }

    public TensorInfo info(String name) {
        return shardOf(name).info(name);
    }

    /** Zero-copy view, valid until {@link #close()}. */
    public Tensor tensor(String name) {
        return shardOf(name).tensor(name);
    }

    /** The shard file that holds {@code name}. */
    public Path fileOf(String name) {
        return shardOf(name).path();
    }

    private SafetensorsFile shardOf(String name) {
        SafetensorsFile f = owner.get(name);
        if (f == null) {
            throw new MalformedInputException("no such tensor in the checkpoint (" + owner.size() + " tensors in "
                    + shards.size() + " file(s))", Where.tensor(source, name));
        }
        return f;
    }

    /**
     * The union of every shard's {@code __metadata__}. A key whose value differs between shards keeps the value
     * of the first shard in file-name order and is listed by {@link #conflictingMetadataKeys()}; use
     * {@link #shards()} for the per-shard maps.
     */
    public Map<String, String> metadata() {
        return metadata;
    }

    public Set<String> conflictingMetadataKeys() {
        return conflictingMetadataKeys;
    }

    /** The opened files, in file-name order (one for a single-file checkpoint). */
    public List<SafetensorsFile> shards() {
        return shards;
    }

    public boolean isSharded() {
        return index != null;
    }

    /** The index file, or the single safetensors file. */
    public Path source() {
        return source;
    }

    /** {@code metadata.total_size} from the index, as written (not checked against the shards). */
    public OptionalLong indexTotalSize() {
        return totalSize;
    }

    /** Sum of tensor bytes over all shards. */
    public long dataSize() {
        long s = 0;
        for (SafetensorsFile f : shards) s += f.dataSize();
        return s;
    }

    @Override
    public void close() {
        RuntimeException first = null;
        for (SafetensorsFile f : shards) {
            try {
                f.close();
            } catch (RuntimeException e) {
                if (first == null) first = e;
            }
        }
        if (first != null) throw first;
    }
}
