package dev.ao4j.quant.float8;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

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
 * {@link Kernel#VECTOR} against {@link Kernel#REFERENCE}, bit for bit (scale and codes), over input
 * dtypes, float8 formats, both devices, block shapes and widths that are not multiples of the vector length, with
 * inputs that mix normal values, NaN, ±Inf, zeros (whole zero blocks too), subnormals and huge values.
 */
class Float8KernelEquivalenceTest {
    record Layout(String name, long rows, long cols, long blockRows, long blockCols) {
        @Override
        public String toString() {
            return name + "[" + rows + "x" + cols + " by " + blockRows + "x" + blockCols + "]";
        }
    }

    static Stream<Arguments> cases() {
        List<Layout> layouts = List.of(
                new Layout("row", 5, 1, 1, 1),
                new Layout("row", 7, 3, 1, 3),
                new Layout("row", 9, 13, 1, 13),
                new Layout("row", 33, 37, 1, 37),
                new Layout("row", 4, 130, 1, 130),
                new Layout("row", 3, 257, 1, 257),
                new Layout("tensor", 6, 19, 6, 19),
                new Layout("tensor", 16, 64, 16, 64),
                new Layout("group", 8, 384, 1, 128),
                new Layout("group", 5, 60, 1, 20),
                new Layout("block", 256, 256, 128, 128),
                new Layout("block", 12, 42, 4, 21));
        List<Arguments> out = new ArrayList<>();
        long seed = 0x5EED_F8L;
        for (DType in : List.of(DType.BF16, DType.F16, DType.F32)) {
            for (DType fp8 : List.of(DType.F8_E4M3, DType.F8_E5M2)) {
                for (DivMode mode : DivMode.values()) {
                    for (Layout l : layouts) out.add(Arguments.of(in, fp8, mode, l, seed++));
                }
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} -> {1} {2} {3} seed {4}")
    @MethodSource("cases")
    void vectorMatchesReference(DType in, DType fp8, DivMode mode, Layout l, long seed) {
        Tensor x = input(in, l, seed);
        Shape block = Shape.of(l.blockRows(), l.blockCols());
        for (Float lb : new Float[] {null, 1e-12f}) {
            Tensor sRef = Float8Quantizer.chooseScale(x, block, fp8, lb, null, mode, Kernel.REFERENCE);
            Tensor sVec = Float8Quantizer.chooseScale(x, block, fp8, lb, null, mode, Kernel.VECTOR);
            assertSame("scale lb=" + lb, sRef, sVec);
            Tensor qRef = Float8Quantizer.quantizeWithScale(x, sRef, fp8, mode, Kernel.REFERENCE);
            Tensor qVec = Float8Quantizer.quantizeWithScale(x, sRef, fp8, mode, Kernel.VECTOR);
            assertSame("codes lb=" + lb, qRef, qVec);
        }
        // scales with NaN, zero, Inf and subnormal values exercise the division lanes directly
        Tensor odd = Float8Quantizer.chooseScale(x, block, fp8, null, null, mode, Kernel.REFERENCE);
        float[] specials = {Float.NaN, Float.intBitsToFloat(0xFFC00000), 0f, -0f, Float.POSITIVE_INFINITY, 1e-41f,
                3.5e-3f};
        for (long i = 0; i < odd.numel(); i++) odd.setFloat(i, specials[(int) (i % specials.length)]);
        assertSame("codes with special scales",
                Float8Quantizer.quantizeWithScale(x, odd, fp8, mode, Kernel.REFERENCE),
                Float8Quantizer.quantizeWithScale(x, odd, fp8, mode, Kernel.VECTOR));
    }

    private static void assertSame(String what, Tensor a, Tensor b) {
        assertEquals(a.dtype(), b.dtype());
        assertEquals(a.shape(), b.shape());
        long m = a.data().mismatch(b.data());
        if (m >= 0) fail(what + ": first difference at byte " + m + ": reference " + a.getByte(m) + ", vector "
                + b.getByte(m));
    }

    /** Random N(0, 1)-ish values with every 7th block zeroed and a sprinkling of special values. */
    static Tensor input(DType dt, Layout l, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Tensor t = Tensor.allocate(dt, Shape.of(l.rows(), l.cols()));
        float[] specials = {Float.NaN, Float.intBitsToFloat(0xFFC00000), Float.POSITIVE_INFINITY,
                Float.NEGATIVE_INFINITY, 0f, -0f, 1e-39f, -3e-41f, 6e-8f, 1e30f, -65504f, 448f, 464f, 57344f};
        long colBlocks = l.cols() / l.blockCols();
        for (long r = 0; r < l.rows(); r++) {
            for (long c = 0; c < l.cols(); c++) {
                long block = r / l.blockRows() * colBlocks + c / l.blockCols();
                float v;
                if (block % 7 == 3) {
                    v = 0f;
                } else if (rnd.nextInt(23) == 0) {
                    v = specials[rnd.nextInt(specials.length)];
                } else {
                    v = (float) (rnd.nextGaussian() * Math.scalb(1.0, rnd.nextInt(-20, 8)));
                }
                if (dt == DType.F32) {
                    t.data().setAtIndex(Tensor.I32, r * l.cols() + c, Float.floatToRawIntBits(v));
                } else {
                    t.setFloat(r * l.cols() + c, v);
                }
            }
        }
        return t;
    }
}
