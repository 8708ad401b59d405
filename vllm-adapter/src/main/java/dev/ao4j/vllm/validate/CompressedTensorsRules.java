package dev.ao4j.vllm.validate;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.vllm.validate.LinearLayout.Fused;
import dev.ao4j.vllm.validate.LinearLayout.Linear;
import dev.ao4j.vllm.validate.LinearLayout.Parallel;
import dev.ao4j.vllm.validate.Partitions.Dims;
import dev.ao4j.vllm.validate.PackageContents.TensorEntry;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import tools.jackson.databind.JsonNode;

/**
 * compressed-tensors packages (spec section 2): config validation as the pinned compressed-tensors pydantic models
 * do it, target/ignore matching and scheme selection in vLLM's order, per-scheme tensor sets, Marlin rules for
 * WNA16, architecture gates, fused-layer consistency, and SGLang's narrower scheme list.
 */
final class CompressedTensorsRules {
    private static final Set<String> ARG_KEYS = Set.of("num_bits", "type", "symmetric", "strategy", "group_size",
            "block_structure", "dynamic", "actorder", "observer", "observer_kwargs", "scale_dtype", "zp_dtype");
    private static final Set<String> ACTIVATION_FORMATS =
            Set.of("naive-quantized", "int-quantized", "float-quantized", "nvfp4-pack-quantized");

    /** The scheme classes vLLM can pick for a group. */
    enum Kind { WNA16, W8A8_INT8, FP8, NVFP4, MXFP4, MXFP8, W4A8_FP8 }

    /** QuantizationArgs, with the strategy inferred as compressed-tensors infers it. */
    record Args(int bits, String type, boolean symmetric, String strategy, int groupSize, long[] block,
                String dynamic, String actorder, String scaleDtype) {
        boolean isFloat() {
            return type.equals("float");
        }

        boolean isDynamic() {
            return !dynamic.equals("false");
        }

        String describe() {
            return bits + "-bit " + type + " " + strategy + (groupSize > 0 ? " g" + groupSize : "")
                    + (symmetric ? " symmetric" : " asymmetric") + (isDynamic() ? " dynamic" : "");
        }
    }

    /** One config group. */
    record Scheme(String name, List<String> targets, Args weights, Args input, String format) {
        /** Key for "same scheme" comparisons of fused shards. */
        String signature() {
            return weights == null ? "unquantized" : format + "|" + weights.describe() + "|"
                    + (input == null ? "A16" : input.describe());
        }
    }

    /** A scheme resolved to the class vLLM would instantiate. */
    record Resolved(Scheme scheme, Kind kind, boolean actQuant, String label) {}

    private CompressedTensorsRules() {}

