package dev.ao4j.quant.int4;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.ao4j.quant.dtype.Bf16;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.dtype.F16;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.numerics.TorchOps;
import dev.ao4j.quant.numerics.VectorRounding;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The Vector API kernel equals the scalar reference bit for bit (scales, zeros, codes) for every vector width,
 * dtype, division mode and group size (including sizes that leave a scalar tail), on random and edge rows.
 */
class GroupKernelEquivalenceTest {
    private static final int[] GROUP_SIZES = {1, 2, 7, 16, 24, 32, 40, 64, 128, 256};
    private static final int GROUPS_PER_ROW = 19;

    static Stream<Arguments> widths() {
        List<Arguments> out = new ArrayList<>();
        for (VectorSpecies<Float> s : List.of(FloatVector.SPECIES_64, FloatVector.SPECIES_128,
                FloatVector.SPECIES_256, FloatVector.SPECIES_512, FloatVector.SPECIES_PREFERRED)) {
            out.add(Arguments.of(s.vectorBitSize() + (s == FloatVector.SPECIES_PREFERRED ? " (preferred)" : ""), s));
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("widths")
    void vectorKernelEqualsReference(String name, VectorSpecies<Float> species) {
        VectorGroupKernel vector = new VectorGroupKernel(species);
        Random rnd = new Random(0x1A4B + species.vectorBitSize());
        for (int g : GROUP_SIZES) {
            int len = g * GROUPS_PER_ROW;
            for (String kind : List.of("gaussian", "wide", "bits", "edge")) {
                float[] raw = row(rnd, len, g, kind);
                for (DType dt : List.of(DType.BF16, DType.F16, DType.F32)) {
                    // a real input holds values of its dtype; the raw row checks that nothing relies on that
                    for (float[] x : List.of(roundAll(raw, dt), raw)) {
                        for (DivMode mode : DivMode.values()) {
                            String what = name + " g=" + g + " " + kind + " " + dt + " " + mode;
                            compareTinygemm(vector, x, g, dt, mode, what);
                            compareMslk(vector, x, g, mode, what);
                        }
                    }
                }
            }
        }
    }

    @Test
    void preferredKernelIsTheVectorChoice() {
        assertTrue(GroupKernel.of(Kernel.VECTOR) instanceof VectorGroupKernel);
        assertTrue(GroupKernel.of(Kernel.REFERENCE) instanceof ReferenceGroupKernel);
    }

    @Test
    void laneRoundingEqualsScalarRounding() {
        VectorSpecies<Float> s = FloatVector.SPECIES_PREFERRED;
        Random rnd = new Random(7);
        float[] v = new float[s.length()];
        float[] out = new float[s.length()];
        for (int iter = 0; iter < 50_000; iter++) {
            for (int i = 0; i < v.length; i++) v[i] = interestingFloat(rnd);
            for (DType dt : List.of(DType.BF16, DType.F16)) {
                VectorRounding.round(dt, FloatVector.fromArray(s, v, 0)).intoArray(out, 0);
                for (int i = 0; i < v.length; i++) {
                    float expected = TorchOps.round(dt, v[i]);
                    if (Float.isNaN(expected)) {
                        assertTrue(Float.isNaN(out[i]), dt + " of NaN " + Integer.toHexString(bits(v[i])));
                    } else if (bits(expected) != bits(out[i])) {
                        fail(dt + " rounding of " + v[i] + " (0x" + Integer.toHexString(bits(v[i])) + "): expected "
                                + expected + ", found " + out[i]);
                    }
                }
            }
        }
    }

    private static void compareTinygemm(VectorGroupKernel vector, float[] x, int g, DType dt, DivMode mode,
                                        String what) {
        int groups = x.length / g;
        float eps = Tinygemm.defaultEps(dt);
        float[] s1 = new float[groups], z1 = new float[groups], s2 = new float[groups], z2 = new float[groups];
        byte[] c1 = new byte[x.length], c2 = new byte[x.length];
        ReferenceGroupKernel.INSTANCE.tinygemm(x, 0, x.length, g, dt, mode, eps, s1, z1, 0, c1, 0);
        vector.tinygemm(x, 0, x.length, g, dt, mode, eps, s2, z2, 0, c2, 0);
        assertSame(x, g, s1, z1, c1, s2, z2, c2, "tinygemm " + what);
    }

    private static void compareMslk(VectorGroupKernel vector, float[] x, int g, DivMode mode, String what) {
        int groups = x.length / g;
        float[] s1 = new float[groups], z1 = new float[groups], s2 = new float[groups], z2 = new float[groups];
        byte[] c1 = new byte[x.length], c2 = new byte[x.length];
        ReferenceGroupKernel.INSTANCE.mslk(x, 0, x.length, g, mode, s1, z1, 0, c1, 0);
        vector.mslk(x, 0, x.length, g, mode, s2, z2, 0, c2, 0);
        assertSame(x, g, s1, z1, c1, s2, z2, c2, "mslk " + what);
    }

    private static void assertSame(float[] x, int g, float[] s1, float[] z1, byte[] c1, float[] s2, float[] z2,
                                   byte[] c2, String what) {
        for (int j = 0; j < s1.length; j++) {
            assertEquals(bits(s1[j]), bits(s2[j]), what + ": scale of group " + j);
            assertEquals(bits(z1[j]), bits(z2[j]), what + ": zero of group " + j);
        }
        for (int i = 0; i < c1.length; i++) {
            if (c1[i] != c2[i]) {
                fail(what + ": code " + i + " (x=" + x[i] + ", group " + i / g + ", scale " + s1[i / g] + ") reference "
                        + c1[i] + ", vector " + c2[i]);
            }
            assertTrue(c1[i] >= 0 && c1[i] <= 15, what + ": code out of range " + c1[i]);
        }
    }

    private static float[] row(Random rnd, int len, int g, String kind) {
        float[] x = new float[len];
        switch (kind) {
            case "gaussian" -> {
                for (int i = 0; i < len; i++) x[i] = (float) (rnd.nextGaussian() * 0.05);
            }
            case "wide" -> {
                for (int i = 0; i < len; i++) {
                    x[i] = (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(76) - 40));
                }
            }
            case "bits" -> {
                for (int i = 0; i < len; i++) x[i] = Float.intBitsToFloat(rnd.nextInt());
            }
            case "edge" -> {
                for (int j = 0; j < len / g; j++) edgeGroup(rnd, x, j * g, g, j);
            }
            default -> throw new IllegalArgumentException(kind);
        }
        return x;
    }

    /** Group {@code j} of an edge row: one pattern per group, cycling through them. */
    private static void edgeGroup(Random rnd, float[] x, int off, int g, int j) {
        for (int i = 0; i < g; i++) x[off + i] = (float) (rnd.nextGaussian() * 0.05);
        switch (j % 19) {
            case 0 -> java.util.Arrays.fill(x, off, off + g, 0f);                         // all zero
            case 1 -> { for (int i = 0; i < g; i++) x[off + i] = (i % 2 == 0) ? 0f : -0f; } // signed zeros
            case 2 -> java.util.Arrays.fill(x, off, off + g, 0.125f);                     // constant
            case 3 -> java.util.Arrays.fill(x, off, off + g, -3.0e38f);                   // constant huge
            case 4 -> x[off + g / 2] = 1000f;                                             // outlier
            case 5 -> x[off + rnd.nextInt(g)] = Float.NaN;                                // NaN
            case 6 -> x[off + rnd.nextInt(g)] = Float.POSITIVE_INFINITY;                  // +inf
            case 7 -> x[off + rnd.nextInt(g)] = Float.NEGATIVE_INFINITY;                  // -inf
            case 8 -> { x[off] = Float.POSITIVE_INFINITY; x[off + g - 1] = Float.NEGATIVE_INFINITY; }
            case 9 -> { for (int i = 0; i < g; i++) x[off + i] = (float) (rnd.nextGaussian() * 1e-39); } // subnormal
            case 10 -> { for (int i = 0; i < g; i++) x[off + i] = Float.MIN_VALUE * rnd.nextInt(4); }
            case 11 -> { for (int i = 0; i < g; i++) x[off + i] = (i % 16) * 0.5f - 3.75f; } // ties
            case 12 -> { for (int i = 0; i < g; i++) x[off + i] = (i % 2 == 0 ? 1e30f : -1e30f); }
            case 13 -> { x[off] = Float.MAX_VALUE; x[off + g - 1] = -Float.MAX_VALUE; }
            case 14 -> { for (int i = 0; i < g; i++) x[off + i] = 60000f + i; }            // f16 overflow edge
            case 15 -> { x[off] = Float.NaN; x[off + g - 1] = Float.POSITIVE_INFINITY; }
            case 16 -> { for (int i = 0; i < g; i++) x[off + i] = (float) (rnd.nextGaussian() * 1e-7); } // < 1e-6
            case 17 -> { for (int i = 0; i < g; i++) x[off + i] = Float.intBitsToFloat(0x7F800001 + i); } // NaNs
            default -> { } // plain gaussian
        }
    }

    private static float interestingFloat(Random rnd) {
        return switch (rnd.nextInt(4)) {
            case 0 -> Float.intBitsToFloat(rnd.nextInt());
            case 1 -> (float) (rnd.nextGaussian() * Math.pow(2, rnd.nextInt(60) - 30));
            case 2 -> Float.intBitsToFloat((rnd.nextInt() & 0x80000000) | (rnd.nextInt(0x39000000 - 0x33000000)
                    + 0x33000000));  // around the f16 subnormal range
            default -> Float.intBitsToFloat((rnd.nextInt() & 0xFFFF0000) | (rnd.nextBoolean() ? 0x8000 : 0x1000));
        };
    }

    private static float[] roundAll(float[] raw, DType dt) {
        float[] x = raw.clone();
        for (int i = 0; i < x.length; i++) {
            x[i] = switch (dt) {
                case BF16 -> Bf16.round(x[i]);
                case F16 -> F16.round(x[i]);
                default -> x[i];
            };
        }
        return x;
    }

    private static int bits(float f) {
        return Float.floatToRawIntBits(f);
    }
}
