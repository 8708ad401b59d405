package dev.ao4j.quant.dtype;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.IntUnaryOperator;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * float8_e4m3fn and float8_e5m2 against an independent model: codes decoded from the format definition with
 * double arithmetic, and encoding as a search over that table for the nearest value (ties to the even code), with
 * torch's overflow rules (e4m3fn: past 448 the next grid value 480 is the NaN pattern; e5m2: the next one, 2^16, is
 * Inf). Exhaustive over codes and over every bf16 bit pattern; seeded random plus edge sets for f32.
 */
class Float8FormatsTest {
    /** The format under test, with what an independent reference needs to know about it. */
    enum Format {
        E4M3FN(4, 3, 7, 480.0, 0x7F) {
            @Override boolean isNaN(int code) { return (code & 0x7F) == 0x7F; }
            @Override boolean isInf(int code) { return false; }
            @Override int infinityCode() { return 0x7F; } // no Inf: ±Inf casts to NaN
            @Override byte encode(float f) { return Float8E4M3Fn.fromFloat(f); }
            @Override float decode(byte c) { return Float8E4M3Fn.toFloat(c); }
            @Override int decodeBits(byte c) { return Float8E4M3Fn.toFloatBits(c); }
        },
        E5M2(5, 2, 15, 65536.0, 0x7C) {
            @Override boolean isNaN(int code) { return (code & 0x7F) > 0x7C; }
            @Override boolean isInf(int code) { return (code & 0x7F) == 0x7C; }
            @Override int infinityCode() { return 0x7C; }
            @Override byte encode(float f) { return Float8E5M2.fromFloat(f); }
            @Override float decode(byte c) { return Float8E5M2.toFloat(c); }
            @Override int decodeBits(byte c) { return Float8E5M2.toFloatBits(c); }
        };

        final int ebits, mbits, bias;
        /** The first grid value past the largest finite one, and the code torch gives values rounding to it. */
        final double overflowValue;
        final int overflowCode;

        Format(int ebits, int mbits, int bias, double overflowValue, int overflowCode) {
            this.ebits = ebits;
            this.mbits = mbits;
            this.bias = bias;
            this.overflowValue = overflowValue;
            this.overflowCode = overflowCode;
        }

        abstract boolean isNaN(int code);
        abstract boolean isInf(int code);
        abstract int infinityCode();
        abstract byte encode(float f);
        abstract float decode(byte c);
        abstract int decodeBits(byte c);

        /** Value of a non-NaN, non-Inf code from the definition: (-1)^s * 2^(e - bias) * (1 + m / 2^mbits). */
        double definitionValue(int code) {
            int s = code >>> 7;
            int e = (code >>> mbits) & ((1 << ebits) - 1);
            int m = code & ((1 << mbits) - 1);
            double mag = e == 0 ? m * Math.pow(2, 1 - bias - mbits) : (1 + m / Math.pow(2, mbits)) * Math.pow(2, e - bias);
            return s == 1 ? -mag : mag;
        }

        /** Torch's cast by brute force: nearest grid value (ties to the even code), overflow/NaN/Inf rules. */
        int referenceEncode(float x) {
            int sign = Float.floatToRawIntBits(x) >>> 31 << 7;
            if (Float.isNaN(x)) return sign | 0x7F;
            if (Float.isInfinite(x)) return sign | infinityCode();
            double a = Math.abs((double) x);
            // candidates: every finite non-negative code, plus the virtual overflow grid point
            int below = -1, above = -1;
            double belowV = 0, aboveV = 0;
            for (int c = 0; c < 0x80; c++) {
                if (isNaN(c) || isInf(c)) continue;
                double v = definitionValue(c);
                if (v <= a && (below < 0 || v > belowV)) { below = c; belowV = v; }
                if (v >= a && (above < 0 || v < aboveV)) { above = c; aboveV = v; }
            }
            if (above < 0) { above = overflowCode; aboveV = overflowValue; }
            if (a >= overflowValue) return sign | overflowCode;
            if (belowV == a) return sign | below;
            double mid = (belowV + aboveV) / 2; // exact: adjacent small-float values
            int code = a < mid ? below : a > mid ? above : ((below & 1) == 0 ? below : above);
            return sign | code;
        }
    }

    @ParameterizedTest
    @EnumSource(Format.class)
    void decodesEveryCodeAsDefined(Format f) {
        int nan = 0;
        for (int c = 0; c < 256; c++) {
            float got = f.decode((byte) c);
            if (f.isNaN(c)) {
                assertTrue(Float.isNaN(got), f + " code " + c);
                assertEquals(c >>> 7, f.decodeBits((byte) c) >>> 31, f + " NaN keeps its sign, code " + c);
                nan++;
            } else if (f.isInf(c)) {
                assertEquals(c < 0x80 ? Float.POSITIVE_INFINITY : Float.NEGATIVE_INFINITY, got, f + " code " + c);
            } else {
                double want = f.definitionValue(c);
                assertEquals(Double.doubleToRawLongBits(want), Double.doubleToRawLongBits(got), f + " code " + c);
                assertEquals(Float.floatToRawIntBits(got), f.decodeBits((byte) c), f + " bits of code " + c);
            }
        }
        assertEquals(f == Format.E4M3FN ? 2 : 6, nan);
    }

    @ParameterizedTest
    @EnumSource(Format.class)
    void roundTripsEveryNonNanCode(Format f) {
        for (int c = 0; c < 256; c++) {
            if (f.isNaN(c)) continue;
            assertEquals(c, f.encode(f.decode((byte) c)) & 0xFF, f + " code " + c);
        }
    }