    static void check(JsonNode q, PackageContents pkg, LinearLayout layout, Partitions parts, Target target,
                      Collector out) {
        String globalFormat = text(q.get("format"));
        JsonNode sparsity = q.get("sparsity_config");
        if (sparsity != null && sparsity.isObject() && !sparsity.isEmpty()) {
            JsonNode targets = sparsity.get("targets");
            if (targets != null && targets.isArray() && !targets.isEmpty()) {
                out.error(Rules.CT_SPARSITY, "", "sparsity_config has targets (format " + text(sparsity.get("format"))
                        + "); vLLM removed compressed-tensors 2:4 support ('Sparse24 models are no longer supported "
                        + "by vLLM') and SGLang has no sparse path for it; write \"sparsity_config\": {}");
            }
        }
        checkKvCache(q.get("kv_cache_scheme"), out);
        JsonNode groups = q.get("config_groups");
        if (groups == null || !groups.isObject()) {
            out.error(Rules.CONFIG_FIELD, "", "compressed-tensors quantization_config needs a 'config_groups' object");
            return;
        }
        List<Scheme> schemes = new ArrayList<>();
        for (Map.Entry<String, JsonNode> g : groups.properties()) {
            Scheme s = parseScheme(g.getKey(), g.getValue(), globalFormat, out);
            if (s != null) schemes.add(s);
        }
        List<String> ignore = new ArrayList<>();
        JsonNode ig = q.get("ignore");
        if (ig != null && ig.isArray()) for (JsonNode n : ig) if (n.isString()) ignore.add(n.asString());

        Map<Scheme, Resolved> resolved = new LinkedHashMap<>();
        for (Scheme s : schemes) {
            Resolved r = resolve(s, target, out);
            if (r != null) resolved.put(s, r);
        }
        // Which group (if any) each layer falls into, as vLLM matches: ignore first, then names/regexes, then classes.
        Map<Linear, Scheme> matched = new LinkedHashMap<>();
        Map<Linear, String> unquantizedWhy = new LinkedHashMap<>();
        for (Linear l : layout.linears.values()) {
            if (matchesAny(l, ignore)) {
                unquantizedWhy.put(l, "listed in ignore");
                continue;
            }
            Scheme s = match(l, schemes);
            if (s == null || s.weights() == null) unquantizedWhy.put(l, "no config group targets it");
            else matched.put(l, s);
        }
        for (Scheme s : schemes) {
            for (String t : s.targets()) {
                boolean classTarget = !t.startsWith("re:") && !t.contains(".") && !t.equals("lm_head");
                if (classTarget) continue;
                if (layout.linears.values().stream().noneMatch(l -> matchesEntry(l.name(), t))) {
                    out.warn(Rules.CT_UNMATCHED, "", "target '" + t + "' of config group '" + s.name()
                            + "' matches no Linear layer of the checkpoint; check the module names");
                }
            }
        }
        checkFused(layout, matched, unquantizedWhy, pkg, out);

        Map<Kind, Map<Linear, Dims>> dimsByKind = new LinkedHashMap<>();
        Map<Linear, Resolved> byLayer = new LinkedHashMap<>();
        for (Linear l : layout.linears.values()) {
            Scheme s = matched.get(l);
            if (s == null) {
                TensorChecks.unquantized(l, unquantizedWhy.get(l), out);
                continue;
            }
            Resolved r = resolved.get(s);
            if (r == null) continue; // the group itself was reported
            byLayer.put(l, r);
            if (TensorChecks.isPlain(l)) {
                TensorChecks.notQuantized(l, r.label(), out);
                continue;
            }
            Dims d = checkTensors(l, r, pkg, out);
            if (d != null) dimsByKind.computeIfAbsent(r.kind(), k -> new LinkedHashMap<>()).put(l, d);
        }
        for (Map.Entry<Kind, Map<Linear, Dims>> e : dimsByKind.entrySet()) {
            checkKernelShapes(e.getKey(), e.getValue(), byLayer, layout, parts, target, out);
        }
    }

    // ---- config parsing ----

    private static Scheme parseScheme(String name, JsonNode g, String globalFormat, Collector out) {
        if (!g.isObject()) {
            out.error(Rules.CONFIG_FIELD, "", "config group '" + name + "' is a " + g.getNodeType()
                    + "; write a full scheme object (targets, weights, input_activations, format)");
            return null;
        }
        List<String> targets = new ArrayList<>();
        JsonNode t = g.get("targets");
        if (t != null && t.isArray()) for (JsonNode n : t) if (n.isString()) targets.add(n.asString());
        if (targets.isEmpty()) {
            out.error(Rules.CONFIG_FIELD, "", "config group '" + name + "' has no targets list");
            return null;
        }
        String format = text(g.get("format"));
        if (format == null) format = globalFormat;
        if (format == null || format.equals("mixed-precision")) {
            out.error(Rules.CONFIG_FIELD, "", "config group '" + name + "' has no format (neither its own nor a "
                    + "single top-level 'format'); vLLM cannot tell how its tensors are compressed");
            return null;
        }
        Args w = parseArgs(name, "weights", g.get("weights"), out);
        Args in = parseArgs(name, "input_activations", g.get("input_activations"), out);
        return new Scheme(name, List.copyOf(targets), w, in, format);
    }

