package dev.ao4j.vllm.gptq;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.qtensor.IntxUnpackedToInt8Tensor;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * One group-wise integer-quantized Linear weight as GPTQ and AWQ describe it, independent of their packed layouts,
 * in Hugging Face orientation ({@code W} is {@code [N, K]}, N = out_features):
 * {@code w[n, k] ≈ (codes[n, k] − zeros[n, g]) · scales[n, g]} with {@code g = groupIndex[k]}.
 *
 * <p>Codes are unsigned ({@code 0 .. 2^bits − 1}); zeros are the true zero points, i.e. already un-offset from
 * GPTQ v1's "stored minus one" (a v1 nibble of 15 reads as 16, as AutoGPTQ's kernels compute it).
 *
 * @param bits       code width (4 or 8; 2 also packs)
 * @param codes      U8 {@code [N, K]}
 * @param scales     {@code [N, groups]} in the stored float dtype (F16 as written)
 * @param zeros      I32 {@code [N, groups]}
 * @param groupIndex I32 {@code [K]}: the group of each input column ({@code k / G} unless act-order permuted it)
 */
public record IntWeightLinear(int bits, Tensor codes, Tensor scales, Tensor zeros, Tensor groupIndex) {
    public IntWeightLinear {
        if (bits < 1 || bits > 8 || 32 % bits != 0) throw new IllegalArgumentException("bits " + bits);
        if (codes.dtype() != DType.U8 || codes.shape().rank() != 2) {
            throw new IllegalArgumentException("codes must be U8 [N, K] but are " + codes.dtype() + " " + codes.shape());
        }
        long n = codes.shape().dim(0);
        long k = codes.shape().dim(1);
        if (!scales.dtype().isFloatingPoint() || scales.shape().rank() != 2 || scales.shape().dim(0) != n) {
            throw new IllegalArgumentException("scales must be float [" + n + ", groups] but are " + scales.dtype()
                    + " " + scales.shape());
        }
        if (zeros.dtype() != DType.I32 || !zeros.shape().equals(scales.shape())) {
            throw new IllegalArgumentException("zeros must be I32 " + scales.shape() + " but are " + zeros.dtype() + " "
                    + zeros.shape());
        }
        if (groupIndex.dtype() != DType.I32 || !groupIndex.shape().equals(Shape.of(k))) {
            throw new IllegalArgumentException("groupIndex must be I32 [" + k + "] but is " + groupIndex.dtype() + " "
                    + groupIndex.shape());
        }
    }

    /** The trivial group index of contiguous groups of {@code groupSize} columns ({@code k / groupSize}). */
    public static Tensor contiguousGroups(long k, long groupSize) {
        Tensor g = Tensor.allocate(DType.I32, Shape.of(k));
        for (long i = 0; i < k; i++) g.setLong(i, i / groupSize);
        return g;
    }

    public long outFeatures() {
        return codes.shape().dim(0);
    }

    public long inFeatures() {
        return codes.shape().dim(1);
    }

    public long groups() {
        return scales.shape().dim(1);
    }

    /** The weight this represents, F32 {@code [N, K]}: one exact integer difference times the f32 scale. */
    public Tensor dequantize() {
        long n = outFeatures();
        long k = inFeatures();
        long groups = groups();
        Tensor out = Tensor.allocate(DType.F32, codes.shape());
        for (long r = 0; r < n; r++) {
            for (long c = 0; c < k; c++) {
                long g = groupIndex.getLong(c);
                long q = codes.getLong(r * k + c) - zeros.getLong(r * groups + g);
                out.setFloat(r * k + c, q * scales.getFloat(r * groups + g));
            }
        }
        return out;
    }

    /**
     * The same weight as torchao's {@code IntxUnpackedToInt8Tensor} (signed codes and zero points, i.e. both shifted
     * down by {@code 2^(bits−1)}; dequantization {@code (qdata − zero_point) · scale} is unchanged), the form the
     * quantization pipeline carries to a {@link dev.ao4j.quant.pipeline.ModelSink}. Contiguous groups only.
     */
    public IntxUnpackedToInt8Tensor toIntx(DType originalDtype) {
        long k = inFeatures();
        long groupSize = k / groups();
        for (long c = 0; c < k; c++) {
            if (groupIndex.getLong(c) != c / groupSize) {
                throw new IllegalStateException("act-order group index has no IntxUnpackedToInt8Tensor form");
            }
        }
        int offset = 1 << (bits - 1);
        Tensor q = Tensor.allocate(DType.I8, codes.shape());
        for (long i = 0; i < q.numel(); i++) q.setLong(i, codes.getLong(i) - offset);
        Tensor zp = Tensor.allocate(DType.I8, zeros.shape());
        for (long i = 0; i < zp.numel(); i++) {
            long z = zeros.getLong(i) - offset;
            if (z < -offset || z >= offset) {
                throw new IllegalStateException("zero point " + zeros.getLong(i) + " is outside the " + bits + "-bit range");
            }
            zp.setLong(i, z);
        }
        return new IntxUnpackedToInt8Tensor(q, scales, zp, bits, Shape.of(1L, groupSize), originalDtype, null);
    }

