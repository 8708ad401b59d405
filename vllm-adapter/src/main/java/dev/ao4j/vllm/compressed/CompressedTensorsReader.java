package dev.ao4j.vllm.compressed;

import dev.ao4j.quant.MalformedInputException;
import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.quant.Where;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.safetensors.ShardedCheckpoint;
import dev.ao4j.transformers.ModelConfig;
import dev.ao4j.vllm.compressed.CompressedTensorsScheme.Preset;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Reads a compressed-tensors package (single file or sharded): its {@code quantization_config}, each quantized
 * Linear as a {@link CompressedLinear} (exact codes unpacked one per element, scales, zero points, global scale),
 * and the state dict as an engine computes with it (quantized weights dequantized).
 *
 * <p>Every quantized Linear is checked against its scheme before use: the companion tensors must all be present
 * with the dtype and shape the format prescribes; errors name the file, the tensor and what was expected.
 */
public final class CompressedTensorsReader implements AutoCloseable {
    private final ShardedCheckpoint checkpoint;
    private final ModelConfig config;
    private final CompressedTensorsConfig quantizationConfig;
    private final List<String> linears;

    private CompressedTensorsReader(ShardedCheckpoint checkpoint, ModelConfig config, CompressedTensorsConfig q) {
        this.checkpoint = checkpoint;
        this.config = config;
        this.quantizationConfig = q;
        String marker = "." + markerSuffix(q.scheme().preset());
        Set<String> modules = new LinkedHashSet<>();
        for (String name : checkpoint.names()) {
            if (!name.endsWith(marker)) continue;
            String module = name.substring(0, name.length() - marker.length());
            if (packed(q.scheme().preset()) || checkpoint.contains(module + ".weight_scale")) modules.add(module);
        }
        this.linears = List.copyOf(modules);
    }

    /**
     * @throws UnsupportedFormatException when config.json has no compressed-tensors {@code quantization_config} or
     *                                    its scheme is not one ao4j reads
     * @throws MalformedInputException    for a config.json, index or safetensors file that is not well formed
     */
    public static CompressedTensorsReader open(Path dir) {
        Path configFile = dir.resolve(ModelConfig.FILE_NAME);
        ModelConfig config = ModelConfig.read(configFile);
        CompressedTensorsConfig q = CompressedTensorsConfig.fromJson(config.quantizationConfigJson().orElseThrow(
                () -> new UnsupportedFormatException("not a quantized package: config.json has no "
                        + "quantization_config", Where.file(configFile))),
                Where.json(configFile, "quantization_config"));
        ShardedCheckpoint checkpoint = ShardedCheckpoint.open(dir);
        try {
            return new CompressedTensorsReader(checkpoint, config, q);
        } catch (RuntimeException e) {
            checkpoint.close();
            throw e;
        }
    }

    public ModelConfig config() {
        return config;
    }

    public CompressedTensorsConfig quantizationConfig() {
        return quantizationConfig;
    }

    public CompressedTensorsScheme scheme() {
        return quantizationConfig.scheme();
    }

    /** The quantized Linear modules (e.g. {@code model.layers.0.self_attn.q_proj}), in file order. */
    public List<String> linears() {
        return linears;
    }

    /** The stored tensor names. */
    public List<String> storedNames() {
        return checkpoint.names();
    }

    /** A stored tensor as it is in the file (a view). */
    public Tensor stored(String name) {
        return checkpoint.tensor(name);
    }

    /**
     * The state-dict names an engine sees after loading: plain tensors, and {@code <module>.weight} for each
     * quantized Linear in place of its compressed parts.
     */
    public List<String> names() {
        Set<String> parts = new LinkedHashSet<>();
        for (String m : linears) {
            for (String suffix : suffixes(scheme())) parts.add(m + "." + suffix);
        }
        Set<String> quantizedWeights = new LinkedHashSet<>();
        for (String m : linears) quantizedWeights.add(m + ".weight");
        Set<String> out = new LinkedHashSet<>();
        for (String name : checkpoint.names()) {
            if (quantizedWeights.contains(name) || !parts.contains(name)) out.add(name);
        }
        out.addAll(quantizedWeights);
        return List.copyOf(out);
    }

