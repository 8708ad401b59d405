package dev.ao4j.cli;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.Where;
import dev.ao4j.vllm.validate.Engine;
import dev.ao4j.vllm.validate.GpuArch;
import dev.ao4j.vllm.validate.PackageValidator;
import dev.ao4j.vllm.validate.Target;
import dev.ao4j.vllm.validate.ValidationReport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "validate", mixinStandardHelpOptions = true,
        description = "Explain, layer by layer, whether vLLM or SGLang would load a package on the given GPUs, and "
                + "why not. Reads config.json, the index and the shard headers only. Exit status 0: loadable; "
                + ExitCodes.UNSUPPORTED + ": an engine would reject it.",
        footer = {"", "Examples:", "  ao4j validate out/llama-w4a16 --engine vllm --tp 2 --gpu sm90",
                "  ao4j validate out/llama-fp8 --engine vllm --engine sglang --gpu sm80"})
final class ValidateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "DIR", description = "The package directory.")
    Path dir;

    @Option(names = "--engine", paramLabel = "ENGINE", description = "vllm or sglang; repeat for both. Default: both.")
    List<String> engines = new ArrayList<>();

    @Option(names = "--tp", paramLabel = "N", description = "Tensor-parallel size (default: ${DEFAULT-VALUE}).")
    int tensorParallel = 1;

    @Option(names = "--gpu", paramLabel = "SM", description = "GPU generation: sm80 (A100), sm89 (L4/L40), sm90 "
            + "(H100/H200), sm100 (B200). Default: ${DEFAULT-VALUE}.")
    String gpu = "sm90";

    @Override
    public Integer call() {
        if (!Files.isDirectory(dir)) throw new InvalidConfigException("no such package directory", Where.file(dir));
        if (tensorParallel < 1) throw new InvalidConfigException("--tp must be >= 1 but was " + tensorParallel);
        GpuArch arch = GpuArch.parse(gpu);
        List<Engine> chosen = engines.isEmpty() ? List.of(Engine.values()) : engines.stream().map(Engine::parse)
                .distinct().toList();
        boolean allLoadable = true;
        for (Engine engine : chosen) {
            ValidationReport report = PackageValidator.validate(dir, new Target(engine, tensorParallel, arch));
            spec.commandLine().getOut().print(report.describe());
            allLoadable &= report.loadable();
        }
        return allLoadable ? 0 : ExitCodes.UNSUPPORTED;
    }
}