    @ParameterizedTest
    @EnumSource(Format.class)
    void encodesEveryBf16PatternLikeTheReference(Format f) {
        for (int b = 0; b < 0x10000; b++) {
            float x = Float.intBitsToFloat(b << 16);
            final int pattern = b;
            assertEquals(f.referenceEncode(x), f.encode(x) & 0xFF, () -> f + " bf16 0x" + Integer.toHexString(pattern));
        }
    }

    @ParameterizedTest
    @EnumSource(Format.class)
    void encodesEdgeF32sLikeTheReference(Format f) {
        for (float x : edges(f)) {
            assertEquals(f.referenceEncode(x), f.encode(x) & 0xFF,
                    () -> f + " f32 " + x + " (0x" + Integer.toHexString(Float.floatToRawIntBits(x)) + ")");
        }
    }

    @ParameterizedTest
    @EnumSource(Format.class)
    void encodesRandomF32sLikeTheReference(Format f) {
        long seed = 0xF8F8_2026L;
        SplittableRandom rnd = new SplittableRandom(seed);
        double max = f.overflowValue;
        // any bit pattern; values spread over the format's range; values near the format's grid
        List<IntUnaryOperator> gens = List.of(
                i -> rnd.nextInt(),
                i -> Float.floatToRawIntBits((float) (rnd.nextDouble(-1.2, 1.2) * max)),
                i -> Float.floatToRawIntBits((float) Math.scalb(rnd.nextDouble(-2, 2), rnd.nextInt(-30, 18))));
        for (IntUnaryOperator g : gens) {
            for (int i = 0; i < 150_000; i++) {
                int bits = g.applyAsInt(i);
                float x = Float.intBitsToFloat(bits);
                assertEquals(f.referenceEncode(x), f.encode(x) & 0xFF,
                        () -> f + " seed " + seed + " f32 0x" + Integer.toHexString(bits));
            }
        }
    }

    @org.junit.jupiter.api.Test
    void torchOverflowRulesAreNotSaturating() {
        assertEquals(0x7E, Float8E4M3Fn.fromFloat(448f));
        assertEquals(0x7E, Float8E4M3Fn.fromFloat(464f)); // halfway to 480: ties to the even code 448
        assertEquals(0x7F, Float8E4M3Fn.fromFloat(Math.nextUp(464f)));
        assertEquals(0x7F, Float8E4M3Fn.fromFloat(480f));
        assertEquals((byte) 0xFF, Float8E4M3Fn.fromFloat(-1e30f));
        assertEquals(0x7F, Float8E4M3Fn.fromFloat(Float.POSITIVE_INFINITY));
        assertEquals((byte) 0xFF, Float8E4M3Fn.fromFloat(Float.intBitsToFloat(0xFFC00000)));
        assertEquals(0x7B, Float8E5M2.fromFloat(57344f));
        assertEquals(0x7B, Float8E5M2.fromFloat(Math.nextDown(61440f)));
        assertEquals(0x7C, Float8E5M2.fromFloat(61440f)); // halfway to 2^16: ties to the even code, Inf
        assertEquals((byte) 0xFC, Float8E5M2.fromFloat(-1e30f));
        assertEquals(0x7F, Float8E5M2.fromFloat(Float.NaN));
        assertEquals((byte) 0xFF, Float8E5M2.fromFloat(Float.intBitsToFloat(0xFFC00000)));
        // smallest subnormals and the half-way points below them
        assertEquals(0x01, Float8E4M3Fn.fromFloat(0x1p-9f));
        assertEquals(0x00, Float8E4M3Fn.fromFloat(0x1p-10f)); // tie to even 0
        assertEquals(0x02, Float8E4M3Fn.fromFloat(0x1.8p-9f)); // tie to even 2
        assertEquals((byte) 0x80, Float8E4M3Fn.fromFloat(-0x1p-10f));
        assertEquals(0x01, Float8E5M2.fromFloat(0x1p-16f));
        assertEquals(0x00, Float8E5M2.fromFloat(0x1p-17f));
    }

    private static List<Float> edges(Format f) {
        List<Float> out = new ArrayList<>();
        float[] specials = {0f, -0f, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL, Float.MAX_VALUE,
                -Float.MAX_VALUE, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN,
                Float.intBitsToFloat(0xFFC00000), Float.intBitsToFloat(0x7F800001), Float.intBitsToFloat(0xFFFFFFFF),
                448f, 464f, 480f, 57344f, 61440f, 65536f, 1e-39f, 1e-30f, 1e30f};
        for (float s : specials) out.add(s);
        // every grid value, every midpoint between neighbours, and the f32 neighbours of both
        List<Double> grid = new ArrayList<>();
        for (int c = 0; c < 0x80; c++) if (!f.isNaN(c) && !f.isInf(c)) grid.add(f.definitionValue(c));
        grid.add(f.overflowValue);
        grid.sort(Double::compare);
        for (int i = 0; i < grid.size(); i++) {
            List<Double> points = new ArrayList<>(List.of(grid.get(i)));
            if (i + 1 < grid.size()) points.add((grid.get(i) + grid.get(i + 1)) / 2);
            for (double p : points) {
                float v = (float) p;
                for (float w : new float[] {v, Math.nextUp(v), Math.nextDown(v)}) {
                    out.add(w);
                    out.add(-w);
                }
            }
        }
        return out;
    }
}
