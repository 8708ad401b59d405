package dev.ao4j.quant;

import java.nio.file.Path;

/** Location of a problem: any of file, tensor, JSON path and byte offset (null/-1 when unknown). */
public record Where(Path file, String tensor, String jsonPath, long offset) {
    public static final Where NOWHERE = new Where(null, null, null, -1);

    public static Where file(Path file) {
        return new Where(file, null, null, -1);
    }

    public static Where tensor(Path file, String tensor) {
        return new Where(file, tensor, null, -1);
    }

    public static Where json(Path file, String jsonPath) {
        return new Where(file, null, jsonPath, -1);
    }

    public Where withTensor(String name) {
        return new Where(file, name, jsonPath, offset);
    }

    public Where withJsonPath(String path) {
        return new Where(file, tensor, path, offset);
    }

    public Where withOffset(long off) {
        return new Where(file, tensor, jsonPath, off);
    }

    public boolean isEmpty() {
        return file == null && tensor == null && jsonPath == null && offset < 0;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        if (file != null) sb.append(file);
        if (tensor != null) sb.append(sb.isEmpty() ? "" : ": ").append("tensor '").append(tensor).append('\'');
        if (jsonPath != null) sb.append(sb.isEmpty() ? "" : ": ").append("field '").append(jsonPath).append('\'');
        if (offset >= 0) sb.append(sb.isEmpty() ? "" : ": ").append("offset ").append(offset);
        return sb.toString();
    }
}
