package dev.ao4j.cli;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.Where;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.safetensors.SafetensorsFile;
import dev.ao4j.safetensors.ShardedCheckpoint;
import dev.ao4j.safetensors.TensorInfo;
import dev.ao4j.transformers.ModelConfig;
import dev.ao4j.transformers.json.PyJson;
import dev.ao4j.transformers.torchao.TorchAoSafetensorsLayout;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import tools.jackson.databind.JsonNode;

@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Show a checkpoint's tensors, dtypes, shapes, torchao tensor subclasses, quantization config "
                + "and size.",
        footer = {"", "Examples:", "  ao4j inspect out/tiny-int4", "  ao4j inspect model-00001-of-00002.safetensors"})
final class InspectCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "FILE_OR_DIR",
            description = "A model directory, a .safetensors file or a model.safetensors.index.json.")
    Path path;

    @Option(names = "--no-tensors", description = "Only the summary, not one line per tensor.")
    boolean noTensors;

    @Override
    public Integer call() {
        if (!Files.exists(path)) throw new InvalidConfigException("no such file or directory", Where.file(path));
        PrintWriter out = spec.commandLine().getOut();
        Path dir = Files.isDirectory(path) ? path : path.toAbsolutePath().getParent();
        Path configFile = dir.resolve(ModelConfig.FILE_NAME);
        if (Files.isRegularFile(configFile)) printConfig(out, ModelConfig.read(configFile));
        try (ShardedCheckpoint ck = ShardedCheckpoint.open(path)) {
            out.printf("checkpoint: %s%n", ck.source());
            for (SafetensorsFile f : ck.shards()) {
                out.printf("  %s: %d tensors, %s%n", f.path().getFileName(), f.names().size(),
                        Sizes.human(f.dataSize()));
            }
            Map<DType, long[]> byDtype = new EnumMap<>(DType.class);
            for (String n : ck.names()) {
                TensorInfo i = ck.info(n);
                long[] acc = byDtype.computeIfAbsent(i.dtype(), d -> new long[2]);
                acc[0]++;
                acc[1] += i.byteSize();
            }
            out.printf("tensors: %d, %s%n", ck.names().size(), Sizes.human(ck.dataSize()));
            byDtype.forEach((d, acc) -> out.printf("  %-8s %6d tensors  %s%n", d.safetensorsName(), acc[0],
                    Sizes.human(acc[1])));
            Map<String, String> md = ck.metadata();
            boolean torchao = TorchAoSafetensorsLayout.isTorchAoMetadata(md);
            if (torchao) printTorchAo(out, md);
            if (!noTensors) {
                out.println("tensor list:");
                for (String n : ck.names()) {
                    TensorInfo i = ck.info(n);
                    out.printf(Locale.ROOT, "  %-60s %-8s %-20s %s%n", n, i.dtype().safetensorsName(), i.shape(),
                            Sizes.human(i.byteSize()));
                }
            }
        }
        return 0;
    }

    private static void printConfig(PrintWriter out, ModelConfig c) {
        out.printf("model: %s %s, dtype %s%n", c.modelType().orElse("?"), c.architectures(),
                c.dtype().map(DType::torchName).orElse("?"));
        c.quantizationConfigJson().ifPresentOrElse(q -> {
            JsonNode method = q.get("quant_method");
            out.printf("quantization_config: quant_method=%s%n", method == null ? "?" : method.asString());
            JsonNode def = q.path("quant_type").path("default");
            if (!def.isMissingNode()) {
                out.printf("  quant_type: %s%n", PyJson.dumps(def));
            }
            JsonNode skip = q.get("modules_to_not_convert");
            if (skip != null && !skip.isNull()) out.printf("  modules_to_not_convert: %s%n", PyJson.dumps(skip));
        }, () -> out.println("quantization_config: none (not quantized)"));
    }

    /** One line per torchao state-dict entry that is a tensor subclass. */
    private static void printTorchAo(PrintWriter out, Map<String, String> md) {
        Map<String, Integer> counts = new LinkedHashMap<>();
        List<String> keys = PyJson.parse(md.get(TorchAoSafetensorsLayout.TENSOR_NAMES_KEY), Where.NOWHERE)
                .valueStream().map(JsonNode::asString).toList();
        out.println("torchao state dict (" + keys.size() + " entries):");
        for (String k : keys) {
            JsonNode e = PyJson.parse(md.get(k), Where.NOWHERE);
            String type = e.path("_type").asString();
            counts.merge(type, 1, Integer::sum);
            if (!"Tensor".equals(type)) {
                out.printf("  %-60s %s %s%n", k, type, PyJson.dumps(e.path("_data")));
            }
        }
        counts.forEach((t, n) -> out.printf("  %d x %s%n", n, t));
    }
}
