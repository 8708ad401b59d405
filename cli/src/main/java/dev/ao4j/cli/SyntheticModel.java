package dev.ao4j.cli;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.safetensors.ShardedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A Llama-shaped bf16 checkpoint with random N(0, 0.02²) weights, for benchmarks at real layer sizes (e.g. Llama-3-8B:
 * hidden 4096, intermediate 14336, 8 KV heads of 128). Written tensor by tensor, so making it needs little memory.
 */
record SyntheticModel(int hidden, int intermediate, int layers, int heads, int kvHeads, int vocab) {

    /** The tensors in checkpoint order, name → shape. */
    Map<String, Shape> shapes() {
        int headDim = hidden / heads;
        Map<String, Shape> m = new LinkedHashMap<>();
        m.put("model.embed_tokens.weight", Shape.of(vocab, hidden));
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l + ".";
            m.put(p + "self_attn.q_proj.weight", Shape.of(heads * headDim, hidden));
            m.put(p + "self_attn.k_proj.weight", Shape.of(kvHeads * headDim, hidden));
            m.put(p + "self_attn.v_proj.weight", Shape.of(kvHeads * headDim, hidden));
            m.put(p + "self_attn.o_proj.weight", Shape.of(hidden, heads * headDim));
            m.put(p + "mlp.gate_proj.weight", Shape.of(intermediate, hidden));
            m.put(p + "mlp.up_proj.weight", Shape.of(intermediate, hidden));
            m.put(p + "mlp.down_proj.weight", Shape.of(hidden, intermediate));
            m.put(p + "input_layernorm.weight", Shape.of(hidden));
            m.put(p + "post_attention_layernorm.weight", Shape.of(hidden));
        }
        m.put("model.norm.weight", Shape.of(hidden));
        m.put("lm_head.weight", Shape.of(vocab, hidden));
        return m;
    }

    long bytes() {
        return shapes().values().stream().mapToLong(s -> s.numel() * 2).sum();
    }

    /** Writes config.json and the (sharded) safetensors checkpoint into {@code dir}. */
    void write(Path dir, long seed) {
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("config.json"), String.format(Locale.ROOT, """
                    {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": %d,
                     "intermediate_size": %d, "num_hidden_layers": %d, "num_attention_heads": %d,
                     "num_key_value_heads": %d, "vocab_size": %d, "rms_norm_eps": 1e-05, "rope_theta": 500000.0,
                     "max_position_embeddings": 8192, "hidden_act": "silu", "tie_word_embeddings": false,
                     "dtype": "bfloat16"}
                    """, hidden, intermediate, layers, heads, kvHeads, vocab));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write synthetic model config in " + dir, e);
        }
        SplittableRandom r = new SplittableRandom(seed);
        try (ShardedWriter w = ShardedWriter.create(dir, 5_000_000_000L, Map.of("format", "pt"))) {
            for (Map.Entry<String, Shape> e : shapes().entrySet()) {
                w.add(e.getKey(), random(e.getValue(), e.getValue().rank() == 1 ? 1.0 : 0.02, r));
            }
            w.commit();
        }
    }

    private static Tensor random(Shape shape, double std, SplittableRandom r) {
        Tensor t = Tensor.allocate(DType.BF16, shape);
        long n = t.numel();
        for (long i = 0; i < n; i += 2) {
            double u = 1 - r.nextDouble(), v = r.nextDouble(), rad = std * Math.sqrt(-2 * Math.log(u));
            t.setFloat(i, (float) (rad * Math.cos(2 * Math.PI * v)));
            if (i + 1 < n) t.setFloat(i + 1, (float) (rad * Math.sin(2 * Math.PI * v)));
        }
        return t;
    }
}
