package dev.ao4j.vllm.validate;

import dev.ao4j.quant.Ao4jException;
import dev.ao4j.transformers.json.PyJson;
import dev.ao4j.transformers.pack.PackageCheck;
import dev.ao4j.vllm.validate.LinearLayout.Linear;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import tools.jackson.databind.JsonNode;

/**
 * Explains, layer by layer, whether vLLM or SGLang would load a quantized Hugging Face package on a given GPU and
 * tensor-parallel size, and if not, why. It reads config.json (its {@code quantization_config}), the safetensors
 * index and shard headers, and the file list; it never reads weight data (only scalar-sized tensors such as global
 * scales and {@code weight_shape}).
 *
 * <p>The rules restate the engines' own checks (method detection, scheme selection, Marlin tile and group rules,
 * FP8 block partitioning, architecture gates, tensor names/dtypes/shapes, fused-layer consistency) and the package
 * conventions both engines rely on; each finding carries a rule id from {@link Rules}.
 */
public final class PackageValidator {
    private static final Set<String> VLLM_METHODS = Set.of("awq", "awq_marlin", "auto_awq", "gptq", "gptq_marlin",
            "auto_gptq", "fp8", "modelopt", "modelopt_fp4", "modelopt_mxfp8", "mxfp8", "modelopt_mixed", "humming",
            "compressed-tensors", "experts_int8", "quark", "moe_wna16", "torchao", "inc", "auto-round", "mxfp4",
            "gpt_oss_mxfp4", "deepseek_v4_fp8", "fbgemm_fp8", "fp_quant");
    private static final Set<String> VLLM_DEPRECATED = Set.of("fbgemm_fp8", "fp_quant");
    private static final Set<String> VLLM_REMOVED = Set.of("aqlm", "deepspeedfp", "tpu_int8", "marlin",
            "gptq_marlin_24", "bitblas", "gptq_bitblas", "qqq", "hqq", "ipex", "neuron_quant", "ptpc_fp8",
            "deepgemm_fp8", "petit_nvfp4", "cpu_awq");
    private static final Set<String> VLLM_PLUGINS = Set.of("bitsandbytes", "gguf");
    private static final Set<String> SGLANG_METHODS = Set.of("fp8", "mxfp8", "blockwise_int8", "modelopt",
            "modelopt_fp8", "modelopt_fp4", "modelopt_mixed", "w8a8_int8", "w8a8_fp8", "awq", "awq_marlin",
            "bitsandbytes", "gguf", "gptq", "gptq_marlin", "moe_wna16", "compressed-tensors", "w4afp8",
            "petit_nvfp4", "quark", "quark_mxfp4", "auto-round", "auto-round-int8", "modelslim", "quark_int4fp8_moe",
            "humming", "mxfp_w4a8", "mxfp4");
    private static final List<String> SIDE_FILES = List.of("quantize_config.json", "quant_config.json",
            "hf_quant_config.json");

    private PackageValidator() {}

    /** Validates the package in {@code packageDir} for {@code target}; never throws for problems in the package. */
    public static ValidationReport validate(Path packageDir, Target target) {
        Objects.requireNonNull(packageDir, "packageDir");
        Objects.requireNonNull(target, "target");
        Collector out = new Collector();
        if (!Files.isDirectory(packageDir)) {
            out.error(Rules.CONFIG, "", packageDir + " is not a directory");
            return new ValidationReport(packageDir, target, out.findings());
        }
        PackageContents pkg = PackageContents.read(packageDir, out);
        LinearLayout layout = LinearLayout.of(pkg.tensors);
        if (pkg.config != null) {
            checkTiedEmbeddings(pkg, target, out);
            String method = detect(pkg, layout, target, out);
            checkDtypeKeys(pkg, method, target, out);
        }
        return new ValidationReport(packageDir, target, out.findings());
    }

    /** A {@link PackageCheck} for {@code PackageOutput.commit}: validates and throws when the package is rejected. */
    public static PackageCheck asCheck(Target target) {
        Objects.requireNonNull(target, "target");
        return dir -> validate(dir, target).throwIfRejected();
    }

