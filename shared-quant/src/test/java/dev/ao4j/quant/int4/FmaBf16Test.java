package dev.ao4j.quant.int4;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ao4j.quant.dtype.Bf16;
import java.math.BigDecimal;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The tinygemm kernel's bf16 fused multiply-add: exact {@code a*b + c}, rounded once to bf16. */
class FmaBf16Test {

    @Test
    void roundsOnceWhereRoundingThroughF32WouldNot() {
        // 7 * 37 * 2^-10 = 259 * 2^-10 lies exactly between the bf16 neighbours 258 and 260 (* 2^-10); a tiny
        // negative addend puts the exact sum just below that tie, so single rounding gives 258. Rounding first
        // to f32 loses the addend and the tie then goes to the even neighbour, 260.
        float a = 7f;
        float b = 37f * 0x1p-10f;
        float c = Bf16.round(-1e-30f);
        assertEquals(258f * 0x1p-10f, Bf16.toFloat(Int4TilePacked.fmaBf16(a, b, c)));
        assertEquals(260f * 0x1p-10f, Bf16.round(a * b + c));
        assertEquals(260f * 0x1p-10f, Bf16.toFloat(Int4TilePacked.fmaBf16(a, b, -c)));
    }

    @Test
    void overflowAndSpecialValues() {
        float max = Bf16.toFloat((short) 0x7F7F);
        assertEquals(Float.POSITIVE_INFINITY, Bf16.toFloat(Int4TilePacked.fmaBf16(7f, max, 0f)));
        assertEquals(Float.NEGATIVE_INFINITY, Bf16.toFloat(Int4TilePacked.fmaBf16(-8f, max, 0f)));
        assertEquals(max, Bf16.toFloat(Int4TilePacked.fmaBf16(1f, max, 0f)));
        assertEquals(true, Float.isNaN(Bf16.toFloat(Int4TilePacked.fmaBf16(1f, Float.NaN, 0f))));
        assertEquals(true, Float.isNaN(Bf16.toFloat(Int4TilePacked.fmaBf16(1f, Float.POSITIVE_INFINITY,
                Float.NEGATIVE_INFINITY))));
        assertEquals(0f, Bf16.toFloat(Int4TilePacked.fmaBf16(0f, 5f, 0f)));
    }

    @Test
    void matchesExactArithmeticOnRandomOperands() {
        Random rnd = new Random(42);
        for (int i = 0; i < 40_000; i++) {
            float a = rnd.nextInt(16) - 8;
            float b = randomBf16(rnd);
            float c = randomBf16(rnd);
            if (c == 0f) continue;  // keep the exact result's zero sign out of the comparison
            BigDecimal exact = new BigDecimal(a).multiply(new BigDecimal(b)).add(new BigDecimal(c));
            short expected = nearestBf16(exact);
            short found = Int4TilePacked.fmaBf16(a, b, c);
            assertEquals(expected, found, "bf16(" + a + " * " + b + " + " + c + ") exact " + exact);
        }
    }

    /** bf16 values with exponents from the subnormal range to 2^100 (no overflow in a*b + c). */
    private static float randomBf16(Random rnd) {
        int exp = rnd.nextInt(228);  // biased exponent 0..227
        int bits = (rnd.nextBoolean() ? 0x8000 : 0) | (exp << 7) | rnd.nextInt(128);
        return Bf16.toFloat((short) bits);
    }

    /** Round-to-nearest-even of an exact nonzero value (no overflow), by comparing neighbouring bf16 values. */
    private static short nearestBf16(BigDecimal x) {
        if (x.signum() == 0) return 0;
        int sign = x.signum() < 0 ? 0x8000 : 0;
        int guess = Bf16.fromFloat(Math.abs(x.floatValue())) & 0x7FFF;
        BigDecimal ax = x.abs();
        int best = -1;
        BigDecimal bestDist = null;
        for (int m = Math.max(0, guess - 3); m <= Math.min(0x7F7F, guess + 3); m++) {
            BigDecimal d = new BigDecimal(Bf16.toFloat((short) m)).subtract(ax).abs();
            int cmp = bestDist == null ? -1 : d.compareTo(bestDist);
            if (cmp < 0 || (cmp == 0 && (m & 1) == 0)) {
                best = m;
                bestDist = d;
            }
        }
        return (short) (sign | best);
    }
}
