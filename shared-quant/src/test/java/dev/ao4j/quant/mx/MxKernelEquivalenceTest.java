package dev.ao4j.quant.mx;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.dtype.DType;
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
 * The Vector API kernel gives the reference's scales and codes bit for bit, for every element format, scaling
 * mode, device convention and input dtype, on random data mixed with edge values (zeros of both signs, ±Inf, NaNs
 * with several payloads, f32 and bf16 subnormals, values at and past each format's max, rounding ties, tiny and
 * huge blocks).
 */
class MxKernelEquivalenceTest {
    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (MxElement e : MxElement.values()) {
            for (ScalingMode s : ScalingMode.values()) {
                for (DivMode m : DivMode.values()) {
                    for (DType dt : List.of(DType.BF16, DType.F32, DType.F16)) {
                        out.add(Arguments.of(e, s, m, dt, 1234L + out.size()));
                    }
                }
            }
        }
        return out.stream();
    }

    private static final float[] EDGES = {0f, -0f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN,
        Float.intBitsToFloat(0xFFC00000), Float.intBitsToFloat(0x7F800123), 1e-39f, -1e-40f, Float.MIN_VALUE,
        448f, 464f, 480f, 57344f, 7.5f, 7.75f, 28f, 30f, 6f, 5f, 0.25f, 0.75f, 1.25f, 2.5f, 1e30f, -1e30f, 1e-20f,
        3.4e38f, 0x1p-126f, 0x1p-127f, 0.0625f, 0.1875f};

    @ParameterizedTest(name = "{0} {1} {2} {3} seed={4}")
    @MethodSource("cases")
    void vectorMatchesReference(MxElement elem, ScalingMode scaling, DivMode mode, DType dtype, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int rows = 24;
        int cols = 96;
        Tensor x = Tensor.allocate(dtype, Shape.of(rows, cols));
        for (int r = 0; r < rows; r++) {
            // per row a different magnitude, some rows all edge values, some blocks all zero or all tiny
            double mag = Math.scalb(1.0, rnd.nextInt(-40, 40));
            for (int c = 0; c < cols; c++) {
                long i = (long) r * cols + c;
                float v;
                int kind = r % 6;
                if (kind == 0) v = EDGES[rnd.nextInt(EDGES.length)];
                else if (kind == 1 && c < 32) v = 0f;
                else if (kind == 2) v = (float) (rnd.nextGaussian() * 1e-39);
                else if (rnd.nextInt(50) == 0) v = EDGES[rnd.nextInt(EDGES.length)];
                else v = (float) (rnd.nextGaussian() * mag);
                set(x, i, v);
            }
        }
        MxTensor ref = MxQuantizer.quantize(x, elem, scaling, false, mode, Kernel.REFERENCE);
        MxTensor vec = MxQuantizer.quantize(x, elem, scaling, false, mode, Kernel.VECTOR);
        assertTrue(ref.scale().contentEquals(vec.scale()), "scales differ");
        long mismatch = ref.qdata().data().mismatch(vec.qdata().data());
        assertTrue(mismatch < 0, () -> "codes differ at byte " + mismatch + ": reference 0x"
                + Integer.toHexString(ref.qdata().getByte(mismatch) & 0xFF) + ", vector 0x"
                + Integer.toHexString(vec.qdata().getByte(mismatch) & 0xFF));
    }

    /** Store {@code v} keeping NaN payloads where the dtype can (f32 exactly, bf16 the top half). */
    private static void set(Tensor t, long i, float v) {
        int bits = Float.floatToRawIntBits(v);
        switch (t.dtype()) {
            case F32 -> t.data().setAtIndex(Tensor.I32, i, bits);
            case BF16 -> t.data().setAtIndex(Tensor.I16, i, Float.isNaN(v) ? (short) ((bits >>> 16) | 0x40)
                    : dev.ao4j.quant.dtype.Bf16.fromFloat(v));
            default -> t.setFloat(i, v);
        }
    }
}
