package dev.ao4j.quant.sparsity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link Kernel#VECTOR} against {@link Kernel#REFERENCE}, byte for byte (mask and pruned weight), for both tie
 * rules and the three dtypes, on shapes whose element count is not a multiple of the vector length, and on inputs
 * built to hit the selection's corners: ties everywhere, all-equal groups, ±0, NaN (with payloads), ±Inf,
 * subnormals (also subnormal squares) and values whose square overflows to +Inf in the weight's dtype.
 */
class Sparse24KernelEquivalenceTest {
    private static final List<DType> DTYPES = List.of(DType.BF16, DType.F16, DType.F32);
    private static final List<Shape> SHAPES = List.of(Shape.of(1, 4), Shape.of(3, 12), Shape.of(5, 20),
            Shape.of(7, 36), Shape.of(16, 64), Shape.of(9, 100), Shape.of(33, 260), Shape.of(2, 4100));

    enum Input { GAUSSIAN, RAW_BITS, TINY_SET, ALL_EQUAL_GROUPS, SPECIALS }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        long seed = 0x24_5EEDL;
        for (DType dt : DTYPES) {
            for (TopkTies ties : TopkTies.values()) {
                for (Input input : Input.values()) {
                    for (Shape shape : SHAPES) out.add(Arguments.of(dt, ties, input, shape, seed++));
                }
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1} {2} {3} seed {4}")
    @MethodSource("cases")
    void vectorMatchesReference(DType dt, TopkTies ties, Input input, Shape shape, long seed) {
        Tensor w = input(dt, shape, input, new SplittableRandom(seed));
        assertSameBytes("mask", Sparse24.magnitudeMask(w, ties, Kernel.REFERENCE),
                Sparse24.magnitudeMask(w, ties, Kernel.VECTOR));
        assertSameBytes("pruned", Sparse24.prune(w, ties, Kernel.REFERENCE), Sparse24.prune(w, ties, Kernel.VECTOR));
    }

    /**
     * Every group of four drawn from a set of magnitudes that covers each score relation (equal, different, equal
     * after rounding the square, +Inf after overflow, NaN), in every order: 10^4 groups per dtype and rule.
     */
    @Test
    void everyGroupOverARepresentativeValueSet() {
        for (DType dt : DTYPES) {
            float huge = dt == DType.F32 ? 3e19f : dt == DType.F16 ? 300f : 2e19f;   // square overflows to +Inf
            float[] values = {0f, -0f, 1f, -1f, 1.00390625f, 2f, huge, Float.NEGATIVE_INFINITY, Float.NaN,
                    dt == DType.F16 ? 0x1p-24f : 0x1p-130f};   // a subnormal of the dtype
            int groups = values.length * values.length * values.length * values.length;
            Tensor w = Tensor.allocate(dt, Shape.of(1, 4L * groups));
            for (int g = 0; g < groups; g++) {
                int rest = g;
                for (int i = 0; i < 4; i++) {
                    w.setFloat(4L * g + i, values[rest % values.length]);
                    rest /= values.length;
                }
            }
            for (TopkTies ties : TopkTies.values()) {
                assertSameBytes(dt + " " + ties + " mask", Sparse24.magnitudeMask(w, ties, Kernel.REFERENCE),
                        Sparse24.magnitudeMask(w, ties, Kernel.VECTOR));
                assertSameBytes(dt + " " + ties + " pruned", Sparse24.prune(w, ties, Kernel.REFERENCE),
                        Sparse24.prune(w, ties, Kernel.VECTOR));
            }
        }
    }

    /**
     * The lookup tables cover exactly the comparison patterns of the 75 weak orders of four scores, each with two
     * zeroed positions; on distinct scores both rules zero the two smallest.
     */
    @Test
    void tablesHoldOnePairPerWeakOrder() {
        for (TopkTies ties : TopkTies.values()) {
            byte[] table = Sparse24Vector.table(ties);
            int reachable = 0;
            for (byte zeroed : table) {
                if (zeroed == -1) continue;
                reachable++;
                assertEquals(2, Integer.bitCount(zeroed), ties + ": zeroed " + zeroed);
            }
            assertEquals(75, reachable, ties + " reachable patterns");
            // scores 3, 0, 2, 1: positions 1 and 3 are the two smallest
            float[] s = {3, 0, 2, 1};
            int index = 0;
            for (int r = 1; r < 4; r++) {
                for (int i = 0; i < 4; i++) if (s[i] < s[(i + r) & 3]) index |= 1 << Sparse24Vector.patternBit(i, r);
            }
            assertEquals(0b1010, table[index], ties.toString());
        }
        // all four equal: CUDA zeroes the first two; libstdc++'s nth_element ends with positions 1 and 2 in front
        assertEquals(0b0011, Sparse24Vector.table(TopkTies.CUDA_LOWEST_INDEX)[0]);
        assertEquals(Sparse24.smallestTwoCpu(new float[] {5, 5, 5, 5}), Sparse24Vector.table(TopkTies.CPU_INTROSELECT)[0]);
    }

    @Test
    void bothKernelsRejectTheSameShapes() {
        Tensor ragged = Tensor.allocate(DType.BF16, Shape.of(2, 6));
        for (Kernel k : Kernel.values()) {
            assertThrows(InvalidConfigException.class, () -> Sparse24.prune(ragged, TopkTies.CPU_INTROSELECT, k));
            assertThrows(InvalidConfigException.class,
                    () -> Sparse24.magnitudeMask(ragged, TopkTies.CUDA_LOWEST_INDEX, k));
        }
    }

    private static Tensor input(DType dt, Shape shape, Input input, SplittableRandom r) {
        Tensor t = Tensor.allocate(dt, shape);
        long n = t.numel();
        switch (input) {
            case GAUSSIAN -> {
                for (long i = 0; i < n; i++) t.setFloat(i, (float) (0.05 * gaussian(r)));
            }
            case RAW_BITS -> {
                // every bit pattern: NaNs with payloads (signalling ones too), Inf, subnormals, both zeros
                for (long i = 0; i < n; i++) {
                    if (dt == DType.F32) t.data().setAtIndex(Tensor.I32, i, r.nextInt());
                    else t.data().setAtIndex(Tensor.I16, i, (short) r.nextInt());
                }
            }
            case TINY_SET -> {
                float[] set = {0f, -0f, 0.5f, -0.5f, 0.50390625f, 1f, -1f};
                for (long i = 0; i < n; i++) t.setFloat(i, set[r.nextInt(set.length)]);
            }
            case ALL_EQUAL_GROUPS -> {
                for (long g = 0; g < n / 4; g++) {
                    float v = (float) gaussian(r);
                    for (int i = 0; i < 4; i++) t.setFloat(4 * g + i, r.nextBoolean() ? v : -v);
                }
            }
            case SPECIALS -> {
                float big = dt == DType.F16 ? 60000f : 3e38f;
                float[] set = {Float.NaN, Float.intBitsToFloat(0xFFC00000), Float.POSITIVE_INFINITY,
                        Float.NEGATIVE_INFINITY, 0f, -0f, 1e-41f, -1e-41f, 6e-8f, 1e-20f, 1e-25f, big, -big, 300f,
                        2e19f, 1f, -1f};
                for (long i = 0; i < n; i++) t.setFloat(i, set[r.nextInt(set.length)]);
            }
        }
        return t;
    }

    private static double gaussian(SplittableRandom r) {
        double u = r.nextDouble();
        double v = r.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * v);
    }

    private static void assertSameBytes(String what, Tensor want, Tensor got) {
        assertEquals(want.dtype(), got.dtype(), what + " dtype");
        assertEquals(want.shape(), got.shape(), what + " shape");
        long at = want.data().mismatch(got.data());
        if (at >= 0) {
            int width = want.dtype().byteSize();
            long e = at / width;
            fail(what + " differs first at element " + e + ": reference 0x" + hex(want, e) + ", vector 0x" + hex(got, e));
        }
    }

    private static String hex(Tensor t, long e) {
        return switch (t.dtype().byteSize()) {
            case 1 -> Integer.toHexString(t.getByte(e) & 0xFF);
            case 2 -> Integer.toHexString(t.data().getAtIndex(Tensor.I16, e) & 0xFFFF);
            default -> Integer.toHexString(t.data().getAtIndex(Tensor.I32, e));
        };
    }
}
