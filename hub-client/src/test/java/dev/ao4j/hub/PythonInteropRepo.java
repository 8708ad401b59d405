package dev.ao4j.hub;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The repo both clients download in the Python cache interop check: the bundled tiny Llama plus files in nested
 * folders, at a fixed commit id, so that the Java run, the Python run (on another machine) and the JUnit test agree
 * on every path, etag and commit. With {@link #LFS_THRESHOLD} the safetensors, the {@code .bin} and the 8.7 KB
 * {@code tools/train.py} are LFS (the last by size only); the JSON files, the README and the notes are regular.
 */
final class PythonInteropRepo {
    static final String REPO = "ao4j-interop/tiny-llama";
    static final String COMMIT = HexFormat.of().formatHex(FakeHub.digest("SHA-1",
            "ao4j python cache interop v1".getBytes(StandardCharsets.US_ASCII)));
    static final long LFS_THRESHOLD = 8 * 1024;
    /** Asked for by both clients: leaves a {@code .no_exist} marker. */
    static final String MISSING = "missing.json";
    private static final List<String> MODEL_FILES = List.of("README.md", "config.json", "generation_config.json",
            "model.safetensors", "reference.json", "tokenizer.json", "tokenizer_config.json", "tools/train.py");

    private PythonInteropRepo() {
    }

    /** Repo path → content: the model files of {@code modelDir} and two generated files in sub-folders. */
    static Map<String, byte[]> files(Path modelDir) throws IOException {
        Map<String, byte[]> files = new TreeMap<>();
        files.put(".gitattributes", "*.safetensors filter=lfs diff=lfs merge=lfs -text\n*.bin filter=lfs diff=lfs merge=lfs -text\n"
                .getBytes(StandardCharsets.UTF_8));
        for (String f : MODEL_FILES) files.put(f, Files.readAllBytes(modelDir.resolve(f)));
        files.put("extra/nested/notes.txt", "Written by ao4j's Hub cache interop check.\n".getBytes(StandardCharsets.UTF_8));
        byte[] adapter = new byte[3000];
        for (int i = 0; i < adapter.length; i++) adapter[i] = (byte) (i * 31 + 7);
        files.put("extra/weights/adapter.bin", adapter);
        return files;
    }

    /** A FakeHub serving the repo (LFS threshold lowered so that a small file is LFS by size). */
    static FakeHub serve(Path store, Map<String, byte[]> files) throws IOException {
        FakeHub hub = new FakeHub(store);
        hub.lfsThreshold = LFS_THRESHOLD;
        hub.seed(REPO, COMMIT, files);
        return hub;
    }
}
