package dev.ao4j.cli;

import static dev.ao4j.cli.CliTesting.ao4j;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.quant.config.Float8DynamicActivationFloat8WeightConfig;
import dev.ao4j.quant.config.Float8MMConfig;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.float8.Float8Quantizer;
import dev.ao4j.quant.float8.Float8Spec;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.pipeline.Recipes;
import dev.ao4j.quant.pipeline.Sqnr;
import dev.ao4j.quant.pipeline.WeightQuantizer;
import dev.ao4j.quant.pipeline.WeightQuantizers;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.safetensors.SafetensorsFile;
import dev.ao4j.transformers.pack.Fp8PackageReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import tools.jackson.databind.JsonNode;

/**
 * Recipe {@code fp8-block128} written as transformers' FineGrainedFP8 package ({@code --format fp8}) from the golden
 * bf16 tiny Llama, whose Linear weights (256x256, 512x256, 256x512) are whole 128x128 blocks: the codes and
 * {@code weight_scale_inv} are exactly {@link Float8Quantizer}'s blockwise output (itself bit-exact to torchao's
 * golden vectors), the config is FineGrainedFP8Config's dict, and the dequantized weights are close to the source.
 */
class CliFp8BlockTest {
    /** 2 layers x (q, k, v, o, gate, up, down). */
    private static final int LINEAR_WEIGHTS = 14;
    /** e4m3 keeps 3 mantissa bits (≈ 31 dB on Gaussian-like weights); a wrong scale or block order falls far below. */
    private static final double MIN_SQNR_DB = 28.0;

    @TempDir
    Path tmp;

    @ParameterizedTest(name = "{0}")
    @EnumSource(DivMode.class)
    void writesTheFineGrainedFp8PackageWithTorchaoBlockwiseNumerics(DivMode mode) {
        Path out = tmp.resolve("fp8");
        CliTesting.Result r = ao4j("quantize", CliTesting.goldenBf16(), "--recipe", "fp8-block128", "--format", "fp8",
                "--division", mode == DivMode.TRUE_DIV ? "cpu" : "cuda", "--out", out, "--quiet");
        assertEquals(0, r.exitCode(), r::toString);
        assertTrue(r.out().contains("recipe fp8-block128: " + LINEAR_WEIGHTS + " of 21 tensors quantized"),
                r::toString);
        assertEquals(List.of("ao4j_report.json", "config.json", "generation_config.json", "model.safetensors"),
                CliTesting.list(out));

        // config.json: the source config plus FineGrainedFP8Config's dict; the untied lm_head and the embedding
        // stay in high precision and are listed, since an explicit list replaces transformers' default skips
        JsonNode config = CliTesting.readJson(out.resolve("config.json"));
        JsonNode expected = CliTesting.readJson(CliTesting.goldenBf16().resolve("config.json")).deepCopy();
        ((tools.jackson.databind.node.ObjectNode) expected).set("quantization_config", CliTesting.JSON.readTree("""
                {"activation_scheme": "dynamic", "dequantize": false,
                 "modules_to_convert": null, "modules_to_not_convert": ["lm_head", "model.embed_tokens"],
                 "quant_method": "fp8",
                 "scale_fmt": "float", "weight_block_size": [128, 128]}"""));
        assertEquals(expected, config);

        Spec spec = new Spec(mode);
        Set<String> expectedNames = new HashSet<>();
        int quantized = 0;
        try (SafetensorsFile pkg = SafetensorsFile.open(out.resolve("model.safetensors"));
             SafetensorsFile src = SafetensorsFile.open(CliTesting.goldenBf16().resolve("model.safetensors"));
             Fp8PackageReader reader = Fp8PackageReader.open(out)) {
            assertEquals(Map.of("format", "pt"), pkg.metadata());
            assertEquals(src.names().stream().sorted().toList(), reader.names().stream().sorted().toList());
            for (String name : src.names()) {
                expectedNames.add(name);
                Tensor source = src.tensor(name);
                if (!reader.isQuantized(name)) {
                    assertTrue(pkg.tensor(name).contentEquals(source), name + " must stay as it was");
                    assertTrue(reader.tensor(name, DType.F32).contentEquals(source), name);
                    continue;
                }
                quantized++;
                String scaleName = name.replaceAll("\\.weight$", ".weight_scale_inv");
                expectedNames.add(scaleName);
                Tensor q = pkg.tensor(name);
                Tensor s = pkg.tensor(scaleName);
                long n = source.shape().dim(0);
                long k = source.shape().dim(1);
                assertEquals(DType.F8_E4M3, q.dtype(), name);
                assertEquals(source.shape(), q.shape(), name);
                assertEquals(DType.F32, s.dtype(), scaleName);
                assertEquals(Shape.of(n / 128, k / 128), s.shape(), scaleName);

                Float8Quantizer.Float8Data ref = spec.quantize(source);
                assertTrue(q.contentEquals(ref.qdata()), name + ": codes differ from Float8Quantizer's");
                assertTrue(s.contentEquals(ref.scale()), scaleName + ": scales differ from Float8Quantizer's");

                // weight_scale_inv is the dequantization multiplier: block amax / 448 (f32 of a bf16 quotient)
                float amax = blockAbsMax(source, 0, 0);
                float scale00 = s.data().getAtIndex(Tensor.F32, 0);
                assertEquals(amax / 448f, scale00, amax / 448f * 0x1p-7f, scaleName + "[0, 0]");

                Tensor back = reader.tensor(name, DType.F32);
                double db = Sqnr.db(source.to(DType.F32), back);
                assertTrue(db > MIN_SQNR_DB, () -> name + ": SQNR " + db + " dB <= " + MIN_SQNR_DB);
            }
            assertEquals(expectedNames, new HashSet<>(pkg.names()));
        }
        assertEquals(LINEAR_WEIGHTS, quantized);
    }