    /** Runs detection and the method's rules; returns the normalised quant_method, or null when unquantized. */
    private static String detect(PackageContents pkg, LinearLayout layout, Target target, Collector out) {
        Engine engine = target.engine();
        JsonNode q = pkg.quantConfig();
        String source = "config.json quantization_config";
        if (pkg.config.get("compression_config") != null) {
            out.warn(Rules.LEGACY_CONFIG_KEY, "", "config.json has the legacy 'compression_config' key"
                    + (pkg.config.get("quantization_config") != null ? " next to 'quantization_config'" : "")
                    + "; write the quantization config only as 'quantization_config'");
            if (pkg.config.get("quantization_config") == null) source = "config.json compression_config";
        }
        if (q == null) {
            List<String> sides = new ArrayList<>();
            for (String s : SIDE_FILES) if (pkg.files.contains(s)) sides.add(s);
            if (sides.size() > 1) {
                out.error(Rules.SIDE_FILES, "", "config.json has no quantization_config and the package has several "
                        + "quantization side files (" + String.join(", ", sides) + "); " + engine.displayName()
                        + " needs exactly one. Put the config into config.json as quantization_config");
                return null;
            }
            if (sides.size() == 1) {
                try {
                    q = PyJson.read(pkg.dir.resolve(sides.getFirst()));
                    source = sides.getFirst();
                    if (sides.getFirst().equals("hf_quant_config.json")) {
                        JsonNode prod = q.get("producer");
                        q = q.get("quantization");
                        if (prod == null || prod.get("name") == null || !"modelopt".equals(prod.get("name").asString())
                                || q == null) {
                            out.error(Rules.CONFIG_FIELD, sides.getFirst(), "hf_quant_config.json needs "
                                    + "\"producer\": {\"name\": \"modelopt\"} and a \"quantization\" object");
                            return null;
                        }
                        return finishDetect("modelopt", source, pkg, layout, q, target, out);
                    }
                } catch (Ao4jException e) {
                    out.error(Rules.CONFIG_FIELD, sides.getFirst(), "cannot read " + sides.getFirst() + ": "
                            + e.originalMessage());
                    return null;
                }
            }
        }
        if (q == null) {
            List<String> quantized = layout.linears.values().stream().filter(l -> !TensorChecks.isPlain(l))
                    .map(Linear::name).toList();
            if (quantized.isEmpty()) {
                out.info(Rules.METHOD, "", "no quantization config: " + engine.displayName()
                        + " loads this as an unquantized model");
            } else {
                out.error(Rules.MISSING_QUANT_CONFIG, "", "layers such as " + quantized.getFirst() + " hold "
                        + "quantized tensors but config.json has no quantization_config (nor a side file); "
                        + engine.displayName() + " would build unquantized layers and fail on the extra tensors. "
                        + "Write quantization_config");
            }
            return null;
        }
        if (!q.isObject() || q.get("quant_method") == null || !q.get("quant_method").isString()) {
            out.error(Rules.CONFIG_FIELD, "", source + " has no string 'quant_method'; " + engine.displayName()
                    + " picks the loader by it");
            return null;
        }
        String method = q.get("quant_method").asString().toLowerCase(Locale.ROOT);
        if (method.equals("compressed_tensors")) method = "compressed-tensors";
        return finishDetect(method, source, pkg, layout, q, target, out);
    }

    private static String finishDetect(String method, String source, PackageContents pkg, LinearLayout layout,
                                       JsonNode q, Target target, Collector out) {
        Engine engine = target.engine();
        if (engine == Engine.VLLM) {
            if (VLLM_REMOVED.contains(method)) {
                out.error(Rules.REMOVED_METHOD, "", "quant_method '" + method + "' was removed from vLLM; re-export "
                        + "as compressed-tensors, GPTQ (symmetric) or AWQ");
                return method;
            }
            if (VLLM_PLUGINS.contains(method)) {
                out.warn(Rules.DEPRECATED_METHOD, "", "quant_method '" + method + "' moved out of vLLM into a "
                        + "plugin package (vllm-" + (method.equals("gguf") ? "gguf" : "bnb") + "-plugin); it loads "
                        + "only with that plugin installed");
                return method;
            }
            if (!VLLM_METHODS.contains(method)) {
                out.error(Rules.UNKNOWN_METHOD, "", "quant_method '" + method + "' (from " + source + ") is not a "
                        + "vLLM quantization method; vLLM refuses to start");
                return method;
            }
            if (VLLM_DEPRECATED.contains(method)) {
                out.warn(Rules.DEPRECATED_METHOD, "", "quant_method '" + method + "' is deprecated in vLLM and "
                        + "loads only with --allow-deprecated-quantization; prefer compressed-tensors");
            }
        } else {
            if (method.equals("torchao")) {
                out.error(Rules.SGLANG_UNSUPPORTED, "", "SGLang cannot load saved torchao checkpoints (torchao is "
                        + "online only there: --torchao-config on a bf16 model; sgl-project/sglang#5763); ship "
                        + "compressed-tensors, or serve the bf16 model with --torchao-config");
                return method;
            }
            if (!SGLANG_METHODS.contains(method)) {
                out.error(Rules.UNKNOWN_METHOD, "", "quant_method '" + method + "' (from " + source + ") is not an "
                        + "SGLang quantization method; SGLang refuses to start");
                return method;
            }
        }
        out.info(Rules.METHOD, "", engine.displayName() + " loads this package with quant_method '" + method
                + "' (from " + source + "); no --quantization flag is needed");
        Partitions parts = new Partitions(target.tensorParallel(), pkg);
        switch (method) {
            case "compressed-tensors" -> CompressedTensorsRules.check(q, pkg, layout, parts, target, out);
            case "gptq", "gptq_marlin", "auto_gptq" -> GptqAwqRules.checkGptq(q, pkg, layout, parts, target, out);
            case "awq", "awq_marlin", "auto_awq" -> GptqAwqRules.checkAwq(q, pkg, layout, parts, target, out);
            case "fp8" -> Fp8Rules.check(q, pkg, layout, parts, target, out);
            case "torchao" -> TorchAoRules.check(q, pkg, layout, target, out);
            case "mxfp4", "gpt_oss_mxfp4" -> Fp8Rules.checkGptOssMxfp4(q, pkg, layout, target, out);
            default -> out.info(Rules.METHOD, "", "rules for '" + method + "' beyond detection are not implemented; "
                    + "tensors and shapes were not checked");
        }
        return method;
    }