    /**
     * {@code name} as an engine computes with it: the weight of a quantized Linear dequantized into {@code out}
     * (BF16, F16 or F32); any other tensor as stored.
     */
    public Tensor tensor(String name, DType out) {
        if (name.endsWith(".weight")) {
            String module = name.substring(0, name.length() - ".weight".length());
            if (linears.contains(module)) return linear(module).dequantize(out);
        }
        return checkpoint.tensor(name);
    }

    /**
     * The quantized Linear {@code module}, checked against the scheme.
     *
     * @throws MalformedInputException when a companion tensor is missing or has the wrong dtype or shape
     * @throws IllegalArgumentException when {@code module} is not a quantized Linear of this package
     */
    public CompressedLinear linear(String module) {
        if (!linears.contains(module)) {
            throw new IllegalArgumentException("'" + module + "' is not a quantized Linear of this package");
        }
        CompressedTensorsScheme s = scheme();
        return switch (s.preset()) {
            case W4A16, W8A16 -> packedInt(module, s);
            case W8A8 -> {
                Tensor q = require(module, "weight", DType.I8, null);
                long n = q.shape().dim(0);
                yield new CompressedLinear.Int8(q, requireFloat(module, "weight_scale", Shape.of(n, 1)));
            }
            case FP8, FP8_DYNAMIC, FP8_BLOCK -> fp8(module, s);
            case NVFP4A16 -> {
                Tensor packed = require(module, "weight_packed", DType.U8, null);
                long n = packed.shape().dim(0);
                long k = packed.shape().dim(1) * 2;
                requireMultiple(module, "weight_packed", k, Fp4Rtn.NVFP4_BLOCK);
                Tensor scale = require(module, "weight_scale", DType.F8_E4M3, Shape.of(n, k / Fp4Rtn.NVFP4_BLOCK));
                Tensor global = require(module, "weight_global_scale", DType.F32, Shape.of(1));
                yield new CompressedLinear.Nvfp4(packed, scale, global.getFloat(0));
            }
            case MXFP4A16 -> {
                Tensor packed = require(module, "weight_packed", DType.U8, null);
                long n = packed.shape().dim(0);
                long k = packed.shape().dim(1) * 2;
                requireMultiple(module, "weight_packed", k, Fp4Rtn.MXFP4_BLOCK);
                Tensor scale = require(module, "weight_scale", DType.U8, Shape.of(n, k / Fp4Rtn.MXFP4_BLOCK));
                yield new CompressedLinear.Mxfp4(packed, scale);
            }
        };
    }

    private CompressedLinear packedInt(String module, CompressedTensorsScheme s) {
        int bits = s.preset().bits();
        Tensor shapeT = require(module, "weight_shape", null, Shape.of(2));
        if (shapeT.dtype() != DType.I64 && shapeT.dtype() != DType.I32) {
            throw malformed(module, "weight_shape", "must be I64 [2] but is " + shapeT.dtype() + " " + shapeT.shape());
        }
        long n = shapeT.getLong(0);
        long k = shapeT.getLong(1);
        if (n <= 0 || k <= 0) throw malformed(module, "weight_shape", "must hold [N, K] > 0 but holds [" + n + ", "
                + k + "]");
        int per = 32 / bits;
        Tensor packed = require(module, "weight_packed", DType.I32, Shape.of(n, (k + per - 1) / per));
        long groups;
        if (s.groupSize() == CompressedTensorsScheme.CHANNEL) {
            groups = 1;
        } else {
            requireMultiple(module, "weight_shape", k, s.groupSize());
            groups = k / s.groupSize();
        }
        Tensor scale = requireFloat(module, "weight_scale", Shape.of(n, groups));
        Tensor zero = null;
        String zpName = module + ".weight_zero_point";
        if (!s.symmetric()) {
            Tensor zp = require(module, "weight_zero_point", DType.I32, Shape.of((n + per - 1) / per, groups));
            zero = Int32Packing.unpack(zp, bits, 0, n, groups);
        } else if (checkpoint.contains(zpName)) {
            throw malformed(module, "weight_zero_point", "is present but the scheme is symmetric");
        }
        return new CompressedLinear.PackedInt(packed, Shape.of(n, k), scale, zero, bits);
    }