    private static Args parseArgs(String group, String field, JsonNode a, Collector out) {
        if (a == null || a.isNull()) return null;
        String where = "config_groups." + group + "." + field;
        for (Map.Entry<String, JsonNode> e : a.properties()) {
            if (!ARG_KEYS.contains(e.getKey())) {
                out.error(Rules.CT_UNKNOWN_KEY, "", where + " has key '" + e.getKey() + "', which compressed-tensors "
                        + ">= 0.11 rejects (QuantizationArgs forbids extra keys: 'Extra inputs are not permitted'); "
                        + "remove it");
            }
        }
        String scaleDtype = text(a.get("scale_dtype"));
        for (String k : List.of("scale_dtype", "zp_dtype")) {
            if (a.has(k) && !(k.equals("scale_dtype") && isMxfp8(a))) {
                out.warn(Rules.VERSION_KEY, "", where + " has '" + k + "', added in compressed-tensors 0.13; vLLM "
                        + "releases pinned to older compressed-tensors (vLLM <= 0.13) fail with 'Extra inputs are not "
                        + "permitted'. Omit it (it defaults to null) unless you only target newer vLLM");
            }
        }
        int bits = a.path("num_bits").isIntegralNumber() ? a.get("num_bits").intValue() : 8;
        String type = a.path("type").isString() ? a.get("type").asString() : "int";
        boolean sym = !a.path("symmetric").isBoolean() || a.get("symmetric").booleanValue();
        int groupSize = a.path("group_size").isIntegralNumber() ? a.get("group_size").intValue() : 0;
        long[] block = null;
        JsonNode bs = a.get("block_structure");
        if (bs != null && bs.isArray() && bs.size() == 2) block = new long[] {bs.get(0).longValue(), bs.get(1).longValue()};
        else if (bs != null && bs.isString() && bs.asString().matches("\\d+x\\d+")) {
            String[] p = bs.asString().split("x");
            block = new long[] {Long.parseLong(p[0]), Long.parseLong(p[1])};
        }
        String strategy = text(a.get("strategy"));
        if (strategy == null) {
            strategy = block != null ? "block" : groupSize > 0 ? "group" : groupSize == -1 ? "channel" : "tensor";
        }
        JsonNode dyn = a.get("dynamic");
        String dynamic = dyn == null || dyn.isNull() ? "false" : dyn.isBoolean() ? Boolean.toString(dyn.booleanValue())
                : dyn.asString();
        JsonNode ao = a.get("actorder");
        String actorder = ao == null || ao.isNull() || (ao.isBoolean() && !ao.booleanValue()) ? null
                : ao.isBoolean() ? "group" : ao.asString().equals("dynamic") ? "group"
                : ao.asString().equals("static") ? "weight" : ao.asString();
        return new Args(bits, type, sym, strategy, groupSize, block, dynamic, actorder, scaleDtype);
    }

    private static boolean isMxfp8(JsonNode a) {
        return "float".equals(text(a.get("type"))) && a.path("num_bits").intValue() == 8
                && a.path("group_size").intValue() == 32;
    }

    private static void checkKvCache(JsonNode kv, Collector out) {
        if (kv == null || kv.isNull()) return;
        boolean ok = kv.path("num_bits").intValue() == 8 && "float".equals(text(kv.get("type")))
                && (kv.path("symmetric").isMissingNode() || kv.path("symmetric").booleanValue())
                && ("tensor".equals(text(kv.get("strategy"))) || "attn_head".equals(text(kv.get("strategy"))))
                && !kv.path("dynamic").booleanValue();
        if (!ok) {
            out.error(Rules.CT_KV_CACHE, "", "kv_cache_scheme " + kv + " is not supported: vLLM accepts only 8-bit "
                    + "float, symmetric, static, strategy 'tensor' or 'attn_head'; write null or such a scheme");
        }
    }

    // ---- scheme selection (vLLM order: NVFP4, MXFP4, MXFP8, W4A8-FP8, WNA16, FP8, INT8) ----

