package dev.ao4j.transformers.pack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.quant.Where;
import dev.ao4j.transformers.json.PyJson;
import java.util.List;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class FineGrainedFp8ConfigTest {
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private static JsonNode json(String s) {
        return JSON.readTree(s);
    }

    @Test
    void writesTransformersDictInAttributeOrder() {
        // FineGrainedFP8Config(modules_to_not_convert=["lm_head"]).to_dict() in transformers 5.17
        assertEquals("{\"quant_method\": \"fp8\", \"modules_to_not_convert\": [\"lm_head\"], \"modules_to_convert\": null, "
                        + "\"activation_scheme\": \"dynamic\", \"weight_block_size\": [128, 128], \"dequantize\": false, "
                        + "\"scale_fmt\": \"float\"}",
                PyJson.dumps(FineGrainedFp8Config.block128(List.of("lm_head")).toJson()));
    }

    @Test
    void readsDeepSeekStyleConfigs() {
        // DeepSeek-V3's config.json: no modules_to_not_convert, an extra "fmt" key
        FineGrainedFp8Config c = FineGrainedFp8Config.fromJson(json("""
                {"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8", "weight_block_size": [128, 128]}
                """), Where.NOWHERE);
        assertEquals(List.of(128, 128), c.weightBlockSize());
        assertNull(c.modulesToNotConvert());
        // vLLM-era name for the skip list
        assertEquals(List.of("lm_head", "model.layers.0.mlp.gate"), FineGrainedFp8Config.fromJson(json("""
                {"quant_method": "fp8", "activation_scheme": "dynamic", "weight_block_size": [64, 32],
                 "ignored_layers": ["lm_head", "model.layers.0.mlp.gate"]}"""), Where.NOWHERE).modulesToNotConvert());
        assertEquals(c, FineGrainedFp8Config.fromJson(c.toJson(), Where.NOWHERE));
    }

    @Test
    void refusesWhatIsNotBlockwiseDynamicFp8() {
        var perTensor = assertThrows(UnsupportedFormatException.class, () -> FineGrainedFp8Config.fromJson(json("""
                {"quant_method": "fp8", "activation_scheme": "static"}"""), Where.NOWHERE));
        assertTrue(perTensor.getMessage().contains("weight_block_size"), perTensor.getMessage());
        assertThrows(UnsupportedFormatException.class, () -> FineGrainedFp8Config.fromJson(json("""
                {"quant_method": "fp8", "activation_scheme": "static", "weight_block_size": [128, 128]}"""),
                Where.NOWHERE));
        assertThrows(UnsupportedFormatException.class, () -> FineGrainedFp8Config.fromJson(json("""
                {"quant_method": "fp8", "weight_block_size": [128, 128], "scale_fmt": "ue8m0"}"""), Where.NOWHERE));
        assertThrows(UnsupportedFormatException.class, () -> FineGrainedFp8Config.fromJson(json("""
                {"quant_method": "torchao"}"""), Where.NOWHERE));
        assertThrows(InvalidConfigException.class, () -> new FineGrainedFp8Config("dynamic", List.of(128, 0), null));
        assertThrows(InvalidConfigException.class, () -> new FineGrainedFp8Config("dynamic", List.of(128), null));
    }

    @Test
    void mxfp8IsTheSameConfigWithItsOwnMethodAndA1x32Block() {
        FineGrainedFp8Config mx = new FineGrainedFp8Config("dynamic", FineGrainedFp8Config.BLOCK_1X32, List.of("lm_head"),
                FineGrainedFp8Config.MXFP8);
        assertTrue(mx.isMxfp8());
        assertEquals("mxfp8", mx.toJson().get("quant_method").asString());
        assertEquals(mx, FineGrainedFp8Config.fromJson(mx.toJson(), Where.NOWHERE));
        assertThrows(InvalidConfigException.class, () -> new FineGrainedFp8Config("dynamic", List.of(128, 128), null,
                FineGrainedFp8Config.MXFP8));
        assertThrows(InvalidConfigException.class, () -> new FineGrainedFp8Config("dynamic", List.of(1, 32), null,
                "nvfp4"));
        var wrongBlock = assertThrows(UnsupportedFormatException.class, () -> FineGrainedFp8Config.fromJson(json("""
                {"quant_method": "mxfp8", "weight_block_size": [128, 128]}"""), Where.NOWHERE));
        assertTrue(wrongBlock.getMessage().contains("[1, 32]"), wrongBlock.getMessage());
    }
}