    @Test
    void keptModulesAreListedInModulesToNotConvert() {
        Path out = tmp.resolve("fp8-keep");
        CliTesting.Result r = ao4j("quantize", CliTesting.goldenBf16(), "--recipe", "fp8-block128", "--format", "fp8",
                "--modules-to-not-convert", "mlp.down_proj", "--out", out, "--quiet");
        assertEquals(0, r.exitCode(), r::toString);
        assertTrue(r.out().contains("12 of 21 tensors quantized"), r::toString);
        List<String> skip = new ArrayList<>();
        CliTesting.readJson(out.resolve("config.json")).required("quantization_config")
                .required("modules_to_not_convert").forEach(n -> skip.add(n.asString()));
        assertEquals(List.of("lm_head", "model.embed_tokens", "model.layers.0.mlp.down_proj",
                "model.layers.1.mlp.down_proj"), skip.stream().sorted().toList());
        try (SafetensorsFile pkg = SafetensorsFile.open(out.resolve("model.safetensors"))) {
            assertEquals(DType.BF16, pkg.info("model.layers.0.mlp.down_proj.weight").dtype());
            assertFalse(pkg.names().contains("model.layers.0.mlp.down_proj.weight_scale_inv"));
        }
    }

    @Test
    void torchaoFormatRefusesTheBlockwiseRecipe() {
        Path out = tmp.resolve("refused");
        CliTesting.Result r = ao4j("quantize", CliTesting.goldenBf16(), "--recipe", "fp8-block128", "--out", out);
        assertEquals(ExitCodes.USAGE, r.exitCode(), r::toString);
        assertTrue(r.err().contains("PerBlock") && r.err().contains("--recipe fp8-block128 --format fp8"),
                r::toString);
        assertFalse(Files.exists(out) || Files.exists(tmp.resolve("refused.partial")), "nothing may be written");
    }

    @Test
    void fp8FormatTakesOnlyTheBlockwiseRecipe() {
        CliTesting.Result r = ao4j("quantize", CliTesting.goldenBf16(), "--recipe", "fp8dq-row", "--format", "fp8",
                "--out", tmp.resolve("x"));
        assertEquals(ExitCodes.USAGE, r.exitCode(), r::toString);
        assertTrue(r.err().contains("stores recipe fp8-block128") && r.err().contains("or mxfp8")
                && r.err().contains("'fp8dq-row'"), r::toString);

        CliTesting.Result bad = ao4j("quantize", CliTesting.goldenBf16(), "--recipe", "fp8-block128", "--format",
                "gguf", "--out", tmp.resolve("y"));
        assertEquals(ExitCodes.USAGE, bad.exitCode(), bad::toString);
        assertTrue(bad.err().contains("--format must be torchao or fp8 but was 'gguf'"), bad::toString);
    }

    @Test
    void recipeIsTorchaosBlockwiseConfig() {
        var c = (Float8DynamicActivationFloat8WeightConfig) Recipes.config(Recipes.FP8_BLOCK128);
        assertEquals(List.of(Float8DynamicActivationFloat8WeightConfig.BLOCK_1X128,
                Float8DynamicActivationFloat8WeightConfig.BLOCK_128X128), c.granularity());
        assertEquals(new Float8MMConfig(false, false, false), c.mmConfig(), "blockwise turns fast accumulation off");
        assertEquals(DType.F8_E4M3, c.weightDtype());
        assertTrue(Recipes.NAMES.contains(Recipes.FP8_BLOCK128));
    }

    /** Partial 128x128 blocks are refused by torchao and by transformers' quantizer: such weights are kept. */
    @Test
    void weightsThatAreNotWholeBlocksAreKept() {
        WeightQuantizer w = WeightQuantizers.forConfig(Recipes.config(Recipes.FP8_BLOCK128), DivMode.CUDA_RECIPROCAL,
                Kernel.VECTOR);
        assertNull(w.skipReason(Shape.of(256, 512), DType.BF16));
        assertEquals("shape [384, 192] not a multiple of the 128x128 block", w.skipReason(Shape.of(384, 192),
                DType.BF16));
        assertEquals("shape [200, 256] not a multiple of 16 in both dims (fp8 GEMM requirement)",
                w.skipReason(Shape.of(200, 256), DType.BF16));
    }

    @Test
    void readerRefusesOtherFormats() {
        Path out = tmp.resolve("int8");
        assertEquals(0, ao4j("quantize", CliTesting.goldenBf16(), "--recipe", "int8wo", "--out", out, "--quiet")
                .exitCode());
        var e = assertThrows(UnsupportedFormatException.class, () -> Fp8PackageReader.open(out));
        assertTrue(e.getMessage().contains("\"torchao\""), e.getMessage());
        assertThrows(UnsupportedFormatException.class, () -> Fp8PackageReader.open(CliTesting.goldenBf16()));
    }

    /** Float8Quantizer with the recipe's weight granularity, for the expected codes and scales. */
    private record Spec(DivMode mode) {
        Float8Quantizer.Float8Data quantize(Tensor w) {
            return Float8Quantizer.quantize(w, Float8Spec.of(DType.F8_E4M3,
                    Float8DynamicActivationFloat8WeightConfig.BLOCK_128X128), mode, Kernel.REFERENCE);
        }
    }

    private static float blockAbsMax(Tensor t, int blockRow, int blockCol) {
        long cols = t.shape().dim(1);
        float m = 0;
        for (long i = blockRow * 128L; i < blockRow * 128L + 128; i++) {
            for (long j = blockCol * 128L; j < blockCol * 128L + 128; j++) {
                m = Math.max(m, Math.abs(t.getFloat(i * cols + j)));
            }
        }
        return m;
    }
}
