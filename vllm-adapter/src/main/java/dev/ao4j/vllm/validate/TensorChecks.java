package dev.ao4j.vllm.validate;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.vllm.validate.LinearLayout.Linear;
import dev.ao4j.vllm.validate.PackageContents.TensorEntry;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/** Presence, dtype and shape checks for the tensors of one quantized Linear. */
final class TensorChecks {
    static final Set<DType> FLOAT_SCALE = EnumSet.of(DType.BF16, DType.F16, DType.F32);
    static final Set<DType> HIGH_PRECISION = EnumSet.of(DType.BF16, DType.F16, DType.F32);
    /** A per-tensor scalar: shape [] or [1]. */
    static final List<long[]> SCALAR = List.of(new long[0], new long[] {1});

    private TensorChecks() {}

    /**
     * Checks that {@code l} has tensor {@code suffix} with one of {@code dtypes} and, unless {@code shapes} is
     * null, one of {@code shapes}. Reports {@link Rules#TENSOR_MISSING}, {@link Rules#TENSOR_DTYPE} or
     * {@link Rules#TENSOR_SHAPE}; returns the entry when present (even with a wrong dtype or shape).
     */
    static TensorEntry require(Linear l, String suffix, Set<DType> dtypes, List<long[]> shapes, String scheme,
                               String why, Collector out) {
        TensorEntry t = l.get(suffix);
        if (t == null) {
            out.error(Rules.TENSOR_MISSING, l.name(), "tensor " + l.tensorName(suffix) + " is missing; " + scheme
                    + " needs it (" + why + ")");
            return null;
        }
        if (!dtypes.contains(t.dtype())) {
            out.error(Rules.TENSOR_DTYPE, l.name(), "tensor " + t.name() + " is " + t.dtype().safetensorsName()
                    + "; " + scheme + " needs " + names(dtypes) + " (" + why + ")");
        }
        if (shapes != null && shapes.stream().noneMatch(s -> Arrays.equals(s, t.dims()))) {
            out.error(Rules.TENSOR_SHAPE, l.name(), "tensor " + t.name() + " has shape " + Arrays.toString(t.dims())
                    + "; " + scheme + " needs " + shapes.stream().map(Arrays::toString)
                    .collect(Collectors.joining(" or ")) + " (" + why + ")");
        }
        return t;
    }

    /** Reports every tensor of {@code l} outside {@code allowed} (bias is always allowed). */
    static void onlyThese(Linear l, Set<String> allowed, String scheme, Collector out) {
        for (String s : l.tensors().keySet()) {
            if (allowed.contains(s) || s.equals("bias")) continue;
            out.error(Rules.TENSOR_UNEXPECTED, l.name(), "tensor " + l.tensorName(s) + " does not belong to "
                    + scheme + ": the engine creates no parameter named '" + s + "' for this layer and fails with "
                    + "'There is no module or parameter named ...' (or silently drops it); remove it, or fix the "
                    + "quantization config so it describes how this layer is stored");
        }
    }

    /**
     * For a layer the config leaves in high precision: a plain {@code weight} in a float dtype and nothing
     * quantized.
     */
    static void unquantized(Linear l, String why, Collector out) {
        TensorEntry w = l.get("weight");
        boolean quantizedTensors = l.tensors().keySet().stream().anyMatch(s -> !s.equals("weight") && !s.equals("bias"));
        if (w != null && HIGH_PRECISION.contains(w.dtype()) && !quantizedTensors) return;
        out.error(Rules.TENSOR_UNEXPECTED, l.name(), "the quantization config leaves this layer unquantized (" + why
                + "), so the engine expects one " + names(HIGH_PRECISION) + " 'weight', but the checkpoint has "
                + l.tensors().values().stream().map(t -> t.name().substring(l.name().length() + 1) + " "
                + t.describe()).collect(Collectors.joining(", "))
                + "; either list the layer in the config's quantized targets or store it as a plain weight");
    }

    /** True when the layer is stored as a plain float weight (no quantized tensors at all). */
    static boolean isPlain(Linear l) {
        TensorEntry w = l.get("weight");
        return w != null && HIGH_PRECISION.contains(w.dtype())
                && l.tensors().keySet().stream().allMatch(s -> s.equals("weight") || s.equals("bias"));
    }

    /** Reports {@link Rules#TENSOR_NOT_QUANTIZED} for a layer the config quantizes but that is stored plain. */
    static void notQuantized(Linear l, String scheme, Collector out) {
        out.error(Rules.TENSOR_NOT_QUANTIZED, l.name(), "the quantization config quantizes this layer as " + scheme
                + ", but the checkpoint stores a plain " + l.get("weight").describe() + " weight; the engine would "
                + "look for the quantized tensors and fail. Quantize the layer, or add it to the config's "
                + "ignore/skip list");
    }

    static String names(Set<DType> dtypes) {
        return dtypes.stream().map(DType::safetensorsName).collect(Collectors.joining("/"));
    }

    static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }
}
