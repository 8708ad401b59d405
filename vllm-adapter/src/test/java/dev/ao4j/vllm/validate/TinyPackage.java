package dev.ao4j.vllm.validate;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.safetensors.SafetensorsWriter;
import dev.ao4j.safetensors.ShardedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A one-layer Llama-shaped package written by hand for validator tests: hidden 256, 4 heads of 64, 2 KV heads,
 * intermediate 512, vocab 64. Shapes: q/o [256,256], k/v [128,256], gate/up [512,256], down [256,512]. Only the
 * headers matter to the validator, so tensors are zero-filled except the scalars it reads.
 */
final class TinyPackage {
    static final String P = "model.layers.0.";
    static final List<String> ATTN = List.of("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj");
    static final List<String> MLP = List.of("mlp.gate_proj", "mlp.up_proj", "mlp.down_proj");

    final Path dir;
    final Map<String, Tensor> tensors = new LinkedHashMap<>();
    String quantConfig; // JSON object text or null
    String extraConfig = "\"dtype\": \"bfloat16\", \"torch_dtype\": \"bfloat16\", \"tie_word_embeddings\": false";
    Map<String, String> metadata = new LinkedHashMap<>(Map.of("format", "pt"));

    TinyPackage(Path dir) {
        this.dir = dir;
        tensors.put("model.embed_tokens.weight", t(DType.BF16, 64, 256));
        tensors.put(P + "input_layernorm.weight", t(DType.BF16, 256));
        tensors.put(P + "post_attention_layernorm.weight", t(DType.BF16, 256));
        tensors.put("model.norm.weight", t(DType.BF16, 256));
        tensors.put("lm_head.weight", t(DType.BF16, 64, 256));
    }

    static long n(String module) {
        return module.endsWith("k_proj") || module.endsWith("v_proj") ? 128
                : module.endsWith("gate_proj") || module.endsWith("up_proj") ? 512 : 256;
    }

    static long k(String module) {
        return module.endsWith("down_proj") ? 512 : 256;
    }

    static List<String> all() {
        return java.util.stream.Stream.concat(ATTN.stream(), MLP.stream()).toList();
    }

    static Tensor t(DType dtype, long... dims) {
        return Tensor.allocate(dtype, Shape.of(dims));
    }

    static Tensor f32(float v) {
        Tensor x = t(DType.F32, 1);
        x.setFloat(0, v);
        return x;
    }

    TinyPackage plain(String m) {
        tensors.put(P + m + ".weight", t(DType.BF16, n(m), k(m)));
        return this;
    }

    TinyPackage allPlain() {
        for (String m : all()) plain(m);
        return this;
    }

    /** compressed-tensors pack-quantized. */
    TinyPackage ctWna16(String m, int bits, int group, boolean sym) {
        long n = n(m), k = k(m);
        tensors.put(P + m + ".weight_packed", t(DType.I32, n, k * bits / 32));
        tensors.put(P + m + ".weight_scale", t(DType.BF16, n, group < 0 ? 1 : k / group));
        Tensor shape = t(DType.I64, 2);
        shape.setLong(0, n);
        shape.setLong(1, k);
        tensors.put(P + m + ".weight_shape", shape);
        if (!sym) tensors.put(P + m + ".weight_zero_point", t(DType.I32, n * bits / 32, group < 0 ? 1 : k / group));
        return this;
    }

    TinyPackage gptq(String m, int bits, int group) {
        long n = n(m), k = k(m), g = group < 0 ? 1 : k / group;
        tensors.put(P + m + ".qweight", t(DType.I32, k * bits / 32, n));
        tensors.put(P + m + ".qzeros", t(DType.I32, g, n * bits / 32));
        tensors.put(P + m + ".scales", t(DType.F16, g, n));
        tensors.put(P + m + ".g_idx", t(DType.I32, k));
        return this;
    }

    TinyPackage awq(String m, int group) {
        long n = n(m), k = k(m), g = k / group;
        tensors.put(P + m + ".qweight", t(DType.I32, k, n / 8));
        tensors.put(P + m + ".qzeros", t(DType.I32, g, n / 8));
        tensors.put(P + m + ".scales", t(DType.F16, g, n));
        return this;
    }

    TinyPackage fp8Block(String m) {
        long n = n(m), k = k(m);
        tensors.put(P + m + ".weight", t(DType.F8_E4M3, n, k));
        tensors.put(P + m + ".weight_scale_inv", t(DType.F32, (n + 127) / 128, (k + 127) / 128));
        return this;
    }

    TinyPackage ctFp8Channel(String m) {
        tensors.put(P + m + ".weight", t(DType.F8_E4M3, n(m), k(m)));
        tensors.put(P + m + ".weight_scale", t(DType.BF16, n(m), 1));
        return this;
    }

    TinyPackage ctInt8Channel(String m) {
        tensors.put(P + m + ".weight", t(DType.I8, n(m), k(m)));
        tensors.put(P + m + ".weight_scale", t(DType.BF16, n(m), 1));
        return this;
    }

