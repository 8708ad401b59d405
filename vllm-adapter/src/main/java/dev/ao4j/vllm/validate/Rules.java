package dev.ao4j.vllm.validate;

/**
 * The rule ids {@link PackageValidator} reports, grouped by what they look at. Ids are stable: tests, writers and
 * the CLI refer to them.
 */
public final class Rules {
    private Rules() {}

    // ---- package: files, index, shard headers, config.json basics (spec section 9) ----
    /** config.json is missing, unreadable or not a JSON object. */
    public static final String CONFIG = "package.config";
    /** Neither model.safetensors nor model.safetensors.index.json. */
    public static final String NO_WEIGHTS = "package.no-weights";
    /** A safetensors file whose header cannot be read. */
    public static final String SHARD_UNREADABLE = "package.shard-unreadable";
    /** The index is not valid JSON / lacks weight_map. */
    public static final String INDEX_MALFORMED = "package.index-malformed";
    /** weight_map names a shard file that does not exist. */
    public static final String INDEX_MISSING_SHARD = "package.index-missing-shard";
    /** weight_map maps a tensor to a shard that does not hold it. */
    public static final String INDEX_TENSOR_ABSENT = "package.index-tensor-absent";
    /** A shard holds a tensor weight_map does not list (or maps to another shard). */
    public static final String INDEX_UNLISTED_TENSOR = "package.index-unlisted-tensor";
    /** The same tensor name in two shards. */
    public static final String DUPLICATE_TENSOR = "package.duplicate-tensor";
    /** metadata.total_size differs from the sum of tensor bytes. */
    public static final String TOTAL_SIZE = "package.total-size";
    /** A shard header without {@code __metadata__: {"format": "pt"}}. */
    public static final String SHARD_METADATA = "package.shard-metadata";
    /** A weight file the index does not list, or .bin weights next to safetensors. */
    public static final String STRAY_FILE = "package.stray-file";
    /** config.json lacks {@code dtype} or {@code torch_dtype}, or they disagree. */
    public static final String DTYPE_KEYS = "package.dtype-keys";
    /** The config dtype is one the quantization method does not run with. */
    public static final String DTYPE_UNSUPPORTED = "package.dtype-unsupported";
    /** tie_word_embeddings is true but lm_head.weight is written. */
    public static final String TIED_LM_HEAD = "package.tied-lm-head";
    /** tie_word_embeddings is false but there is no lm_head. */
    public static final String LM_HEAD_MISSING = "package.lm-head-missing";

    // ---- detection: which quantization method the engine picks (spec 0.2, 11, 8) ----
    /** What the engine will load the package as. */
    public static final String METHOD = "detect.method";
    /** Quantized tensors but no quantization config anywhere. */
    public static final String MISSING_QUANT_CONFIG = "detect.missing-config";
    /** quant_method the engine does not know. */
    public static final String UNKNOWN_METHOD = "detect.unknown-method";
    /** quant_method the engine removed. */
    public static final String REMOVED_METHOD = "detect.removed-method";
    /** quant_method the engine only loads with an extra flag. */
    public static final String DEPRECATED_METHOD = "detect.deprecated-method";
    /** Legacy {@code compression_config} key. */
    public static final String LEGACY_CONFIG_KEY = "detect.legacy-config-key";
    /** Several quantization side files and no quantization_config in config.json. */
    public static final String SIDE_FILES = "detect.side-files";

    // ---- quantization config fields ----
    /** A required quantization_config field is missing or has a value the engine refuses. */
    public static final String CONFIG_FIELD = "config.field";
    /** A key that breaks older engine versions (compressed-tensors scale_dtype/zp_dtype). */
    public static final String VERSION_KEY = "config.version-key";
    /** compressed-tensors: a QuantizationArgs key compressed-tensors >= 0.11 rejects. */
    public static final String CT_UNKNOWN_KEY = "ct.unknown-key";
    /** compressed-tensors: non-empty sparsity_config. */
    public static final String CT_SPARSITY = "ct.sparsity";
    /** compressed-tensors: no scheme class matches the group's weights/activations/format. */
    public static final String CT_NO_SCHEME = "ct.no-scheme";
    /** compressed-tensors: a kv_cache_scheme the engine refuses. */
    public static final String CT_KV_CACHE = "ct.kv-cache-scheme";
    /** compressed-tensors: a target or ignore entry that matches no layer. */
    public static final String CT_UNMATCHED = "ct.unmatched-entry";