    private static Resolved resolve(Scheme s, Target target, Collector out) {
        Args w = s.weights();
        Args in = s.input();
        if (w == null) return null;
        Engine engine = target.engine();
        String g = "config group '" + s.name() + "'";
        Kind kind = null;
        String label = null;
        boolean actQuant = in != null;
        if (w.isFloat() && w.bits() == 4 && w.strategy().equals("tensor_group") && w.groupSize() == 16 && w.symmetric()) {
            kind = Kind.NVFP4;
            actQuant = in != null && in.isFloat() && in.bits() == 4 && in.strategy().equals("tensor_group");
            label = actQuant ? "NVFP4 W4A4 (CompressedTensorsW4A4Fp4)" : "NVFP4A16 (CompressedTensorsW4A16Fp4)";
        } else if (w.isFloat() && w.bits() == 4 && w.strategy().equals("group") && w.groupSize() == 32 && w.symmetric()) {
            kind = Kind.MXFP4;
            label = "MXFP4 (CompressedTensorsW4A4Mxfp4)";
        } else if (w.isFloat() && w.bits() == 8 && w.strategy().equals("group") && w.groupSize() == 32 && w.symmetric()
                && "torch.uint8".equals(w.scaleDtype())) {
            kind = Kind.MXFP8;
            label = "MXFP8";
        } else if (!w.isFloat() && w.bits() == 4 && in != null && in.isFloat() && in.bits() == 8 && in.isDynamic()
                && w.strategy().equals("group")) {
            kind = Kind.W4A8_FP8;
            label = "W4A8-FP8 (CompressedTensorsW4A8Fp8)";
        } else if (!w.isFloat() && (w.strategy().equals("channel") || w.strategy().equals("group")) && !w.isDynamic()
                && in == null) {
            if (!s.format().equals("pack-quantized")) {
                out.error(Rules.CT_NO_SCHEME, "", g + ": weight-only " + w.describe() + " needs format "
                        + "'pack-quantized' for the WNA16 scheme but the format is '" + s.format() + "'; vLLM raises "
                        + "'No compressed-tensors compatible scheme was found'. Write pack-quantized tensors and format");
                return null;
            }
            kind = Kind.WNA16;
            label = "W" + w.bits() + "A16 " + (w.symmetric() ? "symmetric" : "asymmetric") + " (CompressedTensorsWNA16)";
            if (w.bits() != 4 && w.bits() != 8) {
                if (w.symmetric()) {
                    out.warn(Rules.MARLIN_BITS, "", g + ": " + w.bits() + "-bit weights run only on the newest vLLM "
                            + "(non-Marlin kernels, 2-8 bit symmetric); Marlin and SGLang take 4 or 8 bits. Use 4 or 8");
                } else {
                    out.error(Rules.MARLIN_BITS, "", g + ": asymmetric " + w.bits() + "-bit weights: vLLM supports "
                            + "zero points only for 4 and 8 bits. Use 4 or 8 bits, or symmetric");
                    return null;
                }
            } else if (!w.symmetric() && w.bits() == 8) {
                out.warn(Rules.MARLIN_SYMMETRIC, "", g + ": asymmetric 8-bit weights: Marlin's only zero-point type "
                        + "is uint4, so vLLM must find another kernel for these layers (none on many GPUs); prefer "
                        + "symmetric 8-bit");
            }
            if (!MarlinRules.GROUP_SIZES.contains(w.strategy().equals("channel") ? -1 : w.groupSize())) {
                out.warn(Rules.MARLIN_GROUP_SIZE, "", g + ": group size " + w.groupSize() + " is not one Marlin "
                        + "supports (-1, 32, 64, 128); vLLM falls back to slower kernels where one accepts it, or "
                        + "fails. Use 128");
            }
            if (engine == Engine.SGLANG && !w.symmetric()) {
                out.error(Rules.SGLANG_UNSUPPORTED, "", g + ": SGLang's compressed-tensors loader takes WNA16 only "
                        + "when symmetric; asymmetric " + w.describe() + " fails with 'No compressed-tensors "
                        + "compatible scheme was found' (sgl-project/sglang#25291). Write symmetric weights, or AWQ "
                        + "for SGLang");
                return null;
            }
        } else if (ACTIVATION_FORMATS.contains(s.format()) && w.isFloat() && w.bits() == 8 && w.symmetric()
                && !w.isDynamic() && Set.of("tensor", "channel", "block").contains(w.strategy())) {
            kind = Kind.FP8;
            boolean inOk = in == null || (in.isFloat() && in.bits() == 8
                    && (in.isDynamic() || (in.symmetric() && in.strategy().equals("tensor"))));
            if (!inOk) kind = null;
            else label = (in == null ? "FP8 W8A16" : "FP8 W8A8") + " " + w.strategy()
                    + (w.block() != null ? " " + w.block()[0] + "x" + w.block()[1] : "")
                    + (in == null ? " (CompressedTensorsW8A16Fp8)" : " (CompressedTensorsW8A8Fp8)");
            if (kind != null && w.strategy().equals("block") && w.block() == null) {
                out.error(Rules.CONFIG_FIELD, "", g + ": strategy 'block' needs block_structure [rows, cols]");
                return null;
            }
        } else if (ACTIVATION_FORMATS.contains(s.format()) && !w.isFloat() && w.bits() == 8 && w.symmetric()
                && !w.isDynamic() && (w.strategy().equals("tensor") || w.strategy().equals("channel"))
                && in != null && !in.isFloat() && in.bits() == 8
                && ((in.isDynamic() && in.strategy().equals("token")) || (!in.isDynamic() && in.strategy().equals("tensor")))) {
            kind = Kind.W8A8_INT8;
            label = "INT8 W8A8 " + (in.isDynamic() ? "dynamic per-token" : "static per-tensor")
                    + " (CompressedTensorsW8A8Int8)";
        }
        if (kind == null) {
            out.error(Rules.CT_NO_SCHEME, "", g + " (format '" + s.format() + "', weights " + w.describe()
                    + ", input " + (in == null ? "none" : in.describe()) + ") matches no scheme in "
                    + engine.displayName() + "'s selection (NVFP4, MXFP4, MXFP8, W4A8-FP8, WNA16 pack-quantized, "
                    + "FP8 W8A8/W8A16, INT8 W8A8 symmetric); it raises 'No compressed-tensors compatible scheme was "
                    + "found'. Use one of those combinations");
            return null;
        }
        archAndEngine(kind, actQuant, w, g, label, target, out);
        out.info(Rules.METHOD, "", g + " -> " + label);
        return new Resolved(s, kind, actQuant, label);
    }

