package dev.ao4j.transformers.pack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.Where;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.pipeline.QuantReport;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.transformers.ModelConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PackageOutputTest {
    @TempDir
    Path tmp;

    private Path source() throws IOException {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.writeString(src.resolve("config.json"), "{\"model_type\": \"llama\"}");
        Files.writeString(src.resolve("tokenizer.json"), "{}");
        return src;
    }

    private static QuantReport emptyReport() {
        return new QuantReport("test", List.of(), 0);
    }

    @Test
    void checkSeesTheCompletePackageBeforeItIsPublished() throws IOException {
        Path src = source();
        Path out = tmp.resolve("pkg");
        List<String> seen = new ArrayList<>();
        try (PackageOutput output = PackageOutput.create(src, out, 1 << 20, false)) {
            output.add("w", Tensor.allocate(DType.F32, Shape.of(2, 2)), "w", "test");
            output.commit(Map.of("format", "pt"), ModelConfig.read(src.resolve("config.json")), emptyReport(), dir -> {
                assertFalse(Files.exists(out), "published before the check ran");
                try (var files = Files.list(dir)) {
                    files.map(p -> p.getFileName().toString()).sorted().forEach(seen::add);
                } catch (IOException e) {
                    throw new AssertionError(e);
                }
            });
        }
        assertEquals(List.of("ao4j_report.json", "config.json", "model.safetensors", "tokenizer.json"), seen);
        assertTrue(Files.isRegularFile(out.resolve("model.safetensors")));
        assertFalse(Files.exists(tmp.resolve("pkg.partial")));
    }

    @Test
    void aRefusingCheckPublishesNothingAndKeepsThePreviousPackage() throws IOException {
        Path src = source();
        Path out = Files.createDirectories(tmp.resolve("pkg"));
        Files.writeString(out.resolve("config.json"), "previous");
        InvalidConfigException refusal = new InvalidConfigException("engine would reject it", Where.file(out));
        try (PackageOutput output = PackageOutput.create(src, out, 1 << 20, true)) {
            output.add("w", Tensor.allocate(DType.F32, Shape.of(2, 2)), "w", "test");
            var thrown = assertThrows(InvalidConfigException.class, () -> output.commit(Map.of("format", "pt"),
                    ModelConfig.read(src.resolve("config.json")), emptyReport(), dir -> { throw refusal; }));
            assertEquals(refusal, thrown);
        }
        assertEquals("previous", Files.readString(out.resolve("config.json")));
        assertFalse(Files.exists(tmp.resolve("pkg.partial")), "the refused package is removed on close");
    }
}
