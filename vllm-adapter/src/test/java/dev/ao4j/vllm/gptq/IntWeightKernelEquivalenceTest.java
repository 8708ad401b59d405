package dev.ao4j.vllm.gptq;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.Ao4jException;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.qtensor.IntxUnpackedToInt8Tensor;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import dev.ao4j.vllm.awq.AwqPacking;
import dev.ao4j.vllm.awq.AwqRtn;
import java.lang.foreign.Arena;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * GPTQ's and AWQ's {@link Kernel#VECTOR} round-to-nearest and bulk packers against the reference loops: the same
 * signed codes, f16 scales and zero points, the same dequantized values, the same packed words, and the same
 * refusals (non-finite weights, scales beyond f16) with the same messages; on random and edge rows (zeros and -0,
 * f32 subnormals whose scale underflows to 0, exact ties, all-positive and all-negative rows), every dtype, 4 and 8
 * bits, group sizes 32/64/128/per-channel and ragged ones that leave scalar tails.
 */
class IntWeightKernelEquivalenceTest {
    static final DType[] DTYPES = {DType.BF16, DType.F16, DType.F32};

    @Test
    void gptqCodesScalesZerosMatch() {
        for (DType dt : DTYPES) {
            for (int[] sh : new int[][] {{40, 256, 32}, {40, 256, 64}, {40, 256, 128}, {40, 256, -1}, {9, 100, 20},
                    {5, 36, 12}, {3, 7, 7}}) {
                Tensor w = weight(dt, sh[0], sh[1], sh[1] * 31L + sh[2]);
                for (int bits : new int[] {4, 8}) {
                    int g = sh[2];
                    assertSame(w, x -> GptqRtn.quantizeIntx(x, bits, g, Kernel.REFERENCE),
                            x -> GptqRtn.quantizeIntx(x, bits, g, Kernel.VECTOR), bits, g, "gptq " + dt + " " + bits
                                    + " g" + g + " K" + sh[1]);
                }
            }
        }
    }

    @Test
    void awqCodesScalesZerosMatch() {
        for (DType dt : DTYPES) {
            for (int[] sh : new int[][] {{40, 256, 32}, {40, 256, 64}, {40, 256, 128}, {40, 256, -1}, {9, 100, 20},
                    {3, 7, 7}}) {
                Tensor w = weight(dt, sh[0], sh[1], sh[1] * 17L + sh[2]);
                int g = sh[2];
                assertSame(w, x -> AwqRtn.quantizeIntx(x, g, Kernel.REFERENCE),
                        x -> AwqRtn.quantizeIntx(x, g, Kernel.VECTOR), 4, g, "awq " + dt + " g" + g + " K" + sh[1]);
            }
        }
    }

    @Test
    void refusalsMatch() {
        for (DType dt : DTYPES) {
            for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
                Tensor w = weight(dt, 6, 64, 5);
                w.setFloat(3 * 64 + 41, bad);
                w.setFloat(4 * 64 + 2, bad);
                sameRefusal(w, x -> GptqRtn.quantizeIntx(x, 4, 32, Kernel.REFERENCE),
                        x -> GptqRtn.quantizeIntx(x, 4, 32, Kernel.VECTOR));
                sameRefusal(w, x -> AwqRtn.quantizeIntx(x, 32, Kernel.REFERENCE),
                        x -> AwqRtn.quantizeIntx(x, 32, Kernel.VECTOR));
            }
        }
        // scales beyond f16 (65504 * 7.5): f32 weights too large for the format
        Tensor w = weight(DType.F32, 4, 64, 6);
        w.setFloat(2 * 64 + 5, 1e7f);
        sameRefusal(w, x -> GptqRtn.quantizeIntx(x, 4, 64, Kernel.REFERENCE),
                x -> GptqRtn.quantizeIntx(x, 4, 64, Kernel.VECTOR));
        sameRefusal(w, x -> AwqRtn.quantizeIntx(x, 64, Kernel.REFERENCE),
                x -> AwqRtn.quantizeIntx(x, 64, Kernel.VECTOR));
        // a group size that does not divide K
        sameRefusal(w, x -> GptqRtn.quantizeIntx(x, 4, 48, Kernel.REFERENCE),
                x -> GptqRtn.quantizeIntx(x, 4, 48, Kernel.VECTOR));
    }

    @Test
    void bulkPackersMatchTheReference() {
        Random rnd = new Random(9);
        // widths that leave a partial tile (TILE = 16 columns / words)
        for (int n : new int[] {8, 24, 136, 264}) {
            for (int k : new int[] {8, 64, 200}) {
                for (int bits : new int[] {2, 4, 8}) {
                    if (k % (32 / bits) != 0) continue;
                    Tensor codes = Tensor.allocate(DType.U8, Shape.of(n, k));
                    for (long i = 0; i < codes.numel(); i++) codes.setLong(i, rnd.nextInt(1 << bits));
                    try (Arena arena = Arena.ofConfined()) {
                        assertBytes(GptqPacking.packQweight(codes, bits), GptqPacking.packQweight(codes, bits, arena),
                                "gptq qweight " + n + "x" + k + " " + bits);
                        if (bits == 4) {
                            assertBytes(AwqPacking.packQweight(codes), AwqPacking.packQweight(codes, arena),
                                    "awq qweight " + n + "x" + k);
                        }
                        Tensor scales = Tensor.allocate(DType.F16, Shape.of(n, k / 8));
                        for (long i = 0; i < scales.numel(); i++) scales.setFloat(i, (float) rnd.nextGaussian());
                        assertBytes(GptqPacking.transpose(scales), GptqPacking.transpose(scales, arena), "transpose");
                    }
                }
            }
        }
    }

    private static void assertSame(Tensor w, Function<Tensor, IntxUnpackedToInt8Tensor> ref,
                                   Function<Tensor, IntxUnpackedToInt8Tensor> vec, int bits, int g, String what) {
        IntxUnpackedToInt8Tensor a = ref.apply(w);
        IntxUnpackedToInt8Tensor b = vec.apply(w);
        assertBytes(a.qdata(), b.qdata(), what + " codes");
        assertBytes(a.scale(), b.scale(), what + " scales");
        assertBytes(a.zeroPoint(), b.zeroPoint(), what + " zeros");
        assertEquals(a.blockSize(), b.blockSize(), what);
        assertEquals(a.bits(), b.bits(), what);
        assertEquals(a.originalDtype(), b.originalDtype(), what);
        IntWeightQuantizer qr = new IntWeightQuantizer(bits, g, ref, Kernel.REFERENCE);
        IntWeightQuantizer qv = new IntWeightQuantizer(bits, g, vec, Kernel.VECTOR);
        assertBytes(qr.dequantize(a), qv.dequantize(b), what + " dequantized");
        try (Arena arena = Arena.ofConfined()) {
            IntWeightLinear x = IntWeightLinear.fromIntx("w", a);
            IntWeightLinear y = IntWeightLinear.fromIntx("w", b, arena);
            assertBytes(x.codes(), y.codes(), what + " unsigned codes");
            assertBytes(x.zeros(), y.zeros(), what + " unsigned zeros");
            assertBytes(x.groupIndex(), y.groupIndex(), what + " g_idx");
        }
    }

    private static void sameRefusal(Tensor w, Function<Tensor, ?> ref, Function<Tensor, ?> vec) {
        Ao4jException a = assertThrows(Ao4jException.class, () -> ref.apply(w));
        Ao4jException b = assertThrows(Ao4jException.class, () -> vec.apply(w));
        assertEquals(a.getClass(), b.getClass());
        assertEquals(a.getMessage(), b.getMessage());
    }

    private static void assertBytes(Tensor a, Tensor b, String what) {
        assertEquals(a.dtype(), b.dtype(), what);
        assertEquals(a.shape(), b.shape(), what);
        long at = a.data().mismatch(b.data());
        assertTrue(at < 0, what + " differs at byte " + at);
    }

    /** Row kinds cycling: random, zeros with -0, f32-subnormal, quarter steps (ties), all positive, all negative. */
    static Tensor weight(DType dt, int rows, int cols, long seed) {
        Random rnd = new Random(seed);
        Tensor w = Tensor.allocate(dt, Shape.of(rows, cols));
        float tiny = dt == DType.F16 ? 0x1p-20f : 0x1p-140f;
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                float v = switch (r % 7) {
                    case 1 -> c % 3 == 0 ? -0f : 0f;
                    case 2 -> (float) rnd.nextGaussian() * tiny;
                    case 3 -> (rnd.nextInt(33) - 16) * 0.25f;
                    case 4 -> Math.abs((float) rnd.nextGaussian()) + 0.5f;
                    case 5 -> -Math.abs((float) rnd.nextGaussian()) - 0.5f;
                    case 6 -> (float) rnd.nextGaussian() * 100f;
                    default -> (float) rnd.nextGaussian() * 0.02f;
                };
                w.setFloat((long) r * cols + c, v);
            }
        }
        return w;
    }
}