    private static void archAndEngine(Kind kind, boolean actQuant, Args w, String g, String label, Target target,
                                      Collector out) {
        GpuArch gpu = target.gpu();
        Engine engine = target.engine();
        switch (kind) {
            case FP8 -> {
                if (!gpu.atLeast(89)) {
                    out.warn(Rules.FP8_ARCH, "", g + ": " + gpu.wireName() + " has no FP8 tensor cores; "
                            + engine.displayName() + " runs these layers weight-only on the Marlin FP8 kernel (W8A16: "
                            + "activations stay " + "bf16/fp16, any input_scale is unused)"
                            + (w.strategy().equals("block") ? "; block-FP8 on Marlin needs vLLM with PR #33280 "
                            + "(Jan 2026) or SGLang with PR #28132" : "") + ". Native W8A8 needs sm89+");
                }
                if (engine == Engine.SGLANG && w.strategy().equals("block")) {
                    out.warn(Rules.SGLANG_VERSION, "", g + ": SGLang's compressed-tensors FP8 path took only "
                            + "per-tensor/per-channel weights for a long time; block FP8 loads only in recent SGLang. "
                            + "For SGLang prefer quant_method 'fp8' with weight_block_size");
                }
            }
            case NVFP4 -> {
                if (actQuant && !gpu.atLeast(100)) {
                    out.warn(Rules.NVFP4_ARCH, "", g + ": NVFP4 W4A4 needs sm100 for FP4 tensor cores; on "
                            + gpu.wireName() + " " + engine.displayName() + " runs it weight-only through Marlin "
                            + "(W4A16: activations not quantized, input_global_scale unused)");
                }
                if (engine == Engine.SGLANG) {
                    out.warn(Rules.SGLANG_VERSION, "", g + ": SGLang loads compressed-tensors NVFP4 only in recent "
                            + "versions (0.5.x); check the SGLang version, or write ModelOpt NVFP4 for older SGLang");
                }
            }
            case MXFP4, MXFP8 -> {
                if (kind == Kind.MXFP8 && !gpu.atLeast(100)) {
                    out.warn(Rules.FP8_ARCH, "", g + ": MXFP8 matmuls need "
                            + "Blackwell (sm100); on " + gpu.wireName() + " the engine emulates or refuses them");
                }
                if (engine == Engine.SGLANG) {
                    out.warn(Rules.SGLANG_VERSION, "", g + ": SGLang's dense " + kind + " compressed-tensors support "
                            + "is partial and recent; verify with the SGLang version you target");
                }
            }
            case W4A8_FP8 -> {
                if (gpu != GpuArch.SM90) {
                    out.error(Rules.CT_NO_SCHEME, "", g + ": " + label + " runs only on Hopper (sm90) in vLLM; on "
                            + gpu.wireName() + " no kernel takes it. Use W4A16 instead");
                }
                if (engine == Engine.SGLANG) {
                    out.error(Rules.SGLANG_UNSUPPORTED, "", g + ": SGLang has no dense W4A8-FP8 compressed-tensors "
                            + "scheme (only for MoE experts); use W4A16");
                }
            }
            default -> { }
        }
    }

