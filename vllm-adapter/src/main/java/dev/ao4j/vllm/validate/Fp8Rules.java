package dev.ao4j.vllm.validate;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.vllm.validate.LinearLayout.Linear;
import dev.ao4j.vllm.validate.LinearLayout.Parallel;
import dev.ao4j.vllm.validate.Partitions.Dims;
import dev.ao4j.vllm.validate.Partitions.Part;
import dev.ao4j.vllm.validate.PackageContents.TensorEntry;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import tools.jackson.databind.JsonNode;

/**
 * {@code quant_method: "fp8"} packages (spec 5.1: per-tensor, or DeepSeek-style {@code weight_block_size} with
 * {@code weight_scale_inv}), the FP8 block partition rule shared with compressed-tensors block FP8, and gpt-oss
 * {@code quant_method: "mxfp4"} (spec 7: only MoE experts are quantized).
 */
final class Fp8Rules {
    private Fp8Rules() {}

    static void check(JsonNode q, PackageContents pkg, LinearLayout layout, Partitions parts, Target target,
                      Collector out) {
        String scheme = CompressedTensorsRules.text(q.get("activation_scheme"));
        if (scheme == null || !(scheme.equals("dynamic") || scheme.equals("static"))) {
            out.error(Rules.CONFIG_FIELD, "", "fp8 quantization_config needs activation_scheme 'dynamic' or 'static'"
                    + (scheme == null ? " (missing)" : ", found '" + scheme + "'"));
            return;
        }
        long[] block = null;
        JsonNode wbs = q.get("weight_block_size");
        if (wbs != null && !wbs.isNull()) {
            if (!wbs.isArray() || wbs.size() != 2 || !wbs.get(0).isIntegralNumber() || !wbs.get(1).isIntegralNumber()) {
                out.error(Rules.CONFIG_FIELD, "", "weight_block_size must be [block_n, block_k], found " + wbs);
                return;
            }
            block = new long[] {wbs.get(0).longValue(), wbs.get(1).longValue()};
            if (scheme.equals("static")) {
                out.error(Rules.FP8_BLOCK_STATIC, "", "weight_block_size with activation_scheme 'static': block-wise "
                        + "FP8 supports only dynamic activations (the engine refuses the config); write 'dynamic'");
            }
        }
        List<String> skip = new ArrayList<>();
        for (String key : List.of("ignored_layers", "modules_to_not_convert")) {
            JsonNode n = q.get(key);
            if (n != null && n.isArray()) for (JsonNode e : n) if (e.isString()) skip.add(e.asString());
        }
        String label = block != null ? "FP8 block " + block[0] + "x" + block[1] : "FP8 per-tensor";
        if (!target.gpu().atLeast(89)) {
            out.warn(Rules.FP8_ARCH, "", target.gpu().wireName() + " has no FP8 tensor cores; "
                    + target.engine().displayName() + " runs " + label + " weight-only through the Marlin FP8 kernel "
                    + "(W8A16: activations stay bf16/fp16" + (scheme.equals("static") ? ", input_scale unused" : "")
                    + "). Native W8A8 needs sm89+");
        }
        Map<Linear, Dims> dims = new LinkedHashMap<>();
        for (Linear l : layout.linears.values()) {
            boolean skipped = l.parallel() == Parallel.LM_HEAD || skip.stream().anyMatch(s -> matchesSegment(l.name(), s));
            boolean plain = TensorChecks.isPlain(l);
            if (skipped) {
                if (!plain) TensorChecks.unquantized(l, "named in ignored_layers/modules_to_not_convert", out);
                continue;
            }
            if (plain) {
                TensorChecks.notQuantized(l, label, out);
                continue;
            }
            TensorEntry w = TensorChecks.require(l, "weight", EnumSet.of(DType.F8_E4M3), null, label,
                    "float8_e4m3fn codes [N, K]", out);
            if (w == null || w.rank() != 2) continue;
            long n = w.dim(0);
            long k = w.dim(1);
            if (block != null) {
                TensorChecks.require(l, "weight_scale_inv", TensorChecks.FLOAT_SCALE, List.of(new long[] {
                        TensorChecks.ceilDiv(n, block[0]), TensorChecks.ceilDiv(k, block[1])}), label,
                        "dequantization multiplier per block", out);
                TensorChecks.onlyThese(l, Set.of("weight", "weight_scale_inv"), label, out);
            } else {
                TensorChecks.require(l, "weight_scale", TensorChecks.FLOAT_SCALE, TensorChecks.SCALAR, label,
                        "per-tensor dequantization multiplier", out);
                Set<String> allowed = new java.util.HashSet<>(Set.of("weight", "weight_scale"));
                if (scheme.equals("static")) {
                    allowed.add("input_scale");
                    TensorChecks.require(l, "input_scale", TensorChecks.FLOAT_SCALE, TensorChecks.SCALAR, label,
                            "static activation scale", out);
                }
                TensorChecks.onlyThese(l, allowed, label, out);
            }
            dims.put(l, new Dims(n, k));
        }
        GptqAwqRules.checkFusedQuantized(layout, l -> !TensorChecks.isPlain(l), out);
        if (block != null) checkBlockPartitions(dims, block[0], block[1], layout, parts, target, out);
        else parts.parts(dims, layout, out);
    }

