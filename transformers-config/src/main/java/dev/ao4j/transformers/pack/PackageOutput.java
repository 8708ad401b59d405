package dev.ao4j.transformers.pack;

import dev.ao4j.quant.Ao4jException;
import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.MalformedInputException;
import dev.ao4j.quant.Where;
import dev.ao4j.quant.pipeline.QuantReport;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.safetensors.ShardedWriter;
import dev.ao4j.transformers.AtomicFiles;
import dev.ao4j.transformers.ModelConfig;
import dev.ao4j.transformers.ModelFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.HashMap;
import java.util.Map;

/**
 * What every package format shares: the {@code <out>.partial/} directory, the streaming safetensors shards, the
 * name-collision check, and the final {@code config.json} + tokenizer/generation files + {@code ao4j_report.json}
 * + atomic publish. A format writer ({@link TorchAoPackageWriter}, {@link Fp8PackageWriter}) decides only which
 * tensors go in under which names, the shards' {@code __metadata__} and the {@code quantization_config}.
 *
 * <p>Everything goes into {@code <out>.partial/} first and is renamed to {@code <out>} only at {@link #commit}, so
 * a crash never leaves a directory that looks finished, and an existing {@code <out>} is replaced only when
 * {@code replace} is set and the new package is complete.
 */
public final class PackageOutput implements AutoCloseable {
    private final Path sourceDir;
    private final Path out;
    private final Path partial;
    private final boolean replace;
    private final ShardedWriter weights;
    /** Output tensor name → the state-dict key it came from, to report name collisions in source terms. */
    private final Map<String, String> origins = new HashMap<>();
    private boolean done;

    private PackageOutput(Path sourceDir, Path out, Path partial, boolean replace, ShardedWriter weights) {
        this.sourceDir = sourceDir;
        this.out = out;
        this.partial = partial;
        this.replace = replace;
        this.weights = weights;
    }

    /**
     * @param sourceDir     the model directory whose tokenizer and generation files are carried over
     * @param out           the package directory to create
     * @param maxShardBytes tensor bytes per safetensors shard
     * @param replace       whether an existing {@code out} may be replaced (only once the new package is complete)
     */
    public static PackageOutput create(Path sourceDir, Path out, long maxShardBytes, boolean replace) {
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
        return new PackageOutput(sourceDir, abs, partial, replace, ShardedWriter.create(partial, maxShardBytes,
                Map.of()));
    }

    /**
     * Streams {@code tensor} into the shards as {@code name}, which comes from the state-dict entry {@code key}.
     *
     * @param format who chose the output name, for the collision message (e.g. "torchao")
     * @throws MalformedInputException when another entry already produced {@code name}
     */
    public void add(String name, Tensor tensor, String key, String format) {
        String earlier = origins.putIfAbsent(name, key);
        if (earlier != null) {
            boolean plain = name.equals(key);
            throw new MalformedInputException("source tensor '" + (plain ? key : earlier) + "' has the name " + format
                    + " gives a part of quantized weight '" + (plain ? earlier : key) + "' (" + name
                    + "); the package would be ambiguous", Where.file(sourceDir));
        }
        weights.add(name, tensor);
    }

    /** Finishes the shards with {@code fileMetadata}, writes config.json, the carried-over files and the report. */
    public void commit(Map<String, String> fileMetadata, ModelConfig config, QuantReport report) {
        commit(fileMetadata, config, report, PackageCheck.NONE);
    }

    /**
     * Like {@link #commit(Map, ModelConfig, QuantReport)}, running {@code check} on the complete package while it is
     * still in {@code <out>.partial/}: when the check throws, nothing is published (and {@link #close} removes it).
     */
    public void commit(Map<String, String> fileMetadata, ModelConfig config, QuantReport report, PackageCheck check) {
        weights.commit(fileMetadata);
        config.write(partial.resolve(ModelConfig.FILE_NAME));
        finish(ReportJson.toJson(report), check);
    }

    /**
     * Like {@link #commit(Map, ModelConfig, QuantReport)} for a checkpoint whose config.json is the source's, copied
     * byte for byte (nothing in it changes), with {@code reportJson} as the report.
     */
    public void commitWithSourceConfig(Map<String, String> fileMetadata, String reportJson) {
        weights.commit(fileMetadata);
        Path config = sourceDir.resolve(ModelConfig.FILE_NAME);
        try {
            Files.copy(config, partial.resolve(ModelConfig.FILE_NAME));
        } catch (IOException e) {
            throw new Ao4jException("cannot copy " + config + ": " + e.getMessage(), Where.file(config), e);
        }
        finish(reportJson, PackageCheck.NONE);
    }

    /** The carried-over files, the report, the check, then the atomic publish. */
    private void finish(String reportJson, PackageCheck check) {
        ModelFiles.copyAuxiliary(sourceDir, partial);
        AtomicFiles.write(partial.resolve(TorchAoPackageWriter.REPORT_FILE),
                reportJson.getBytes(StandardCharsets.UTF_8));
        check.check(partial);
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

    /** The package directory (published once {@link #commit} returned). */
    public Path out() {
        return out;
    }

    /** The model directory the package is made from. */
    public Path sourceDir() {
        return sourceDir;
    }

    /** Without a commit: removes everything written so far. */
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
