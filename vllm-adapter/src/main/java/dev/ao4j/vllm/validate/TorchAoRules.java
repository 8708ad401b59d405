package dev.ao4j.vllm.validate;

import java.util.Map;
import java.util.Set;
import tools.jackson.databind.JsonNode;

/**
 * torchao packages in vLLM (spec 6): the {@code quant_type} config (one "default" AOBaseConfig dict, or a
 * ModuleFqnToConfig), config versions newer torchao dropped, GPU gates, and torchao's safetensors metadata
 * (without it vLLM cannot rebuild the tensor subclasses). SGLang never loads these (refused in detection).
 */
final class TorchAoRules {
    /** Configs whose version 1 torchao 0.18 removed (vLLM issue #52947). */
    private static final Set<String> VERSIONED = Set.of("Int4WeightOnlyConfig", "Int8WeightOnlyConfig",
            "Int8DynamicActivationInt8WeightConfig", "Float8WeightOnlyConfig",
            "Float8DynamicActivationFloat8WeightConfig");
    private static final Set<String> NEEDS_SM89 = Set.of("Float8DynamicActivationFloat8WeightConfig",
            "Float8StaticActivationFloat8WeightConfig");
    private static final Set<String> NEEDS_SM100 = Set.of("MXDynamicActivationMXWeightConfig",
            "NVFP4DynamicActivationNVFP4WeightConfig");

    private TorchAoRules() {}

    static void check(JsonNode q, PackageContents pkg, LinearLayout layout, Target target, Collector out) {
        JsonNode qt = q.get("quant_type");
        if (qt == null || !qt.isObject() || qt.isEmpty()) {
            out.error(Rules.CONFIG_FIELD, "", "torchao quantization_config needs 'quant_type': {\"default\": "
                    + "<config_to_dict(AOBaseConfig)>}");
            return;
        }
        if (qt.size() != 1 || !qt.has("default")) {
            out.error(Rules.CONFIG_FIELD, "", "torchao quant_type must have exactly one key, 'default', found "
                    + qt.propertyNames());
            return;
        }
        checkConfig(qt.get("default"), "quant_type.default", target, out);
        boolean serialized = pkg.shardMetadata.values().stream().anyMatch(m -> m.containsKey("tensor_names"));
        boolean quantized = layout.linears.values().stream().anyMatch(l -> !TensorChecks.isPlain(l));
        if (quantized && !serialized) {
            out.error(Rules.TORCHAO_METADATA, "", "the shards hold quantized tensors but no torchao safetensors "
                    + "metadata ('tensor_names' and per-tensor '_type' entries); vLLM rebuilds torchao tensor "
                    + "subclasses only from that metadata (torchao >= 0.15). Write the package with torchao's "
                    + "safetensors layout, or ship compressed-tensors");
        }
    }

    private static void checkConfig(JsonNode c, String where, Target target, Collector out) {
        if (c == null || !c.isObject() || !c.path("_type").isString()) {
            out.error(Rules.CONFIG_FIELD, "", where + " must be config_to_dict(AOBaseConfig): {\"_type\", "
                    + "\"_version\", \"_data\"}");
            return;
        }
        String type = c.get("_type").asString();
        if (type.equals("ModuleFqnToConfig") || type.equals("FqnToConfig")) {
            JsonNode data = c.path("_data").path("module_fqn_to_config");
            if (data.isObject()) {
                for (Map.Entry<String, JsonNode> e : data.properties()) {
                    if (!e.getValue().isNull()) checkConfig(e.getValue(), where + "." + e.getKey(), target, out);
                }
            }
            return;
        }
        int version = c.path("_version").isIntegralNumber() ? c.get("_version").intValue() : 1;
        if (VERSIONED.contains(type) && version < 2) {
            out.warn(Rules.TORCHAO_CONFIG_VERSION, "", where + " is " + type + " version " + version + "; torchao "
                    + "0.18 removed version 1 of it, so vLLM with torchao >= 0.18 fails to load (vLLM #52947). "
                    + "Write version 2");
        }
        if (NEEDS_SM89.contains(type) && !target.gpu().atLeast(89)) {
            out.error(Rules.TORCHAO_ARCH, "", where + " is " + type + ", which quantizes activations to FP8; "
                    + "vLLM needs sm89+ for it and " + target.gpu().wireName() + " has no FP8 tensor cores. Use a "
                    + "weight-only config or an sm89+ GPU");
        }
        if (NEEDS_SM100.contains(type) && !target.gpu().atLeast(100)) {
            out.error(Rules.TORCHAO_ARCH, "", where + " is " + type + ", whose matmuls need Blackwell (sm100) "
                    + "MX/FP4 tensor cores; on " + target.gpu().wireName() + " the first forward pass fails");
        }
    }
}
