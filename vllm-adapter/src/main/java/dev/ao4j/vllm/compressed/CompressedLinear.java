package dev.ao4j.vllm.compressed;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.dtype.Float8E4M3Fn;
import dev.ao4j.quant.dtype.Fp4E2M1;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One quantized Linear weight in compressed-tensors terms: the exact codes, the scales and zero points as
 * compressed-tensors keeps them, and {@link #stored()} — the tensors the package holds under
 * {@code <module>.<suffix>}. Sub-byte codes are held packed, as stored (no per-element copy); {@link #codes()}
 * unpacks them on request. The writer stores {@code stored()}; the reader rebuilds the same record from them.
 */
public sealed interface CompressedLinear {
    /** The codes, unpacked: one per weight element, {@code [N, K]} (fresh memory for packed records). */
    Tensor codes();

    /** The scales as compressed-tensors keeps them (stored as {@code weight_scale}). */
    Tensor scale();

    /** The weight's logical shape {@code [N, K]}. */
    Shape shape();

    /** Suffix (e.g. {@code weight_packed}) → tensor as written, in the order they are written. */
    Map<String, Tensor> stored();

    /** The weight as compressed-tensors decompresses it, rounded once into {@code out} (BF16, F16 or F32). */
    Tensor dequantize(DType out);

    /**
     * Row {@code r} of {@link #dequantize dequantize(F32)} into {@code dst[0, K)}, without the whole tensor: what
     * the error report reads, a row at a time.
     */
    void dequantizeRow(long r, float[] dst);

    /**
     * {@code pack-quantized} (W4A16 / W8A16).
     *
     * @param packed    I32 {@code [N, ceil(K*b/32)]}, the codes as {@link Int32Packing#pack} packs them along K
     * @param shape     the weight's {@code [N, K]}
     * @param scale     the weight dtype, {@code [N, K / groupSize]} ({@code [N, 1]} per channel)
     * @param zeroPoint I8 like {@code scale}, signed; null when symmetric
     */
    record PackedInt(Tensor packed, Shape shape, Tensor scale, Tensor zeroPoint, int bits) implements CompressedLinear {
        /** From I8 {@code [N, K]} signed codes in {@code [-2^(b-1), 2^(b-1) - 1]}, which it packs. */
        public static PackedInt ofCodes(Tensor codes, Tensor scale, Tensor zeroPoint, int bits) {
            return new PackedInt(Int32Packing.pack(codes, bits, 1), codes.shape(), scale, zeroPoint, bits);
        }

        @Override
        public Tensor codes() {
            return Int32Packing.unpack(packed, bits, 1, shape.dim(0), shape.dim(1));
        }

        @Override
        public Map<String, Tensor> stored() {
            Map<String, Tensor> m = codesAndScale("weight_packed", packed, scale);
            Tensor s = Tensor.allocate(DType.I64, Shape.of(2));
            s.setLong(0, shape.dim(0));
            s.setLong(1, shape.dim(1));
            m.put("weight_shape", s);
            if (zeroPoint != null) m.put("weight_zero_point", Int32Packing.pack(zeroPoint, bits, 0));
            return m;
        }

        @Override
        public Tensor dequantize(DType out) {
            return IntRtn.dequantize(codes(), scale, zeroPoint, out);
        }

        @Override
        public void dequantizeRow(long r, float[] dst) {
            int k = (int) shape.dim(1);
            int per = 32 / bits;
            int words = (k + per - 1) / per;
            int[] row = new int[words];
            MemorySegment.copy(packed.data(), Tensor.I32, r * words * 4, row, 0, words);
            long groups = scale.shape().dim(1);
            int g = (int) (k / groups);
            int mask = (1 << bits) - 1;
            int offset = 1 << (bits - 1);
            int perShift = Integer.numberOfTrailingZeros(per); // per = 32 / bits is a power of two
            for (int gi = 0; gi < groups; gi++) {
                long si = r * groups + gi;
                float s = scale.getFloat(si);
                long zp = zeroPoint == null ? 0 : zeroPoint.getLong(si);
                for (int c = gi * g, end = c + g; c < end; c++) {
                    long q = ((row[c >>> perShift] >>> (bits * (c & (per - 1)))) & mask) - offset - zp;
                    dst[c] = q * s;
                }
            }
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
        public Shape shape() {
            return codes.shape();
        }

        @Override
        public Tensor dequantize(DType out) {
            return IntRtn.dequantize(codes, scale, null, out);
        }

        @Override
        public void dequantizeRow(long r, float[] dst) {
            int k = (int) codes.shape().dim(1);
            float s = scale.getFloat(r);
            for (int c = 0; c < k; c++) dst[c] = codes.getLong(r * k + c) * s;
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
        public Shape shape() {
            return codes.shape();
        }

        @Override
        public Tensor dequantize(DType out) {
            return Fp8Rtn.dequantize(codes, scale, block, out);
        }

        @Override
        public void dequantizeRow(long r, float[] dst) {
            int k = (int) codes.shape().dim(1);
            byte[] row = new byte[k];
            MemorySegment.copy(codes.data(), ValueLayout.JAVA_BYTE, r * k, row, 0, k);
            long gridCols = scale.shape().rank() == 2 ? scale.shape().dim(1) : 1;
            // one scale per run of columns: the whole row (per tensor, per channel) or a block's width
            int width = block == null ? k : (int) block.dim(1);
            for (int c0 = 0, b = 0; c0 < k; c0 += width, b++) {
                long si;
                if (scale.numel() == 1) si = 0;
                else if (block == null) si = r;
                else si = (r / block.dim(0)) * gridCols + b;
                float s = scale.getFloat(si);
                for (int c = c0, end = Math.min(k, c0 + width); c < end; c++) dst[c] = Float8E4M3Fn.toFloat(row[c]) * s;
            }
        }
    }

    /**
     * {@code nvfp4-pack-quantized} (NVFP4A16).
     *
     * @param packed      U8 {@code [N, K / 2]}, fp4 e2m1 codes two per byte as {@link Fp4Rtn#pack} packs them
     * @param scale       F8_E4M3 {@code [N, K / 16]}
     * @param globalScale the F32 {@code weight_global_scale} (448 * 6 / amax, shared by a fused group)
     */
    record Nvfp4(Tensor packed, Tensor scale, float globalScale) implements CompressedLinear {
        /** From U8 {@code [N, K]} codes (0..15) one per byte, which it packs. */
        public static Nvfp4 ofCodes(Tensor codes, Tensor scale, float globalScale) {
            return new Nvfp4(Fp4Rtn.pack(codes), scale, globalScale);
        }

        @Override
        public Tensor codes() {
            return Fp4Rtn.unpack(packed);
        }

        @Override
        public Shape shape() {
            return fp4Shape(packed);
        }

        @Override
        public Map<String, Tensor> stored() {
            Map<String, Tensor> m = codesAndScale("weight_packed", packed, scale);
            Tensor g = Tensor.allocate(DType.F32, Shape.of(1));
            g.setFloat(0, globalScale);
            m.put("weight_global_scale", g);
            return m;
        }

        @Override
        public Tensor dequantize(DType out) {
            return Fp4Rtn.dequantizeNvfp4(codes(), scale, globalScale, out);
        }

        @Override
        public void dequantizeRow(long r, float[] dst) {
            int half = (int) packed.shape().dim(1);
            long blocks = scale.shape().dim(1);
            byte[] row = new byte[half];
            MemorySegment.copy(packed.data(), ValueLayout.JAVA_BYTE, r * half, row, 0, half);
            for (int b = 0; b < blocks; b++) {
                float eff = Float8E4M3Fn.toFloat(scale.getByte(r * blocks + b)) / globalScale;
                for (int c = b * Fp4Rtn.NVFP4_BLOCK, end = c + Fp4Rtn.NVFP4_BLOCK; c < end; c++) {
                    dst[c] = Fp4E2M1.toFloat(nibble(row, c)) * eff;
                }
            }
        }
    }

    /**
     * {@code mxfp4-pack-quantized} (MXFP4A16).
     *
     * @param packed U8 {@code [N, K / 2]}, fp4 e2m1 codes two per byte as {@link Fp4Rtn#pack} packs them
     * @param scale  U8 {@code [N, K / 32]}, biased power-of-two exponents (value {@code 2^(byte - 127)})
     */
    record Mxfp4(Tensor packed, Tensor scale) implements CompressedLinear {
        /** From U8 {@code [N, K]} codes (0..15) one per byte, which it packs. */
        public static Mxfp4 ofCodes(Tensor codes, Tensor scale) {
            return new Mxfp4(Fp4Rtn.pack(codes), scale);
        }

        @Override
        public Tensor codes() {
            return Fp4Rtn.unpack(packed);
        }

        @Override
        public Shape shape() {
            return fp4Shape(packed);
        }

        @Override
        public Map<String, Tensor> stored() {
            return codesAndScale("weight_packed", packed, scale);
        }

        @Override
        public Tensor dequantize(DType out) {
            return Fp4Rtn.dequantizeMxfp4(codes(), scale, out);
        }

        @Override
        public void dequantizeRow(long r, float[] dst) {
            int half = (int) packed.shape().dim(1);
            long blocks = scale.shape().dim(1);
            byte[] row = new byte[half];
            MemorySegment.copy(packed.data(), ValueLayout.JAVA_BYTE, r * half, row, 0, half);
            for (int b = 0; b < blocks; b++) {
                float s = (float) Math.pow(2, scale.getLong(r * blocks + b) - 127);
                for (int c = b * Fp4Rtn.MXFP4_BLOCK, end = c + Fp4Rtn.MXFP4_BLOCK; c < end; c++) {
                    dst[c] = Fp4E2M1.toFloat(nibble(row, c)) * s;
                }
            }
        }
    }

    private static Shape fp4Shape(Tensor packed) {
        return Shape.of(packed.shape().dim(0), packed.shape().dim(1) * 2);
    }

    private static int nibble(byte[] row, int c) {
        return (c & 1) == 0 ? row[c >> 1] & 0xF : (row[c >> 1] >>> 4) & 0xF;
    }

    /** The codes as written under {@code codesKey}, then {@code weight_scale}; a format adds its extras after. */
    private static Map<String, Tensor> codesAndScale(String codesKey, Tensor storedCodes, Tensor scale) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put(codesKey, storedCodes);
        m.put("weight_scale", scale);
        return m;
    }
}