    /**
     * The inverse of {@link #toIntx}: {@code t} must be weight-only, blocked {@code [1, G]} with G dividing K.
     *
     * @throws InvalidConfigException naming {@code name} otherwise
     */
    public static IntWeightLinear fromIntx(String name, IntxUnpackedToInt8Tensor t) {
        return fromIntx(name, t, null);
    }

    /**
     * Like {@link #fromIntx(String, IntxUnpackedToInt8Tensor)}, the new tensors in {@code arena} (null: GC-managed)
     * and the codes shifted a row at a time.
     */
    public static IntWeightLinear fromIntx(String name, IntxUnpackedToInt8Tensor t, Arena arena) {
        if (arena == null) return fromIntxReference(name, t);
        requireWeightOnlyGroups(name, t);
        int offset = 1 << (t.bits() - 1);
        int n = Math.toIntExact(t.qdata().shape().dim(0));
        int k = Math.toIntExact(t.qdata().shape().dim(1));
        Tensor codes = allocate(arena, DType.U8, t.qdata().shape());
        byte[] row = new byte[k];
        for (int r = 0; r < n; r++) {
            MemorySegment.copy(t.qdata().data(), ValueLayout.JAVA_BYTE, (long) r * k, row, 0, k);
            for (int c = 0; c < k; c++) row[c] = (byte) (row[c] + offset);
            MemorySegment.copy(row, 0, codes.data(), ValueLayout.JAVA_BYTE, (long) r * k, k);
        }
        Tensor zeros = allocate(arena, DType.I32, t.zeroPoint().shape());
        for (long i = 0; i < zeros.numel(); i++) zeros.setLong(i, t.zeroPoint().getLong(i) + offset);
        return new IntWeightLinear(t.bits(), codes, t.scale(), zeros, contiguousGroups(k, t.blockSize().dim(1)));
    }

    /** A zero-filled tensor in {@code arena}'s memory (what {@link Tensor#allocate} does in an automatic one). */
    public static Tensor allocate(Arena arena, DType dtype, Shape shape) {
        long bytes = Tensor.byteSize(dtype, shape);
        return new Tensor(dtype, shape, arena.allocate(Math.max(bytes, 1), 16).asSlice(0, bytes));
    }

    private static void requireWeightOnlyGroups(String name, IntxUnpackedToInt8Tensor t) {
        Shape block = t.blockSize();
        long k = t.qdata().shape().dim(1);
        if (block.rank() != 2 || block.dim(0) != 1 || block.dim(1) <= 0 || k % block.dim(1) != 0) {
            throw new InvalidConfigException("'" + name + "' must be quantized in groups of [1, G] along K = " + k
                    + " but has block size " + block);
        }
        if (t.activationQuantization() != null) {
            throw new InvalidConfigException("'" + name + "' quantizes activations (" + t.activationQuantization()
                    + "); this format is weight-only");
        }
    }

    private static IntWeightLinear fromIntxReference(String name, IntxUnpackedToInt8Tensor t) {
        requireWeightOnlyGroups(name, t);
        Shape block = t.blockSize();
        long k = t.qdata().shape().dim(1);
        int offset = 1 << (t.bits() - 1);
        Tensor codes = Tensor.allocate(DType.U8, t.qdata().shape());
        for (long i = 0; i < codes.numel(); i++) codes.setLong(i, t.qdata().getLong(i) + offset);
        Tensor zeros = Tensor.allocate(DType.I32, t.zeroPoint().shape());
        for (long i = 0; i < zeros.numel(); i++) zeros.setLong(i, t.zeroPoint().getLong(i) + offset);
        return new IntWeightLinear(t.bits(), codes, t.scale(), zeros, contiguousGroups(k, block.dim(1)));
    }
}
