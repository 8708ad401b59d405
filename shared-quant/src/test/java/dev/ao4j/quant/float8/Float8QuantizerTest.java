package dev.ao4j.quant.float8;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.quant.config.Float8MMConfig;
import dev.ao4j.quant.config.Granularity;
import dev.ao4j.quant.config.KernelPreference;
import dev.ao4j.quant.dtype.Bf16;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.dtype.Float8E4M3Fn;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.qtensor.Float8Tensor;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Behaviour of the float8 quantizer that the golden vectors do not pin down on their own. */
class Float8QuantizerTest {
    private static final DivMode CPU = DivMode.TRUE_DIV;
    private static final DivMode CUDA = DivMode.CUDA_RECIPROCAL;

    static Tensor bf16(long rows, long cols, float... values) {
        Tensor t = Tensor.allocate(DType.BF16, Shape.of(rows, cols));
        for (int i = 0; i < t.numel(); i++) t.setFloat(i, values[i % values.length]);
        return t;
    }

    static int scaleBits(Tensor scale, long i) {
        return scale.data().getAtIndex(Tensor.I32, i);
    }

    @ParameterizedTest
    @EnumSource(Kernel.class)
    void zeroRowGivesZeroScaleAndNanCodesWhoseSignDependsOnTheDevice(Kernel kernel) {
        Tensor w = bf16(2, 16, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 1f, -2f);
        var spec = Float8Spec.of(DType.F8_E4M3, new Granularity.PerRow());
        var cuda = Float8Quantizer.quantize(w, spec, CUDA, kernel);
        var cpu = Float8Quantizer.quantize(w, spec, CPU, kernel);
        assertEquals(0, scaleBits(cuda.scale(), 0));
        for (int c = 0; c < 16; c++) {
            assertEquals(0x7F, cuda.qdata().getByte(c), "CUDA canonical NaN is positive");
            assertEquals((byte) 0xFF, cpu.qdata().getByte(c), "x86 default NaN (0/0) is negative");
        }
        // row 1 is finite: amax 2 -> scale bf16(2/448)
        assertEquals(Bf16.round(2f / 448f), Float.intBitsToFloat(scaleBits(cpu.scale(), 1)));
        assertEquals(0x7E, cpu.qdata().getByte(16 + 1) & 0x7F, "amax maps to 448");
        Tensor dqCuda = Float8Quantizer.dequantize(cuda.qdata(), cuda.scale(), DType.BF16, CUDA);
        Tensor dqCpu = Float8Quantizer.dequantize(cpu.qdata(), cpu.scale(), DType.BF16, CPU);
        assertEquals((short) 0x7FFF, dqCuda.data().getAtIndex(Tensor.I16, 0));
        assertEquals((short) 0xFFFF, dqCpu.data().getAtIndex(Tensor.I16, 0));
    }

    @org.junit.jupiter.api.Test
    void cpuNanScaleBitsFollowAtensVectorLoopAndScalarRemainder() {
        // 33 rows with a NaN each: rows 0..31 go through the vector loop (0xFFFF), row 32 through the scalar tail
        Tensor w = bf16(33, 4, Float.NaN, 1f, 2f, 3f);
        Tensor s = Float8Quantizer.chooseScale(w, Shape.of(1, 4), DType.F8_E4M3, null, null, CPU,
                Kernel.REFERENCE);
        assertEquals(0xFFFF0000, scaleBits(s, 0));
        assertEquals(0xFFFF0000, scaleBits(s, 31));
        assertEquals(0x7FC00000, scaleBits(s, 32));
        Tensor perTensor = Float8Quantizer.chooseScale(w, Shape.of(33, 4), DType.F8_E4M3, null, null, CPU,
                Kernel.REFERENCE);
        assertEquals(0x7FC00000, scaleBits(perTensor, 0));
        Tensor cuda = Float8Quantizer.chooseScale(w, Shape.of(1, 4), DType.F8_E4M3, null, null, CUDA,
                Kernel.REFERENCE);
        assertEquals(0x7FFF0000, scaleBits(cuda, 0));
        assertEquals(0x7FFF0000, scaleBits(cuda, 32));
    }