    TinyPackage nvfp4(String m, float globalScale, boolean w4a4) {
        long n = n(m), k = k(m);
        tensors.put(P + m + ".weight_packed", t(DType.U8, n, k / 2));
        tensors.put(P + m + ".weight_scale", t(DType.F8_E4M3, n, k / 16));
        tensors.put(P + m + ".weight_global_scale", f32(globalScale));
        if (w4a4) tensors.put(P + m + ".input_global_scale", f32(1f));
        return this;
    }

    TinyPackage remove(String name) {
        if (tensors.remove(name) == null) throw new IllegalArgumentException("no tensor " + name);
        return this;
    }

    TinyPackage put(String name, Tensor t) {
        tensors.put(name, t);
        return this;
    }

    TinyPackage quant(String json) {
        this.quantConfig = json;
        return this;
    }

    String configJson() {
        return "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\", \"hidden_size\": 256, "
                + "\"intermediate_size\": 512, \"num_attention_heads\": 4, \"num_key_value_heads\": 2, "
                + "\"head_dim\": 64, \"num_hidden_layers\": 1, \"vocab_size\": 64"
                + (extraConfig.isEmpty() ? "" : ", " + extraConfig)
                + (quantConfig == null ? "" : ", \"quantization_config\": " + quantConfig) + "}";
    }

    /** Writes config.json and a single model.safetensors. */
    Path write() {
        writeConfig();
        SafetensorsWriter.write(dir.resolve("model.safetensors"), tensors, metadata);
        return dir;
    }

    /** Writes config.json and shards (+ index) of at most {@code maxShardBytes}. */
    Path writeSharded(long maxShardBytes) {
        writeConfig();
        try (ShardedWriter w = ShardedWriter.create(dir, maxShardBytes, metadata)) {
            tensors.forEach(w::add);
            w.commit();
        }
        return dir;
    }

    void writeConfig() {
        try {
            Files.writeString(dir.resolve("config.json"), configJson());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String ct(String format, String weights, String input, String ignore) {
        return "{\"quant_method\": \"compressed-tensors\", \"format\": \"" + format + "\", "
                + "\"quantization_status\": \"compressed\", \"config_groups\": {\"group_0\": {\"targets\": [\"Linear\"], "
                + "\"format\": \"" + format + "\", \"weights\": " + weights + ", \"input_activations\": " + input
                + ", \"output_activations\": null}}, \"ignore\": " + ignore + ", \"kv_cache_scheme\": null, "
                + "\"sparsity_config\": {}, \"transform_config\": {}, \"version\": \"0.12.2\"}";
    }

    static String wna16(int bits, int group, boolean sym) {
        return "{\"num_bits\": " + bits + ", \"type\": \"int\", \"symmetric\": " + sym + ", \"strategy\": \""
                + (group < 0 ? "channel" : "group") + "\", \"group_size\": " + (group < 0 ? "null" : group)
                + ", \"block_structure\": null, \"dynamic\": false, \"actorder\": null, \"observer\": \"minmax\", "
                + "\"observer_kwargs\": {}}";
    }

    static String ctWna16Config(int bits, int group, boolean sym) {
        return ct("pack-quantized", wna16(bits, group, sym), "null", "[\"lm_head\"]");
    }

    static String gptqConfig(int bits, int group, boolean sym, boolean descAct) {
        return "{\"quant_method\": \"gptq\", \"bits\": " + bits + ", \"group_size\": " + group + ", \"desc_act\": "
                + descAct + ", \"sym\": " + sym + ", \"checkpoint_format\": \"gptq\", \"lm_head\": false}";
    }

    static String awqConfig(int bits, int group, boolean zeroPoint) {
        return "{\"quant_method\": \"awq\", \"bits\": " + bits + ", \"group_size\": " + group + ", \"zero_point\": "
                + zeroPoint + ", \"version\": \"gemm\", \"modules_to_not_convert\": null}";
    }

    static String fp8BlockConfig(String activationScheme) {
        return "{\"quant_method\": \"fp8\", \"activation_scheme\": \"" + activationScheme + "\", "
                + "\"weight_block_size\": [128, 128], \"modules_to_not_convert\": [\"lm_head\"]}";
    }

    static final String NVFP4_WEIGHTS = "{\"num_bits\": 4, \"type\": \"float\", \"symmetric\": true, "
            + "\"strategy\": \"tensor_group\", \"group_size\": 16, \"dynamic\": false, \"actorder\": null, "
            + "\"block_structure\": null, \"observer\": \"minmax\", \"observer_kwargs\": {}}";
    static final String NVFP4_INPUT = "{\"num_bits\": 4, \"type\": \"float\", \"symmetric\": true, "
            + "\"strategy\": \"tensor_group\", \"group_size\": 16, \"dynamic\": \"local\", \"actorder\": null, "
            + "\"block_structure\": null, \"observer\": \"static_minmax\", \"observer_kwargs\": {}}";
}
