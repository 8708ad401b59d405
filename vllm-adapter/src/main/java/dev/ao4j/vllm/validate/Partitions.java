package dev.ao4j.vllm.validate;

import dev.ao4j.vllm.validate.LinearLayout.Fused;
import dev.ao4j.vllm.validate.LinearLayout.Linear;
import dev.ao4j.vllm.validate.LinearLayout.Parallel;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Per-rank weight shapes under tensor parallelism, as vLLM's linear layers compute them: column-parallel layers
 * (q/k/v/gate/up) split N, row-parallel layers (o/down) split K; k/v projections are replicated when the TP size
 * exceeds the number of KV heads (each rank then holds one head).
 */
final class Partitions {
    /** Full (unsplit) shape of a Linear: N = out_features, K = in_features. */
    record Dims(long n, long k) {}

    /**
     * A kernel's view of one layer on one rank. For fused layers {@code nPart} is the sum over shards and
     * {@code shardNParts} lists each shard's part.
     */
    record Part(String layer, String label, long nPart, long kPart, long kFull, List<Long> shardNParts,
                boolean rowParallel) {}

    private final int tp;
    private final long numKvHeads;
    private final long headDim;

    Partitions(int tp, PackageContents pkg) {
        this.tp = tp;
        long heads = pkg.configInt("num_attention_heads");
        long kv = pkg.configInt("num_key_value_heads");
        long hidden = pkg.configInt("hidden_size");
        long hd = pkg.configInt("head_dim");
        this.numKvHeads = kv > 0 ? kv : heads;
        this.headDim = hd > 0 ? hd : heads > 0 && hidden > 0 ? hidden / heads : -1;
    }

    int tp() {
        return tp;
    }

    /**
     * The per-rank shapes of every layer in {@code dims} (fused layers once, under the engine's fused name).
     * Layers whose split is impossible get a {@link Rules#TP_SPLIT} error and no part.
     */
    List<Part> parts(Map<Linear, Dims> dims, LinearLayout layout, Collector out) {
        Map<String, Part> parts = new LinkedHashMap<>();
        for (Map.Entry<Linear, Dims> e : dims.entrySet()) {
            Linear l = e.getKey();
            if (l.parallel() == Parallel.LM_HEAD) continue; // vocab-parallel, padded by the engine
            Fused f = layout.fusedOf(l);
            if (f != null) {
                if (parts.containsKey(f.name())) continue;
                List<Long> shardParts = new ArrayList<>();
                long k = -1;
                boolean ok = true;
                for (Linear s : f.shards()) {
                    Dims d = dims.get(s);
                    if (d == null) { ok = false; break; }
                    long np = columnPart(s, d.n(), out);
                    if (np < 0) { ok = false; break; }
                    shardParts.add(np);
                    k = d.k();
                }
                if (ok) {
                    long sum = shardParts.stream().mapToLong(Long::longValue).sum();
                    parts.put(f.name(), new Part(f.name(), "fused " + LinearLayout.leaf(f.name()) + " ("
                            + f.shardNames() + ")", sum, k, k, shardParts, false));
                }
                continue;
            }
            Dims d = e.getValue();
            if (l.parallel() == Parallel.ROW) {
                if (d.k() % tp != 0) {
                    out.error(Rules.TP_SPLIT, l.name(), "row-parallel layer with K = " + d.k() + " cannot be split "
                            + "across tensor-parallel size " + tp + " (K % tp != 0); use a TP size that divides " + d.k());
                    continue;
                }
                parts.put(l.name(), new Part(l.name(), "row-parallel", d.n(), d.k() / tp, d.k(), List.of(d.n()), true));
            } else {
                long np = columnPart(l, d.n(), out);
                if (np >= 0) parts.put(l.name(), new Part(l.name(), "column-parallel", np, d.k(), d.k(), List.of(np), false));
            }
        }
        return new ArrayList<>(parts.values());
    }

    /** N on one rank for a column-parallel (shard of a) layer; -1 after reporting an impossible split. */
    long columnPart(Linear l, long n, Collector out) {
        boolean kv = l.leaf().equals("k_proj") || l.leaf().equals("v_proj");
        if (kv && numKvHeads > 0 && headDim > 0 && tp > numKvHeads && n == numKvHeads * headDim) {
            if (tp % numKvHeads != 0) {
                out.error(Rules.TP_SPLIT, l.name(), "tensor-parallel size " + tp + " is neither a divisor nor a "
                        + "multiple of num_key_value_heads = " + numKvHeads + ", so the KV heads cannot be placed");
                return -1;
            }
            return headDim; // replicated: one KV head per rank
        }
        if (n % tp != 0) {
            out.error(Rules.TP_SPLIT, l.name(), "column-parallel layer with N = " + n + " cannot be split across "
                    + "tensor-parallel size " + tp + " (N % tp != 0); use a TP size that divides " + n);
            return -1;
        }
        return n / tp;
    }
}
