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
import tools.jackson.databind.JsonNode;

/**
 * GPTQ (spec 3) and AWQ (spec 4) packages: config fields as vLLM's AutoGPTQConfig / AutoAWQConfig read them,
 * the tensor sets (GPTQ packs along K, AWQ along N with its interleave), Marlin's rules, and fused-layer
 * consistency. Which layers are quantized is inferred from the tensors, as vLLM does without an explicit list.
 */
final class GptqAwqRules {
    private static final Set<DType> SCALES = EnumSet.of(DType.F16, DType.BF16);

    private GptqAwqRules() {}

    static void checkGptq(JsonNode q, PackageContents pkg, LinearLayout layout, Partitions parts, Target target,
                          Collector out) {
        boolean vllm = target.engine() == Engine.VLLM;
        Integer bits = intField(q, out, "bits");
        Integer group = intField(q, out, "group_size");
        if (bits == null || group == null) return;
        boolean sym = !q.path("sym").isBoolean() || q.get("sym").booleanValue();
        boolean descAct = q.path("desc_act").isBoolean() && q.get("desc_act").booleanValue();
        boolean lmHead = q.path("lm_head").isBoolean() && q.get("lm_head").booleanValue();
        if (bits != 4 && bits != 8) {
            out.error(Rules.MARLIN_BITS, "", "GPTQ bits = " + bits + ": " + (vllm ? "vLLM's GPTQ loader (Marlin and "
                    + "its alternatives) takes only 4 or 8 bits" : "SGLang's GPTQ Marlin path takes 4 or 8 bits and "
                    + "its exllama fallback is not kept current") + "; quantize with 4 or 8 bits");
            return;
        }
        if (!sym) {
            if (vllm) {
                out.error(Rules.MARLIN_SYMMETRIC, "", "GPTQ sym = false: current vLLM loads GPTQ only symmetric "
                        + "(uint4b8/uint8b128; the asymmetric exllama path is no longer reachable). Write symmetric "
                        + "GPTQ, or compressed-tensors pack-quantized asymmetric / AWQ");
            } else {
                out.warn(Rules.MARLIN_SYMMETRIC, "", "GPTQ sym = false: SGLang cannot use Marlin and falls back to "
                        + "its slower GPTQ kernel; prefer symmetric GPTQ");
            }
        }
        if (!MarlinRules.GROUP_SIZES.contains(group)) {
            out.add(vllm ? Severity.ERROR : Severity.WARNING, Rules.MARLIN_GROUP_SIZE, "", "GPTQ group_size = " + group
                    + " is not one Marlin supports (-1, 32, 64, 128)" + (vllm ? "; vLLM refuses it" : "; SGLang "
                    + "falls back to its slower GPTQ kernel") + ". Use 128");
        }
        Map<Linear, Dims> dims = new LinkedHashMap<>();
        for (Linear l : layout.linears.values()) {
            boolean quantized = l.has("qweight");
            if (l.parallel() == Parallel.LM_HEAD && quantized != lmHead) {
                out.error(quantized ? Rules.TENSOR_UNEXPECTED : Rules.TENSOR_NOT_QUANTIZED, l.name(), "lm_head is "
                        + (quantized ? "" : "not ") + "quantized in the checkpoint but the config has lm_head = "
                        + lmHead + "; make them agree");
                continue;
            }
            if (!quantized) {
                if (!TensorChecks.isPlain(l)) TensorChecks.unquantized(l, "no qweight", out);
                continue;
            }
            String label = "GPTQ " + bits + "-bit g" + group;
            TensorEntry qw = TensorChecks.require(l, "qweight", EnumSet.of(DType.I32), null, label,
                    "codes packed along K: [K*bits/32, N]", out);
            if (qw == null || qw.rank() != 2) continue;
            long n = qw.dim(1);
            long k = qw.dim(0) * 32 / bits;
            long groups = group == -1 ? 1 : TensorChecks.ceilDiv(k, group);
            TensorChecks.require(l, "scales", SCALES, List.of(new long[] {groups, n}), label, "[K/group, N]", out);
            TensorChecks.require(l, "qzeros", EnumSet.of(DType.I32), List.of(new long[] {groups, n * bits / 32}), label,
                    "zero points packed along N: [K/group, N*bits/32]", out);
            if (!l.has("g_idx")) {
                if (descAct) {
                    out.error(Rules.TENSOR_MISSING, l.name(), "tensor " + l.tensorName("g_idx") + " is missing; "
                            + "desc_act = true needs the group index of every input column");
                } else {
                    out.warn(Rules.GPTQ_G_IDX, l.name(), "tensor " + l.tensorName("g_idx") + " is missing; the engines "
                            + "register a g_idx parameter for every GPTQ layer (unused without desc_act) and "
                            + "AutoGPTQ always writes it: write g_idx = k // group_size");
                }
            } else {
                TensorChecks.require(l, "g_idx", EnumSet.of(DType.I32), List.of(new long[] {k}), label,
                        "group index of each input column", out);
            }
            TensorChecks.onlyThese(l, Set.of("qweight", "qzeros", "scales", "g_idx"), label, out);
            if (descAct && l.parallel() == Parallel.ROW && target.tensorParallel() > 1) {
                out.warn(Rules.GPTQ_DESC_ACT, l.name(), "desc_act = true on a row-parallel layer at tensor-parallel "
                        + "size " + target.tensorParallel() + ": Marlin replicates the scales on every rank and runs "
                        + "with is_k_full = false (slower, no padding of misaligned shapes); quantize with "
                        + "desc_act = false if you serve with TP > 1");
            }
            dims.put(l, new Dims(n, k));
        }
        checkFusedQuantized(layout, l -> l.has("qweight"), out);
        MarlinRules.checkShapes(parts.parts(dims, layout, out), group, "GPTQ (Marlin)", target, out);
    }

