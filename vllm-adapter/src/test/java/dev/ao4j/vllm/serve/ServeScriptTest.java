package dev.ao4j.vllm.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.config.Int4WeightOnlyConfig;
import dev.ao4j.vllm.validate.Engine;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs the generated serve.sh with stand-in engine programs that print the arguments they were given. */
class ServeScriptTest {
    @TempDir
    Path tmp;

    private Path fakeBin() throws IOException {
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        for (String program : List.of("vllm", "python")) {
            Path p = bin.resolve(program);
            Files.writeString(p, "#!/usr/bin/env bash\necho \"" + program + "\"\nfor a in \"$@\"; do echo \"[$a]\"; done\n");
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        return bin;
    }

    private record Run(int exit, List<String> stdout, String stderr) {}

    private Run run(Path script, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("bash", script.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("PATH", fakeBin() + ":" + System.getenv("PATH"));
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Run(p.waitFor(), out.lines().toList(), err);
    }

    @Test
    void eachEngineGetsItsExactArgumentsAndTheScriptsOwnDirectory() throws Exception {
        Path pkg = Files.createDirectories(tmp.resolve("my package"));
        String dir = LaunchCommand.SCRIPT_MODEL_DIR;
        ServeScript script = new ServeScript(List.of(VllmLaunch.forPackage(dir, 2),
                new LaunchCommand(Engine.SGLANG, List.of("python", "-m", "sglang.launch_server", "--model-path", dir))),
                Map.of());
        script.writeTo(pkg);
        Path file = pkg.resolve(ServeScript.FILE_NAME);
        assertTrue(Files.isExecutable(file));
        String real = pkg.toRealPath().toString();

        Run vllm = run(file, "vllm", "--max-model-len", "4096");
        assertEquals(0, vllm.exit(), vllm.stderr());
        assertEquals(List.of("vllm", "[serve]", "[" + real + "]", "[--tensor-parallel-size]", "[2]",
                "[--max-model-len]", "[4096]"), vllm.stdout());

        Run defaultEngine = run(file);
        assertEquals("vllm", defaultEngine.stdout().getFirst());

        Run sglang = run(file, "sglang");
        assertEquals(List.of("python", "[-m]", "[sglang.launch_server]", "[--model-path]", "[" + real + "]"),
                sglang.stdout());

        Run unknown = run(file, "tgi");
        assertEquals(2, unknown.exit());
        assertTrue(unknown.stderr().contains("usage:"), unknown.stderr());
    }

    @Test
    void aRefusedEngineExplainsWhyInsteadOfStarting() throws Exception {
        Path pkg = Files.createDirectories(tmp.resolve("pkg"));
        new ServeScript(List.of(VllmLaunch.forPackage(LaunchCommand.SCRIPT_MODEL_DIR, 1)),
                Map.of(Engine.SGLANG, "asymmetric W4A16 compressed-tensors isn't supported; it's vLLM only"))
                .writeTo(pkg);
        Run r = run(pkg.resolve(ServeScript.FILE_NAME), "sglang");
        assertEquals(1, r.exit());
        assertEquals(List.of(), r.stdout());
        assertEquals("SGLang cannot load this package: asymmetric W4A16 compressed-tensors isn't supported; "
                + "it's vLLM only\n", r.stderr());
    }

    @Test
    void onlineTorchAoPassesConfigToDictThroughHfOverrides() throws Exception {
        Path pkg = Files.createDirectories(tmp.resolve("bf16"));
        LaunchCommand online = VllmLaunch.onlineTorchAo(LaunchCommand.SCRIPT_MODEL_DIR, 1,
                Int4WeightOnlyConfig.defaults().withGroupSize(64));
        new ServeScript(List.of(online), Map.of()).writeTo(pkg);
        Run r = run(pkg.resolve(ServeScript.FILE_NAME), "vllm");
        assertEquals(0, r.exit(), r.stderr());
        assertEquals(List.of("[--quantization]", "[torchao]", "[--hf-overrides]"), r.stdout().subList(3, 6));
        String overrides = r.stdout().get(6);
        assertTrue(overrides.startsWith("[{\"quantization_config_dict_json\": \"{\\\"_type\\\": "
                + "\\\"Int4WeightOnlyConfig\\\", \\\"_version\\\": 2, \\\"_data\\\": {\\\"group_size\\\": 64"), overrides);
    }

    @Test
    void anEngineCannotBeBothLaunchedAndRefused() {
        assertThrows(IllegalArgumentException.class, () -> new ServeScript(
                List.of(VllmLaunch.forPackage("d", 1)), Map.of(Engine.VLLM, "no")));
    }

    @Test
    void shellQuotingKeepsEveryArgumentWhole() {
        LaunchCommand c = new LaunchCommand(Engine.VLLM, List.of("vllm", "serve", "/models/it's here", "--x", "{\"a\": 1}"));
        assertEquals("vllm serve '/models/it'\\''s here' --x '{\"a\": 1}'", c.shellLine());
    }
}
