package dev.ao4j.quant.pipeline;

import dev.ao4j.safetensors.ShardedCheckpoint;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Linear weights vLLM and SGLang fuse at load time ({@code q_proj,k_proj,v_proj → qkv_proj},
 * {@code gate_proj,up_proj → gate_up_proj}): members of one group must share a scheme, be all quantized or all
 * kept, and for NVFP4 share one global scale.
 */
public final class FusedGroups {
    /** Fused layer name → its member projections, in the engines' (packed_modules_mapping) order. */
    public static final Map<String, List<String>> LAYERS = orderedLayers();
    private static final Pattern MEMBER = Pattern.compile("(.*\\.)(" + String.join("|",
            LAYERS.values().stream().flatMap(List::stream).toList()) + ")\\.weight");

    private FusedGroups() {}

    private static Map<String, List<String>> orderedLayers() {
        Map<String, List<String>> layers = new LinkedHashMap<>();
        layers.put("qkv_proj", List.of("q_proj", "k_proj", "v_proj"));
        layers.put("gate_up_proj", List.of("gate_proj", "up_proj"));
        return Collections.unmodifiableMap(layers);
    }

    /** Group key (the fused layer, e.g. {@code <parent>.qkv_proj}) → member weight names, for the given names. */
    public static Map<String, List<String>> of(List<String> weightNames) {
        Map<String, List<String>> groups = new LinkedHashMap<>();
        for (String name : weightNames) {
            String key = keyOf(name);
            if (key != null) groups.computeIfAbsent(key, k -> new ArrayList<>()).add(name);
        }
        return groups;
    }

    /** The group key (the fused layer's name) of a weight name, or null when it is not a fused member. */
    public static String keyOf(String weightName) {
        Matcher m = MEMBER.matcher(weightName);
        if (!m.matches()) return null;
        String proj = m.group(2);
        for (var layer : LAYERS.entrySet()) {
            if (layer.getValue().contains(proj)) return m.group(1) + layer.getKey();
        }
        throw new IllegalStateException("unreachable: " + proj);
    }

    /**
     * The modules (names without {@code .weight}) that {@code recipe} would quantize but that must stay in high
     * precision because another member of their fused group stays there (by the selector, or because the quantizer
     * cannot take its shape or dtype): add them to the modules not to convert and every group is uniform.
     */
    public static List<String> membersToKeepWithTheirGroup(ShardedCheckpoint source, Recipe recipe) {
        List<String> keep = new ArrayList<>();
        for (List<String> members : of(source.names()).values()) {
            List<String> quantized = members.stream().filter(n -> skipReason(source, recipe, n) == null).toList();
            if (quantized.size() == members.size()) continue;
            for (String n : quantized) keep.add(n.substring(0, n.length() - ".weight".length()));
        }
        return keep;
    }

    private static String skipReason(ShardedCheckpoint source, Recipe recipe, String name) {
        var info = source.info(name);
        String skip = recipe.selector().skipReason(name, info.shape());
        return skip != null ? skip : recipe.quantizer().skipReason(info.shape(),
                recipe.casts(info.dtype()) ? recipe.computeDtype() : info.dtype());
    }
}
