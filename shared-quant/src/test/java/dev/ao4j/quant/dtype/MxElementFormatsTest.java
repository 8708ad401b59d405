package dev.ao4j.quant.dtype;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.SplittableRandom;
import java.util.function.IntToDoubleFunction;
import java.util.function.IntUnaryOperator;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * fp4 e2m1 and fp6 e2m3 / e3m2 (torchao's MX element encoder): decode of every code from the definition, encoding
 * of every bf16 pattern and random f32s against a nearest-value search with ties to the even code and saturation,
 * round trips, and fp4 packing order.
 */
class MxElementFormatsTest {
    enum Format {
        FP4_E2M1(2, 1, Fp4E2M1::toFloat, f -> Fp4E2M1.fromFloat(Float.intBitsToFloat(f))),
        FP6_E2M3(2, 3, Fp6E2M3::toFloat, f -> Fp6E2M3.fromFloat(Float.intBitsToFloat(f))),
        FP6_E3M2(3, 2, Fp6E3M2::toFloat, f -> Fp6E3M2.fromFloat(Float.intBitsToFloat(f)));

        final int ebits, mbits, bias, codes;
        final IntToDoubleFunction decode;
        final IntUnaryOperator encodeBits;

        Format(int ebits, int mbits, IntToDoubleFunction decode, IntUnaryOperator encodeBits) {
            this.ebits = ebits;
            this.mbits = mbits;
            this.bias = (1 << (ebits - 1)) - 1;
            this.codes = 1 << (1 + ebits + mbits);
            this.decode = decode;
            this.encodeBits = encodeBits;
        }

        int signBit() {
            return codes / 2;
        }

        double definitionValue(int code) {
            int e = (code >>> mbits) & ((1 << ebits) - 1);
            int m = code & ((1 << mbits) - 1);
            double mag = e == 0 ? m * Math.pow(2, 1 - bias - mbits) : (1 + m / Math.pow(2, mbits)) * Math.pow(2, e - bias);
            return (code & signBit()) != 0 ? -mag : mag;
        }

        /** Nearest magnitude by search, ties to the even code, saturating; the sign from the f32 sign bit. */
        int reference(float x) {
            int sign = Float.floatToRawIntBits(x) < 0 ? signBit() : 0;
            double a = Math.abs((double) x);
            if (a >= definitionValue(signBit() - 1)) return sign | (signBit() - 1); // saturate
            // below the maximum, distances to the grid are exact in double
            int best = 0;
            for (int c = 1; c < signBit(); c++) {
                double d = Math.abs(definitionValue(c) - a);
                double bestD = Math.abs(definitionValue(best) - a);
                if (d < bestD || d == bestD && (c & 1) == 0) best = c;
            }
            return sign | best;
        }
    }

    @ParameterizedTest
    @EnumSource(Format.class)
    void decodesEveryCodeAndRoundTrips(Format f) {
        for (int c = 0; c < f.codes; c++) {
            double want = f.definitionValue(c);
            double got = f.decode.applyAsDouble(c);
            assertEquals(Double.doubleToRawLongBits(want), Double.doubleToRawLongBits(got), f + " code " + c);
            assertEquals(c, f.encodeBits.applyAsInt(Float.floatToRawIntBits((float) got)), f + " round trip " + c);
        }
    }

    @ParameterizedTest
    @EnumSource(Format.class)
    void encodesEveryNonNanBf16AndRandomF32sLikeTheReference(Format f) {
        for (int b = 0; b < 0x10000; b++) {
            if ((b & 0x7FFF) > 0x7F80) continue; // NaN has no code in these formats
            float x = Float.intBitsToFloat(b << 16);
            assertEquals(f.reference(x), f.encodeBits.applyAsInt(b << 16), f + " bf16 0x" + Integer.toHexString(b));
        }
        long seed = 0x4F6_2026L;
        SplittableRandom rnd = new SplittableRandom(seed);
        double max = f.definitionValue(f.signBit() - 1);
        for (int i = 0; i < 200_000; i++) {
            int bits = i % 2 == 0 ? rnd.nextInt() & 0xFF7FFFFF // any non-NaN pattern
                    : Float.floatToRawIntBits((float) rnd.nextDouble(-1.3 * max, 1.3 * max));
            float x = Float.intBitsToFloat(bits);
            assertEquals(f.reference(x), f.encodeBits.applyAsInt(bits), f + " seed " + seed + " 0x"
                    + Integer.toHexString(bits));
        }
    }

    @org.junit.jupiter.api.Test
    void fp4ExamplesSaturationAndNan() {
        float[] magnitudes = {0f, 0.5f, 1f, 1.5f, 2f, 3f, 4f, 6f};
        for (int c = 0; c < 8; c++) {
            assertEquals(magnitudes[c], Fp4E2M1.toFloat(c));
            assertEquals(-magnitudes[c], Fp4E2M1.toFloat(c | 8));
        }
        assertEquals(0, Fp4E2M1.fromFloat(0.25f));  // tie to even code 0
        assertEquals(2, Fp4E2M1.fromFloat(0.75f));  // tie between codes 1 and 2
        assertEquals(4, Fp4E2M1.fromFloat(2.5f));   // tie between codes 4 and 5
        assertEquals(6, Fp4E2M1.fromFloat(5f));     // tie between codes 6 and 7
        assertEquals(7, Fp4E2M1.fromFloat(1e30f));  // saturation
        assertEquals(15, Fp4E2M1.fromFloat(Float.NEGATIVE_INFINITY));
        assertEquals(8, Fp4E2M1.fromFloat(-0f));
        assertEquals(8, Fp4E2M1.fromFloat(-0.1f));
        // NaN: torchao runs it through the normal-range integer arithmetic; canonical NaN lands on code 3 (1.5)
        assertEquals(3, Fp4E2M1.fromFloat(Float.intBitsToFloat(0x7FC00000)));
        assertEquals(11, Fp4E2M1.fromFloat(Float.intBitsToFloat(0xFFC00000)));
        assertEquals(Fp6E2M3.MAX, Fp6E2M3.toFloat(31));
        assertEquals(Fp6E3M2.MAX, Fp6E3M2.toFloat(31));
    }

    @org.junit.jupiter.api.Test
    void fp4PacksElementTwoIInTheLowNibble() {
        byte[] codes = {1, 2, 15, 8, 0, 7};
        byte[] packed = Fp4E2M1.pack(codes);
        assertArrayEquals(new byte[] {0x21, (byte) 0x8F, 0x70}, packed);
        assertArrayEquals(codes, Fp4E2M1.unpack(packed));
        assertEquals(1, Fp4E2M1.low(packed[0]));
        assertEquals(2, Fp4E2M1.high(packed[0]));
        assertThrows(IllegalArgumentException.class, () -> Fp4E2M1.pack(new byte[] {1}));
        assertThrows(IllegalArgumentException.class, () -> Fp4E2M1.pack(16, 0));
    }
}
