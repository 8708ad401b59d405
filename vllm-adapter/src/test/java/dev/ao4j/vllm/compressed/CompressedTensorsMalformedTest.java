package dev.ao4j.vllm.compressed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.MalformedInputException;
import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.transformers.ModelConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.node.ObjectNode;

/** Broken packages are refused with errors that name the file, tensor or JSON field and what was expected. */
class CompressedTensorsMalformedTest {
    static final String Q = "model.layers.0.self_attn.q_proj";

    @TempDir
    Path tmp;
    Path good;

    @BeforeEach
    void writeGoodPackage() {
        good = tmp.resolve("good");
        CompressedTensorsPackager.write(CompressedTensorsRoundTripTest.MODEL, good,
                CompressedTensorsPackager.Options.of(CompressedTensorsScheme.parse("w4a16-g64-asym")));
    }

    @Test
    void missingCompanionTensorNamesModuleAndTensor() throws IOException {
        Path bad = variant("no-shape", dropping(Q + ".weight_shape"), null);
        try (CompressedTensorsReader r = CompressedTensorsReader.open(bad)) {
            MalformedInputException e = assertThrows(MalformedInputException.class, () -> r.linear(Q));
            assertTrue(e.getMessage().contains(Q + ".weight_shape"), e.getMessage());
            assertTrue(e.getMessage().contains("model.safetensors"), e.getMessage());
        }
    }

    @Test
    void wrongScaleShapeSaysExpectedAndFound() throws IOException {
        Path bad = variant("bad-scale", Map.of(Q + ".weight_scale", Tensor.allocate(DType.BF16, Shape.of(128, 3))),
                null);
        try (CompressedTensorsReader r = CompressedTensorsReader.open(bad)) {
            MalformedInputException e = assertThrows(MalformedInputException.class, () -> r.linear(Q));
            assertEquals(Q + ".weight_scale", e.where().tensor());
            assertTrue(e.getMessage().contains("[128, 2]") && e.getMessage().contains("[128, 3]"), e.getMessage());
        }
    }

    @Test
    void wrongPackedDtypeIsRefused() throws IOException {
        Path bad = variant("bad-packed", Map.of(Q + ".weight_packed", Tensor.allocate(DType.I64, Shape.of(128, 16))),
                null);
        try (CompressedTensorsReader r = CompressedTensorsReader.open(bad)) {
            MalformedInputException e = assertThrows(MalformedInputException.class, () -> r.linear(Q));
            assertEquals(Q + ".weight_packed", e.where().tensor());
            assertTrue(e.getMessage().contains("I32") && e.getMessage().contains("I64"), e.getMessage());
        }
    }

    @Test
    void missingZeroPointOfAsymmetricScheme() throws IOException {
        Path bad = variant("no-zp", dropping(Q + ".weight_zero_point"), null);
        try (CompressedTensorsReader r = CompressedTensorsReader.open(bad)) {
            MalformedInputException e = assertThrows(MalformedInputException.class, () -> r.linear(Q));
            assertTrue(e.getMessage().contains("weight_zero_point"), e.getMessage());
        }
    }

    @Test
    void configWithoutQuantizationConfigIsNotAPackage() throws IOException {
        Path bad = variant("no-q", Map.of(), q -> null);
        UnsupportedFormatException e = assertThrows(UnsupportedFormatException.class,
                () -> CompressedTensorsReader.open(bad));
        assertTrue(e.getMessage().contains("quantization_config"), e.getMessage());
    }

    @Test
    void unknownFormatNamesTheJsonField() throws IOException {
        Path bad = variant("marlin24", Map.of(), q -> {
            q.put("format", "marlin-24");
            ((ObjectNode) q.get("config_groups").get("group_0")).put("format", "marlin-24");
            return q;
        });
        UnsupportedFormatException e = assertThrows(UnsupportedFormatException.class,
                () -> CompressedTensorsReader.open(bad));
        assertEquals("quantization_config.config_groups.group_0", e.where().jsonPath());
        assertTrue(e.getMessage().contains("marlin-24"), e.getMessage());
    }

    @Test
    void wrongJsonTypeNamesThePath() throws IOException {
        Path bad = variant("bits", Map.of(), q -> {
            ((ObjectNode) q.get("config_groups").get("group_0").get("weights")).put("num_bits", "four");
            return q;
        });
        MalformedInputException e = assertThrows(MalformedInputException.class,
                () -> CompressedTensorsReader.open(bad));
        assertEquals("quantization_config.config_groups.group_0.weights.num_bits", e.where().jsonPath());
    }

    @Test
    void otherQuantMethodIsRefused() throws IOException {
        Path bad = variant("gptq", Map.of(), q -> {
            q.put("quant_method", "gptq");
            return q;
        });
        UnsupportedFormatException e = assertThrows(UnsupportedFormatException.class,
                () -> CompressedTensorsReader.open(bad));
        assertEquals("quantization_config.quant_method", e.where().jsonPath());
    }

    @Test
    void schemesOutsideWhatVllmRunsAreRefusedUpFront() {
        assertThrows(InvalidConfigException.class, () -> CompressedTensorsScheme.wna16(4, 256, true));
        assertThrows(InvalidConfigException.class, () -> CompressedTensorsScheme.wna16(3, 128, true));
        assertThrows(InvalidConfigException.class, () -> new CompressedTensorsScheme(
                CompressedTensorsScheme.Preset.FP8, CompressedTensorsScheme.CHANNEL, false));
        assertThrows(InvalidConfigException.class, () -> CompressedTensorsScheme.parse("w4a4"));
    }

    static Map<String, Tensor> dropping(String name) {
        Map<String, Tensor> m = new HashMap<>();
        m.put(name, null);
        return m;
    }

    /** A copy of the good package with tensors replaced/dropped (null) and the quantization_config edited. */
    Path variant(String name, Map<String, Tensor> changes,
                 java.util.function.UnaryOperator<ObjectNode> editConfig) throws IOException {
        Path dir = tmp.resolve(name);
        Files.createDirectories(dir);
        CompressedTensorsPackageTest.copyTensors(good, dir, new HashMap<>(changes));
        ModelConfig c = ModelConfig.read(good.resolve("config.json"));
        if (editConfig != null) {
            ObjectNode q = editConfig.apply((ObjectNode) c.get("quantization_config").orElseThrow().deepCopy());
            c = q == null ? c.without("quantization_config") : c.with("quantization_config", q);
        }
        c.write(dir.resolve("config.json"));
        return dir;
    }
}
