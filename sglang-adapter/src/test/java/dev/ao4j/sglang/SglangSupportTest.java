package dev.ao4j.sglang;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.vllm.compressed.CompressedTensorsScheme;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SglangSupportTest {
    @ParameterizedTest
    @ValueSource(strings = {"w4a16-asym", "w4a16-g32-asym", "w8a16-channel-asym"})
    void asymmetricWeightOnlyIntegerSchemesAreRefusedWithAWayOut(String scheme) {
        var e = assertThrows(UnsupportedFormatException.class,
                () -> SglangSupport.requireLoadable(CompressedTensorsScheme.parse(scheme)));
        assertTrue(e.getMessage().contains("sglang#25291") && e.getMessage().contains("--format awq")
                && e.getMessage().contains(CompressedTensorsScheme.parse(scheme).cliName()), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"w4a16", "w8a16-channel", "w8a8", "fp8", "fp8-dynamic", "fp8-block", "nvfp4a16"})
    void everythingElseGoesOnToTheValidator(String scheme) {
        assertDoesNotThrow(() -> SglangSupport.requireLoadable(CompressedTensorsScheme.parse(scheme)));
    }
}
