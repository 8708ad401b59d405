package dev.ao4j.sglang;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.vllm.validate.Engine;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class SglangLaunchTest {
    @ParameterizedTest
    @CsvSource({"int8wo,int8wo", "int8dq,int8dq", "int4wo-32,int4wo-32", "int4wo-256,int4wo-256", "fp8wo,fp8wo",
            "fp8dq-row,fp8dq-per_row", "fp8dq-tensor,fp8dq-per_tensor"})
    void ourRecipesMapToSglangTorchAoConfigStrings(String recipe, String sglang) {
        assertEquals(sglang, SglangLaunch.torchAoConfig(recipe));
    }

    @ParameterizedTest
    @ValueSource(strings = {"int4wo-16", "int4wo-128-plain", "8da4w-32", "mxfp8", "nvfp4", "fp8-block128", ""})
    void recipesWithoutAnOnlineFormAreRefusedNamingTheOnesThatExist(String recipe) {
        var e = assertThrows(UnsupportedFormatException.class, () -> SglangLaunch.torchAoConfig(recipe));
        assertTrue(e.getMessage().contains("'" + recipe + "'") && e.getMessage().contains("int4wo-32|64|128|256"),
                e.getMessage());
    }

    @Test
    void launchCommands() {
        var pkg = SglangLaunch.forPackage("/m", 1);
        assertEquals(Engine.SGLANG, pkg.engine());
        assertEquals("python -m sglang.launch_server --model-path /m", pkg.shellLine());
        assertEquals(List.of("python", "-m", "sglang.launch_server", "--model-path", "/m", "--tp", "4",
                "--torchao-config", "int4wo-128"), SglangLaunch.onlineTorchAo("/m", 4, "int4wo-128").argv());
        assertThrows(IllegalArgumentException.class, () -> SglangLaunch.forPackage("/m", 0));
    }

    @Test
    void onlyFp8RecipesNeedAnFp8Gpu() {
        assertTrue(SglangLaunch.needsFp8Gpu("fp8dq-row"));
        assertFalse(SglangLaunch.needsFp8Gpu("int4wo-128"));
    }
}
