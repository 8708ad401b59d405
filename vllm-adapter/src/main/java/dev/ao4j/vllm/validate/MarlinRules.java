package dev.ao4j.vllm.validate;

import dev.ao4j.vllm.validate.Partitions.Part;
import java.util.List;
import java.util.Set;

/**
 * Marlin's constraints (vLLM {@code marlin_utils}: min_thread_n 64, min_thread_k 128, group sizes -1/32/64/128,
 * uint4b8/uint8b128 without zero points, only uint4 with zero points), shared by GPTQ, AWQ and compressed-tensors
 * WNA16. SGLang ships the same kernel and the same checks.
 */
final class MarlinRules {
    static final int MIN_THREAD_N = 64;
    static final int MIN_THREAD_K = 128;
    static final Set<Integer> GROUP_SIZES = Set.of(-1, 32, 64, 128);

    private MarlinRules() {}

    /**
     * Tile and group divisibility per rank, as {@code verify_marlin_supports_shape}: N_part % 64, K_part % 128,
     * and K_part % group when the group is smaller than the full K.
     */
    static void checkShapes(List<Part> parts, int groupSize, String method, Target target, Collector out) {
        checkShapes(parts, groupSize, method, Severity.ERROR, "", target, out);
    }

    /**
     * As above; {@code tileSeverity} and {@code fallback} describe what happens when the tile rules fail (AWQ
     * falls back to its unoptimized kernel instead of refusing).
     */
    static void checkShapes(List<Part> parts, int groupSize, String method, Severity tileSeverity, String fallback,
                            Target target, Collector out) {
        String tpNote = target.tensorParallel() > 1 ? " at tensor-parallel size " + target.tensorParallel() : "";
        for (Part p : parts) {
            if (p.nPart() % MIN_THREAD_N != 0) {
                out.add(tileSeverity, Rules.MARLIN_SHAPE_N, p.layer(), p.label() + ": output size per partition N = " + p.nPart()
                        + (p.shardNParts().size() > 1 ? " (" + join(p.shardNParts()) + ")" : "") + tpNote
                        + " is not a multiple of " + MIN_THREAD_N + ", Marlin's min_thread_n; " + target.engine().displayName()
                        + (fallback.isEmpty() ? " refuses " + method + " here ('Weight output_size_per_partition = "
                        + p.nPart() + " is not divisible by min_thread_n = 64')" : fallback) + ". Use a tensor-parallel size that keeps N a "
                        + "multiple of 64 per rank, or keep this layer unquantized");
            }
            if (p.kPart() % MIN_THREAD_K != 0) {
                out.add(tileSeverity, Rules.MARLIN_SHAPE_K, p.layer(), p.label() + ": input size per partition K = " + p.kPart()
                        + tpNote + " is not a multiple of " + MIN_THREAD_K + ", Marlin's min_thread_k; "
                        + target.engine().displayName() + (fallback.isEmpty() ? " refuses " + method + " here ('Weight "
                        + "input_size_per_partition = " + p.kPart() + " is not divisible by min_thread_k = 128')"
                        : fallback) + ". "
                        + (p.rowParallel() && target.tensorParallel() > 1
                        ? "Use a smaller tensor-parallel size, or keep this layer unquantized"
                        : "Keep this layer unquantized (ignore it)"));
            }
            if (groupSize > 0 && groupSize < p.kFull() && p.kPart() % groupSize != 0) {
                out.error(Rules.MARLIN_GROUP_K, p.layer(), p.label() + ": group size " + groupSize
                        + " does not divide the input size per partition K = " + p.kPart() + tpNote
                        + "; every rank must hold whole groups. Use a group size that divides " + p.kPart()
                        + " or a smaller tensor-parallel size");
            }
        }
    }

    private static String join(List<Long> xs) {
        return String.join(" + ", xs.stream().map(String::valueOf).toList());
    }
}
