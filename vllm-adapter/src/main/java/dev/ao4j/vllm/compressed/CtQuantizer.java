package dev.ao4j.vllm.compressed;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.pipeline.Sqnr;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Set;

/**
 * The numerics of one {@link CompressedTensorsScheme}: which Linear weights it can take (what vLLM's kernels for
 * the format accept) and the compressed-tensors round-to-nearest that turns a weight into a
 * {@link CompressedLinear}.
 *
 * @param kernel {@link Kernel#REFERENCE} runs the plain loops of {@link IntRtn}, {@link Fp8Rtn} and {@link Fp4Rtn}
 *               (codes one per element, then packed); {@link Kernel#VECTOR} their Vector API twins, which write
 *               the packed form directly. Same bytes either way.
 */
public record CtQuantizer(CompressedTensorsScheme scheme, DivMode divMode, Kernel kernel) {
    /** With the {@link Kernel#VECTOR} kernels. */
    public CtQuantizer(CompressedTensorsScheme scheme, DivMode divMode) {
        this(scheme, divMode, Kernel.VECTOR);
    }

    private static final Set<DType> FLOAT = Set.of(DType.BF16, DType.F16, DType.F32);
    /** FP8 block size (rows, cols). */
    public static final int BLOCK = 128;

    /** Why a weight of this shape and dtype is kept in high precision, or null when it is quantized. */
    public String skipReason(Shape shape, DType dtype) {
        if (!FLOAT.contains(dtype)) {
            return "dtype " + dtype.torchName() + " is not a floating-point weight dtype (bfloat16, float16, float32)";
        }
        long k = shape.dim(1);
        return switch (scheme.preset()) {
            case W4A16, W8A16 -> {
                int per = 32 / scheme.preset().bits();
                if (scheme.groupSize() != CompressedTensorsScheme.CHANNEL && k % scheme.groupSize() != 0) {
                    yield "in-features " + k + " not a multiple of group size " + scheme.groupSize();
                }
                yield k % per != 0 ? "in-features " + k + " not a multiple of " + per + " (int32 packing)" : null;
            }
            case W8A8, FP8, FP8_DYNAMIC -> null;
            // vLLM's block kernels need whole blocks along K; a partial last block along N is fine (ceil grid)
            case FP8_BLOCK -> k % BLOCK != 0 ? "in-features " + k + " not a multiple of the 128 block" : null;
            case NVFP4A16 -> k % Fp4Rtn.NVFP4_BLOCK != 0 ? "in-features " + k + " not a multiple of 16" : null;
            case MXFP4A16 -> k % Fp4Rtn.MXFP4_BLOCK != 0 ? "in-features " + k + " not a multiple of 32" : null;
        };
    }

    /** Whether members of a fused group must share a scale computed over the whole group (NVFP4's global). */
    public boolean sharesGroupScale() {
        return scheme.preset() == CompressedTensorsScheme.Preset.NVFP4A16;
    }

    /**
     * @param groupAmax for NVFP4, {@code max|w|} over the weight's fused group (NaN: this weight alone); ignored
     *                  otherwise
     */
    public CompressedLinear quantize(Tensor w, float groupAmax) {
        return quantize(w, groupAmax, Arena.ofAuto());
    }

    /**
     * Like {@link #quantize(Tensor, float)}, the vector kernels' results in {@code arena}'s memory, so that a caller
     * done with them (e.g. once written) frees them at once by closing it.
     */
    public CompressedLinear quantize(Tensor w, float groupAmax, Arena arena) {
        if (kernel == Kernel.VECTOR) return quantizeVector(w, groupAmax, arena);
        return switch (scheme.preset()) {
            case W4A16, W8A16 -> {
                IntRtn.Result r = IntRtn.quantize(w, scheme.preset().bits(), scheme.groupSize(), scheme.symmetric(),
                        divMode);
                yield CompressedLinear.PackedInt.ofCodes(r.codes(), r.scale(), r.zeroPoint(), scheme.preset().bits());
            }
            case W8A8 -> {
                IntRtn.Result r = IntRtn.quantize(w, 8, CompressedTensorsScheme.CHANNEL, true, divMode);
                yield new CompressedLinear.Int8(r.codes(), r.scale());
            }
            case FP8 -> fp8(Fp8Rtn.perTensor(w, divMode), null);
            case FP8_DYNAMIC -> fp8(Fp8Rtn.perChannel(w, divMode), null);
            case FP8_BLOCK -> fp8(Fp8Rtn.perBlock(w, BLOCK, BLOCK, divMode), Shape.of(BLOCK, BLOCK));
            case NVFP4A16 -> {
                float g = Fp4Rtn.globalScale(Float.isNaN(groupAmax) ? Fp4Rtn.amax(w) : groupAmax, w.dtype());
                Fp4Rtn.Result r = Fp4Rtn.nvfp4(w, g, divMode);
                yield CompressedLinear.Nvfp4.ofCodes(r.codes(), r.scale(), g);
            }
            case MXFP4A16 -> {
                Fp4Rtn.Result r = Fp4Rtn.mxfp4(w, divMode);
                yield CompressedLinear.Mxfp4.ofCodes(r.codes(), r.scale());
            }
        };
    }

    /** {@code max|w|} over a weight, by this quantizer's kernel (NVFP4's global scale pre-pass). */
    public float amax(Tensor w) {
        return kernel == Kernel.VECTOR ? CtVector.amax(w) : Fp4Rtn.amax(w);
    }

    /**
     * The report's SQNR of {@code w} against {@code q}: {@link Sqnr#db} of the dequantized weight; the vector kernel
     * sums the same terms in the same order a row at a time, without an F32 copy of the weight.
     */
    public double sqnr(Tensor w, CompressedLinear q) {
        return kernel == Kernel.VECTOR ? RowSqnr.db(w, q) : Sqnr.db(w, q.dequantize(DType.F32));
    }

    private CompressedLinear quantizeVector(Tensor w, float groupAmax, Arena arena) {
        DivMode mode = divMode;
        return switch (scheme.preset()) {
            case W4A16, W8A16 -> CtVector.intRtn(w, scheme.preset().bits(), scheme.groupSize(), scheme.symmetric(),
                    mode, true, arena);
            case W8A8 -> CtVector.intRtn(w, 8, CompressedTensorsScheme.CHANNEL, true, mode, false, arena);
            case FP8 -> CtVector.fp8(w, w.shape().dim(0), w.shape().dim(1), Shape.of(1), null, mode, arena);
            case FP8_DYNAMIC -> CtVector.fp8(w, 1, w.shape().dim(1), Shape.of(w.shape().dim(0), 1), null, mode,
                    arena);
            case FP8_BLOCK -> CtVector.fp8(w, BLOCK, BLOCK, Shape.of(Fp8Rtn.ceilDiv(w.shape().dim(0), BLOCK),
                    Fp8Rtn.ceilDiv(w.shape().dim(1), BLOCK)), Shape.of(BLOCK, BLOCK), mode, arena);
            case NVFP4A16 -> CtVector.nvfp4(w, Fp4Rtn.globalScale(Float.isNaN(groupAmax) ? CtVector.amax(w)
                    : groupAmax, w.dtype()), mode, arena);
            case MXFP4A16 -> CtVector.mxfp4(w, mode, arena);
        };
    }

    private static CompressedLinear fp8(Fp8Rtn.Result r, Shape block) {
        return new CompressedLinear.Fp8(r.codes(), r.scale(), block);
    }
}
