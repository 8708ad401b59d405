package dev.ao4j.vllm.validate;

import dev.ao4j.quant.pipeline.FusedGroups;
import dev.ao4j.vllm.validate.PackageContents.TensorEntry;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The Linear layers of a checkpoint, found from tensor names (a module whose tensors include a 2-D {@code weight}
 * or a packed quantized weight), with the tensor-parallel role vLLM/SGLang give them and the fused groups their
 * loaders build (q/k/v -> qkv_proj, gate/up -> gate_up_proj, concatenated along N).
 */
final class LinearLayout {
    enum Parallel { COLUMN, ROW, LM_HEAD }

    /** One checkpoint (unfused) Linear module and its tensors keyed by suffix ("weight_packed", "scales", ...). */
    record Linear(String name, String leaf, Parallel parallel, Map<String, TensorEntry> tensors) {
        boolean has(String suffix) {
            return tensors.containsKey(suffix);
        }

        TensorEntry get(String suffix) {
            return tensors.get(suffix);
        }

        String tensorName(String suffix) {
            return name + "." + suffix;
        }
    }

    /** A fused layer as the engine builds it: its name (e.g. {@code ...self_attn.qkv_proj}) and its shards in order. */
    record Fused(String name, List<Linear> shards) {
        String shardNames() {
            return String.join(", ", shards.stream().map(Linear::leaf).toList());
        }
    }

    private static final Set<String> PRIMARY = Set.of("weight_packed", "qweight");
    private static final Set<String> ROW_PARALLEL =
            Set.of("o_proj", "down_proj", "out_proj", "dense", "fc2", "c_proj", "w2", "wo", "dense_4h_to_h");

    final Map<String, Linear> linears; // by module name, sorted
    final List<Fused> fused;

    private LinearLayout(Map<String, Linear> linears, List<Fused> fused) {
        this.linears = Collections.unmodifiableMap(linears);
        this.fused = List.copyOf(fused);
    }

    static LinearLayout of(Map<String, TensorEntry> tensors) {
        Map<String, Map<String, TensorEntry>> byModule = new TreeMap<>();
        for (TensorEntry t : tensors.values()) {
            int dot = t.name().lastIndexOf('.');
            if (dot <= 0) continue;
            byModule.computeIfAbsent(t.name().substring(0, dot), k -> new LinkedHashMap<>())
                    .put(t.name().substring(dot + 1), t);
        }
        Map<String, Linear> linears = new TreeMap<>();
        for (Map.Entry<String, Map<String, TensorEntry>> m : byModule.entrySet()) {
            Map<String, TensorEntry> ts = m.getValue();
            TensorEntry w = ts.get("weight");
            boolean isLinear = (w != null && w.rank() == 2) || ts.keySet().stream().anyMatch(PRIMARY::contains);
            String leaf = leaf(m.getKey());
            if (!isLinear || leaf.contains("embed") || leaf.equals("wte") || leaf.equals("wpe")) continue;
            Parallel p = leaf.equals("lm_head") ? Parallel.LM_HEAD
                    : ROW_PARALLEL.contains(leaf) ? Parallel.ROW : Parallel.COLUMN;
            linears.put(m.getKey(), new Linear(m.getKey(), leaf, p, Collections.unmodifiableMap(ts)));
        }
        List<Fused> fused = new ArrayList<>();
        for (Linear l : linears.values()) {
            for (var layer : FusedGroups.LAYERS.entrySet()) {
                List<String> group = layer.getValue();
                if (!l.leaf().equals(group.getFirst())) continue;
                String parent = l.name().substring(0, l.name().length() - l.leaf().length());
                List<Linear> shards = new ArrayList<>();
                for (String g : group) {
                    Linear s = linears.get(parent + g);
                    if (s != null) shards.add(s);
                }
                if (shards.size() == group.size()) fused.add(new Fused(parent + layer.getKey(), shards));
            }
        }
        return new LinearLayout(linears, fused);
    }

    static String leaf(String module) {
        return module.substring(module.lastIndexOf('.') + 1);
    }

    /** The fused layer {@code l} belongs to, or null. */
    Fused fusedOf(Linear l) {
        for (Fused f : fused) if (f.shards().contains(l)) return f;
        return null;
    }
}
