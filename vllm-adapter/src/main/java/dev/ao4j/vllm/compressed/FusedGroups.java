package dev.ao4j.vllm.compressed;

import java.util.ArrayList;
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
final class FusedGroups {
    private static final Pattern MEMBER = Pattern.compile("(.*\\.)(q_proj|k_proj|v_proj|gate_proj|up_proj)\\.weight");

    private FusedGroups() {}

    /** Group key ({@code <parent>.qkv} or {@code <parent>.gate_up}) → member weight names, for the given names. */
    static Map<String, List<String>> of(List<String> weightNames) {
        Map<String, List<String>> groups = new LinkedHashMap<>();
        for (String name : weightNames) {
            String key = keyOf(name);
            if (key != null) groups.computeIfAbsent(key, k -> new ArrayList<>()).add(name);
        }
        return groups;
    }

    /** The group key of a weight name, or null when it is not a fused member. */
    static String keyOf(String weightName) {
        Matcher m = MEMBER.matcher(weightName);
        if (!m.matches()) return null;
        String proj = m.group(2);
        return m.group(1) + (proj.equals("gate_proj") || proj.equals("up_proj") ? "gate_up" : "qkv");
    }
}