    // ---- Marlin (gptq, awq, compressed-tensors WNA16) ----
    public static final String MARLIN_BITS = "marlin.bits";
    public static final String MARLIN_GROUP_SIZE = "marlin.group-size";
    public static final String MARLIN_SYMMETRIC = "marlin.symmetric";
    /** Per-partition N not a multiple of 64. */
    public static final String MARLIN_SHAPE_N = "marlin.shape-n";
    /** Per-partition K not a multiple of 128. */
    public static final String MARLIN_SHAPE_K = "marlin.shape-k";
    /** Group size does not divide the per-partition K. */
    public static final String MARLIN_GROUP_K = "marlin.group-divides-k";
    /** N (column-parallel) or K (row-parallel) not divisible by the tensor-parallel size. */
    public static final String TP_SPLIT = "tp.indivisible";
    public static final String GPTQ_DESC_ACT = "gptq.desc-act";
    public static final String GPTQ_G_IDX = "gptq.g-idx";
    public static final String AWQ_ZERO_POINT = "awq.zero-point";

    // ---- float formats ----
    /** FP8 below sm89: weight-only Marlin fallback. */
    public static final String FP8_ARCH = "fp8.arch";
    /** FP8 block size vs tensor-parallel partitions / merged shards. */
    public static final String FP8_BLOCK_PARTITION = "fp8.block-partition";
    /** weight_block_size with static activations. */
    public static final String FP8_BLOCK_STATIC = "fp8.block-needs-dynamic";
    /** NVFP4 W4A4 below sm100 (weight-only Marlin fallback). */
    public static final String NVFP4_ARCH = "nvfp4.arch";
    /** FP4/MX block alignment along K. */
    public static final String FP4_SHAPE = "fp4.shape";
    /** quant_method mxfp4 (gpt-oss) with quantized dense layers. */
    public static final String MXFP4_DENSE = "mxfp4.dense-layer";
    /** torchao package without torchao's safetensors metadata. */
    public static final String TORCHAO_METADATA = "torchao.metadata";
    /** torchao config version that newer torchao removed. */
    public static final String TORCHAO_CONFIG_VERSION = "torchao.config-version";
    /** torchao config needing a newer GPU. */
    public static final String TORCHAO_ARCH = "torchao.arch";

    // ---- tensors of one quantized layer ----
    public static final String TENSOR_MISSING = "tensor.missing";
    public static final String TENSOR_DTYPE = "tensor.dtype";
    public static final String TENSOR_SHAPE = "tensor.shape";
    /** A tensor the layer's scheme does not declare (the engine has no parameter for it). */
    public static final String TENSOR_UNEXPECTED = "tensor.unexpected";
    /** The config says the layer is quantized but it is stored as a plain weight. */
    public static final String TENSOR_NOT_QUANTIZED = "tensor.not-quantized";

    // ---- fused layers (q/k/v -> qkv_proj, gate/up -> gate_up_proj) ----
    public static final String FUSED_SCHEME = "fused.scheme-mismatch";
    public static final String FUSED_PARTIAL = "fused.partially-quantized";
    public static final String FUSED_GLOBAL_SCALE = "fused.global-scale";

    // ---- SGLang's narrower support ----
    /** A format or scheme SGLang cannot load. */
    public static final String SGLANG_UNSUPPORTED = "sglang.unsupported";
    /** A format SGLang supports only in some versions. */
    public static final String SGLANG_VERSION = "sglang.version-dependent";
}
