package dev.ao4j.quant.config;

/**
 * A torchao 0.18 quantization config ({@code AOBaseConfig} subclass), as an immutable record holding exactly
 * torchao's fields under Java names. The core knows no JSON: the wire form ({@code config_to_dict}) lives in
 * transformers-config's {@code TorchAoConfigCodec}, which switches exhaustively over these permits, so this
 * list is the allow-list.
 *
 * <p>Every record validates in its compact constructor and throws {@link dev.ao4j.quant.InvalidConfigException}
 * naming the field (Java and torchao name), the expected and the found value. Each has {@code defaults()} with
 * torchao's defaults and withers.
 */
public sealed interface QuantConfig
        permits Int4WeightOnlyConfig, Int8WeightOnlyConfig, Int8DynamicActivationInt8WeightConfig,
        Int8DynamicActivationIntxWeightConfig, Float8WeightOnlyConfig, Float8DynamicActivationFloat8WeightConfig,
        MXDynamicActivationMXWeightConfig, NVFP4WeightOnlyConfig {

    /** torchao's class name, e.g. {@code "Int4WeightOnlyConfig"} (the {@code _type} of its dict form). */
    default String torchaoName() {
        return getClass().getSimpleName();
    }

    /**
     * torchao's config version these records describe ({@code _version}); 2, except 1 for the prototype MX and
     * NVFP4 configs.
     */
    default int torchaoVersion() {
        return 2;
    }
}
