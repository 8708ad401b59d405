package dev.ao4j.quant.nvfp4;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.dtype.Bf16;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.dtype.F16;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The Vector API kernel gives the reference's per-tensor scale, block scales and codes bit for bit, for every
 * device convention and input dtype, single- and two-level scaling (the computed per-tensor scale and degenerate
 * ones: 0, ±Inf, NaN, a subnormal whose reciprocal overflows), plain and swizzled scales, on random data mixed with
 * edge values (zeros of both signs, ±Inf, NaNs with several payloads, subnormals, values at and past 6·448,
 * e4m3-scale and fp4 rounding ties, all-zero and all-tiny blocks).
 */
class Nvfp4KernelEquivalenceTest {
    /** Fixed per-tensor scales (f32 bits); null means the one computed from the input. */
    private static final List<Integer> FIXED_PTS = List.of(Float.floatToRawIntBits(0.37f), 0,
            Float.floatToRawIntBits(Float.POSITIVE_INFINITY), 0x7FC00123, 1, Float.floatToRawIntBits(3e-3f));

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (DivMode m : DivMode.values()) {
            for (DType dt : List.of(DType.BF16, DType.F16, DType.F32)) {
                for (String scaling : List.of("single", "computed", "fixed")) {
                    for (boolean swizzled : List.of(false, true)) {
                        out.add(Arguments.of(m, dt, scaling, swizzled, 4321L + out.size()));
                    }
                }
            }
        }
        return out.stream();
    }

    // fp4 ties at unit scale (0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5), e4m3 scale ties (bmax / 6 halfway between two
    // e4m3 values: 6.375 → 1.0625, 2784 → 464), past 6·448 = 2688, and the rest of the edge zoo
    private static final float[] EDGES = {0f, -0f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN,
        Float.intBitsToFloat(0xFFC00000), Float.intBitsToFloat(0x7F800123), Float.intBitsToFloat(0xFFA00000),
        1e-39f, -1e-40f, Float.MIN_VALUE, 0x1p-126f, 0x1p-127f, 6f, -6f, 0.25f, 0.75f, 1.25f, 1.75f, 2.5f, 3.5f, 5f,
        -5f, 6.375f, 2688f, 2784f, 2800f, -2688.5f, 1e5f, 1e30f, -1e30f, 3.4e38f, 1e-20f, 0x1p-6f, 0.0625f,
        448f, 464f, 65504f, 6e-8f};

    @ParameterizedTest(name = "{0} {1} {2} swizzled={3} seed={4}")
    @MethodSource("cases")
    void vectorMatchesReference(DivMode mode, DType dtype, String scaling, boolean swizzled, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int rows = 36;
        int cols = 160;
        Tensor x = Tensor.allocate(dtype, Shape.of(rows, cols));
        for (int r = 0; r < rows; r++) {
            double mag = Math.scalb(1.0, rnd.nextInt(-30, 30));
            for (int c = 0; c < cols; c++) {
                float v;
                int kind = r % 7;
                if (kind == 0) v = EDGES[rnd.nextInt(EDGES.length)];
                else if (kind == 1 && c < 32) v = 0f;
                else if (kind == 2) v = (float) (rnd.nextGaussian() * 1e-39);
                // fp4 ties: a block whose amax is 6 has scale 1, so these land exactly between two codes
                else if (kind == 3) v = c % 16 == 0 ? 6f : EDGES[15 + rnd.nextInt(8)] * (rnd.nextBoolean() ? 1 : -1);
                else if (rnd.nextInt(40) == 0) v = EDGES[rnd.nextInt(EDGES.length)];
                else v = (float) (rnd.nextGaussian() * mag);
                set(x, (long) r * cols + c, v);
            }
        }
        List<Tensor> scales = new ArrayList<>();
        switch (scaling) {
            case "single" -> scales.add(null);
            case "computed" -> {
                Tensor ref = Nvfp4Quantizer.perTensorScale(x, mode, Kernel.REFERENCE);
                Tensor vec = Nvfp4Quantizer.perTensorScale(x, mode, Kernel.VECTOR);
                assertTrue(ref.data().mismatch(vec.data()) < 0, "per-tensor scales differ");
                scales.add(ref);
                // the same input without its non-finite values: a finite per-tensor scale
                scales.add(Nvfp4Quantizer.perTensorScale(finiteOnly(x), mode, Kernel.REFERENCE));
            }
            default -> FIXED_PTS.forEach(bits -> scales.add(scalar(bits)));
        }
        for (Tensor pts : scales) {
            for (Tensor in : List.of(x, finiteOnly(x))) {
                Nvfp4Tensor ref = Nvfp4Quantizer.quantize(in, pts, swizzled, mode, Kernel.REFERENCE);
                Nvfp4Tensor vec = Nvfp4Quantizer.quantize(in, pts, swizzled, mode, Kernel.VECTOR);
                String what = "pts=" + (pts == null ? "none" : Integer.toHexString(pts.data().getAtIndex(Tensor.I32, 0)));
                assertTrue(ref.scale().contentEquals(vec.scale()), "block scales differ, " + what);
                long mismatch = ref.qdata().data().mismatch(vec.qdata().data());
                assertTrue(mismatch < 0, () -> "codes differ at byte " + mismatch + " (" + what + "): reference 0x"
                        + Integer.toHexString(ref.qdata().getByte(mismatch) & 0xFF) + ", vector 0x"
                        + Integer.toHexString(vec.qdata().getByte(mismatch) & 0xFF));
                assertEquals(ref.shape(), vec.shape());
                if (pts == null) assertNull(vec.perTensorScale());
            }
        }
    }

    /** The vector amax reduction over whole chunks plus a ragged tail, a NaN in either part, any rank. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dtypes")
    void perTensorScaleMatchesOnRaggedSizes(DType dtype) {
        SplittableRandom rnd = new SplittableRandom(99);
        for (long[] dims : List.of(new long[] {3, 5, 17 * 32}, new long[] {8192}, new long[] {100}, new long[] {})) {
            Shape shape = Shape.of(dims);
            for (long nanAt : List.of(-1L, 0L, shape.numel() - 1)) {
                Tensor x = Tensor.allocate(dtype, shape);
                for (long i = 0; i < shape.numel(); i++) set(x, i, (float) (rnd.nextGaussian() * 100));
                if (nanAt >= 0) set(x, nanAt, Float.intBitsToFloat(0xFF812345));
                for (DivMode mode : DivMode.values()) {
                    Tensor ref = Nvfp4Quantizer.perTensorScale(x, mode, Kernel.REFERENCE);
                    Tensor vec = Nvfp4Quantizer.perTensorScale(x, mode, Kernel.VECTOR);
                    assertEquals(ref.data().getAtIndex(Tensor.I32, 0), vec.data().getAtIndex(Tensor.I32, 0),
                            () -> shape + " NaN at " + nanAt + " " + mode);
                }
            }
        }
    }

    static Stream<DType> dtypes() {
        return Stream.of(DType.BF16, DType.F16, DType.F32);
    }

    private static Tensor scalar(int bits) {
        Tensor t = Tensor.allocate(DType.F32, Shape.of());
        t.data().setAtIndex(Tensor.I32, 0, bits);
        return t;
    }

    /** A copy with every NaN and ±Inf replaced by 1.5. */
    private static Tensor finiteOnly(Tensor x) {
        Tensor y = x.copy();
        for (long i = 0; i < y.numel(); i++) {
            if (!Float.isFinite(y.getFloat(i))) set(y, i, 1.5f);
        }
        return y;
    }

    /** Store {@code v} keeping NaN payloads where the dtype can (f32 exactly, bf16 and f16 the top bits). */
    private static void set(Tensor t, long i, float v) {
        int bits = Float.floatToRawIntBits(v);
        boolean nan = Float.isNaN(v);
        switch (t.dtype()) {
            case F32 -> t.data().setAtIndex(Tensor.I32, i, bits);
            case BF16 -> t.data().setAtIndex(Tensor.I16, i, nan ? (short) ((bits >>> 16) | 0x40) : Bf16.fromFloat(v));
            case F16 -> t.data().setAtIndex(Tensor.I16, i, nan
                    ? (short) (((bits >>> 16) & 0x8000) | 0x7C00 | 0x200 | ((bits >>> 13) & 0x3FF)) : F16.fromFloat(v));
            default -> throw new IllegalArgumentException(t.dtype().toString());
        }
    }
}