    private CompressedLinear fp8(String module, CompressedTensorsScheme s) {
        Tensor q = require(module, "weight", DType.F8_E4M3, null);
        long n = q.shape().dim(0);
        long k = q.shape().dim(1);
        return switch (s.preset()) {
            case FP8 -> {
                Tensor scale = requireFloat(module, "weight_scale", null);
                if (scale.numel() != 1) {
                    throw malformed(module, "weight_scale", "must hold one per-tensor scale but has shape "
                            + scale.shape());
                }
                yield new CompressedLinear.Fp8(q, scale.reshape(Shape.of(1)), null);
            }
            case FP8_DYNAMIC -> new CompressedLinear.Fp8(q, requireFloat(module, "weight_scale", Shape.of(n, 1)),
                    null);
            default -> {
                int b = CtQuantizer.BLOCK;
                Shape grid = Shape.of(Fp8Rtn.ceilDiv(n, b), Fp8Rtn.ceilDiv(k, b));
                yield new CompressedLinear.Fp8(q, requireFloat(module, "weight_scale", grid), Shape.of(b, b));
            }
        };
    }

    /** {@code <module>.<suffix>}, 2-D unless {@code shape} says otherwise, of {@code dtype} (null: any). */
    private Tensor require(String module, String suffix, DType dtype, Shape shape) {
        String name = module + "." + suffix;
        if (!checkpoint.contains(name)) {
            throw new MalformedInputException("quantized Linear '" + module + "' (" + scheme().format() + ") has no '"
                    + name + "'", Where.file(checkpoint.fileOf(module + "." + markerSuffix(scheme().preset()))));
        }
        Tensor t = checkpoint.tensor(name);
        boolean dtypeOk = dtype == null || t.dtype() == dtype;
        boolean shapeOk = shape != null ? t.shape().equals(shape) : t.shape().rank() == 2;
        if (!dtypeOk || !shapeOk) {
            throw malformed(module, suffix, "must be " + (dtype == null ? "" : dtype.safetensorsName() + " ")
                    + (shape == null ? "2-D" : shape.toString()) + " but is " + t.dtype().safetensorsName() + " "
                    + t.shape());
        }
        return t;
    }

    /** A scale in a floating-point dtype (BF16, F16 or F32), of {@code shape} (null: any). */
    private Tensor requireFloat(String module, String suffix, Shape shape) {
        Tensor t = require(module, suffix, null, shape == null ? checkpoint.tensor(module + "." + suffix).shape()
                : shape);
        if (t.dtype() != DType.BF16 && t.dtype() != DType.F16 && t.dtype() != DType.F32) {
            throw malformed(module, suffix, "must be BF16, F16 or F32 but is " + t.dtype().safetensorsName());
        }
        return t;
    }

    private void requireMultiple(String module, String suffix, long k, int b) {
        if (k % b != 0) throw malformed(module, suffix, "in-features " + k + " is not a multiple of " + b);
    }

    private MalformedInputException malformed(String module, String suffix, String what) {
        String name = module + "." + suffix;
        return new MalformedInputException(name + " " + what, Where.tensor(checkpoint.fileOf(name), name));
    }

    @Override
    public void close() {
        checkpoint.close();
    }

    private static boolean packed(Preset p) {
        return switch (p) {
            case W4A16, W8A16, NVFP4A16, MXFP4A16 -> true;
            default -> false;
        };
    }

    /** The tensor whose presence marks a quantized Linear. */
    private static String markerSuffix(Preset p) {
        return packed(p) ? "weight_packed" : "weight";
    }

    private static List<String> suffixes(CompressedTensorsScheme s) {
        return switch (s.preset()) {
            case W4A16, W8A16 -> List.of("weight_packed", "weight_scale", "weight_shape", "weight_zero_point",
                    "weight_g_idx");
            case W8A8, FP8, FP8_DYNAMIC, FP8_BLOCK -> List.of("weight", "weight_scale", "input_scale",
                    "input_zero_point");
            case NVFP4A16 -> List.of("weight_packed", "weight_scale", "weight_global_scale", "input_global_scale");
            case MXFP4A16 -> List.of("weight_packed", "weight_scale");
        };
    }
}
