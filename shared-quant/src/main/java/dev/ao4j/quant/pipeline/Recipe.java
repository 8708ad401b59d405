package dev.ao4j.quant.pipeline;

import dev.ao4j.quant.config.QuantConfig;

/**
 * A named quantization job: the torchao config, which modules it applies to, and the quantizer that reproduces
 * the config's numerics.
 *
 * @param measureError when true, each quantized weight is dequantized again to report its SQNR
 */
public record Recipe(String name, QuantConfig config, ModuleSelector selector, WeightQuantizer quantizer,
                     boolean measureError) {}
