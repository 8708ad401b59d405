package dev.ao4j.sglang;

import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.vllm.compressed.CompressedTensorsScheme;
import dev.ao4j.vllm.compressed.CompressedTensorsScheme.Preset;

/**
 * SGLang's narrower compressed-tensors support, checked before any weight is quantized, so that a run for SGLang
 * fails in a second with a way out instead of after hours of work (the package validator repeats the checks on the
 * finished package, for packages from anywhere).
 */
public final class SglangSupport {
    private SglangSupport() {}

    /**
     * @throws UnsupportedFormatException for an asymmetric W4A16/W8A16 scheme: SGLang's compressed-tensors loader
     *                                    takes weight-only integer schemes only when symmetric (sgl-project/sglang
     *                                    #25291, still so in 0.5.11)
     */
    public static void requireLoadable(CompressedTensorsScheme scheme) {
        boolean wna16 = scheme.preset() == Preset.W4A16 || scheme.preset() == Preset.W8A16;
        if (wna16 && !scheme.symmetric()) {
            throw new UnsupportedFormatException("SGLang cannot load compressed-tensors " + scheme.cliName()
                    + ": its compressed-tensors loader takes W4A16/W8A16 only when symmetric (\"No compressed-tensors "
                    + "compatible scheme was found\", sgl-project/sglang#25291). Drop --asym for the symmetric scheme, "
                    + "use --format awq for asymmetric 4-bit weights SGLang loads, or --target vllm");
        }
    }
}
