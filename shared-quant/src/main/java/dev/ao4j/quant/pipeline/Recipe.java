package dev.ao4j.quant.pipeline;

import dev.ao4j.quant.config.QuantConfig;
import dev.ao4j.quant.dtype.DType;

/**
 * A named quantization job: the torchao config, which modules it applies to, and the quantizer that reproduces
 * the config's numerics.
 *
 * @param measureError when true, each quantized weight is dequantized again to report its SQNR
 * @param computeDtype the dtype every floating-point tensor is cast to first, as transformers'
 *                     {@code from_pretrained(dtype=...)} does before torchao quantizes; null keeps stored dtypes
 */
public record Recipe(String name, QuantConfig config, ModuleSelector selector, WeightQuantizer quantizer,
                     boolean measureError, DType computeDtype) {
    public Recipe {
        if (computeDtype != null && computeDtype != DType.BF16 && computeDtype != DType.F16
                && computeDtype != DType.F32) {
            throw new IllegalArgumentException("computeDtype must be bf16, f16, f32 or null but was " + computeDtype);
        }
    }

    /** Whether {@code stored} is converted before quantization. */
    boolean casts(DType stored) {
        return computeDtype != null && stored != computeDtype
                && (stored == DType.BF16 || stored == DType.F16 || stored == DType.F32 || stored == DType.F64);
    }
}
