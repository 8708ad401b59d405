package dev.ao4j.vllm.gptq;

import static dev.ao4j.vllm.gptq.PackageFixtures.f32;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.MalformedInputException;
import org.junit.jupiter.api.Test;

/** GPTQ's symmetric quantizer on groups worked out by hand (f32 arithmetic, round half to even). */
class GptqRtnTest {

    @Test
    void groupWithNegativeValuesUsesTwiceTheAbsMaxOverFifteen() {
        IntWeightLinear q = GptqRtn.quantize(f32(1, 8, -1f, -0.5f, 0f, 0.25f, 0.5f, 0.75f, 1f, 0.125f), 4, 8);
        // scale = 2/15 = 0.13333334f (just above 2/15, so -1/scale = -7.4999995 -> -7), zero 8
        assertCodes(q, 1, 4, 8, 10, 12, 14, 15, 9);
        assertEquals(8, q.zeros().getLong(0));
        assertEquals(0.13330078125f, q.scales().getFloat(0)); // f16(2/15): mantissa 68/1024
    }

    @Test
    void groupWithoutNegativeValuesUsesMaxOverFifteenAndSaturates() {
        IntWeightLinear q = GptqRtn.quantize(f32(1, 8, 0.5f, 1f, 0.25f, 0f, 0f, 0f, 0f, 0.75f), 4, 8);
        // xmin = 0 stays 0: scale = 1/15, zero 8, so 0.5 -> 7 + 8 and everything above saturates at 15
        assertCodes(q, 15, 15, 12, 8, 8, 8, 8, 15);
        assertEquals(0.066650390625f, q.scales().getFloat(0));
    }

    @Test
    void allZeroGroupGetsRangeMinusOneToOne() {
        IntWeightLinear q = GptqRtn.quantize(f32(1, 8, 0, 0, 0, 0, 0, 0, 0, 0), 4, -1);
        assertCodes(q, 8, 8, 8, 8, 8, 8, 8, 8);
        assertEquals(0.13330078125f, q.scales().getFloat(0));
    }

    @Test
    void eightBitUsesZero128AndScaleOver255() {
        IntWeightLinear q = GptqRtn.quantize(f32(1, 4, -1f, 1f, 0.5f, 0f), 8, 4);
        // scale = 2/255 = 0.007843138f; -1/scale = -127.49999 -> -127 -> 1; 1 -> 255; 0.5/scale = 63.749996 -> 64
        assertCodes(q, 1, 255, 192, 128);
        assertEquals(128, q.zeros().getLong(0));
    }

    @Test
    void groupsAreContiguousRunsOfInputColumns() {
        IntWeightLinear q = GptqRtn.quantize(f32(1, 16, -1, 1, 0, 0, 0, 0, 0, 0, -2, 2, 0, 0, 0, 0, 0, 0), 4, 8);
        assertEquals(2, q.groups());
        assertEquals(q.scales().getFloat(0) * 2, q.scales().getFloat(1));
        assertEquals(0, q.groupIndex().getLong(7));
        assertEquals(1, q.groupIndex().getLong(8));
    }

    @Test
    void refusesNonFiniteWeightsAndGroupsThatDoNotDivideK() {
        assertThrows(MalformedInputException.class, () -> GptqRtn.quantize(f32(1, 8, Float.NaN), 4, 8));
        assertThrows(InvalidConfigException.class, () -> GptqRtn.quantize(f32(1, 12), 4, 8));
    }

    static void assertCodes(IntWeightLinear q, long... expected) {
        for (int i = 0; i < expected.length; i++) assertEquals(expected[i], q.codes().getLong(i), "code " + i);
    }
}