    @org.junit.jupiter.api.Test
    void divModeDecidesF32Scales() {
        // find an f32 amax where a / 448 and a * f32(1/448) round differently
        float recip = (float) (1.0 / 448.0);
        float a = 1f;
        while (a / 448f == a * recip) a = Math.nextUp(a);
        Tensor w = Tensor.allocate(DType.F32, Shape.of(1, 2));
        w.setFloat(0, a);
        w.setFloat(1, -a / 2);
        Tensor cpu = Float8Quantizer.chooseScale(w, Shape.of(1, 2), DType.F8_E4M3, null, null, CPU,
                Kernel.VECTOR);
        Tensor cuda = Float8Quantizer.chooseScale(w, Shape.of(1, 2), DType.F8_E4M3, null, null, CUDA,
                Kernel.VECTOR);
        assertEquals(a / 448f, cpu.getFloat(0));
        assertEquals(a * recip, cuda.getFloat(0));
    }

    @org.junit.jupiter.api.Test
    void boundsClampTheAmaxInTheInputDtype() {
        Tensor w = bf16(2, 4, 0f, 0f, 0f, 0f, 1000f, 1f, -2f, 3f);
        Tensor s = Float8Quantizer.chooseScale(w, Shape.of(1, 4), DType.F8_E4M3, 1e-12f, 10f, CUDA,
                Kernel.REFERENCE);
        float lb = Bf16.round(1e-12f);
        assertEquals(Bf16.round(lb * (float) (1.0 / 448)), s.getFloat(0));
        assertEquals(Bf16.round(10f * (float) (1.0 / 448)), s.getFloat(1));
        Tensor q = Float8Quantizer.quantizeWithScale(w, s, DType.F8_E4M3, CUDA, Kernel.REFERENCE);
        assertEquals(0, q.getByte(0), "0 / tiny scale = 0: no NaN with a lower bound");
        assertEquals(0x7E, q.getByte(4), "1000 / (10/448) is clamped to 448");
    }

    @org.junit.jupiter.api.Test
    void e5m2UsesItsOwnMaximum() {
        Tensor w = bf16(1, 2, 57344f, -1f);
        var d = Float8Quantizer.quantize(w, Float8Spec.of(DType.F8_E5M2, new Granularity.PerTensor()), CPU,
                Kernel.REFERENCE);
        assertEquals(1f, d.scale().getFloat(0));
        assertEquals(0x7B, d.qdata().getByte(0));
        assertEquals((byte) 0xBC, d.qdata().getByte(1));
        assertEquals(57344f, Float8Quantizer.maxValue(DType.F8_E5M2));
        assertEquals(448f, Float8Quantizer.maxValue(DType.F8_E4M3));
    }