    // ---- matching ----

    private static boolean matchesEntry(String name, String entry) {
        if (entry.startsWith("re:")) {
            try {
                return Pattern.compile(entry.substring(3)).matcher(name).lookingAt(); // Python re.match
            } catch (PatternSyntaxException e) {
                return false;
            }
        }
        return entry.equals(name);
    }

    /** Class-name targets: "Linear" covers every linear layer except the (vocab-parallel) lm_head. */
    private static boolean matchesClass(Linear l, String entry) {
        return entry.equals("Linear") && l.parallel() != Parallel.LM_HEAD;
    }

    private static boolean matchesAny(Linear l, List<String> entries) {
        for (String e : entries) if (matchesEntry(l.name(), e) || matchesClass(l, e)) return true;
        return false;
    }

    private static Scheme match(Linear l, List<Scheme> schemes) {
        for (Scheme s : schemes) for (String t : s.targets()) if (matchesEntry(l.name(), t)) return s;
        for (Scheme s : schemes) for (String t : s.targets()) if (matchesClass(l, t)) return s;
        return null;
    }

    // ---- fused layers ----

    private static void checkFused(LinearLayout layout, Map<Linear, Scheme> matched, Map<Linear, String> unq,
                                   PackageContents pkg, Collector out) {
        for (Fused f : layout.fused) {
            long quantized = f.shards().stream().filter(matched::containsKey).count();
            if (quantized != 0 && quantized != f.shards().size()) {
                out.error(Rules.FUSED_PARTIAL, f.name(), "vLLM fuses " + f.shardNames() + " into one layer, but the "
                        + "config quantizes " + String.join(", ", f.shards().stream().filter(matched::containsKey)
                        .map(Linear::leaf).toList()) + " and leaves " + String.join(", ", f.shards().stream()
                        .filter(unq::containsKey).map(Linear::leaf).toList()) + " unquantized; it raises 'Found a "
                        + "different quantization schemes for [...]'. Quantize or ignore all of them together");
                continue;
            }
            if (quantized == 0) continue;
            Set<String> sigs = new java.util.LinkedHashSet<>();
            for (Linear s : f.shards()) sigs.add(matched.get(s).signature());
            if (sigs.size() > 1) {
                StringBuilder sb = new StringBuilder();
                for (Linear s : f.shards()) {
                    sb.append(sb.isEmpty() ? "" : "; ").append(s.leaf()).append(" -> group '")
                            .append(matched.get(s).name()).append("' (").append(matched.get(s).signature()).append(')');
                }
                out.error(Rules.FUSED_SCHEME, f.name(), "vLLM fuses " + f.shardNames() + " into one layer and "
                        + "requires one scheme for all of them, but " + sb + "; it raises 'Found a different "
                        + "quantization schemes'. Put the shards in the same config group");
            }
            checkSharedScalar(f, "weight_global_scale", pkg, out);
        }
    }

    /** NVFP4 per-tensor global scales: the fused kernel uses one value for all shards. */
    static void checkSharedScalar(Fused f, String suffix, PackageContents pkg, Collector out) {
        List<String> values = new ArrayList<>();
        Set<Double> distinct = new java.util.LinkedHashSet<>();
        for (Linear s : f.shards()) {
            double[] v = pkg.smallValues.get(s.tensorName(suffix));
            if (v == null || v.length != 1) return;
            values.add(s.leaf() + "=" + v[0]);
            distinct.add(v[0]);
        }
        if (distinct.size() > 1) {
            out.error(Rules.FUSED_GLOBAL_SCALE, f.name(), "the shards of the fused layer have different " + suffix
                    + " (" + String.join(", ", values) + "); the engine keeps one value for the fused weight, so "
                    + "the other shards dequantize with the wrong scale and produce wrong outputs. Use one shared "
                    + suffix + " per fused group (llm-compressor takes the smallest global scale and recomputes the "
                    + "block scales)");
        }
    }

    // ---- tensors per scheme ----

