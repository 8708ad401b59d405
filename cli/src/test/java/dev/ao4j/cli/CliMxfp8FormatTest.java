package dev.ao4j.cli;

import static dev.ao4j.cli.CliTesting.ao4j;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.mx.MxQuantizer;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.pipeline.Recipes;
import dev.ao4j.quant.pipeline.Sqnr;
import dev.ao4j.quant.pipeline.WeightQuantizers;
import dev.ao4j.quant.qtensor.MXTensor;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.safetensors.SafetensorsFile;
import dev.ao4j.transformers.pack.Fp8PackageReader;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * Recipe {@code mxfp8 --format fp8}: transformers' own MXFP8 checkpoint ({@code quant_method "mxfp8"}, read by its
 * FineGrainedFP8 loader): torchao's MX codes as {@code weight} and the unswizzled E8M0 bytes as a U8
 * {@code weight_scale_inv [N, K/32]}.
 */
class CliMxfp8FormatTest {
    @TempDir
    Path tmp;

    @Test
    void writesTorchaosMxNumericsInTransformersMxfp8Layout() {
        Path out = tmp.resolve("mxfp8");
        CliTesting.Result r = ao4j("quantize", CliTesting.goldenBf16(), "--recipe", "mxfp8", "--format", "fp8",
                "--out", out, "--quiet");
        assertEquals(0, r.exitCode(), r::toString);
        JsonNode q = CliTesting.readJson(out.resolve("config.json")).get("quantization_config");
        assertEquals(CliTesting.JSON.readTree("""
                {"quant_method": "mxfp8", "modules_to_not_convert": ["lm_head", "model.embed_tokens"],
                 "modules_to_convert": null, "activation_scheme": "dynamic", "weight_block_size": [1, 32],
                 "dequantize": false, "scale_fmt": "float"}"""), q);

        var quantizer = WeightQuantizers.forConfig(Recipes.config("mxfp8"), DivMode.CUDA_RECIPROCAL, Kernel.REFERENCE);
        int quantized = 0;
        try (SafetensorsFile pkg = SafetensorsFile.open(out.resolve("model.safetensors"));
             SafetensorsFile src = SafetensorsFile.open(CliTesting.goldenBf16().resolve("model.safetensors"));
             Fp8PackageReader reader = Fp8PackageReader.open(out)) {
            for (String name : src.names()) {
                if (!reader.isQuantized(name)) continue;
                quantized++;
                Tensor source = src.tensor(name);
                MXTensor expected = (MXTensor) quantizer.quantize(source);
                Tensor codes = pkg.tensor(name);
                Tensor scales = pkg.tensor(name.replaceAll("\\.weight$", ".weight_scale_inv"));
                assertEquals(DType.F8_E4M3, codes.dtype(), name);
                assertTrue(codes.contentEquals(expected.qdata()), name + ": codes differ from torchao's MX codes");
                assertEquals(DType.U8, scales.dtype(), name);
                assertEquals(Shape.of(source.shape().dim(0), source.shape().dim(1) / 32), scales.shape(), name);
                Tensor plain = MxQuantizer.plainScale(expected.numerics());
                assertTrue(scales.data().mismatch(plain.data()) == -1, name + ": scale bytes differ from E8M0");

                // transformers' unpacking, 2^(byte - 127), gives exactly torchao's MX dequantization
                Tensor back = reader.tensor(name, DType.F32);
                Tensor mx = MxQuantizer.dequantize(expected.numerics(), DType.F32, DivMode.CUDA_RECIPROCAL);
                assertTrue(back.contentEquals(mx), name + ": dequantized weights differ");
                assertTrue(Sqnr.db(source.to(DType.F32), back) > 28, name);
            }
        }
        assertEquals(14, quantized);
    }
}
