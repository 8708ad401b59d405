package dev.ao4j.vllm.awq;

import static dev.ao4j.vllm.gptq.PackageFixtures.f32;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.ao4j.quant.MalformedInputException;
import dev.ao4j.vllm.gptq.IntWeightLinear;
import org.junit.jupiter.api.Test;

/** AutoAWQ's asymmetric 4-bit quantizer on groups worked out by hand (f32, round half to even). */
class AwqRtnTest {

    @Test
    void scaleIsRangeOverFifteenAndZeroIsMinusRoundedMinOverScale() {
        IntWeightLinear q = AwqRtn.quantize(f32(1, 8, -1f, 2f, 0.5f, 0f, 1f, -0.5f, 1.5f, 0.2f), 8);
        // scale = 3/15 = 0.2f; zero = -round(-1/0.2) = 5; 0.5/0.2 = 2.5 -> 2 and 1.5/0.2 = 7.5 -> 8 (half to even)
        assertCodes(q, 0, 15, 7, 5, 10, 3, 13, 6);
        assertEquals(5, q.zeros().getLong(0));
        assertEquals(0.199951171875f, q.scales().getFloat(0)); // f16(0.2): mantissa 614/1024
    }

    @Test
    void allPositiveGroupClampsTheZeroAtZero() {
        IntWeightLinear q = AwqRtn.quantize(f32(1, 8, 1f, 2.5f, 4f, 1f, 1f, 1f, 1f, 1f), -1);
        // range [1, 4] does not contain 0: scale = 0.2, -round(1/0.2) = -5 -> zero 0; 2.5/0.2 = 12.5 -> 12; 4 -> 20 -> 15
        assertCodes(q, 5, 12, 15, 5, 5, 5, 5, 5);
        assertEquals(0, q.zeros().getLong(0));
    }

    @Test
    void constantGroupUsesTheMinimumRange() {
        IntWeightLinear q = AwqRtn.quantize(f32(1, 8, 0, 0, 0, 0, 0, 0, 0, 0), 8);
        // scale = 1e-5 / 15; zero = 0; codes 0
        assertCodes(q, 0, 0, 0, 0, 0, 0, 0, 0);
        assertEquals(Float.float16ToFloat(Float.floatToFloat16(1e-5f / 15)), q.scales().getFloat(0));
    }

    @Test
    void refusesNonFiniteWeights() {
        assertThrows(MalformedInputException.class,
                () -> AwqRtn.quantize(f32(1, 8, 0, Float.POSITIVE_INFINITY), 8));
    }

    static void assertCodes(IntWeightLinear q, long... expected) {
        for (int i = 0; i < expected.length; i++) assertEquals(expected[i], q.codes().getLong(i), "code " + i);
    }
}
