package dev.ao4j.quant.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.ao4j.quant.dtype.Bf16;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.dtype.F16;
import java.math.BigDecimal;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class TensorCastTest {
    @Test
    void f32ToBf16RoundsToNearestEven() {
        Tensor t = Tensor.allocate(DType.F32, Shape.of(4));
        float tie = Float.intBitsToFloat(0x3F808000); // exactly halfway between two bf16 values: even one wins
        float[] in = {1.0f, tie, Float.intBitsToFloat(0x3F818000), Float.NaN};
        for (int i = 0; i < in.length; i++) t.setFloat(i, in[i]);
        Tensor b = t.to(DType.BF16);
        assertEquals(DType.BF16, b.dtype());
        assertEquals(1.0f, b.getFloat(0));
        assertEquals(1.0f, b.getFloat(1));
        assertEquals(Float.intBitsToFloat(0x3F820000), b.getFloat(2));
        assertEquals(Float.NaN, b.getFloat(3));
    }

    @Test
    void sameDtypeIsNoCopy() {
        Tensor t = Tensor.allocate(DType.BF16, Shape.of(2));
        assertSame(t, t.to(DType.BF16));
    }

    /** Casting a double rounds once; f64 -> f32 -> bf16 would round twice and miss near-ties. */
    @Test
    void f64ToHalfTypesRoundOnce() {
        // 1 + 2^-8 + 2^-30: just above the bf16 tie at 1 + 2^-8, so it rounds up; via f32 it would become the tie
        // 1 + 2^-8 and round down to even (1.0).
        double above = 1.0 + 0x1p-8 + 0x1p-30;
        Tensor t = Tensor.allocate(DType.F64, Shape.of(1));
        t.data().setAtIndex(Tensor.F64, 0, above);
        assertEquals(1.0f + 0x1p-7f, t.to(DType.BF16).getFloat(0));
        assertEquals(1.0f, Bf16.round((float) above), "the double-rounding trap this test is about");

        SplittableRandom r = new SplittableRandom(7);
        Tensor many = Tensor.allocate(DType.F64, Shape.of(20_000));
        for (int i = 0; i < 20_000; i++) many.data().setAtIndex(Tensor.F64, i, (r.nextDouble() - 0.5) * Math.scalb(1.0, r.nextInt(-30, 30)));
        Tensor bf = many.to(DType.BF16);
        Tensor h = many.to(DType.F16);
        for (int i = 0; i < 20_000; i++) {
            double d = many.data().getAtIndex(Tensor.F64, i);
            assertEquals(nearest(d, bf16Grid(d)), bf.getFloat(i), "bf16 of " + d);
            assertEquals(F16.round(F16.toFloat(F16.fromFloat(h.getFloat(i)))), h.getFloat(i));
        }
    }

    /** The bf16 neighbours of d (exact), computed independently with BigDecimal. */
    private static float[] bf16Grid(double d) {
        float down = Bf16.toFloat((short) (Float.floatToRawIntBits((float) d) >>> 16));
        float a = down, b = Bf16.toFloat((short) ((Float.floatToRawIntBits(down) >>> 16) + (d >= 0 ? 1 : -1)));
        float c = Bf16.toFloat((short) ((Float.floatToRawIntBits(down) >>> 16) + (d >= 0 ? -1 : 1)));
        return new float[] {a, b, c};
    }

    private static float nearest(double d, float[] candidates) {
        BigDecimal x = new BigDecimal(d);
        float best = candidates[0];
        BigDecimal bestErr = null;
        for (float c : candidates) {
            BigDecimal err = new BigDecimal(c).subtract(x).abs();
            int cmp = bestErr == null ? -1 : err.compareTo(bestErr);
            boolean evenWins = cmp == 0 && ((Float.floatToRawIntBits(c) >>> 16) & 1) == 0;
            if (cmp < 0 || evenWins) {
                best = c;
                bestErr = err;
            }
        }
        return best;
    }

    @Test
    void integerCastsAreRejected() {
        Tensor t = Tensor.allocate(DType.I8, Shape.of(1));
        assertThrows(UnsupportedOperationException.class, () -> t.to(DType.BF16));
    }
}
