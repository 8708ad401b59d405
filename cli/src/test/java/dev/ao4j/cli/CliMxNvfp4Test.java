package dev.ao4j.cli;

import static dev.ao4j.cli.CliTesting.ao4j;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.Where;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.mx.MxElement;
import dev.ao4j.quant.mx.MxQuantizer;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.nvfp4.Nvfp4Quantizer;
import dev.ao4j.quant.pipeline.Sqnr;
import dev.ao4j.quant.qtensor.MXTensor;
import dev.ao4j.quant.qtensor.NVFP4Tensor;
import dev.ao4j.quant.qtensor.QuantizedTensor;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.safetensors.SafetensorsFile;
import dev.ao4j.transformers.torchao.StateDictEntry;
import dev.ao4j.transformers.torchao.TorchAoSafetensorsLayout;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.JsonNode;

/**
 * The MX and NVFP4 recipes end to end on the golden bf16 tiny Llama: {@code ao4j quantize} writes a torchao
 * package, which reads back through {@link TorchAoSafetensorsLayout#unflatten} into MXTensor / NVFP4Tensor records
 * whose dequantized weights are close to the source (no torchao-made package of these formats exists to compare
 * bytes with; the per-tensor numerics are bit-exact to torchao's golden vectors in shared-quant, and the
 * metadata to torchao's serialization files in transformers-config).
 */
class CliMxNvfp4Test {
    /** 2 layers x (q, k, v, o, gate, up, down); every in-features (256, 512) is a multiple of 32. */
    private static final int LINEAR_WEIGHTS = 14;

    @TempDir
    static Path tmp;

    /**
     * Recipe, subclass, config type and the lowest per-weight SQNR accepted. The bounds sit 2-2.5 dB under what
     * these formats give on this model's weights (MXFP8 ≈ 31.5 dB, MXFP4 ≈ 18.5 dB, NVFP4 with its finer e4m3
     * block scales ≈ 20.5 dB), so a wrong scale, element format or nibble order fails.
     */
    static Stream<Arguments> recipes() {
        return Stream.of(
                Arguments.of("mxfp8", "MXTensor", "MXDynamicActivationMXWeightConfig", 29.0),
                Arguments.of("mxfp4", "MXTensor", "MXDynamicActivationMXWeightConfig", 16.0),
                Arguments.of("nvfp4", "NVFP4Tensor", "NVFP4WeightOnlyConfig", 18.5));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("recipes")
    void packageRoundTripsAndInspects(String recipe, String subclass, String configType, double minSqnr) {
        Path out = tmp.resolve(recipe);
        CliTesting.Result r = ao4j("quantize", CliTesting.goldenBf16(), "--recipe", recipe, "--out", out, "--quiet");
        assertEquals(0, r.exitCode(), r::toString);
        assertTrue(r.out().contains("recipe " + recipe + ": " + LINEAR_WEIGHTS + " of 21 tensors quantized"),
                r::toString);

        JsonNode qc = CliTesting.readJson(out.resolve("config.json")).required("quantization_config");
        assertEquals("torchao", qc.required("quant_method").asString());
        JsonNode cfg = qc.required("quant_type").required("default");
        assertEquals(configType, cfg.required("_type").asString());
        assertEquals(1, cfg.required("_version").asInt(), "prototype configs are version 1 in torchao 0.18");

        int quantized = 0;
        try (SafetensorsFile pkg = SafetensorsFile.open(out.resolve("model.safetensors"));
             SafetensorsFile src = SafetensorsFile.open(CliTesting.goldenBf16().resolve("model.safetensors"))) {
            assertTrue(TorchAoSafetensorsLayout.isTorchAoMetadata(pkg.metadata()));
            List<StateDictEntry> entries = TorchAoSafetensorsLayout.unflatten(pkg.metadata(),
                    n -> pkg.contains(n) ? pkg.tensor(n) : null, Where.file(pkg.path()));
            assertEquals(21, entries.size());
            for (StateDictEntry e : entries) {
                Tensor source = src.tensor(e.key());
                if (e instanceof StateDictEntry.Quantized q) {
                    quantized++;
                    QuantizedTensor t = q.tensor();
                    assertEquals(subclass, t.typeName(), e.key());
                    assertEquals(source.shape(), t.shape(), e.key());
                    assertEquals(DType.BF16, t.originalDtype(), e.key());
                    Tensor back = dequantize(recipe, t);
                    double db = Sqnr.db(source.to(DType.F32), back);
                    assertTrue(db > minSqnr, () -> e.key() + ": SQNR " + db + " dB <= " + minSqnr);
                    // torchao's linear weights carry swizzled scales, and the metadata reproduces the record
                    assertEquals(pkg.metadata().get(e.key()), TorchAoSafetensorsLayout.metadataJson(t), e.key());
                } else {
                    var p = assertInstanceOf(StateDictEntry.Plain.class, e);
                    assertTrue(p.tensor().contentEquals(source), e.key() + " must stay as it was");
                }
            }
        }
        assertEquals(LINEAR_WEIGHTS, quantized);

        CliTesting.Result i = ao4j("inspect", out);
        assertEquals(0, i.exitCode(), i::toString);
        assertTrue(i.out().contains(LINEAR_WEIGHTS + " x " + subclass), i.out());
        assertTrue(Pattern.compile("(?m)^  model\\.layers\\.0\\.mlp\\.down_proj\\.weight +" + subclass + " \\{")
                .matcher(i.out()).find(), i.out());
    }

    private static Tensor dequantize(String recipe, QuantizedTensor t) {
        return switch (t) {
            case MXTensor m -> {
                assertEquals(recipe.equals("mxfp4") ? MxElement.FP4_E2M1 : MxElement.FP8_E4M3, m.element());
                assertTrue(m.swizzledScales());
                yield MxQuantizer.dequantize(m.numerics(), DType.F32, DivMode.CUDA_RECIPROCAL);
            }
            case NVFP4Tensor n -> {
                assertTrue(n.swizzledScales());
                assertEquals(Tensor.byteSize(DType.F32, dev.ao4j.quant.tensor.Shape.of()),
                        n.perTensorScale().byteSize(), "per-tensor scale is an f32 scalar");
                yield Nvfp4Quantizer.dequantize(n.numerics(), DType.F32, DivMode.CUDA_RECIPROCAL);
            }
            default -> throw new AssertionError("unexpected " + t.typeName());
        };
    }
}
