package dev.ao4j.sglang;

import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.vllm.serve.LaunchCommand;
import dev.ao4j.vllm.validate.Engine;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How {@code python -m sglang.launch_server} is started on our packages, and on a bf16 model with SGLang's online
 * torchao path ({@code --torchao-config}), which quantizes every module whose name contains {@code proj} after
 * loading. SGLang cannot load saved torchao checkpoints, so for SGLang a torchao recipe is a launch option, not a
 * package.
 */
public final class SglangLaunch {
    private static final Pattern INT4WO = Pattern.compile("int4wo-(32|64|128|256)");
    /** Our recipe names whose SGLang {@code --torchao-config} string is spelled differently. */
    private static final Map<String, String> RENAMED = Map.of(
            "fp8dq-row", "fp8dq-per_row",
            "fp8dq-tensor", "fp8dq-per_tensor");
    private static final List<String> SAME_NAME = List.of("int8wo", "int8dq", "fp8wo");

    private SglangLaunch() {}

    /** A pre-quantized package: SGLang reads the method from config.json, like vLLM. */
    public static LaunchCommand forPackage(String modelDir, int tensorParallel) {
        return command(modelDir, tensorParallel, List.of());
    }

    /**
     * A bf16/fp16 checkpoint quantized by SGLang while loading.
     *
     * @param recipe one of our recipe names that SGLang's online torchao path offers ({@link #torchAoConfig})
     * @throws UnsupportedFormatException when SGLang has no online form of {@code recipe}
     */
    public static LaunchCommand onlineTorchAo(String modelDir, int tensorParallel, String recipe) {
        return command(modelDir, tensorParallel, List.of("--torchao-config", torchAoConfig(recipe)));
    }

    /**
     * SGLang's {@code --torchao-config} string for one of our recipe names: {@code int8wo}, {@code int8dq},
     * {@code int4wo-32|64|128|256}, {@code fp8wo}, {@code fp8dq-row} → {@code fp8dq-per_row}, {@code fp8dq-tensor}
     * → {@code fp8dq-per_tensor}. The fp8 ones need an sm89+ GPU.
     *
     * @throws UnsupportedFormatException for any other recipe, naming the ones SGLang has
     */
    public static String torchAoConfig(String recipe) {
        if (SAME_NAME.contains(recipe)) return recipe;
        String renamed = RENAMED.get(recipe);
        if (renamed != null) return renamed;
        Matcher m = INT4WO.matcher(recipe);
        if (m.matches()) return recipe;
        throw new UnsupportedFormatException("SGLang's online torchao path (--torchao-config) has no form of recipe '"
                + recipe + "'; it offers int8wo, int8dq, int4wo-32|64|128|256, fp8wo, fp8dq-row, fp8dq-tensor. "
                + "Write a package SGLang loads instead (--target sglang with --format compressed-tensors|gptq|awq|fp8)");
    }

    /** Whether {@code recipe}'s online form needs fp8 tensor cores (sm89 or newer). */
    public static boolean needsFp8Gpu(String recipe) {
        return recipe.startsWith("fp8");
    }

    private static LaunchCommand command(String modelDir, int tensorParallel, List<String> extra) {
        if (tensorParallel < 1) throw new IllegalArgumentException("tensor parallel size must be >= 1: " + tensorParallel);
        List<String> argv = new ArrayList<>(List.of("python", "-m", "sglang.launch_server", "--model-path", modelDir));
        if (tensorParallel > 1) argv.addAll(List.of("--tp", Integer.toString(tensorParallel)));
        argv.addAll(extra);
        return new LaunchCommand(Engine.SGLANG, argv);
    }
}
