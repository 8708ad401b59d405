package dev.ao4j.vllm.compressed;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One quantized Linear weight in compressed-tensors terms: the exact codes (unpacked, one per element), the scales
 * and zero points as compressed-tensors keeps them, and {@link #stored()} — the tensors the package holds under
 * {@code <module>.<suffix>}. The writer stores {@code stored()}; the reader rebuilds the same record from them.
 */
public sealed interface CompressedLinear {
    /** The codes, unpacked: one per weight element, {@code [N, K]}. */
    Tensor codes();

    /** The scales as compressed-tensors keeps them (stored as {@code weight_scale}). */
    Tensor scale();

    /** The weight's logical shape {@code [N, K]}. */
    default Shape shape() {
        return codes().shape();
    }

    /** Suffix (e.g. {@code weight_packed}) → tensor as written, in the order they are written. */
    Map<String, Tensor> stored();

    /** The weight as compressed-tensors decompresses it, rounded once into {@code out} (BF16, F16 or F32). */
    Tensor dequantize(DType out);

    /**
     * {@code pack-quantized} (W4A16 / W8A16).
     *
     * @param codes     I8 {@code [N, K]}, signed codes in {@code [-2^(b-1), 2^(b-1) - 1]}
     * @param scale     the weight dtype, {@code [N, K / groupSize]} ({@code [N, 1]} per channel)
     * @param zeroPoint I8 like {@code scale}, signed; null when symmetric
     */
    record PackedInt(Tensor codes, Tensor scale, Tensor zeroPoint, int bits) implements CompressedLinear {
        @Override
        public Map<String, Tensor> stored() {
            Map<String, Tensor> m = codesAndScale("weight_packed", Int32Packing.pack(codes, bits, 1), scale);
            Tensor s = Tensor.allocate(DType.I64, Shape.of(2));
            s.setLong(0, codes.shape().dim(0));
            s.setLong(1, codes.shape().dim(1));
            m.put("weight_shape", s);
            if (zeroPoint != null) m.put("weight_zero_point", Int32Packing.pack(zeroPoint, bits, 0));
            return m;
        }

        @Override
        public Tensor dequantize(DType out) {
            return IntRtn.dequantize(codes, scale, zeroPoint, out);
        }
    }

    /**
     * {@code int-quantized} (W8A8).
     *
     * @param codes I8 {@code [N, K]}
     * @param scale the weight dtype, {@code [N, 1]}
     */
    record Int8(Tensor codes, Tensor scale) implements CompressedLinear {
        @Override
        public Map<String, Tensor> stored() {
            return codesAndScale("weight", codes, scale);
        }

        @Override
        public Tensor dequantize(DType out) {
            return IntRtn.dequantize(codes, scale, null, out);
        }
    }

    /**
     * {@code float-quantized} (FP8).
     *
     * @param codes F8_E4M3 {@code [N, K]}
     * @param scale the weight dtype: {@code [1]} per tensor, {@code [N, 1]} per channel, or
     *              {@code [ceil(N / bn), ceil(K / bk)]} per block
     * @param block {@code [bn, bk]} for block scales, else null
     */
    record Fp8(Tensor codes, Tensor scale, Shape block) implements CompressedLinear {
        @Override
        public Map<String, Tensor> stored() {
            return codesAndScale("weight", codes, scale);
        }

        @Override
        public Tensor dequantize(DType out) {
            return Fp8Rtn.dequantize(codes, scale, block, out);
        }
    }

    /**
     * {@code nvfp4-pack-quantized} (NVFP4A16).
     *
     * @param codes       U8 {@code [N, K]}, one fp4 e2m1 code (0..15) per byte
     * @param scale       F8_E4M3 {@code [N, K / 16]}
     * @param globalScale the F32 {@code weight_global_scale} (448 * 6 / amax, shared by a fused group)
     */
    record Nvfp4(Tensor codes, Tensor scale, float globalScale) implements CompressedLinear {
        @Override
        public Map<String, Tensor> stored() {
            Map<String, Tensor> m = codesAndScale("weight_packed", Fp4Rtn.pack(codes), scale);
            Tensor g = Tensor.allocate(DType.F32, Shape.of(1));
            g.setFloat(0, globalScale);
            m.put("weight_global_scale", g);
            return m;
        }

        @Override
        public Tensor dequantize(DType out) {
            return Fp4Rtn.dequantizeNvfp4(codes, scale, globalScale, out);
        }
    }

    /**
     * {@code mxfp4-pack-quantized} (MXFP4A16).
     *
     * @param codes U8 {@code [N, K]}, one fp4 e2m1 code (0..15) per byte
     * @param scale U8 {@code [N, K / 32]}, biased power-of-two exponents (value {@code 2^(byte - 127)})
     */
    record Mxfp4(Tensor codes, Tensor scale) implements CompressedLinear {
        @Override
        public Map<String, Tensor> stored() {
            return codesAndScale("weight_packed", Fp4Rtn.pack(codes), scale);
        }

        @Override
        public Tensor dequantize(DType out) {
            return Fp4Rtn.dequantizeMxfp4(codes, scale, out);
        }
    }

    /** The codes as written under {@code codesKey}, then {@code weight_scale}; a format adds its extras after. */
    private static Map<String, Tensor> codesAndScale(String codesKey, Tensor storedCodes, Tensor scale) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put(codesKey, storedCodes);
        m.put("weight_scale", scale);
        return m;
    }
}