    /**
     * vLLM's {@code validate_fp8_block_shape}: with TP > 1 a row-parallel layer's K per rank must be whole
     * blocks; with TP > 1 every output shard per rank must be whole blocks, and a merged layer (qkv, gate_up) at
     * TP 1 needs whole blocks for every shard but the last.
     */
    static void checkBlockPartitions(Map<Linear, Dims> dims, long bn, long bk, LinearLayout layout, Partitions parts,
                                     Target target, Collector out) {
        int tp = target.tensorParallel();
        for (Part p : parts.parts(dims, layout, out)) {
            if (p.rowParallel()) {
                if (tp > 1 && p.kPart() % bk != 0) {
                    out.error(Rules.FP8_BLOCK_PARTITION, p.layer(), "row-parallel: input size per partition K = "
                            + p.kPart() + " at tensor-parallel size " + tp + " is not a multiple of block_k = " + bk
                            + "; " + target.engine().displayName() + " refuses it ('Weight input_size_per_partition = "
                            + p.kPart() + " is not divisible by weight quantization block_k = " + bk + "'). Use a "
                            + "TP size that keeps K/TP a multiple of " + bk);
                }
                continue;
            }
            List<Long> check = p.shardNParts();
            boolean merged = check.size() > 1;
            if (tp == 1 && !merged) continue;
            if (tp == 1) check = check.subList(0, check.size() - 1);
            for (long np : check) {
                if (np % bn != 0) {
                    out.error(Rules.FP8_BLOCK_PARTITION, p.layer(), p.label() + ": output size per partition "
                            + np + (tp > 1 ? " at tensor-parallel size " + tp : "") + " is not a multiple of block_n = "
                            + bn + "; " + target.engine().displayName() + " refuses it ('Weight output_partition_size "
                            + "= " + np + " is not divisible by weight quantization block_n = " + bn + "'). Use a "
                            + "TP size that keeps every shard's N per rank a multiple of " + bn);
                    break;
                }
            }
        }
    }

    /** gpt-oss MXFP4: dense Linears stay in high precision; experts hold *_blocks / *_scales. */
    static void checkGptOssMxfp4(JsonNode q, PackageContents pkg, LinearLayout layout, Target target, Collector out) {
        for (Linear l : layout.linears.values()) {
            if (!TensorChecks.isPlain(l)) {
                out.error(Rules.MXFP4_DENSE, l.name(), "quant_method 'mxfp4' quantizes only MoE experts "
                        + "(mlp.experts.*_blocks/_scales); every Linear, including this one, is loaded as a plain "
                        + "bf16 weight, but the checkpoint stores " + l.tensors().keySet() + ". For dense MXFP4 use "
                        + "compressed-tensors mxfp4-pack-quantized");
            }
        }
        for (TensorEntry t : pkg.tensors.values()) {
            if (!t.name().endsWith("_blocks")) continue;
            String base = t.name().substring(0, t.name().length() - "_blocks".length());
            String layer = base.substring(0, Math.max(0, base.lastIndexOf('.')));
            if (t.dtype() != DType.U8 || t.rank() != 4 || t.dim(3) != 16) {
                out.error(Rules.TENSOR_SHAPE, layer, "tensor " + t.name() + " is " + t.describe() + "; MXFP4 experts "
                        + "need U8 [experts, N, K/32, 16] (32 FP4 codes per 16-byte block)");
                continue;
            }
            TensorEntry s = pkg.tensors.get(base + "_scales");
            long[] want = {t.dim(0), t.dim(1), t.dim(2)};
            if (s == null) {
                out.error(Rules.TENSOR_MISSING, layer, "tensor " + base + "_scales is missing; MXFP4 experts need "
                        + "one E8M0 scale byte per 32-code block, U8 " + java.util.Arrays.toString(want));
            } else if (s.dtype() != DType.U8 || !java.util.Arrays.equals(s.dims(), want)) {
                out.error(Rules.TENSOR_SHAPE, layer, "tensor " + s.name() + " is " + s.describe() + "; MXFP4 experts "
                        + "need U8 " + java.util.Arrays.toString(want));
            }
        }
        String d = PackageValidator.modelDtype(pkg);
        if (d == null) {
            out.warn(Rules.DTYPE_KEYS, PackageContents.CONFIG_FILE, "gpt-oss MXFP4 runs with bfloat16 activations; "
                    + "write dtype/torch_dtype 'bfloat16'");
        }
    }

    /** vLLM skip lists name modules exactly; HF-style lists (modules_to_not_convert) name dotted segments. */
    static boolean matchesSegment(String module, String entry) {
        return module.equals(entry) || module.endsWith("." + entry) || module.startsWith(entry + ".")
                || module.contains("." + entry + ".");
    }

}