    private static void checkTiedEmbeddings(PackageContents pkg, Target target, Collector out) {
        JsonNode tie = pkg.config.get("tie_word_embeddings");
        JsonNode text = pkg.config.get("text_config");
        if ((tie == null || !tie.isBoolean()) && text != null && text.isObject()) tie = text.get("tie_word_embeddings");
        if (tie == null || !tie.isBoolean()) return;
        boolean hasEmbed = pkg.tensors.keySet().stream().anyMatch(n -> n.contains("embed_tokens."));
        boolean hasLmHead = pkg.tensors.keySet().stream().anyMatch(n -> n.startsWith("lm_head."));
        if (tie.booleanValue() && hasLmHead) {
            out.warn(Rules.TIED_LM_HEAD, "lm_head", "tie_word_embeddings is true but the checkpoint has lm_head "
                    + "tensors: current vLLM loads and compares them, older vLLM skipped them and older SGLang "
                    + "crashed with KeyError: 'lm_head.weight' (sgl-project/sglang#2935); drop lm_head.* for a tied "
                    + "model, or set tie_word_embeddings to false");
        } else if (!tie.booleanValue() && !hasLmHead && hasEmbed) {
            out.error(Rules.LM_HEAD_MISSING, "lm_head", "tie_word_embeddings is false but there is no lm_head "
                    + "tensor; " + target.engine().displayName() + " would leave the output projection uninitialised "
                    + "and refuse to load. Write lm_head.weight, or set tie_word_embeddings to true if the source "
                    + "model ties it");
        }
    }

    private static void checkDtypeKeys(PackageContents pkg, String method, Target target, Collector out) {
        String dtype = pkg.configString("dtype");
        String torchDtype = pkg.configString("torch_dtype");
        if (dtype == null && torchDtype == null) {
            out.warn(Rules.DTYPE_KEYS, PackageContents.CONFIG_FILE, "config.json has neither 'dtype' nor "
                    + "'torch_dtype'; the engines then guess the activation dtype. Write both (transformers >= 4.56 "
                    + "reads 'dtype', older readers 'torch_dtype') with the dtype of the scales and unquantized "
                    + "weights");
        } else if (dtype == null || torchDtype == null) {
            out.warn(Rules.DTYPE_KEYS, PackageContents.CONFIG_FILE, "config.json has only '"
                    + (dtype == null ? "torch_dtype" : "dtype") + "'; write both 'dtype' and 'torch_dtype' with the "
                    + "same value so old and new transformers (and the engines' config readers) agree");
        } else if (!dtype.equals(torchDtype)) {
            out.warn(Rules.DTYPE_KEYS, PackageContents.CONFIG_FILE, "config.json has dtype '" + dtype
                    + "' but torch_dtype '" + torchDtype + "'; readers disagree on the model dtype. Write one value");
        }
        String d = dtype != null ? dtype : torchDtype;
        if (d == null || method == null) return;
        Set<String> ok = switch (method) {
            case "gptq", "gptq_marlin", "auto_gptq", "awq", "awq_marlin", "auto_awq", "fp8" ->
                    Set.of("float16", "bfloat16");
            case "mxfp4", "gpt_oss_mxfp4" -> Set.of("bfloat16");
            case "compressed-tensors" -> Set.of("float16", "bfloat16", "float32");
            default -> null;
        };
        if (ok != null && !ok.contains(d)) {
            out.error(Rules.DTYPE_UNSUPPORTED, PackageContents.CONFIG_FILE, "config dtype '" + d + "' is not "
                    + "supported by quant_method '" + method + "' (" + target.engine().displayName() + " accepts "
                    + String.join("/", ok.stream().sorted().toList()) + " and refuses to start otherwise); store "
                    + "scales and unquantized weights in one of them and write that dtype");
        }
    }

    /** Model dtype from config.json, or null. */
    static String modelDtype(PackageContents pkg) {
        String d = pkg.configString("dtype");
        return d != null ? d : pkg.configString("torch_dtype");
    }
}
