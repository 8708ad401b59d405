package dev.ao4j.quant.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ao4j.quant.dtype.Bf16;
import dev.ao4j.quant.dtype.Float8E4M3Fn;
import dev.ao4j.quant.dtype.Fp4E2M1;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The arithmetic of quant.cu's fast paths, restated in Java (Math.fma rounds once, like the kernels' fma) and checked
 * against the Java reference on every bf16 value or on many random ones: the GPU runs prove the kernels equal the
 * reference; these prove, without a GPU, the reasoning the kernels' comments give for why they can.
 */
class FastPathMathTest {
    /** div_short: x * RN(1/s), one fma correction, the dividend's sign. */
    static float divShort(float x, float s, float r) {
        float q = x * r;
        float e = Math.fma(-q, s, x);
        return Math.copySign(Math.fma(e, r, q), x);
    }

    /** div_rn: div_short and a second correction. */
    static float divRn(float x, float s, float r) {
        float q = divShort(x, s, r);
        float e = Math.fma(-q, s, x);
        return Math.copySign(Math.fma(e, r, q), x);
    }

    private static float bf16(int bits16) {
        return Float.intBitsToFloat(bits16 << 16);
    }

    /** A random bf16 scale in div_short's range [2^-64, 2^64]. */
    private static float scale(SplittableRandom rnd) {
        return Bf16.round(Math.scalb(1f + rnd.nextFloat(), rnd.nextInt(-64, 64)));
    }

    @Test
    void aShortDivisionRoundsToBf16AndFp8LikeTheTrueQuotient() {
        SplittableRandom rnd = new SplittableRandom(6);
        long checked = 0;
        for (int k = 0; k < 240; k++) {
            float s = k < 8 ? Bf16.round(Math.scalb(1f, k * 16 - 64)) : scale(rnd);
            float r = 1f / s;
            for (int b = 0; b < 0x10000; b++) {
                float x = bf16(b);
                if (!Float.isFinite(x) || Math.abs(x / s) >= 0x1p64f) continue;
                float q = x / s;
                float fast = divShort(x, s, r);
                assertEquals(Bf16.fromFloat(q), Bf16.fromFloat(fast), () -> "bf16 of " + x + " / " + s);
                float clampedQ = Math.max(-448f, Math.min(448f, q));
                float clampedFast = Math.max(-448f, Math.min(448f, fast));
                assertEquals(Float8E4M3Fn.fromFloat(clampedQ), Float8E4M3Fn.fromFloat(clampedFast),
                        () -> "e4m3 of " + x + " / " + s);
                checked++;
            }
        }
        assertEquals(true, checked > 10_000_000, "checked " + checked);
    }

    @Test
    void twoCorrectionsGiveTheCorrectlyRoundedQuotient() {
        SplittableRandom rnd = new SplittableRandom(7);
        for (int i = 0; i < 3_000_000; i++) {
            float s = Math.scalb(1f + rnd.nextFloat(), rnd.nextInt(-64, 64)); // an f32 scale, all 24 bits
            float x;
            if (i % 3 == 0) {
                x = (rnd.nextInt(32) + 0.5f) * s; // near a rint tie of the quotient, as int4 plain's codes are
                x = Float.intBitsToFloat(Float.floatToRawIntBits(x) + rnd.nextInt(-2, 3));
            } else {
                x = s * 16 * (rnd.nextFloat() * 2 - 1);
            }
            if (!Float.isFinite(x)) continue;
            float xf = x;
            assertEquals(Float.floatToRawIntBits(x / s), Float.floatToRawIntBits(divRn(x, s, 1f / s)),
                    () -> xf + " / " + s);
        }
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(divShort(-0f, 3f, 1f / 3f)), "-0 / s");
    }

    /**
     * fp4x2_of_bf16: code = min(rint(2a), rint(a) + 2, rint(a / 2) + 4, 7), each rint an fma into 192 + base in
     * bf16 (step 1 in [128, 256), ties to even).
     */
    static int fp4Packed(float y) {
        double a = Math.abs((double) y);
        double m = Math.min(Math.min(rintBf16(2 * a + 192), rintBf16(a + 194)), Math.min(rintBf16(a / 2 + 196), 199));
        return ((int) m - 192) | (Float.floatToRawIntBits(y) < 0 ? 8 : 0);
    }

    /** bf16 RNE of an exact sum of at least 192: the integer below 256, something past 199 above (min takes 199). */
    private static double rintBf16(double d) {
        return d >= 256 ? d : Math.rint(d);
    }

    @Test
    void thePackedFp4EncoderMatchesTheEncoderOnEveryBf16Value() {
        for (int b = 0; b < 0x10000; b++) {
            float y = bf16(b);
            if (Float.isNaN(y)) continue;
            assertEquals(Fp4E2M1.fromFloat(y), fp4Packed(y), () -> "fp4 of " + y);
        }
    }

    /** bf2_round_odd: truncated to bf16, the last bit set when nonzero bits were dropped. */
    static float roundToOdd(float y) {
        int b = Float.floatToRawIntBits(y);
        return Float.intBitsToFloat((b & 0xFFFF0000) | ((b & 0xFFFF) != 0 ? 0x10000 : 0));
    }

    @Test
    void roundingToOddFirstKeepsTheFp4Code() {
        SplittableRandom rnd = new SplittableRandom(8);
        for (int i = 0; i < 4_000_000; i++) {
            float y = i % 2 == 0 ? Float.intBitsToFloat(rnd.nextInt()) : (rnd.nextFloat() * 2 - 1) * 8;
            if (Float.isNaN(y)) continue;
            float yf = y;
            assertEquals(Fp4E2M1.fromFloat(y), fp4Packed(roundToOdd(y)), () -> "fp4 of " + yf);
        }
    }

    @Test
    void addingOneAndAHalfTimesTwoToThe23RoundsLikeRint() {
        SplittableRandom rnd = new SplittableRandom(9);
        for (int i = 0; i < 1_000_000; i++) {
            float y = Math.max(-128f, Math.min(127f, (rnd.nextFloat() * 2 - 1) * 140));
            if (i % 4 == 0) y = Math.round(y) + 0.5f * (rnd.nextBoolean() ? 1 : -1); // ties
            y = Math.max(-128f, Math.min(127f, y));
            byte low = (byte) Float.floatToRawIntBits(y + 12582912f); // int8_pack's low byte
            float yf = y;
            assertEquals((byte) Math.rint(y), low, () -> "rint of " + yf);
        }
    }
}
