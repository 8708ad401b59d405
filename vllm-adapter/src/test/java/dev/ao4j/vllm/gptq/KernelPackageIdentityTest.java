package dev.ao4j.vllm.gptq;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.pipeline.QuantReport;
import dev.ao4j.quant.pipeline.TensorResult;
import dev.ao4j.vllm.awq.AwqOptions;
import dev.ao4j.vllm.awq.AwqPackager;
import dev.ao4j.vllm.compressed.CompressedTensorsPackager;
import dev.ao4j.vllm.compressed.CompressedTensorsScheme;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.BiFunction;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Whole packages from the bundled tiny Llama with {@link Kernel#REFERENCE} and {@link Kernel#VECTOR}: every file
 * byte for byte (shards, index, config.json, tokenizer files; the report only differs in its timings) and every
 * weight's SQNR as the same double, for each GPTQ, AWQ and compressed-tensors scheme.
 */
class KernelPackageIdentityTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"gptq:4:128", "gptq:4:32", "gptq:8:-1", "gptq:8:64", "awq:4:128", "awq:4:32", "awq:4:-1",
            "ct:w4a16", "ct:w4a16-g32-asym", "ct:w4a16-channel", "ct:w8a16-g64-asym", "ct:w8a8", "ct:fp8",
            "ct:fp8-dynamic", "ct:fp8-block", "ct:nvfp4a16", "ct:mxfp4a16"})
    void sameFilesAndErrors(String what) throws IOException {
        String[] f = what.split(":");
        BiFunction<Kernel, Path, QuantReport> write = switch (f[0]) {
            case "gptq" -> (k, out) -> GptqPackager.write(PackageFixtures.tinyLlama(), out, GptqOptions.defaults()
                    .withBits(Integer.parseInt(f[1])).withGroupSize(Integer.parseInt(f[2])).withKernel(k));
            case "awq" -> (k, out) -> AwqPackager.write(PackageFixtures.tinyLlama(), out, AwqOptions.defaults()
                    .withGroupSize(Integer.parseInt(f[2])).withKernel(k));
            default -> (k, out) -> CompressedTensorsPackager.write(PackageFixtures.tinyLlama(), out,
                    CompressedTensorsPackager.Options.of(CompressedTensorsScheme.parse(f[1])).withKernel(k));
        };
        Path ref = tmp.resolve("ref");
        Path vec = tmp.resolve("vec");
        QuantReport a = write.apply(Kernel.REFERENCE, ref);
        QuantReport b = write.apply(Kernel.VECTOR, vec);
        List<Path> files = list(ref);
        assertEquals(files, list(vec), what);
        for (Path p : files) {
            if (p.toString().equals("ao4j_report.json")) continue;
            assertArrayEquals(Files.readAllBytes(ref.resolve(p)), Files.readAllBytes(vec.resolve(p)), what + " " + p);
        }
        assertEquals(a.tensors().size(), b.tensors().size());
        int quantized = 0;
        for (int i = 0; i < a.tensors().size(); i++) {
            TensorResult x = a.tensors().get(i);
            TensorResult y = b.tensors().get(i);
            assertEquals(x.name(), y.name());
            assertEquals(x.outputBytes(), y.outputBytes(), x.name());
            assertEquals(Double.doubleToLongBits(x.sqnrDb()), Double.doubleToLongBits(y.sqnrDb()), x.name());
            if (x.quantized()) quantized++;
        }
        assertEquals(true, quantized > 0, what + ": nothing was quantized");
    }

    private static List<Path> list(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(dir::relativize).sorted().toList();
        }
    }
}
