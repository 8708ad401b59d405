package dev.ao4j.quant.numerics;

import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.quant.dtype.DType;
import java.util.Collections;
import java.util.EnumSet;
import java.util.Set;

/**
 * The float dtypes the quantizers read and compute in (bf16, f16, f32: those {@link TorchOps#round} rounds to),
 * and the argument check every quantizer applies to them.
 */
public final class ComputeDtypes {
    private ComputeDtypes() {}

    /** bf16, f16 and f32. */
    public static final Set<DType> ALL = Collections.unmodifiableSet(EnumSet.of(DType.BF16, DType.F16, DType.F32));

    /** {@code dtype} if it is bf16, f16 or f32; else an exception naming {@code what}, the allowed and the found. */
    public static DType require(String what, DType dtype) {
        return require(what, dtype, ALL);
    }

    /** {@code dtype} if {@code allowed} holds it; else an exception naming {@code what}, the allowed and the found. */
    public static DType require(String what, DType dtype, Set<DType> allowed) {
        if (dtype == null || !allowed.contains(dtype)) {
            throw new UnsupportedFormatException(what + ": dtype must be one of "
                    + allowed.stream().map(DType::torchName).sorted().toList() + ", found "
                    + (dtype == null ? "none" : dtype.torchName()));
        }
        return dtype;
    }
}
