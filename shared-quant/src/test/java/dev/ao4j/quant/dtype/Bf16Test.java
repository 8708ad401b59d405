package dev.ao4j.quant.dtype;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The existing {@link Bf16} codec: exhaustive round trip, and RNE against an independent midpoint model. */
class Bf16Test {
    /** RNE f32 → bf16 by comparing with the midpoint of the two neighbouring bf16 values (exact in double). */
    static int referenceFromFloat(float x) {
        int bits = Float.floatToRawIntBits(x);
        if (Float.isNaN(x)) return (bits >>> 16) | 0x0040; // Bf16's documented NaN handling: keep sign, set quiet
        int sign = bits & 0x80000000;
        int lowerBits = bits & 0x7FFF0000; // truncation toward zero
        double a = Math.abs((double) x);
        double lower = Float.intBitsToFloat(lowerBits);
        if (a == lower) return (sign | lowerBits) >>> 16;
        int upperBits = lowerBits + 0x10000;
        double upper = upperBits == 0x7F800000 ? 0x1p128 : Float.intBitsToFloat(upperBits);
        double mid = (lower + upper) / 2;
        int pick;
        if (a < mid) pick = lowerBits;
        else if (a > mid) pick = upperBits;
        else pick = ((lowerBits >>> 16) & 1) == 0 ? lowerBits : upperBits;
        return (sign | pick) >>> 16;
    }

    @Test
    void everyPatternRoundTrips() {
        for (int b = 0; b < 0x10000; b++) {
            float f = Bf16.toFloat((short) b);
            assertEquals(b << 16, Float.floatToRawIntBits(f), "toFloat is the upper half of the f32");
            boolean nan = (b & 0x7FFF) > 0x7F80;
            int want = nan ? b | 0x0040 : b; // a signalling NaN comes back quiet
            assertEquals(want, Bf16.fromFloat(f) & 0xFFFF, "bf16 0x" + Integer.toHexString(b));
        }
    }

    @Test
    void fromFloatIsRoundToNearestEven() {
        long seed = 0xB16_2026L;
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int i = 0; i < 1_000_000; i++) {
            int bits = switch (i % 5) {
                case 0 -> rnd.nextInt();                                      // any pattern
                case 1 -> (rnd.nextInt() & 0xFFFF0000) | 0x8000;              // exact ties
                case 2 -> (rnd.nextInt() & 0xFFFF0000) | (rnd.nextBoolean() ? 0x7FFF : 0x8001); // next to ties
                case 3 -> rnd.nextInt() & 0x807FFFFF;                         // f32 subnormals
                default -> (rnd.nextInt() & 0x80000000) | 0x7F7F0000 | (rnd.nextInt() & 0xFFFF); // near overflow
            };
            float x = Float.intBitsToFloat(bits);
            assertEquals(referenceFromFloat(x), Bf16.fromFloat(x) & 0xFFFF,
                    "seed " + seed + " f32 0x" + Integer.toHexString(bits));
        }
        int[] edges = {0, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000, 0x7F800001, 0xFFFFFFFF,
                0x7F7FFFFF, 0x7F7F8000, 0x7F7F7FFF, 0x00008000, 0x00018000, 0x00000001, 0x3F808000, 0x3F818000};
        for (int bits : edges) {
            float x = Float.intBitsToFloat(bits);
            assertEquals(referenceFromFloat(x), Bf16.fromFloat(x) & 0xFFFF, "f32 0x" + Integer.toHexString(bits));
        }
        assertEquals(0x7F80, Bf16.fromFloat(Float.intBitsToFloat(0x7F7F8000)) & 0xFFFF, "max tie rounds to Inf");
        assertEquals(0x3F80, Bf16.fromFloat(Float.intBitsToFloat(0x3F808000)) & 0xFFFF, "tie to even down");
        assertEquals(0x3F82, Bf16.fromFloat(Float.intBitsToFloat(0x3F818000)) & 0xFFFF, "tie to even up");
    }
}
