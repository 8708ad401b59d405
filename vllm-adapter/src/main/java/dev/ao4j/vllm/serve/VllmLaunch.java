package dev.ao4j.vllm.serve;

import dev.ao4j.quant.config.QuantConfig;
import dev.ao4j.transformers.json.PyJson;
import dev.ao4j.transformers.torchao.TorchAoConfigCodec;
import dev.ao4j.vllm.validate.Engine;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/** How {@code vllm serve} is started on our packages, and on a bf16 model with torchao applied online. */
public final class VllmLaunch {
    private VllmLaunch() {}

    /**
     * A pre-quantized package: vLLM reads the method from config.json's {@code quantization_config}, so no
     * {@code --quantization} flag is needed (a mismatching one makes vLLM refuse to start).
     */
    public static LaunchCommand forPackage(String modelDir, int tensorParallel) {
        return command(modelDir, tensorParallel, List.of());
    }

    /**
     * A bf16/fp16 checkpoint that vLLM quantizes while loading with torchao's {@code quantize_}: the config goes in
     * as {@code --hf-overrides {"quantization_config_dict_json": "<config_to_dict JSON>"}} next to
     * {@code --quantization torchao}.
     */
    public static LaunchCommand onlineTorchAo(String modelDir, int tensorParallel, QuantConfig config) {
        ObjectNode overrides = JsonNodeFactory.instance.objectNode();
        overrides.put("quantization_config_dict_json", PyJson.dumps(TorchAoConfigCodec.toDict(config)));
        return command(modelDir, tensorParallel, List.of("--quantization", "torchao", "--hf-overrides",
                PyJson.dumps(overrides)));
    }

    private static LaunchCommand command(String modelDir, int tensorParallel, List<String> extra) {
        if (tensorParallel < 1) throw new IllegalArgumentException("tensor parallel size must be >= 1: " + tensorParallel);
        List<String> argv = new ArrayList<>(List.of("vllm", "serve", modelDir));
        if (tensorParallel > 1) argv.addAll(List.of("--tensor-parallel-size", Integer.toString(tensorParallel)));
        argv.addAll(extra);
        return new LaunchCommand(Engine.VLLM, argv);
    }
}
