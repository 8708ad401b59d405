package dev.ao4j.vllm.gptq;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.safetensors.SafetensorsFile;
import dev.ao4j.safetensors.SafetensorsWriter;
import dev.ao4j.transformers.ModelConfig;
import dev.ao4j.transformers.json.PyJson;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/** Test helpers shared by the GPTQ and AWQ tests: the bundled model, tensors from values, damaging packages. */
public final class PackageFixtures {
    private PackageFixtures() {}

    /** The bundled bf16 tiny GQA Llama (hidden 128, 4 layers, q 128 / k,v 64 outputs), relative to the module. */
    public static Path tinyLlama() {
        Path p = Path.of("..", "models", "ao4j-tiny-llama").toAbsolutePath().normalize();
        if (!Files.isRegularFile(p.resolve("model.safetensors"))) {
            throw new IllegalStateException("bundled model missing at " + p);
        }
        return p;
    }

    public static Tensor f32(int rows, int cols, float... values) {
        Tensor t = Tensor.allocate(DType.F32, Shape.of(rows, cols));
        for (int i = 0; i < values.length; i++) t.setFloat(i, values[i]);
        return t;
    }

    public static Tensor ints(DType dtype, int rows, int cols, long... values) {
        Tensor t = Tensor.allocate(dtype, Shape.of(rows, cols));
        for (int i = 0; i < values.length; i++) t.setLong(i, values[i]);
        return t;
    }

    /** The tensor's bytes as lower-case hex, e.g. {@code "10325476"}. */
    public static String hex(Tensor t) {
        byte[] b = new byte[(int) t.byteSize()];
        for (int i = 0; i < b.length; i++) b[i] = t.getByte(i);
        return HexFormat.of().formatHex(b);
    }

    /** Rewrites {@code dir/model.safetensors} after {@code edit} changed its (copied) tensors. */
    public static void editTensors(Path dir, Consumer<Map<String, Tensor>> edit) {
        Path file = dir.resolve("model.safetensors");
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        Map<String, String> meta;
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (String n : f.names()) tensors.put(n, f.tensor(n).copy());
            meta = f.metadata();
        }
        edit.accept(tensors);
        SafetensorsWriter.write(file, tensors, meta);
    }

    /** Rewrites config.json after {@code edit} changed its quantization_config. */
    public static void editQuantizationConfig(Path dir, Consumer<ObjectNode> edit) {
        Path file = dir.resolve(ModelConfig.FILE_NAME);
        ModelConfig c = ModelConfig.read(file);
        ObjectNode q = (ObjectNode) c.quantizationConfigJson().orElseThrow();
        edit.accept(q);
        c.with("quantization_config", q).write(file);
    }

    public static JsonNode json(Path file) {
        return PyJson.read(file);
    }
}
