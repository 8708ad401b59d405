package dev.ao4j.cli;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.Where;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.transformers.ModelConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** What the model-rewriting commands (quantize, sparsify) check and parse the same way. */
final class ModelDirs {
    static final String DEFAULT_MODEL = "models/ao4j-tiny-llama";

    private ModelDirs() {}

    /** {@code model}, or the bundled default model when null. */
    static Path orDefault(Path model) {
        return model != null ? model : Path.of(System.getProperty("ao4j.home", ".")).resolve(DEFAULT_MODEL);
    }

    /**
     * The config.json of an unquantized model directory.
     *
     * @param whyNotQuantized appended to the refusal of an already-quantized model
     */
    static ModelConfig unquantizedConfig(Path modelDir, String whyNotQuantized) {
        if (!Files.isDirectory(modelDir)) {
            throw new InvalidConfigException("no such model directory", Where.file(modelDir));
        }
        Path configFile = modelDir.resolve(ModelConfig.FILE_NAME);
        if (!Files.isRegularFile(configFile)) {
            throw new InvalidConfigException("not a model directory: no " + ModelConfig.FILE_NAME + " in it",
                    Where.file(modelDir));
        }
        ModelConfig config = ModelConfig.read(configFile);
        if (config.quantizationConfigJson().isPresent()) {
            throw new InvalidConfigException("the model is already quantized (config.json has a quantization_config)"
                    + whyNotQuantized, Where.json(configFile, "quantization_config"));
        }
        return config;
    }

    /** {@code --division cuda|cpu}: which device's scalar-division (and tie) behaviour to reproduce. */
    static DivMode divMode(String division) {
        return switch (division.toLowerCase(Locale.ROOT)) {
            case "cuda" -> DivMode.CUDA_RECIPROCAL;
            case "cpu" -> DivMode.TRUE_DIV;
            default -> throw new InvalidConfigException("--division must be cuda or cpu but was '" + division + "'");
        };
    }
}
