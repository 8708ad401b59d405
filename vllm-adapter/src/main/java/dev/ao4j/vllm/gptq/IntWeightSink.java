package dev.ao4j.vllm.gptq;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.Where;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.pipeline.FusedGroups;
import dev.ao4j.quant.pipeline.ModelSink;
import dev.ao4j.quant.pipeline.QuantListener;
import dev.ao4j.quant.pipeline.QuantReport;
import dev.ao4j.quant.pipeline.Quantizer;
import dev.ao4j.quant.pipeline.Recipe;
import dev.ao4j.quant.qtensor.IntxUnpackedToInt8Tensor;
import dev.ao4j.quant.qtensor.QuantizedTensor;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.safetensors.ShardedCheckpoint;
import dev.ao4j.transformers.ModelConfig;
import dev.ao4j.transformers.pack.PackageCheck;
import dev.ao4j.transformers.pack.PackageOutput;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * What the GPTQ and AWQ package writers share: quantized weights arrive as torchao {@code IntxUnpackedToInt8Tensor}
 * (signed codes, f16 scales, groups {@code [1, G]}), are checked against the format's bits and group size, turned
 * into an {@link IntWeightLinear} and laid out by the format; plain tensors are stored as they come. At commit the
 * fused projections are checked (vLLM loads q/k/v and gate/up as one layer and refuses a mix of quantized and
 * unquantized shards), a tied model's stray {@code lm_head.weight} is left out, config.json gets the format's {@code quantization_config} and both {@code dtype} and
 * {@code torch_dtype}, and the package is published through {@link PackageOutput} after the optional
 * {@link PackageCheck}. Each format's package writer is an {@code IntWeightSink} given its layout and config.
 */
public abstract class IntWeightSink implements ModelSink {
    private static final String WEIGHT_SUFFIX = ".weight";
    private static final String TIED_OUTPUT_EMBEDDING = "lm_head.weight";

    /** How a format stores one quantized Linear: output tensor names (under the module) and tensors, in order. */
    @FunctionalInterface
    public interface Layout {
        /** @param arena where the layout allocates the tensors it returns; closed once they are written */
        Map<String, Tensor> tensors(String module, IntWeightLinear linear, Arena arena);
    }

    private final PackageOutput output;
    private final ModelConfig config;
    private final String formatName;
    private final int bits;
    private final int groupSize;
    private final Layout layout;
    private final Function<List<String>, ObjectNode> quantizationConfig;
    private final PackageCheck check;
    private final Set<String> kept = new LinkedHashSet<>();
    private final Set<String> quantized = new LinkedHashSet<>();
    private DType plainFloatDtype;

    /**
     * @param formatName         for messages, e.g. "GPTQ"
     * @param groupSize          G, or −1 for one group spanning K
     * @param quantizationConfig the {@code quantization_config} given the modules whose 2-D weight stayed in high
     *                           precision (embeddings and lm_head included), in source order
     */
    protected IntWeightSink(PackageOutput output, ModelConfig config, String formatName, int bits, int groupSize,
                            Layout layout, Function<List<String>, ObjectNode> quantizationConfig,
                            PackageCheck check) {
        this.output = output;
        this.config = config;
        this.formatName = formatName;
        this.bits = bits;
        this.groupSize = groupSize;
        this.layout = layout;
        this.quantizationConfig = quantizationConfig;
        this.check = check == null ? PackageCheck.NONE : check;
    }

    /**
     * Stores {@code tensor} as it is, except a stray {@code lm_head.weight} of a model with
     * {@code tie_word_embeddings: true}: loaders re-tie it to the input embedding, and some (older SGLang) fail on it.
     */
    @Override
    public final void writePlain(String name, Tensor tensor) {
        if (name.equals(TIED_OUTPUT_EMBEDDING) && config.tieWordEmbeddings()) return;
        if (name.endsWith(WEIGHT_SUFFIX) && tensor.shape().rank() == 2) kept.add(module(name));
        if (plainFloatDtype == null && tensor.dtype().isFloatingPoint()) plainFloatDtype = tensor.dtype();
        output.add(name, tensor, name, formatName);
    }

