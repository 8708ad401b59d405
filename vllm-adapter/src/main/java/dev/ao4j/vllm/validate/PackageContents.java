package dev.ao4j.vllm.validate;

import dev.ao4j.quant.Ao4jException;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.safetensors.SafetensorsFile;
import dev.ao4j.safetensors.ShardedCheckpoint;
import dev.ao4j.safetensors.TensorInfo;
import dev.ao4j.transformers.json.PyJson;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;
import tools.jackson.databind.JsonNode;

/**
 * What the validator sees of a package: config.json, the file list, and every tensor's header entry (name, dtype,
 * shape, shard). Reading it reports the package-level rules (index vs shards, stray files, shard metadata).
 * Tensor data is never read, except values of scalar-sized tensors (at most two elements: {@code weight_shape},
 * per-tensor and global scales) that fused-layer and shape rules compare.
 */
final class PackageContents {
    static final String CONFIG_FILE = "config.json";

    /** One header entry; {@code dims} is the shape as the header writes it (fp4 counts elements, not bytes). */
    record TensorEntry(String name, DType dtype, long[] dims, String file) {
        int rank() {
            return dims.length;
        }

        long dim(int i) {
            return dims[i];
        }

        String describe() {
            return dtype.safetensorsName() + Arrays.toString(dims);
        }
    }

    final Path dir;
    final JsonNode config; // null when missing or unreadable
    final Map<String, TensorEntry> tensors; // sorted by name
    final Map<String, double[]> smallValues;
    final Set<String> files;
    final Map<String, Map<String, String>> shardMetadata; // file -> __metadata__

    private PackageContents(Path dir, JsonNode config, Map<String, TensorEntry> tensors,
                            Map<String, double[]> smallValues, Set<String> files,
                            Map<String, Map<String, String>> shardMetadata) {
        this.dir = dir;
        this.config = config;
        this.tensors = Collections.unmodifiableMap(tensors);
        this.smallValues = Collections.unmodifiableMap(smallValues);
        this.files = Collections.unmodifiableSet(files);
        this.shardMetadata = Collections.unmodifiableMap(shardMetadata);
    }

    static PackageContents read(Path dir, Collector out) {
        Set<String> files = listFiles(dir);
        JsonNode config = readConfig(dir, files, out);
        Map<String, TensorEntry> tensors = new TreeMap<>();
        Map<String, double[]> small = new TreeMap<>();
        Map<String, Map<String, String>> metadata = new TreeMap<>();
        List<String> safetensors = files.stream().filter(f -> f.endsWith(".safetensors")).toList();
        if (files.contains(ShardedCheckpoint.INDEX_FILE)) {
            readIndexed(dir, files, tensors, small, metadata, out);
        } else if (!safetensors.isEmpty()) {
            // Without an index both engines load every *.safetensors file in the directory.
            Map<String, String> owner = new LinkedHashMap<>();
            for (String f : safetensors) readShard(dir, f, tensors, small, metadata, owner, null, out);
            if (safetensors.size() > 1 || !safetensors.contains(ShardedCheckpoint.SINGLE_FILE)) {
                out.warn(Rules.STRAY_FILE, "", "no " + ShardedCheckpoint.INDEX_FILE + ", so vLLM and SGLang load every "
                        + "*.safetensors file here (" + String.join(", ", safetensors) + "); a sharded package needs "
                        + "an index, and a single-file one is named " + ShardedCheckpoint.SINGLE_FILE);
            }
        } else {
            out.error(Rules.NO_WEIGHTS, "", "no " + ShardedCheckpoint.SINGLE_FILE + " and no " + ShardedCheckpoint.INDEX_FILE
                    + " in " + dir + "; vLLM and SGLang load safetensors weights from one of them");
        }
        if (!safetensors.isEmpty() && files.stream().anyMatch(f -> f.startsWith("pytorch_model") && f.endsWith(".bin"))) {
            out.warn(Rules.STRAY_FILE, "", "pytorch_model*.bin next to safetensors weights: the engines read the "
                    + "safetensors and ignore them, but tools that prefer .bin would load other weights; remove them");
        }
        return new PackageContents(dir, config, tensors, small, files, metadata);
    }

