package dev.ao4j.cli;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.Where;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.transformers.ModelConfig;
import dev.ao4j.hub.ConsoleProgress;
import dev.ao4j.hub.HubClient;
import dev.ao4j.hub.SnapshotOptions;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import picocli.CommandLine.Model.CommandSpec;

/** What the model-rewriting commands (quantize, sparsify) check and parse the same way. */
final class ModelDirs {
    static final String DEFAULT_MODEL = "models/ao4j-tiny-llama";

    private ModelDirs() {}

    /** The files of a Hub model repository a quantization run needs: no .bin/.pth/.gguf/ONNX duplicates. */
    static final List<String> MODEL_FILES = List.of("*.json", "*.safetensors", "*.model", "*.tiktoken", "*.txt",
            "*.jinja");
    /** A Hub repository id: {@code name} or {@code org/name}, letters, digits, '-', '_', '.'. */
    private static final Pattern REPO_ID = Pattern.compile("[A-Za-z0-9][\\w.-]{0,95}(/[A-Za-z0-9][\\w.-]{0,95})?");

    /** {@code model}, or the bundled default model when null. */
    static Path orDefault(Path model) {
        return model != null ? model : Path.of(System.getProperty("ao4j.home", ".")).resolve(DEFAULT_MODEL);
    }

    /**
     * A local model directory as given, or, when no such path exists and {@code model} is a Hub repository id
     * ({@code org/name}), that model's snapshot at {@code revision}, downloaded into (or found offline in) the
     * Hugging Face cache that Python's huggingface_hub shares.
     */
    static Path orDownload(Path model, String revision, CommandSpec spec) {
        Path dir = orDefault(model);
        if (model == null || Files.exists(dir)) return dir;
        String id = model.toString();
        if (!REPO_ID.matcher(id).matches() || id.contains("..") || !id.contains("/")) return dir;
        PrintWriter err = spec.commandLine().getErr();
        err.println("ao4j: no local " + id + "; fetching it from the Hugging Face Hub (" + revision + ")");
        ConsoleProgress progress = new ConsoleProgress(err, System.console() != null, "downloaded");
        try (HubClient client = Ao4j.hubClient(spec)) {
            Path snapshot = client.snapshotDownload(id, revision, SnapshotOptions.defaults()
                    .withPatterns(MODEL_FILES, List.of()).withListener(progress));
            progress.close();
            return snapshot;
        }
    }

    /** The Hub repository id {@code model} names when it was downloaded by {@link #orDownload}, else null. */
    static String repoIdOf(Path model) {
        if (model == null || Files.exists(model)) return null;
        String id = model.toString();
        return REPO_ID.matcher(id).matches() && id.contains("/") ? id : null;
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