    /**
     * @throws InvalidConfigException unless {@code tensor} is a weight-only {@code IntxUnpackedToInt8Tensor} of this
     *                                format's bits, group size and f16 scales under a {@code <module>.weight} name
     */
    @Override
    public final void writeQuantized(String name, QuantizedTensor tensor) {
        if (!(tensor instanceof IntxUnpackedToInt8Tensor t) || t.bits() != bits || t.scale().dtype() != DType.F16) {
            throw new InvalidConfigException("the " + formatName + " format stores " + bits + "-bit "
                    + "IntxUnpackedToInt8Tensor weights with F16 scales but '" + name + "' is " + describe(tensor));
        }
        if (!name.endsWith(WEIGHT_SUFFIX) || t.qdata().shape().rank() != 2) {
            throw new InvalidConfigException("the " + formatName + " format quantizes 2-D '<module>.weight' tensors but "
                    + "got '" + name + "' " + t.qdata().shape());
        }
        long k = t.qdata().shape().dim(1);
        long expectedGroup = groupSize == -1 ? k : groupSize;
        if (t.blockSize().rank() != 2 || t.blockSize().dim(1) != expectedGroup) {
            throw new InvalidConfigException("the package's group size is " + groupSize + " but '" + name
                    + "' was quantized with block size " + t.blockSize());
        }
        String module = module(name);
        // the unsigned codes and packed tensors live only until written: freed here, not when the GC gets to them
        try (Arena arena = Arena.ofConfined()) {
            IntWeightLinear linear = IntWeightLinear.fromIntx(name, t, arena);
            for (Map.Entry<String, Tensor> e : layout.tensors(module, linear, arena).entrySet()) {
                output.add(e.getKey(), e.getValue(), name, formatName);
            }
        }
        quantized.add(module);
    }

    /**
     * @throws InvalidConfigException when a fused group (q/k/v, gate/up) is part quantized, part kept
     */
    @Override
    public final void commit(QuantReport report) {
        checkFusedGroups();
        ModelConfig c = withBothDtypes(config.with("quantization_config",
                quantizationConfig.apply(List.copyOf(kept))));
        output.commit(Map.of("format", "pt"), c, report, check);
    }

    /**
     * One call from a Hugging Face model directory to a package: checks the source is not quantized yet, then streams
     * it through {@link Quantizer} with {@code recipe} into the sink {@code create} makes from its config.json.
     *
     * @throws InvalidConfigException when the source is already quantized
     */
    public static QuantReport quantize(Path modelDir, String formatName, Recipe recipe,
                                       Function<ModelConfig, ? extends IntWeightSink> create, QuantListener listener) {
        ModelConfig config = sourceConfig(modelDir, formatName);
        try (ShardedCheckpoint source = ShardedCheckpoint.open(modelDir);
             IntWeightSink sink = create.apply(config)) {
            return Quantizer.quantize(source, recipe, sink, listener);
        }
    }

    /**
     * The config.json of the model to quantize.
     *
     * @throws InvalidConfigException when the model is already quantized
     */
    public static ModelConfig sourceConfig(Path modelDir, String formatName) {
        Path configFile = modelDir.resolve(ModelConfig.FILE_NAME);
        ModelConfig config = ModelConfig.read(configFile);
        if (config.isQuantized()) {
            throw new InvalidConfigException("the source model is already quantized (config.json has a "
                    + "quantization_config); " + formatName + " packages are made from a high-precision model",
                    Where.json(configFile, "quantization_config"));
        }
        return config;
    }

    /** The published package directory. */
    public final Path out() {
        return output.out();
    }

    @Override
    public final void close() {
        output.close();
    }

    private void checkFusedGroups() {
        List<String> weights = new ArrayList<>();
        for (String m : quantized) weights.add(m + WEIGHT_SUFFIX);
        for (String m : kept) weights.add(m + WEIGHT_SUFFIX);
        for (List<String> members : FusedGroups.of(weights).values()) {
            List<String> modules = members.stream().map(IntWeightSink::module).toList();
            List<String> mixed = modules.stream().filter(kept::contains).toList();
            if (mixed.isEmpty() || mixed.size() == modules.size()) continue;
            String q = modules.stream().filter(quantized::contains).findFirst().orElseThrow();
            throw new InvalidConfigException("vLLM fuses " + modules + " into one layer and requires one scheme for "
                    + "all of them, but '" + q + "' is quantized while " + mixed + " stayed in high precision; "
                    + "quantize or keep them together");
        }
    }

    /**
     * config.json with {@code dtype} and {@code torch_dtype} both set to one value, for readers old and new: the one
     * present ({@code dtype} first), else the dtype of the unquantized tensors.
     */
    private ModelConfig withBothDtypes(ModelConfig c) {
        String name = text(c.get("dtype")).or(() -> text(c.get("torch_dtype")))
                .orElse(plainFloatDtype == null ? DType.F16.torchName() : plainFloatDtype.torchName());
        JsonNode v = JsonNodeFactory.instance.stringNode(name);
        return c.with("dtype", v).with("torch_dtype", v);
    }

    private static Optional<String> text(Optional<JsonNode> n) {
        return n.filter(JsonNode::isString).map(JsonNode::stringValue);
    }

    private static String module(String weightName) {
        return weightName.substring(0, weightName.length() - WEIGHT_SUFFIX.length());
    }

    private static String describe(QuantizedTensor t) {
        return t instanceof IntxUnpackedToInt8Tensor x ? "a " + x.bits() + "-bit IntxUnpackedToInt8Tensor with "
                + x.scale().dtype() + " scales" : "a " + t.typeName();
    }
}