    private static Set<String> listFiles(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            Set<String> names = new TreeSet<>();
            s.filter(Files::isRegularFile).forEach(p -> names.add(p.getFileName().toString()));
            return names;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list package directory " + dir + ": " + e.getMessage(), e);
        }
    }

    private static JsonNode readConfig(Path dir, Set<String> files, Collector out) {
        if (!files.contains(CONFIG_FILE)) {
            out.error(Rules.CONFIG, CONFIG_FILE, "config.json is missing; the engines need it to pick the model "
                    + "class and the quantization method");
            return null;
        }
        try {
            JsonNode n = PyJson.read(dir.resolve(CONFIG_FILE));
            if (!n.isObject()) {
                out.error(Rules.CONFIG, CONFIG_FILE, "config.json holds a JSON " + n.getNodeType()
                        + ", not an object");
                return null;
            }
            return n;
        } catch (Ao4jException e) {
            out.error(Rules.CONFIG, CONFIG_FILE, "config.json cannot be read: " + e.originalMessage());
            return null;
        }
    }

    private static void readIndexed(Path dir, Set<String> files, Map<String, TensorEntry> tensors,
                                    Map<String, double[]> small, Map<String, Map<String, String>> metadata,
                                    Collector out) {
        String indexName = ShardedCheckpoint.INDEX_FILE;
        JsonNode index;
        try {
            index = PyJson.read(dir.resolve(indexName));
        } catch (Ao4jException e) {
            out.error(Rules.INDEX_MALFORMED, indexName, "the index cannot be read: " + e.originalMessage());
            return;
        }
        JsonNode wm = index.isObject() ? index.get("weight_map") : null;
        if (wm == null || !wm.isObject()) {
            out.error(Rules.INDEX_MALFORMED, indexName, "the index has no weight_map object; vLLM selects shard "
                    + "files through weight_map");
            return;
        }
        Map<String, String> weightMap = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : wm.properties()) {
            if (!e.getValue().isString()) {
                out.error(Rules.INDEX_MALFORMED, e.getKey(), "weight_map value is a " + e.getValue().getNodeType()
                        + ", not a shard file name");
                continue;
            }
            weightMap.put(e.getKey(), e.getValue().asString());
        }
        Set<String> shardFiles = new TreeSet<>(weightMap.values());
        Map<String, String> owner = new LinkedHashMap<>();
        Set<String> readable = new TreeSet<>();
        for (String f : shardFiles) {
            if (f.contains("/") || f.contains("\\") || !files.contains(f)) {
                long n = weightMap.values().stream().filter(f::equals).count();
                out.error(Rules.INDEX_MISSING_SHARD, f, "weight_map maps " + n + " tensor(s) to shard '" + f
                        + "', which is not a file in the package directory; write the shard or fix the index");
                continue;
            }
            if (readShard(dir, f, tensors, small, metadata, owner, weightMap, out)) readable.add(f);
        }
        for (Map.Entry<String, String> e : weightMap.entrySet()) {
            if (readable.contains(e.getValue()) && !e.getValue().equals(owner.get(e.getKey()))) {
                out.error(Rules.INDEX_TENSOR_ABSENT, e.getKey(), "weight_map maps this tensor to " + e.getValue()
                        + " but that shard does not hold it" + (owner.containsKey(e.getKey())
                        ? " (it is in " + owner.get(e.getKey()) + ")" : "") + "; the engines would miss it");
            }
        }
        for (String f : files) {
            if (f.endsWith(".safetensors") && !shardFiles.contains(f)) {
                out.warn(Rules.STRAY_FILE, f, "'" + f + "' is not listed in " + indexName + ": vLLM and SGLang skip "
                        + "it, but transformers loads " + ShardedCheckpoint.SINGLE_FILE + " in preference to the index "
                        + "and other tools may pick it up; remove it from the package");
            }
        }
        JsonNode md = index.get("metadata");
        JsonNode ts = md == null || !md.isObject() ? null : md.get("total_size");
        long sum = 0;
        for (TensorEntry t : tensors.values()) sum += byteSize(t);
        if (ts == null || !ts.isIntegralNumber()) {
            out.warn(Rules.TOTAL_SIZE, indexName, "the index has no integer metadata.total_size; write the sum of "
                    + "tensor bytes (" + sum + ")");
        } else if (ts.longValue() != sum && readable.size() == shardFiles.size()) {
            out.warn(Rules.TOTAL_SIZE, indexName, "metadata.total_size is " + ts.longValue() + " but the shards hold "
                    + sum + " tensor bytes; the engines do not read it, but Hugging Face tools do: write " + sum);
        }
    }

    /** Reads one shard's header; false when it cannot be read. */
    private static boolean readShard(Path dir, String file, Map<String, TensorEntry> tensors, Map<String, double[]> small,
                                     Map<String, Map<String, String>> metadata, Map<String, String> owner,
                                     Map<String, String> weightMap, Collector out) {
        List<TensorInfo> infos;
        try (SafetensorsFile sf = SafetensorsFile.open(dir.resolve(file))) {
            infos = sf.infos();
            metadata.put(file, sf.metadata());
            String format = sf.metadata().get("format");
            if (!"pt".equals(format)) {
                out.warn(Rules.SHARD_METADATA, file, (sf.metadata().isEmpty() ? "the header has no __metadata__"
                        : "__metadata__ has format " + (format == null ? "missing" : "'" + format + "'"))
                        + "; write {\"format\": \"pt\"}: transformers refuses safetensors files whose metadata lacks a "
                        + "valid format (vLLM and SGLang do not check it)");
            }
            for (TensorInfo i : infos) {
                if (i.shape().numel() <= 2 && (i.dtype().isFloatingPoint() && i.dtype().byteSize() >= 2
                        || i.dtype() == DType.I64 || i.dtype() == DType.I32)) {
                    Tensor t = sf.tensor(i.name());
                    double[] v = new double[(int) t.numel()];
                    for (int k = 0; k < v.length; k++) {
                        v[k] = i.dtype().isFloatingPoint() ? t.getFloat(k) : t.getLong(k);
                    }
                    small.put(i.name(), v);
                }
            }
        } catch (Ao4jException e) {
            out.error(Rules.SHARD_UNREADABLE, file, "the safetensors header cannot be read: " + e.originalMessage());
            return false;
        } catch (UncheckedIOException e) {
            out.error(Rules.SHARD_UNREADABLE, file, "the file cannot be read: " + e.getMessage());
            return false;
        }
        for (TensorInfo i : infos) {
            String prev = owner.putIfAbsent(i.name(), file);
            if (prev != null) {
                out.error(Rules.DUPLICATE_TENSOR, i.name(), "the tensor is in two shards, " + prev + " and " + file
                        + "; a tensor must live in exactly one shard");
                continue;
            }
            if (weightMap != null) {
                String mapped = weightMap.get(i.name());
                if (mapped == null) {
                    out.error(Rules.INDEX_UNLISTED_TENSOR, i.name(), "shard " + file + " holds this tensor but "
                            + ShardedCheckpoint.INDEX_FILE + " does not list it in weight_map; list every tensor once");
                } else if (!mapped.equals(file)) {
                    out.error(Rules.INDEX_UNLISTED_TENSOR, i.name(), "shard " + file + " holds this tensor but "
                            + "weight_map maps it to " + mapped);
                }
            }
            long[] dims = i.shape().dims();
            if (i.dtype() == DType.F4_E2M1X2) dims[dims.length - 1] *= 2;
            tensors.put(i.name(), new TensorEntry(i.name(), i.dtype(), dims, file));
        }
        return true;
    }

    private static long byteSize(TensorEntry t) {
        long n = 1;
        for (long d : t.dims) n *= d;
        return t.dtype == DType.F4_E2M1X2 ? n / 2 : n * t.dtype.byteSize();
    }

    // ---- config accessors ----

    JsonNode quantConfig() {
        if (config == null) return null;
        JsonNode q = config.get("quantization_config");
        if (q == null || q.isNull()) {
            JsonNode text = config.get("text_config");
            if (text != null && text.isObject()) q = text.get("quantization_config");
        }
        if (q == null || q.isNull()) q = config.get("compression_config");
        return q == null || q.isNull() ? null : q;
    }

    /** An integer field of config.json (or its text_config), -1 when absent. */
    long configInt(String key) {
        for (JsonNode n : new JsonNode[] {config, config == null ? null : config.get("text_config")}) {
            if (n != null && n.isObject() && n.get(key) != null && n.get(key).isIntegralNumber()) {
                return n.get(key).longValue();
            }
        }
        return -1;
    }

    String configString(String key) {
        if (config == null) return null;
        JsonNode n = config.get(key);
        return n != null && n.isString() ? n.asString() : null;
    }

    List<String> names() {
        return new ArrayList<>(tensors.keySet());
    }
}