    private static Dims checkTensors(Linear l, Resolved r, PackageContents pkg, Collector out) {
        Args w = r.scheme().weights();
        Args in = r.scheme().input();
        String label = r.label();
        return switch (r.kind()) {
            case WNA16 -> {
                TensorEntry packed = TensorChecks.require(l, "weight_packed", EnumSet.of(DType.I32), null, label,
                        "packed codes [N, K*bits/32]", out);
                TensorChecks.require(l, "weight_shape", EnumSet.of(DType.I64, DType.I32), List.of(new long[] {2}),
                        label, "original [N, K]", out);
                Set<String> allowed = new java.util.HashSet<>(Set.of("weight_packed", "weight_scale", "weight_shape"));
                if (packed == null || packed.rank() != 2) yield null;
                long n = packed.dim(0);
                double[] shape = pkg.smallValues.get(l.tensorName("weight_shape"));
                long k = shape != null && shape.length == 2 ? (long) shape[1] : packed.dim(1) * 32 / w.bits();
                if (shape != null && shape.length == 2 && (long) shape[0] != n) {
                    out.error(Rules.TENSOR_SHAPE, l.name(), "weight_shape says N = " + (long) shape[0]
                            + " but weight_packed has " + n + " rows");
                }
                long packedK = TensorChecks.ceilDiv(k * w.bits(), 32);
                if (packed.dim(1) != packedK) {
                    out.error(Rules.TENSOR_SHAPE, l.name(), "tensor " + packed.name() + " has shape [" + n + ", "
                            + packed.dim(1) + "]; " + label + " with K = " + k + " needs [" + n + ", " + packedK + "]");
                }
                long groups = w.strategy().equals("channel") ? 1 : TensorChecks.ceilDiv(k, w.groupSize());
                TensorChecks.require(l, "weight_scale", TensorChecks.FLOAT_SCALE, List.of(new long[] {n, groups}), label,
                        w.strategy().equals("channel") ? "one scale per output row" : "one scale per group of "
                        + w.groupSize() + " inputs", out);
                if (!w.symmetric()) {
                    allowed.add("weight_zero_point");
                    TensorChecks.require(l, "weight_zero_point", EnumSet.of(DType.I32),
                            List.of(new long[] {TensorChecks.ceilDiv(n * w.bits(), 32), groups}), label,
                            "asymmetric: zero points packed along N", out);
                }
                if ("group".equals(w.actorder())) {
                    allowed.add("weight_g_idx");
                    TensorChecks.require(l, "weight_g_idx", EnumSet.of(DType.I32), List.of(new long[] {k}), label,
                            "actorder group: group index of each input column", out);
                }
                TensorChecks.onlyThese(l, allowed, label, out);
                yield new Dims(n, k);
            }
            case W8A8_INT8, FP8 -> {
                boolean fp8 = r.kind() == Kind.FP8;
                TensorEntry wt = TensorChecks.require(l, "weight", EnumSet.of(fp8 ? DType.F8_E4M3 : DType.I8), null,
                        label, fp8 ? "float8_e4m3fn codes [N, K]" : "int8 codes [N, K]", out);
                if (wt == null || wt.rank() != 2) yield null;
                long n = wt.dim(0);
                long k = wt.dim(1);
                List<long[]> scaleShape = switch (w.strategy()) {
                    case "channel" -> List.of(new long[] {n, 1});
                    case "block" -> List.of(new long[] {TensorChecks.ceilDiv(n, w.block()[0]),
                            TensorChecks.ceilDiv(k, w.block()[1])});
                    default -> TensorChecks.SCALAR;
                };
                TensorChecks.require(l, "weight_scale", TensorChecks.FLOAT_SCALE, scaleShape, label,
                        w.strategy() + " weight scale", out);
                Set<String> allowed = new java.util.HashSet<>(Set.of("weight", "weight_scale"));
                if (in != null && !in.isDynamic()) {
                    allowed.add("input_scale");
                    TensorChecks.require(l, "input_scale", TensorChecks.FLOAT_SCALE, TensorChecks.SCALAR, label,
                            "static activation scale", out);
                    if (!in.symmetric()) {
                        allowed.add("input_zero_point");
                        TensorChecks.require(l, "input_zero_point", EnumSet.of(DType.I32, DType.I8), TensorChecks.SCALAR,
                                label, "static asymmetric activation zero point", out);
                    }
                }
                TensorChecks.onlyThese(l, allowed, label, out);
                yield new Dims(n, k);
            }
            case NVFP4, MXFP4 -> {
                boolean nv = r.kind() == Kind.NVFP4;
                TensorEntry packed = TensorChecks.require(l, "weight_packed", EnumSet.of(DType.U8), null, label,
                        "two FP4 codes per byte [N, K/2]", out);
                if (packed == null || packed.rank() != 2) yield null;
                long n = packed.dim(0);
                long k = packed.dim(1) * 2;
                int block = nv ? 16 : 32;
                if (k % block != 0) {
                    out.error(Rules.FP4_SHAPE, l.name(), "K = " + k + " is not a multiple of the " + block
                            + "-element " + (nv ? "NVFP4" : "MXFP4") + " block; keep this layer unquantized");
                }
                TensorChecks.require(l, "weight_scale", EnumSet.of(nv ? DType.F8_E4M3 : DType.U8),
                        List.of(new long[] {n, TensorChecks.ceilDiv(k, block)}), label,
                        nv ? "e4m3 scale per 16 inputs" : "e8m0 exponent byte per 32 inputs", out);
                Set<String> allowed = new java.util.HashSet<>(Set.of("weight_packed", "weight_scale"));
                if (nv) {
                    allowed.add("weight_global_scale");
                    TensorChecks.require(l, "weight_global_scale", EnumSet.of(DType.F32), TensorChecks.SCALAR, label,
                            "per-tensor global scale", out);
                    if (r.actQuant()) {
                        allowed.add("input_global_scale");
                        TensorChecks.require(l, "input_global_scale", EnumSet.of(DType.F32), TensorChecks.SCALAR,
                                label, "W4A4: activation global scale", out);
                    }
                }
                TensorChecks.onlyThese(l, allowed, label, out);
                yield new Dims(n, k);
            }
            case MXFP8 -> {
                TensorEntry wt = TensorChecks.require(l, "weight", EnumSet.of(DType.F8_E4M3), null, label,
                        "float8_e4m3fn codes [N, K]", out);
                if (wt == null || wt.rank() != 2) yield null;
                TensorChecks.require(l, "weight_scale", EnumSet.of(DType.U8),
                        List.of(new long[] {wt.dim(0), TensorChecks.ceilDiv(wt.dim(1), 32)}), label,
                        "e8m0 exponent byte per 32 inputs", out);
                TensorChecks.onlyThese(l, Set.of("weight", "weight_scale"), label, out);
                yield new Dims(wt.dim(0), wt.dim(1));
            }
            case W4A8_FP8 -> null;
        };
    }

