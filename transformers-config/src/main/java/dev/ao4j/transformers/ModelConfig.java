package dev.ao4j.transformers;

import static dev.ao4j.transformers.json.JsonPaths.child;
import static dev.ao4j.transformers.json.JsonPaths.index;

import dev.ao4j.quant.Ao4jException;
import dev.ao4j.quant.MalformedInputException;
import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.quant.Where;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.transformers.json.PyJson;
import dev.ao4j.transformers.torchao.TorchAoQuantizationConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * A Hugging Face {@code config.json}, kept as the full JSON tree so that every field ao4j does not model survives
 * a read-modify-write, with typed accessors for what the quantization pipeline needs. Immutable: the {@code with}
 * methods return a new instance.
 *
 * <p>{@link #toJsonString()} writes what transformers 5.17's {@code save_pretrained} writes for the same
 * dictionary: {@code json.dumps(d, indent=2, sort_keys=True) + "\n"} (two-space indent, keys sorted at every
 * level, ASCII-only, Python float spelling).
 */
public final class ModelConfig {
    public static final String FILE_NAME = "config.json";

    private final ObjectNode tree;
    private final Where where;

    private ModelConfig(ObjectNode tree, Where where) {
        this.tree = tree;
        this.where = where;
    }

    /**
     * Read {@code file}.
     *
     * @throws MalformedInputException if the file cannot be read, is not UTF-8 JSON or is not a JSON object
     *                                 (the message names the file and, for syntax errors, the JSON path)
     */
    public static ModelConfig read(Path file) {
        return of(PyJson.read(file), Where.file(file));
    }

    /** Parse config text; {@code where} names its origin in errors. */
    public static ModelConfig parse(String json, Where where) {
        return of(PyJson.parse(json, where), where);
    }

    /** Wrap a tree (deep-copied). */
    public static ModelConfig of(JsonNode tree, Where where) {
        if (tree == null || !tree.isObject()) {
            throw new MalformedInputException("a config.json must hold a JSON object but holds "
                    + (tree == null ? "nothing" : tree.getNodeType()), where);
        }
        return new ModelConfig((ObjectNode) tree.deepCopy(), where == null ? Where.NOWHERE : where);
    }

    /** A deep copy of the whole tree. */
    public ObjectNode tree() {
        return tree.deepCopy();
    }

    /** A deep copy of one top-level value, if present. */
    public Optional<JsonNode> get(String key) {
        return Optional.ofNullable(tree.get(key)).map(JsonNode::deepCopy);
    }

    /** Where this config came from (the file, for {@link #read}). */
    public Where where() {
        return where;
    }

    // ---- typed accessors --------------------------------------------------------------------------------------

    /** {@code model_type}, e.g. {@code "llama"}. */
    public Optional<String> modelType() {
        return optionalString("model_type");
    }

    /** {@code architectures}, e.g. {@code ["LlamaForCausalLM"]}; empty when absent or null. */
    public List<String> architectures() {
        JsonNode n = tree.get("architectures");
        if (n == null || n.isNull()) return List.of();
        Where w = child(where, "architectures");
        if (!n.isArray()) {
            throw new MalformedInputException("expected a list of strings but found " + n.getNodeType(), w);
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n.size(); i++) {
            JsonNode e = n.get(i);
            if (!e.isString()) {
                throw new MalformedInputException("expected a string but found " + e.getNodeType(), index(w, i));
            }
            out.add(e.stringValue());
        }
        return List.copyOf(out);
    }

    /** {@code hidden_size}; empty when absent (e.g. multimodal configs keep it under {@code text_config}). */
    public OptionalInt hiddenSize() {
        return optionalInt("hidden_size");
    }

    /** {@code num_hidden_layers}; empty when absent. */
    public OptionalInt numHiddenLayers() {
        return optionalInt("num_hidden_layers");
    }

    /** {@code tie_word_embeddings}; transformers' default is true when the key is absent. */
    public boolean tieWordEmbeddings() {
        JsonNode n = tree.get("tie_word_embeddings");
        if (n == null || n.isNull()) return true;
        if (!n.isBoolean()) {
            throw new MalformedInputException("expected true or false but found " + n.getNodeType(),
                    child(where, "tie_word_embeddings"));
        }
        return n.booleanValue();
    }

    /**
     * The weights' dtype: {@code dtype} (transformers 5) or else the legacy {@code torch_dtype}; empty when absent,
     * null or {@code "auto"}.
     *
     * @throws UnsupportedFormatException for a dtype name ao4j does not know
     */
    public Optional<DType> dtype() {
        String key = tree.has("dtype") ? "dtype" : "torch_dtype";
        Optional<String> name = optionalString(key);
        if (name.isEmpty() || name.get().equals("auto")) return Optional.empty();
        try {
            return Optional.of(DType.fromTorch(name.get()));
        } catch (Ao4jException e) {
            throw new UnsupportedFormatException(e.originalMessage(), child(where, key), e);
        }
    }

    /** Whether a {@code quantization_config} (of any method) is present and not null. */
    public boolean isQuantized() {
        JsonNode q = tree.get("quantization_config");
        return q != null && !q.isNull();
    }

    /** The raw {@code quantization_config} (any quant_method), deep-copied. */
    public Optional<JsonNode> quantizationConfigJson() {
        JsonNode q = tree.get("quantization_config");
        return q == null || q.isNull() ? Optional.empty() : Optional.of(q.deepCopy());
    }

    /**
     * The {@code quantization_config} as a TorchAoConfig; empty when there is none.
     *
     * @throws UnsupportedFormatException if it is another method's config (e.g. {@code "fp8"}, {@code "gptq"})
     */
    public Optional<TorchAoQuantizationConfig> torchAoQuantizationConfig() {
        JsonNode q = tree.get("quantization_config");
        if (q == null || q.isNull()) return Optional.empty();
        return Optional.of(TorchAoQuantizationConfig.fromJson(q, child(where, "quantization_config")));
    }

    // ---- changes ----------------------------------------------------------------------------------------------

    /** This config with {@code quantization_config} set to {@code q}'s transformers dict. */
    public ModelConfig withQuantizationConfig(TorchAoQuantizationConfig q) {
        return with("quantization_config", q.toJson());
    }

    /** This config without {@code quantization_config}. */
    public ModelConfig withoutQuantizationConfig() {
        return without("quantization_config");
    }

    /** This config with {@code tie_word_embeddings} set (false after untying, as transformers writes). */
    public ModelConfig withTieWordEmbeddings(boolean tie) {
        return with("tie_word_embeddings", tree.booleanNode(tie));
    }

    /** This config with {@code dtype} set as transformers 5 writes it, dropping the legacy {@code torch_dtype}. */
    public ModelConfig withDtype(DType dtype) {
        ObjectNode t = tree.deepCopy();
        t.remove("torch_dtype");
        t.put("dtype", dtype.torchName());
        return new ModelConfig(t, where);
    }

    /** This config with a top-level key set to (a copy of) {@code value}. */
    public ModelConfig with(String key, JsonNode value) {
        ObjectNode t = tree.deepCopy();
        t.set(key, value == null ? t.nullNode() : value.deepCopy());
        return new ModelConfig(t, where);
    }

    /** This config without a top-level key. */
    public ModelConfig without(String key) {
        ObjectNode t = tree.deepCopy();
        t.remove(key);
        return new ModelConfig(t, where);
    }

    // ---- output -----------------------------------------------------------------------------------------------

    /** The file text transformers writes: {@code json.dumps(d, indent=2, sort_keys=True) + "\n"}. */
    public String toJsonString() {
        return PyJson.dumps(tree, 2, true) + "\n";
    }

    /**
     * Write {@link #toJsonString()} to {@code file} atomically: into a temporary file in the same directory,
     * forced to disk, then renamed over {@code file}, so a crash never leaves a half-written config.json.
     *
     * @throws Ao4jException wrapping the I/O error, naming the file
     */
    public void write(Path file) {
        AtomicFiles.write(file, toJsonString().getBytes(StandardCharsets.US_ASCII));
    }

    // ---- helpers ----------------------------------------------------------------------------------------------

    private Optional<String> optionalString(String key) {
        JsonNode n = tree.get(key);
        if (n == null || n.isNull()) return Optional.empty();
        if (!n.isString()) {
            throw new MalformedInputException("expected a string but found " + n.getNodeType(), child(where, key));
        }
        return Optional.of(n.stringValue());
    }

    private OptionalInt optionalInt(String key) {
        JsonNode n = tree.get(key);
        if (n == null || n.isNull()) return OptionalInt.empty();
        if (!n.isIntegralNumber() || !n.canConvertToInt()) {
            throw new MalformedInputException("expected an integer but found " + n.getNodeType() + " " + n,
                    child(where, key));
        }
        return OptionalInt.of(n.intValue());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ModelConfig m && tree.equals(m.tree);
    }

    @Override
    public int hashCode() {
        return tree.hashCode();
    }

    @Override
    public String toString() {
        return "ModelConfig[" + modelTypeOrUnknown() + ", " + tree.size() + " keys]";
    }

    private String modelTypeOrUnknown() {
        JsonNode n = tree.get("model_type");
        return n != null && n.isString() ? n.stringValue() : "?";
    }
}
