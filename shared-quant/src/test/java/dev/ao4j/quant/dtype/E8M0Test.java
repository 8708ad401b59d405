package dev.ao4j.quant.dtype;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** float8_e8m0fnu: decode of all codes, and torch's cast against a value-level statement of its rounding rule. */
class E8M0Test {
    /**
     * torch's cast in terms of values: NaN/Inf → 255; a normal |x| in [2^e, 2^(e+1)) gives e + 127, plus one when
     * |x| ≥ 1.5·2^e; below 2^-126 the result is 2^-126 when |x| > 2^-127, else 2^-127 (code 0, also for zero).
     */
    static int reference(float x) {
        if (Float.isNaN(x) || Float.isInfinite(x)) return 255;
        double a = Math.abs((double) x);
        if (a < 0x1p-126) return a > 0x1p-127 ? 1 : 0;
        int e = Math.getExponent((float) a);
        return a >= 1.5 * Math.scalb(1.0, e) ? e + 128 : e + 127;
    }

    @Test
    void decodesEveryCode() {
        for (int c = 0; c < 255; c++) {
            assertEquals(Math.scalb(1.0, c - 127), E8M0.toFloat((byte) c), 0.0, "code " + c);
            assertEquals(c - 127, E8M0.exponent((byte) c));
            assertEquals((byte) c, E8M0.fromExponent(c - 127));
        }
        assertTrue(Float.isNaN(E8M0.toFloat((byte) 0xFF)));
        assertEquals(0x7F800001, E8M0.toFloatBits((byte) 0xFF));
        assertEquals(0x00400000, E8M0.toFloatBits((byte) 0)); // 2^-127 is an f32 subnormal
        assertThrows(IllegalArgumentException.class, () -> E8M0.fromExponent(128));
        assertThrows(IllegalArgumentException.class, () -> E8M0.exponent(E8M0.NAN));
    }

    @Test
    void everyCodeRoundTrips() {
        for (int c = 0; c < 256; c++) {
            float v = c == 255 ? Float.NaN : E8M0.toFloat((byte) c);
            assertEquals(c, E8M0.fromFloat(v) & 0xFF, "code " + c);
        }
    }

    @Test
    void castMatchesTheRuleOnEveryBf16AndRandomF32s() {
        for (int b = 0; b < 0x10000; b++) {
            float x = Float.intBitsToFloat(b << 16);
            assertEquals(reference(x), E8M0.fromFloat(x) & 0xFF, "bf16 0x" + Integer.toHexString(b));
        }
        long seed = 0xE8_2026L;
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int i = 0; i < 300_000; i++) {
            int bits = i % 2 == 0 ? rnd.nextInt() : rnd.nextInt() & 0x807FFFFF; // any, f32 subnormals
            float x = Float.intBitsToFloat(bits);
            assertEquals(reference(x), E8M0.fromFloat(x) & 0xFF, "seed " + seed + " 0x" + Integer.toHexString(bits));
        }
        assertEquals(128, E8M0.fromFloat(1.5f) & 0xFF);                // ties go up
        assertEquals(127, E8M0.fromFloat(Math.nextDown(1.5f)) & 0xFF);
        assertEquals(128, E8M0.fromFloat(-2f) & 0xFF);                 // sign dropped
        assertEquals(255, E8M0.fromFloat(Float.MAX_VALUE) & 0xFF);     // 1.99·2^127 rounds into NaN
        assertEquals(0, E8M0.fromFloat(0f) & 0xFF);
        assertEquals(1, E8M0.fromFloat(Float.intBitsToFloat(0x00400001)) & 0xFF);
    }
}