    static void checkAwq(JsonNode q, PackageContents pkg, LinearLayout layout, Partitions parts, Target target,
                         Collector out) {
        Integer bits = intField(q, out, "bits", "w_bit");
        Integer group = intField(q, out, "group_size", "q_group_size");
        if (bits == null || group == null) return;
        if (!q.path("zero_point").isBoolean()) {
            out.error(Rules.CONFIG_FIELD, "", "AWQ quantization_config needs boolean 'zero_point'; the engines read "
                    + "it to pick the kernel type");
            return;
        }
        if (bits != 4) {
            out.error(Rules.MARLIN_BITS, "", "AWQ bits = " + bits + ": the engines' AWQ kernels (Marlin and the AWQ "
                    + "GEMM) take only 4-bit weights; use 4 bits, or compressed-tensors for 8-bit");
            return;
        }
        if (!q.get("zero_point").booleanValue()) {
            out.error(Rules.AWQ_ZERO_POINT, "", "AWQ zero_point = false: awq_marlin needs zero points (type uint4 "
                    + "with runtime zeros) and the AWQ GEMM kernel always applies qzeros; write zero_point = true "
                    + "with qzeros, or symmetric GPTQ / compressed-tensors instead");
            return;
        }
        if (!MarlinRules.GROUP_SIZES.contains(group)) {
            out.warn(Rules.MARLIN_GROUP_SIZE, "", "AWQ group_size = " + group + " is not one Marlin supports (-1, 32, "
                    + "64, 128); the engine falls back to the slow AWQ GEMM kernel. Use 128");
        }
        List<String> notConvert = new ArrayList<>();
        JsonNode mtnc = q.get("modules_to_not_convert");
        boolean explicitSkips = mtnc != null && mtnc.isArray();
        if (explicitSkips) for (JsonNode n : mtnc) if (n.isString()) notConvert.add(n.asString());
        Map<Linear, Dims> dims = new LinkedHashMap<>();
        String label = "AWQ 4-bit g" + group;
        for (Linear l : layout.linears.values()) {
            boolean skipped = l.parallel() == Parallel.LM_HEAD || notConvert.stream().anyMatch(m -> l.name().contains(m));
            if (!l.has("qweight")) {
                if (!TensorChecks.isPlain(l)) TensorChecks.unquantized(l, "no qweight", out);
                else if (explicitSkips && !skipped) {
                    out.error(Rules.TENSOR_NOT_QUANTIZED, l.name(), "the layer is stored as a plain "
                            + l.get("weight").describe() + " weight but modules_to_not_convert does not name it, so "
                            + "the engine builds an AWQ layer and finds no qweight; add it to modules_to_not_convert");
                }
                continue;
            }
            if (skipped) {
                out.error(Rules.TENSOR_UNEXPECTED, l.name(), "the layer has AWQ tensors but "
                        + (l.parallel() == Parallel.LM_HEAD ? "the engines never AWQ-quantize lm_head"
                        : "modules_to_not_convert names it") + "; store it as a plain weight");
                continue;
            }
            TensorEntry qw = TensorChecks.require(l, "qweight", EnumSet.of(DType.I32), null, label,
                    "codes packed along N with AWQ's interleave: [K, N/8]", out);
            if (qw == null || qw.rank() != 2) continue;
            long k = qw.dim(0);
            long n = qw.dim(1) * 8;
            long groups = group == -1 ? 1 : TensorChecks.ceilDiv(k, group);
            TensorChecks.require(l, "scales", SCALES, List.of(new long[] {groups, n}), label, "[K/group, N]", out);
            TensorChecks.require(l, "qzeros", EnumSet.of(DType.I32), List.of(new long[] {groups, n / 8}), label,
                    "zero points packed like qweight: [K/group, N/8]", out);
            TensorChecks.onlyThese(l, Set.of("qweight", "qzeros", "scales"), label, out);
            dims.put(l, new Dims(n, k));
        }
        checkFusedQuantized(layout, l -> l.has("qweight"), out);
        MarlinRules.checkShapes(parts.parts(dims, layout, out), group, "awq_marlin", Severity.WARNING,
                " cannot use awq_marlin here and falls back to the unoptimized AWQ GEMM kernel for this layer",
                target, out);
    }

    /** All shards of a fused layer quantized, or none (the engine builds one fused layer with one method). */
    static void checkFusedQuantized(LinearLayout layout, java.util.function.Predicate<Linear> quantized,
                                    Collector out) {
        for (Fused f : layout.fused) {
            List<String> q = f.shards().stream().filter(quantized).map(Linear::leaf).toList();
            if (!q.isEmpty() && q.size() != f.shards().size()) {
                out.error(Rules.FUSED_PARTIAL, f.name(), "the engine fuses " + f.shardNames() + " into one layer "
                        + "with one quantization method, but only " + String.join(", ", q) + " are quantized "
                        + "('Detected some but not all shards ... are quantized'); quantize all shards or none");
            }
        }
    }

    private static Integer intField(JsonNode q, Collector out, String... keys) {
        for (String k : keys) {
            JsonNode n = q.get(k);
            if (n != null && n.isIntegralNumber()) return n.intValue();
        }
        out.error(Rules.CONFIG_FIELD, "", "quantization_config needs integer '" + String.join("' or '", keys)
                + "'; the engine reads it to build the layers");
        return null;
    }
}
