package dev.ao4j.vllm.gptq;

import dev.ao4j.quant.MalformedInputException;
import dev.ao4j.quant.Where;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.safetensors.ShardedCheckpoint;
import dev.ao4j.transformers.ModelConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.BiFunction;
import tools.jackson.databind.JsonNode;

/**
 * What the GPTQ and AWQ readers share (the reading side of {@link IntWeightSink}): the package's config.json and
 * located {@code quantization_config}, its quantized Linear modules (those with a {@code qweight}) and plain tensors,
 * and the per-module parts, looked up with errors that name the file, the tensor and what was expected. Each format's
 * reader extends it with how its parts are checked and unpacked.
 *
 * @param <Q> the format's parsed {@code quantization_config}
 */
public abstract class IntWeightCheckpoint<Q> implements AutoCloseable {
    private static final String QWEIGHT = ".qweight";

    private final ShardedCheckpoint checkpoint;
    private final ModelConfig config;
    private final Q quantizationConfig;
    private final String partsNote;
    private final List<String> modules;
    private final List<String> plainNames;

    /**
     * Opens the package in {@code dir}: config.json, the {@code quantization_config} (config.json, else the first of
     * {@code sideFiles}) parsed by {@code parse}, and the checkpoint, closed again if anything after opening it fails.
     *
     * @param method    for messages, e.g. "GPTQ"
     * @param parts     the suffixes a quantized Linear stores under its module name ({@code .qweight} first)
     * @param partsNote completes "quantized module 'm' has no m.x tensor (…)", e.g. "a GPTQ Linear stores …"
     * @throws dev.ao4j.quant.UnsupportedFormatException when there is no quantization_config
     */
    protected IntWeightCheckpoint(Path dir, String method, List<String> sideFiles,
                                  BiFunction<JsonNode, Where, Q> parse, List<String> parts, String partsNote) {
        this.config = ModelConfig.read(dir.resolve(ModelConfig.FILE_NAME));
        QuantConfigJson.Located located = QuantConfigJson.find(dir, config, sideFiles, method);
        this.quantizationConfig = parse.apply(located.json(), located.where());
        this.partsNote = partsNote;
        ShardedCheckpoint opened = ShardedCheckpoint.open(dir);
        try {
            this.modules = modulesOf(opened);
            this.plainNames = plainNamesOf(opened, parts, modules);
        } catch (RuntimeException e) {
            opened.close();
            throw e;
        }
        this.checkpoint = opened;
    }

    public ModelConfig config() {
        return config;
    }

    public Q quantizationConfig() {
        return quantizationConfig;
    }

    /** The quantized Linear modules (those with a {@code qweight}), in file order. */
    public List<String> quantizedModules() {
        return modules;
    }

    /** The stored tensors that are not parts of a quantized Linear (embeddings, norms, lm_head, kept Linears). */
    public List<String> plainNames() {
        return plainNames;
    }

    /** A stored tensor as it is in the file (a view). */
    public Tensor stored(String name) {
        return checkpoint.tensor(name);
    }

    protected boolean contains(String name) {
        return checkpoint.contains(name);
    }

    /** @throws IllegalArgumentException when {@code module} is not a quantized module of this package */
    protected void requireModule(String module) {
        if (!modules.contains(module)) {
            throw new IllegalArgumentException("'" + module + "' is not a quantized module of " + checkpoint.source());
        }
    }

    /**
     * Tensor {@code module + suffix}.
     *
     * @throws MalformedInputException when the package lacks it
     */
    protected Tensor part(String module, String suffix) {
        String name = module + suffix;
        if (!checkpoint.contains(name)) {
            throw new MalformedInputException("quantized module '" + module + "' has no " + name + " tensor ("
                    + partsNote + ")", Where.tensor(checkpoint.fileOf(module + QWEIGHT), name));
        }
        return checkpoint.tensor(name);
    }

    /** Tensor {@code module + suffix}, which must be a 2-D I32 tensor. */
    protected Tensor int32Part(String module, String suffix) {
        Tensor t = part(module, suffix);
        if (t.dtype() != DType.I32 || t.shape().rank() != 2) {
            throw malformed(module + suffix, "must be a 2-D I32 tensor but is " + t.dtype() + " " + t.shape());
        }
        return t;
    }

    /** "{@code name what}", located at tensor {@code name} of its file. */
    protected MalformedInputException malformed(String name, String what) {
        return new MalformedInputException(name + " " + what, Where.tensor(checkpoint.fileOf(name), name));
    }

    @Override
    public final void close() {
        checkpoint.close();
    }

    private static List<String> modulesOf(ShardedCheckpoint checkpoint) {
        Set<String> m = new LinkedHashSet<>();
        for (String name : checkpoint.names()) {
            if (name.endsWith(QWEIGHT)) m.add(name.substring(0, name.length() - QWEIGHT.length()));
        }
        return List.copyOf(m);
    }

    private static List<String> plainNamesOf(ShardedCheckpoint checkpoint, List<String> parts, List<String> modules) {
        Set<String> quantized = Set.copyOf(modules);
        List<String> plain = new ArrayList<>();
        for (String name : checkpoint.names()) {
            if (!isPart(name, parts, quantized)) plain.add(name);
        }
        return List.copyOf(plain);
    }

    private static boolean isPart(String name, List<String> parts, Set<String> modules) {
        for (String suffix : parts) {
            if (name.endsWith(suffix) && modules.contains(name.substring(0, name.length() - suffix.length()))) {
                return true;
            }
        }
        return false;
    }
}
