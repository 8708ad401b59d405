package dev.ao4j.transformers.pack;

import dev.ao4j.quant.Ao4jException;
import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.Where;
import dev.ao4j.quant.pipeline.ModelSink;
import dev.ao4j.quant.pipeline.QuantReport;
import dev.ao4j.quant.qtensor.QuantizedTensor;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.safetensors.ShardedWriter;
import dev.ao4j.transformers.AtomicFiles;
import dev.ao4j.transformers.ModelConfig;
import dev.ao4j.transformers.ModelFiles;
import dev.ao4j.transformers.torchao.TorchAoQuantizationConfig;
import dev.ao4j.transformers.torchao.TorchAoSafetensorsLayout;
import dev.ao4j.transformers.torchao.TorchAoSafetensorsLayout.Flattened;
import dev.ao4j.transformers.torchao.TorchAoSafetensorsLayout.NamedTensor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes a quantized model the way transformers' {@code save_pretrained} does for a TorchAO-quantized model:
 * torchao's flattened safetensors layout (one shard or an index) with the same {@code __metadata__} in every
 * shard, {@code config.json} with the {@code quantization_config}, and the tokenizer/generation files copied
 * unchanged — plus {@code ao4j_report.json}.
 *
 * <p>Everything goes into {@code <out>.partial/} first and is renamed to {@code <out>} only at {@link #commit}, so
 * a crash never leaves a directory that looks finished, and an existing {@code <out>} is replaced only when
 * {@code replace} is set and the new package is complete.
 */
public final class TorchAoPackageWriter implements ModelSink {
    public static final String REPORT_FILE = "ao4j_report.json";

    private final Path sourceDir;
    private final Path out;
    private final Path partial;
    private final ModelConfig config;
    private final TorchAoQuantizationConfig quantizationConfig;
    private final boolean replace;
    private final ShardedWriter weights;
    /** Key and metadata per state-dict entry, without tensors: holding those would defeat streaming. */
    private final List<Flattened> entries = new ArrayList<>();
    /** Output tensor name → the state-dict key it came from, to report name collisions in source terms. */
    private final java.util.Map<String, String> origins = new java.util.HashMap<>();
    private boolean done;

    private TorchAoPackageWriter(Path sourceDir, Path out, Path partial, ModelConfig config,
                                 TorchAoQuantizationConfig quantizationConfig, boolean replace, ShardedWriter weights) {
        this.sourceDir = sourceDir;
        this.out = out;
        this.partial = partial;
        this.config = config;
        this.quantizationConfig = quantizationConfig;
        this.replace = replace;
        this.weights = weights;
    }

    /**
     * @param sourceDir     the model directory whose tokenizer and generation files are carried over
     * @param config        the source model's config.json
     * @param out           the package directory to create
     * @param maxShardBytes tensor bytes per safetensors shard
     * @param replace       whether an existing {@code out} may be replaced (only once the new package is complete)
     */
    public static TorchAoPackageWriter create(Path sourceDir, ModelConfig config,
                                              TorchAoQuantizationConfig quantizationConfig, Path out,
                                              long maxShardBytes, boolean replace) {
        Path abs = out.toAbsolutePath().normalize();
        if (Files.exists(abs) && !replace) {
            throw new InvalidConfigException("output directory already exists (pass --force to replace it)",
                    Where.file(abs));
        }
        if (abs.equals(sourceDir.toAbsolutePath().normalize())) {
            throw new InvalidConfigException("output directory is the source model directory", Where.file(abs));
        }
        Path partial = abs.resolveSibling(abs.getFileName() + ".partial");
        try {
            deleteRecursively(partial); // left over from an interrupted run: ours by name, never a finished package
            Files.createDirectories(partial);
        } catch (IOException e) {
            throw new Ao4jException("cannot create " + partial + ": " + e.getMessage(), Where.file(partial), e);
        }
        return new TorchAoPackageWriter(sourceDir, abs, partial, config, quantizationConfig, replace,
                ShardedWriter.create(partial, maxShardBytes, java.util.Map.of()));
    }

    @Override
    public void writePlain(String name, Tensor tensor) {
        add(TorchAoSafetensorsLayout.plain(name, tensor));
    }

    @Override
    public void writeQuantized(String name, QuantizedTensor tensor) {
        add(TorchAoSafetensorsLayout.flatten(name, tensor));
    }

    private void add(Flattened f) {
        for (NamedTensor t : f.tensors()) {
            String earlier = origins.putIfAbsent(t.name(), f.key());
            if (earlier != null) {
                throw new dev.ao4j.quant.MalformedInputException("source tensor '" + (t.name().equals(f.key()) ? f.key()
                        : earlier) + "' has the name torchao gives a part of quantized weight '" + (t.name()
                        .equals(f.key()) ? earlier : f.key()) + "' (" + t.name() + "); the package would be ambiguous",
                        Where.file(sourceDir));
            }
            weights.add(t.name(), t.tensor());
        }
        entries.add(new Flattened(f.key(), List.of(), f.metadata()));
    }

    @Override
    public void commit(QuantReport report) {
        weights.commit(TorchAoSafetensorsLayout.fileMetadata(entries));
        config.withQuantizationConfig(quantizationConfig).write(partial.resolve(ModelConfig.FILE_NAME));
        ModelFiles.copyAuxiliary(sourceDir, partial);
        AtomicFiles.write(partial.resolve(REPORT_FILE), ReportJson.toJson(report).getBytes(StandardCharsets.UTF_8));
        publish();
        done = true;
    }

    /** Rename {@code out.partial} to {@code out}; an existing {@code out} is moved aside first and removed after. */
    private void publish() {
        Path old = null;
        try {
            if (Files.exists(out)) {
                if (!replace) throw new InvalidConfigException("output directory appeared while writing", Where.file(out));
                old = out.resolveSibling(out.getFileName() + ".old-" + ProcessHandle.current().pid());
                Files.move(out, old, StandardCopyOption.ATOMIC_MOVE);
            }
            Files.move(partial, out, StandardCopyOption.ATOMIC_MOVE);
            if (old != null) deleteRecursively(old);
        } catch (IOException e) {
            throw new Ao4jException("cannot publish " + partial + " as " + out + ": " + e.getMessage()
                    + (old != null && Files.exists(old) ? " (the previous package is at " + old + ")" : ""),
                    Where.file(out), e);
        }
    }

    /** The published package directory. */
    public Path out() {
        return out;
    }

    @Override
    public void close() {
        if (done) return;
        done = true;
        try {
            weights.close();
        } finally {
            try {
                deleteRecursively(partial);
            } catch (IOException e) {
                throw new Ao4jException("cannot remove unfinished package " + partial + ": " + e.getMessage(),
                        Where.file(partial), e);
            }
        }
    }

    static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException exc) throws IOException {
                if (exc != null) throw exc;
                Files.delete(d);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
