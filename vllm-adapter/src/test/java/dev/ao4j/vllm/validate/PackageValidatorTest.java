package dev.ao4j.vllm.validate;

import static dev.ao4j.vllm.validate.TinyPackage.P;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.dtype.DType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PackageValidatorTest {
    @TempDir
    Path dir;

    static final Target VLLM_SM80 = new Target(Engine.VLLM, 1, GpuArch.SM80);
    static final Target VLLM_SM90 = new Target(Engine.VLLM, 1, GpuArch.SM90);
    static final Target SGLANG_SM90 = new Target(Engine.SGLANG, 1, GpuArch.SM90);

    static Target vllm(int tp, GpuArch gpu) {
        return new Target(Engine.VLLM, tp, gpu);
    }

    /** A finding of {@code rule} on {@code layer} with the given severity whose message has every part. */
    static Finding expect(ValidationReport r, Severity severity, String rule, String layer, String... parts) {
        java.util.List<Finding> candidates = r.findings().stream()
                .filter(x -> x.rule().equals(rule) && x.layer().equals(layer)).toList();
        if (candidates.isEmpty()) fail("no " + rule + " finding on '" + layer + "' in\n" + r.describe());
        for (Finding f : candidates) {
            if (f.severity() == severity && java.util.Arrays.stream(parts).allMatch(f.message()::contains)) return f;
        }
        return fail("no " + severity + " " + rule + " finding on '" + layer + "' containing "
                + java.util.Arrays.toString(parts) + " in\n" + r.describe());
    }

    static void assertClean(ValidationReport r) {
        assertTrue(r.loadable(), r.describe());
        assertTrue(r.warnings().isEmpty(), r.describe());
    }

    static TinyPackage ctW4(TinyPackage p, int group) {
        for (String m : TinyPackage.all()) p.ctWna16(m, 4, group, true);
        return p.quant(TinyPackage.ctWna16Config(4, group, true));
    }

    // ---------------------------------------------------------------- clean packages

    @Test
    void cleanCompressedTensorsW4A16LoadsOnBothEngines() {
        ctW4(new TinyPackage(dir), 128).write();
        assertClean(PackageValidator.validate(dir, VLLM_SM80));
        assertClean(PackageValidator.validate(dir, vllm(2, GpuArch.SM90)));
        ValidationReport r = PackageValidator.validate(dir, SGLANG_SM90);
        assertClean(r);
        expect(r, Severity.INFO, Rules.METHOD, "", "W4A16 symmetric (CompressedTensorsWNA16)");
    }

    @Test
    void cleanGptqAwqFp8Nvfp4Int8AndUnquantizedPackages() throws IOException {
        TinyPackage gptq = new TinyPackage(Files.createDirectory(dir.resolve("gptq")))
                .quant(TinyPackage.gptqConfig(4, 128, true, false));
        for (String m : TinyPackage.all()) gptq.gptq(m, 4, 128);
        assertClean(PackageValidator.validate(gptq.write(), vllm(2, GpuArch.SM80)));

        TinyPackage awq = new TinyPackage(Files.createDirectory(dir.resolve("awq"))).quant(TinyPackage.awqConfig(4, 128, true));
        for (String m : TinyPackage.all()) awq.awq(m, 128);
        assertClean(PackageValidator.validate(awq.write(), SGLANG_SM90));

        TinyPackage fp8 = new TinyPackage(Files.createDirectory(dir.resolve("fp8"))).quant(TinyPackage.fp8BlockConfig("dynamic"));
        for (String m : TinyPackage.all()) fp8.fp8Block(m);
        assertClean(PackageValidator.validate(fp8.write(), VLLM_SM90));

        TinyPackage nv = new TinyPackage(Files.createDirectory(dir.resolve("nvfp4")))
                .quant(TinyPackage.ct("nvfp4-pack-quantized", TinyPackage.NVFP4_WEIGHTS, TinyPackage.NVFP4_INPUT, "[\"lm_head\"]"));
        for (String m : TinyPackage.all()) nv.nvfp4(m, 448f * 6f, true);
        assertClean(PackageValidator.validate(nv.write(), vllm(1, GpuArch.SM100)));

        String int8w = "{\"num_bits\": 8, \"type\": \"int\", \"symmetric\": true, \"strategy\": \"channel\", \"dynamic\": false}";
        String int8a = "{\"num_bits\": 8, \"type\": \"int\", \"symmetric\": true, \"strategy\": \"token\", \"dynamic\": true}";
        TinyPackage i8 = new TinyPackage(Files.createDirectory(dir.resolve("int8")))
                .quant(TinyPackage.ct("int-quantized", int8w, int8a, "[\"lm_head\"]"));
        for (String m : TinyPackage.all()) i8.ctInt8Channel(m);
        assertClean(PackageValidator.validate(i8.write(), SGLANG_SM90));

        ValidationReport plain = PackageValidator.validate(
                new TinyPackage(Files.createDirectory(dir.resolve("plain"))).allPlain().write(), VLLM_SM80);
        assertClean(plain);
        expect(plain, Severity.INFO, Rules.METHOD, "", "unquantized");
    }

    @Test
    void shardedPackageWithConsistentIndexIsClean() {
        ctW4(new TinyPackage(dir), 128).writeSharded(200_000);
        assertTrue(Files.exists(dir.resolve("model.safetensors.index.json")));
        assertClean(PackageValidator.validate(dir, VLLM_SM80));
    }

    // ---------------------------------------------------------------- Marlin

    @Test
    void marlinShapeKPerPartitionForRowParallelLayer() {
        ctW4(new TinyPackage(dir), 128).write();
        ValidationReport r = PackageValidator.validate(dir, vllm(4, GpuArch.SM90));
        assertFalse(r.loadable());
        expect(r, Severity.ERROR, Rules.MARLIN_SHAPE_K, P + "self_attn.o_proj", "row-parallel",
                "K = 64", "tensor-parallel size 4", "min_thread_k");
    }

    @Test
    void marlinShapeNOnFusedQkvWithReplicatedKvHeads() {
        ctW4(new TinyPackage(dir), 128).write();
        // tp 8 > 2 KV heads: each rank holds q 256/8 = 32 plus one replicated K and V head of 64 -> 160
        ValidationReport r = PackageValidator.validate(dir, vllm(8, GpuArch.SM90));
        expect(r, Severity.ERROR, Rules.MARLIN_SHAPE_N, P + "self_attn.qkv_proj", "N = 160", "32 + 64 + 64",
                "q_proj, k_proj, v_proj", "min_thread_n");
    }

    @Test
    void marlinGroupMustDivideKPerPartition() {
        TinyPackage p = new TinyPackage(dir);
        for (String m : TinyPackage.all()) p.ctWna16(m, 4, 256, true);
        p.quant(TinyPackage.ctWna16Config(4, 256, true)).write();
        ValidationReport r = PackageValidator.validate(dir, vllm(4, GpuArch.SM90));
        expect(r, Severity.ERROR, Rules.MARLIN_GROUP_K, P + "mlp.down_proj", "group size 256", "K = 128");
        expect(r, Severity.WARNING, Rules.MARLIN_GROUP_SIZE, "", "group size 256");
    }

    @Test
    void tensorParallelSizeMustDivideN() {
        ctW4(new TinyPackage(dir), 128).write();
        ValidationReport r = PackageValidator.validate(dir, vllm(3, GpuArch.SM90));
        expect(r, Severity.ERROR, Rules.TP_SPLIT, P + "self_attn.q_proj", "N = 256", "tensor-parallel size 3");
    }

    @Test
    void gptqGroupSizeBitsAndSymmetry() throws IOException {
        TinyPackage g = new TinyPackage(dir).quant(TinyPackage.gptqConfig(4, 256, true, false));
        for (String m : TinyPackage.all()) g.gptq(m, 4, 256);
        expect(PackageValidator.validate(g.write(), VLLM_SM90), Severity.ERROR, Rules.MARLIN_GROUP_SIZE, "",
                "group_size = 256", "-1, 32, 64, 128");

        Path d2 = Files.createDirectory(dir.resolve("asym"));
        TinyPackage a = new TinyPackage(d2).quant(TinyPackage.gptqConfig(4, 128, false, false));
        for (String m : TinyPackage.all()) a.gptq(m, 4, 128);
        a.write();
        expect(PackageValidator.validate(d2, VLLM_SM90), Severity.ERROR, Rules.MARLIN_SYMMETRIC, "", "sym = false");
        expect(PackageValidator.validate(d2, SGLANG_SM90), Severity.WARNING, Rules.MARLIN_SYMMETRIC, "", "slower");

        Path d3 = Files.createDirectory(dir.resolve("bits"));
        TinyPackage b = new TinyPackage(d3).quant(TinyPackage.gptqConfig(3, 128, true, false)).allPlain();
        expect(PackageValidator.validate(b.write(), VLLM_SM90), Severity.ERROR, Rules.MARLIN_BITS, "", "bits = 3");
    }

    @Test
    void gptqGIdxAndDescAct() throws IOException {
        TinyPackage g = new TinyPackage(dir).quant(TinyPackage.gptqConfig(4, 128, true, false));
        for (String m : TinyPackage.all()) g.gptq(m, 4, 128);
        g.remove(P + "mlp.up_proj.g_idx").write();
        expect(PackageValidator.validate(dir, VLLM_SM90), Severity.WARNING, Rules.GPTQ_G_IDX, P + "mlp.up_proj",
                "g_idx");

        Path d2 = Files.createDirectory(dir.resolve("descact"));
        TinyPackage h = new TinyPackage(d2).quant(TinyPackage.gptqConfig(4, 128, true, true));
        for (String m : TinyPackage.all()) h.gptq(m, 4, 128);
        h.write();
        ValidationReport r = PackageValidator.validate(d2, vllm(2, GpuArch.SM90));
        assertTrue(r.loadable(), r.describe());
        expect(r, Severity.WARNING, Rules.GPTQ_DESC_ACT, P + "mlp.down_proj", "is_k_full = false");
    }

    @Test
    void awqNeedsZeroPointAndFallsBackOnMisalignedShapes() throws IOException {
        TinyPackage a = new TinyPackage(dir).quant(TinyPackage.awqConfig(4, 128, false));
        for (String m : TinyPackage.all()) a.awq(m, 128);
        expect(PackageValidator.validate(a.write(), VLLM_SM90), Severity.ERROR, Rules.AWQ_ZERO_POINT, "",
                "zero_point = false");

        Path d2 = Files.createDirectory(dir.resolve("tp4"));
        TinyPackage b = new TinyPackage(d2).quant(TinyPackage.awqConfig(4, 64, true));
        for (String m : TinyPackage.all()) b.awq(m, 64);
        ValidationReport r = PackageValidator.validate(b.write(), vllm(4, GpuArch.SM90));
        assertTrue(r.loadable(), r.describe());
        expect(r, Severity.WARNING, Rules.MARLIN_SHAPE_K, P + "self_attn.o_proj", "unoptimized AWQ GEMM");
    }

    // ---------------------------------------------------------------- tensors

    @Test
    void missingScaleIsReported() {
        ctW4(new TinyPackage(dir), 128).remove(P + "mlp.gate_proj.weight_scale").write();
        expect(PackageValidator.validate(dir, VLLM_SM90), Severity.ERROR, Rules.TENSOR_MISSING, P + "mlp.gate_proj",
                "mlp.gate_proj.weight_scale is missing");
    }

    @Test
    void wrongScaleDtypeIsReported() {
        TinyPackage g = new TinyPackage(dir).quant(TinyPackage.gptqConfig(4, 128, true, false));
        for (String m : TinyPackage.all()) g.gptq(m, 4, 128);
        g.put(P + "self_attn.o_proj.scales", TinyPackage.t(DType.I32, 2, 256)).write();
        expect(PackageValidator.validate(dir, VLLM_SM90), Severity.ERROR, Rules.TENSOR_DTYPE, P + "self_attn.o_proj",
                "is I32", "F16/BF16");
    }

    @Test
    void wrongScaleShapeIsReported() {
        ctW4(new TinyPackage(dir), 128).put(P + "mlp.down_proj.weight_scale", TinyPackage.t(DType.BF16, 256, 2)).write();
        expect(PackageValidator.validate(dir, VLLM_SM90), Severity.ERROR, Rules.TENSOR_SHAPE, P + "mlp.down_proj",
                "[256, 2]", "[256, 4]");
    }

    @Test
    void zeroPointInSymmetricSchemeIsUnexpected() {
        ctW4(new TinyPackage(dir), 128).put(P + "mlp.up_proj.weight_zero_point", TinyPackage.t(DType.I32, 64, 2)).write();
        expect(PackageValidator.validate(dir, VLLM_SM90), Severity.ERROR, Rules.TENSOR_UNEXPECTED, P + "mlp.up_proj",
                "weight_zero_point", "no parameter");
    }

    @Test
    void targetedLayerStoredPlainIsNotQuantized() {
        TinyPackage p = ctW4(new TinyPackage(dir), 128);
        for (String s : new String[] {"weight_packed", "weight_scale", "weight_shape"}) p.remove(P + "mlp.down_proj." + s);
        p.plain("mlp.down_proj").write();
        expect(PackageValidator.validate(dir, VLLM_SM90), Severity.ERROR, Rules.TENSOR_NOT_QUANTIZED,
                P + "mlp.down_proj", "W4A16", "plain BF16[256, 512]");
    }

    // ---------------------------------------------------------------- fused layers

    @Test
    void fusedShardsWithDifferentSchemes() {
        TinyPackage p = new TinyPackage(dir);
        for (String m : TinyPackage.all()) p.ctWna16(m, 4, m.endsWith("q_proj") ? 64 : 128, true);
        String cfg = "{\"quant_method\": \"compressed-tensors\", \"format\": \"pack-quantized\", \"config_groups\": {"
                + "\"group_0\": {\"targets\": [\"" + P + "self_attn.q_proj\"], \"weights\": " + TinyPackage.wna16(4, 64, true)
                + "}, \"group_1\": {\"targets\": [\"Linear\"], \"weights\": " + TinyPackage.wna16(4, 128, true)
                + "}}, \"ignore\": [\"lm_head\"], \"sparsity_config\": {}}";
        p.quant(cfg).write();
        expect(PackageValidator.validate(dir, VLLM_SM90), Severity.ERROR, Rules.FUSED_SCHEME, P + "self_attn.qkv_proj",
                "q_proj -> group 'group_0'", "k_proj -> group 'group_1'", "same config group");
    }

    @Test
    void fusedShardsPartiallyIgnored() {
        TinyPackage p = new TinyPackage(dir);
        for (String m : TinyPackage.all()) {
            if (m.endsWith("k_proj")) p.plain(m);
            else p.ctWna16(m, 4, 128, true);
        }
        p.quant(TinyPackage.ct("pack-quantized", TinyPackage.wna16(4, 128, true), "null",
                "[\"lm_head\", \"" + P + "self_attn.k_proj\"]")).write();
        expect(PackageValidator.validate(dir, VLLM_SM90), Severity.ERROR, Rules.FUSED_PARTIAL, P + "self_attn.qkv_proj",
                "leaves k_proj unquantized");
    }

    @Test
    void nvfp4FusedShardsNeedOneGlobalScale() {
        TinyPackage p = new TinyPackage(dir)
                .quant(TinyPackage.ct("nvfp4-pack-quantized", TinyPackage.NVFP4_WEIGHTS, "null", "[\"lm_head\"]"));
        for (String m : TinyPackage.all()) p.nvfp4(m, m.endsWith("up_proj") ? 1000f : 2000f, false);
        p.write();
        ValidationReport r = PackageValidator.validate(dir, vllm(1, GpuArch.SM100));
        expect(r, Severity.ERROR, Rules.FUSED_GLOBAL_SCALE, P + "mlp.gate_up_proj", "gate_proj=2000.0", "up_proj=1000.0");
        assertTrue(r.findings(Rules.FUSED_GLOBAL_SCALE).size() == 1, r.describe());
    }

    // ---------------------------------------------------------------- float formats and architectures

    @Test
    void fp8OnAmpereFallsBackToMarlin() {
        TinyPackage p = new TinyPackage(dir).quant(TinyPackage.fp8BlockConfig("dynamic"));
        for (String m : TinyPackage.all()) p.fp8Block(m);
        ValidationReport r = PackageValidator.validate(p.write(), VLLM_SM80);
        assertTrue(r.loadable(), r.describe());
        expect(r, Severity.WARNING, Rules.FP8_ARCH, "", "Marlin FP8", "W8A16");
    }

    @Test
    void fp8BlockPartitions() {
        TinyPackage p = new TinyPackage(dir).quant(TinyPackage.fp8BlockConfig("dynamic"));
        for (String m : TinyPackage.all()) p.fp8Block(m);
        p.write();
        assertTrue(PackageValidator.validate(dir, VLLM_SM90).loadable());
        // tp 2: k_proj / v_proj have 128 / 2 = 64 rows per rank, not whole 128-row blocks
        ValidationReport r = PackageValidator.validate(dir, vllm(2, GpuArch.SM90));
        expect(r, Severity.ERROR, Rules.FP8_BLOCK_PARTITION, P + "self_attn.qkv_proj", "64", "block_n = 128");
        // tp 4: o_proj's K per rank is 64
        expect(PackageValidator.validate(dir, vllm(4, GpuArch.SM90)), Severity.ERROR, Rules.FP8_BLOCK_PARTITION,
                P + "self_attn.o_proj", "K = 64", "block_k = 128");
    }

    @Test
    void fp8BlockNeedsDynamicActivations() {
        TinyPackage p = new TinyPackage(dir).quant(TinyPackage.fp8BlockConfig("static"));
        for (String m : TinyPackage.all()) p.fp8Block(m);
        expect(PackageValidator.validate(p.write(), VLLM_SM90), Severity.ERROR, Rules.FP8_BLOCK_STATIC, "", "dynamic");
    }

    @Test
    void nvfp4W4A4BelowBlackwellRunsWeightOnly() {
        TinyPackage p = new TinyPackage(dir)
                .quant(TinyPackage.ct("nvfp4-pack-quantized", TinyPackage.NVFP4_WEIGHTS, TinyPackage.NVFP4_INPUT, "[\"lm_head\"]"));
        for (String m : TinyPackage.all()) p.nvfp4(m, 2688f, true);
        ValidationReport r = PackageValidator.validate(p.write(), VLLM_SM90);
        assertTrue(r.loadable(), r.describe());
        expect(r, Severity.WARNING, Rules.NVFP4_ARCH, "", "sm100", "Marlin", "W4A16");
    }

    @Test
    void gptOssMxfp4WithQuantizedDenseLayer() {
        TinyPackage p = ctW4(new TinyPackage(dir), 128).quant("{\"quant_method\": \"mxfp4\"}");
        expect(PackageValidator.validate(p.write(), VLLM_SM90), Severity.ERROR, Rules.MXFP4_DENSE, P + "mlp.up_proj",
                "only MoE experts");
    }

    // ---------------------------------------------------------------- compressed-tensors config

    @Test
    void weightOnlyIntNeedsPackQuantizedFormat() {
        TinyPackage p = ctW4(new TinyPackage(dir), 128);
        p.quant(TinyPackage.ct("int-quantized", TinyPackage.wna16(4, 128, true), "null", "[\"lm_head\"]")).write();
        expect(PackageValidator.validate(dir, VLLM_SM90), Severity.ERROR, Rules.CT_NO_SCHEME, "", "pack-quantized",
                "No compressed-tensors compatible scheme was found");
    }

    @Test
    void unknownArgsKeyAndVersionFragileKey() {
        String w = TinyPackage.wna16(4, 128, true).replace("\"observer_kwargs\": {}",
                "\"observer_kwargs\": {}, \"scale_dtype\": null, \"foo\": 1");
        ctW4(new TinyPackage(dir), 128).quant(TinyPackage.ct("pack-quantized", w, "null", "[\"lm_head\"]")).write();
        ValidationReport r = PackageValidator.validate(dir, VLLM_SM90);
        expect(r, Severity.ERROR, Rules.CT_UNKNOWN_KEY, "", "'foo'", "Extra inputs are not permitted");
        expect(r, Severity.WARNING, Rules.VERSION_KEY, "", "'scale_dtype'", "vLLM <= 0.13");
    }

    @Test
    void sparsityConfigIsRejected() {
        String cfg = TinyPackage.ctWna16Config(4, 128, true).replace("\"sparsity_config\": {}",
                "\"sparsity_config\": {\"format\": \"sparse-24-bitmask\", \"targets\": [\"Linear\"]}");
        ctW4(new TinyPackage(dir), 128).quant(cfg).write();
        expect(PackageValidator.validate(dir, VLLM_SM90), Severity.ERROR, Rules.CT_SPARSITY, "", "Sparse24");
    }

    // ---------------------------------------------------------------- SGLang

    @Test
    void asymmetricW4A16LoadsInVllmButNotSglang() {
        TinyPackage p = new TinyPackage(dir).quant(TinyPackage.ctWna16Config(4, 128, false));
        for (String m : TinyPackage.all()) p.ctWna16(m, 4, 128, false);
        p.write();
        assertClean(PackageValidator.validate(dir, VLLM_SM90));
        ValidationReport r = PackageValidator.validate(dir, SGLANG_SM90);
        assertFalse(r.loadable());
        expect(r, Severity.ERROR, Rules.SGLANG_UNSUPPORTED, "", "symmetric", "#25291");
    }

    @Test
    void sglangRefusesTorchaoCheckpoints() {
        new TinyPackage(dir).allPlain().quant("{\"quant_method\": \"torchao\", \"quant_type\": {\"default\": "
                + "{\"_type\": \"Int8WeightOnlyConfig\", \"_version\": 2, \"_data\": {}}}}").write();
        expect(PackageValidator.validate(dir, SGLANG_SM90), Severity.ERROR, Rules.SGLANG_UNSUPPORTED, "", "torchao");
        assertTrue(PackageValidator.validate(dir, VLLM_SM90).loadable());
    }

    @Test
    void torchaoQuantizedTensorsWithoutMetadataAndOldConfigVersion() {
        TinyPackage p = new TinyPackage(dir).quant("{\"quant_method\": \"torchao\", \"quant_type\": {\"default\": "
                + "{\"_type\": \"Int8WeightOnlyConfig\", \"_version\": 1, \"_data\": {}}}}");
        for (String m : TinyPackage.all()) p.ctInt8Channel(m);
        ValidationReport r = PackageValidator.validate(p.write(), VLLM_SM90);
        expect(r, Severity.ERROR, Rules.TORCHAO_METADATA, "", "tensor_names");
        expect(r, Severity.WARNING, Rules.TORCHAO_CONFIG_VERSION, "", "version 1");
    }

    // ---------------------------------------------------------------- detection

    @Test
    void unknownAndRemovedMethods() throws IOException {
        new TinyPackage(dir).allPlain().quant("{\"quant_method\": \"frobnicate\"}").write();
        expect(PackageValidator.validate(dir, VLLM_SM90), Severity.ERROR, Rules.UNKNOWN_METHOD, "", "'frobnicate'");
        Path d2 = Files.createDirectory(dir.resolve("marlin"));
        new TinyPackage(d2).allPlain().quant("{\"quant_method\": \"marlin\"}").write();
        expect(PackageValidator.validate(d2, VLLM_SM90), Severity.ERROR, Rules.REMOVED_METHOD, "", "removed");
    }

    @Test
    void quantizedTensorsWithoutConfig() {
        TinyPackage p = ctW4(new TinyPackage(dir), 128);
        p.quantConfig = null;
        expect(PackageValidator.validate(p.write(), VLLM_SM90), Severity.ERROR, Rules.MISSING_QUANT_CONFIG, "",
                "no quantization_config");
    }

    // ---------------------------------------------------------------- package

    @Test
    void indexProblems() throws IOException {
        ctW4(new TinyPackage(dir), 128).writeSharded(200_000);
        Path index = dir.resolve("model.safetensors.index.json");
        String text = Files.readString(index);
        String shard = text.substring(text.indexOf("model-00001"), text.indexOf(".safetensors") + 12);
        // a tensor mapped to a missing shard, and one listed under the wrong shard
        text = text.replace("\"lm_head.weight\": \"" + shard + "\"", "\"lm_head.weight\": \"model-09999-of-09999.safetensors\"");
        Files.writeString(index, text);
        Files.writeString(dir.resolve("stray.safetensors"), "x");
        ValidationReport r = PackageValidator.validate(dir, VLLM_SM90);
        expect(r, Severity.ERROR, Rules.INDEX_MISSING_SHARD, "model-09999-of-09999.safetensors", "not a file");
        expect(r, Severity.ERROR, Rules.INDEX_UNLISTED_TENSOR, "lm_head.weight", "maps it to model-09999");
        expect(r, Severity.WARNING, Rules.STRAY_FILE, "stray.safetensors", "not listed");
    }

    @Test
    void indexListsTensorItsShardLacks() throws IOException {
        ctW4(new TinyPackage(dir), 128).writeSharded(200_000);
        Path index = dir.resolve("model.safetensors.index.json");
        String text = Files.readString(index);
        Files.writeString(index, text.replace("\"weight_map\": {", "\"weight_map\": {\"ghost.weight\": \""
                + text.substring(text.indexOf("model-00001"), text.indexOf(".safetensors") + 12) + "\", ")
                .replaceFirst("\"total_size\": \\d+", "\"total_size\": 1"));
        ValidationReport r = PackageValidator.validate(dir, VLLM_SM90);
        expect(r, Severity.ERROR, Rules.INDEX_TENSOR_ABSENT, "ghost.weight", "does not hold it");
        expect(r, Severity.WARNING, Rules.TOTAL_SIZE, "model.safetensors.index.json", "total_size is 1");
    }

    @Test
    void shardMetadataDtypeKeysAndUnreadableShard() throws IOException {
        TinyPackage p = ctW4(new TinyPackage(dir), 128);
        p.metadata = new java.util.LinkedHashMap<>();
        p.extraConfig = "\"torch_dtype\": \"bfloat16\", \"tie_word_embeddings\": false";
        ValidationReport r = PackageValidator.validate(p.write(), VLLM_SM90);
        expect(r, Severity.WARNING, Rules.SHARD_METADATA, "model.safetensors", "no __metadata__", "\"pt\"");
        expect(r, Severity.WARNING, Rules.DTYPE_KEYS, "config.json", "only 'torch_dtype'");

        Files.writeString(dir.resolve("model.safetensors"), "garbage!");
        expect(PackageValidator.validate(dir, VLLM_SM90), Severity.ERROR, Rules.SHARD_UNREADABLE, "model.safetensors");
    }

    @Test
    void dtypeUnsupportedByMethod() {
        TinyPackage g = new TinyPackage(dir).quant(TinyPackage.gptqConfig(4, 128, true, false));
        for (String m : TinyPackage.all()) g.gptq(m, 4, 128);
        g.extraConfig = "\"dtype\": \"float32\", \"torch_dtype\": \"float32\", \"tie_word_embeddings\": false";
        expect(PackageValidator.validate(g.write(), VLLM_SM90), Severity.ERROR, Rules.DTYPE_UNSUPPORTED, "config.json",
                "'float32'", "gptq");
    }

    @Test
    void tiedEmbeddingsAndLmHead() throws IOException {
        TinyPackage p = new TinyPackage(dir).allPlain();
        p.extraConfig = "\"dtype\": \"bfloat16\", \"torch_dtype\": \"bfloat16\", \"tie_word_embeddings\": true";
        expect(PackageValidator.validate(p.write(), SGLANG_SM90), Severity.WARNING, Rules.TIED_LM_HEAD, "lm_head",
                "KeyError");

        Path d2 = Files.createDirectory(dir.resolve("untied"));
        TinyPackage q = new TinyPackage(d2).allPlain().remove("lm_head.weight");
        expect(PackageValidator.validate(q.write(), VLLM_SM90), Severity.ERROR, Rules.LM_HEAD_MISSING, "lm_head",
                "no lm_head");
    }

    @Test
    void missingConfigAndWeights() throws IOException {
        ValidationReport r = PackageValidator.validate(dir, VLLM_SM90);
        expect(r, Severity.ERROR, Rules.CONFIG, "config.json", "missing");
        expect(r, Severity.ERROR, Rules.NO_WEIGHTS, "", "model.safetensors");
    }

    // ---------------------------------------------------------------- report API

    @Test
    void throwIfRejectedListsErrorsAndNamesThePackage() {
        ctW4(new TinyPackage(dir), 128).write();
        ValidationReport r = PackageValidator.validate(dir, vllm(4, GpuArch.SM90));
        PackageRejectedException e = assertThrows(PackageRejectedException.class, r::throwIfRejected);
        assertTrue(e.getMessage().startsWith(dir.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("[marlin.shape-k] " + P + "self_attn.o_proj"), e.getMessage());
        assertEquals(r, e.report());
        assertThrows(PackageRejectedException.class, () -> PackageValidator.asCheck(vllm(4, GpuArch.SM90)).check(dir));
        PackageValidator.asCheck(VLLM_SM90).check(dir); // loadable: no exception

        String d = r.describe();
        assertTrue(d.contains("REJECTED"), d);
        assertTrue(d.contains("\n" + P + "self_attn.o_proj:\n  ERROR [marlin.shape-k] "), d);
    }

    @Test
    void engineAndArchParse() {
        assertEquals(Engine.SGLANG, Engine.parse("SGLang"));
        assertEquals("vllm", Engine.VLLM.wireName());
        assertEquals(GpuArch.SM89, GpuArch.parse("sm_89"));
        assertEquals(GpuArch.SM100, GpuArch.parse("100"));
        assertEquals(90, GpuArch.parse("SM90").capability());
        assertThrows(InvalidConfigException.class, () -> GpuArch.parse("sm75"));
        assertThrows(InvalidConfigException.class, () -> Engine.parse("tgi"));
        assertThrows(IllegalArgumentException.class, () -> new Target(Engine.VLLM, 0, GpuArch.SM80));
    }
}