    // ---- kernel shape rules per TP partition ----

    private static void checkKernelShapes(Kind kind, Map<Linear, Dims> dims, Map<Linear, Resolved> byLayer,
                                          LinearLayout layout, Partitions parts, Target target, Collector out) {
        if (kind == Kind.WNA16) {
            // Marlin runs each config group with its own group size; check per group size.
            Map<Integer, Map<Linear, Dims>> byGroup = new LinkedHashMap<>();
            for (Map.Entry<Linear, Dims> e : dims.entrySet()) {
                Args w = byLayer.get(e.getKey()).scheme().weights();
                int g = w.strategy().equals("channel") ? -1 : w.groupSize();
                byGroup.computeIfAbsent(g, x -> new LinkedHashMap<>()).put(e.getKey(), e.getValue());
            }
            for (Map.Entry<Integer, Map<Linear, Dims>> e : byGroup.entrySet()) {
                MarlinRules.checkShapes(parts.parts(e.getValue(), layout, out), e.getKey(),
                        "compressed-tensors WNA16 (Marlin)", target, out);
            }
        } else if (kind == Kind.FP8) {
            Map<Linear, Dims> block = new LinkedHashMap<>();
            long[] bs = null;
            for (Map.Entry<Linear, Dims> e : dims.entrySet()) {
                Args w = byLayer.get(e.getKey()).scheme().weights();
                if (w.block() != null) {
                    block.put(e.getKey(), e.getValue());
                    bs = w.block();
                }
            }
            if (bs != null) Fp8Rules.checkBlockPartitions(block, bs[0], bs[1], layout, parts, target, out);
        } else {
            parts.parts(dims, layout, out); // reports layers that cannot be split across the TP ranks
        }
    }

    static String text(JsonNode n) {
        return n == null || n.isNull() || !n.isString() ? null : n.asString();
    }
}