    @org.junit.jupiter.api.Test
    void fromHighPrecisionKeepsTheConfigAttributes() {
        Tensor w = bf16(128, 256, 0.5f, -0.25f, 3f, 1e-3f);
        var aq = new Float8Tensor.ActivationQuant(DType.F8_E4M3, new Granularity.PerBlock(List.of(1, 128)), null,
                null, null, KernelPreference.AUTO);
        var mm = new Float8MMConfig(false, false, false);
        Float8Tensor t = Float8Quantizer.fromHighPrecision(w,
                Float8Spec.of(DType.F8_E4M3, new Granularity.PerBlock(List.of(128, 128))), mm, aq,
                KernelPreference.AUTO, CUDA, Kernel.VECTOR);
        assertEquals(Shape.of(128, 128), t.blockSize());
        assertEquals(Shape.of(1, 2), t.scale().shape());
        assertEquals(DType.F8_E4M3, t.qdata().dtype());
        assertEquals(mm, t.mmConfig());
        assertEquals(aq, t.activationQuant());
        assertEquals(DType.BF16, t.originalDtype());
        // 3 is the block's amax: 3 / bf16(3/448) rounds past 448 and is clamped, so it dequantizes to 448 * scale
        assertEquals(448f * t.scale().getFloat(0), Float8Quantizer.dequantize(t, DType.F32, CUDA).getFloat(2));

        Tensor act = Tensor.allocate(DType.BF16, Shape.of(2, 3, 256));
        for (int i = 0; i < act.numel(); i++) act.setFloat(i, (i % 13) - 6f);
        Float8Tensor a = Float8Quantizer.quantizeActivation(act, aq, CUDA, Kernel.VECTOR);
        assertEquals(Shape.of(2, 3, 2), a.scale().shape());
        assertEquals(Shape.of(1, 1, 128), a.blockSize());
        assertNull(a.activationQuant());

        var e = assertThrows(InvalidConfigException.class, () -> Float8Quantizer.fromHighPrecision(w,
                Float8Spec.of(DType.F8_E4M3, new Granularity.PerRow()), null, null, KernelPreference.MSLK, CUDA,
                Kernel.REFERENCE));
        assertTrue(e.getMessage().contains("MSLK"), e.getMessage());
    }

    @org.junit.jupiter.api.Test
    void scalesAndDequantizationOfOtherDtypes() {
        Tensor w = Tensor.allocate(DType.F16, Shape.of(2, 2));
        w.setFloat(0, 448f);
        w.setFloat(1, -1f);
        w.setFloat(2, 0.5f);
        w.setFloat(3, 0f);
        Tensor one = Tensor.allocate(DType.F32, Shape.of(new long[0]));
        one.setFloat(0, 2f);
        Tensor q = Float8Quantizer.quantizeWithScale(w, one, DType.F8_E4M3, CPU, Kernel.VECTOR);
        assertEquals(Float8E4M3Fn.fromFloat(224f), q.getByte(0));
        assertEquals(Float8E4M3Fn.fromFloat(-0.5f), q.getByte(1));
        Tensor dq = Float8Quantizer.dequantize(q, one, DType.F16, CPU);
        assertEquals(448f, dq.getFloat(0));
        assertEquals(0f, dq.getFloat(3));
    }

    @org.junit.jupiter.api.Test
    void rejectsWhatItCannotDo() {
        Tensor ints = Tensor.allocate(DType.I8, Shape.of(2, 2));
        var e1 = assertThrows(UnsupportedFormatException.class, () -> Float8Quantizer.quantize(ints,
                Float8Spec.of(DType.F8_E4M3, new Granularity.PerRow()), CPU, Kernel.REFERENCE));
        assertTrue(e1.getMessage().contains("[bfloat16, float16, float32], found int8"), e1.getMessage());
        var e2 = assertThrows(UnsupportedFormatException.class,
                () -> Float8Spec.of(DType.F8_E8M0, new Granularity.PerRow()));
        assertTrue(e2.getMessage().contains("float8_e8m0fnu"), e2.getMessage());
        Tensor w = bf16(4, 6, 1f);
        Tensor badScale = Tensor.allocate(DType.F32, Shape.of(3, 1));
        var e3 = assertThrows(InvalidConfigException.class,
                () -> Float8Quantizer.quantizeWithScale(w, badScale, DType.F8_E4M3, CPU, Kernel.REFERENCE));
        assertTrue(e3.getMessage().contains("does not tile"), e3.getMessage());
        // PerRow(0) on [E, N, K] makes [E, 1, 1] blocks: not runs of whole rows, refused
        Tensor w3 = Tensor.allocate(DType.BF16, Shape.of(2, 4, 16));
        var e4 = assertThrows(InvalidConfigException.class, () -> Float8Quantizer.quantize(w3,
                Float8Spec.of(DType.F8_E4M3, new Granularity.PerRow(0)), CPU, Kernel.REFERENCE));
        assertTrue(e4.getMessage().contains("contiguous rows"), e4.getMessage());
    }
}
