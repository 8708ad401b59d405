package dev.ao4j.transformers;

import dev.ao4j.quant.Ao4jException;
import dev.ao4j.quant.Where;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The non-weight files of a Hugging Face model directory that a quantized package carries over unchanged. */
public final class ModelFiles {

    /**
     * Files copied byte for byte when present: tokenizers (fast, SentencePiece, BPE/WordPiece vocabularies),
     * chat templates, generation defaults and processor configs. {@code config.json} is not among them (it gets
     * a {@code quantization_config}), nor are weights, indexes, READMEs or licences.
     */
    public static final List<String> AUXILIARY_FILES = List.of(
            "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
            "tokenizer.model", "spiece.model", "sentencepiece.bpe.model", "vocab.json", "vocab.txt", "merges.txt",
            "chat_template.jinja", "chat_template.json", "generation_config.json", "preprocessor_config.json",
            "processor_config.json", "video_preprocessor_config.json");

    /** Directory of extra named chat templates ({@code <name>.jinja}) that transformers saves beside the tokenizer. */
    public static final String CHAT_TEMPLATES_DIR = "additional_chat_templates";

    private ModelFiles() {}

    /**
     * Copy the {@link #AUXILIARY_FILES} and {@link #CHAT_TEMPLATES_DIR} that exist in {@code src} into {@code dst}
     * (created if needed), each through a temporary file and a rename. Symbolic links (as in the Hub cache) are
     * followed.
     *
     * @return the copied paths relative to {@code dst}, in {@link #AUXILIARY_FILES} order
     * @throws Ao4jException naming the file on an I/O error
     */
    public static List<String> copyAuxiliary(Path src, Path dst) {
        List<String> copied = new ArrayList<>();
        for (String name : AUXILIARY_FILES) {
            Path from = src.resolve(name);
            if (Files.isRegularFile(from)) {
                AtomicFiles.copy(from, dst.resolve(name));
                copied.add(name);
            }
        }
        Path templates = src.resolve(CHAT_TEMPLATES_DIR);
        if (Files.isDirectory(templates)) {
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(templates, "*.jinja")) {
                List<Path> files = new ArrayList<>();
                ds.forEach(files::add);
                files.sort(null);
                for (Path f : files) {
                    if (!Files.isRegularFile(f)) continue;
                    String rel = CHAT_TEMPLATES_DIR + "/" + f.getFileName();
                    AtomicFiles.copy(f, dst.resolve(CHAT_TEMPLATES_DIR).resolve(f.getFileName().toString()));
                    copied.add(rel);
                }
            } catch (IOException e) {
                throw new Ao4jException("cannot list " + CHAT_TEMPLATES_DIR + ": " + e, Where.file(templates), e);
            }
        }
        return List.copyOf(copied);
    }
}
