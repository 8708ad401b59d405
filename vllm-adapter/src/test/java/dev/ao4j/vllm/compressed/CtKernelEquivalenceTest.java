package dev.ao4j.vllm.compressed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.dtype.Float8E4M3Fn;
import dev.ao4j.quant.dtype.Fp4E2M1;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.pipeline.Sqnr;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link Kernel#VECTOR} against {@link Kernel#REFERENCE} for every compressed-tensors scheme, weight dtype and
 * division mode: the stored tensors byte for byte, the dequantized weight, and the report's SQNR as the same
 * double, on random rows and edge rows (zeros and -0, NaN, ±Inf, subnormals, exact ties, huge values, one-signed
 * rows); plus ragged group sizes and widths that leave scalar tails and partial int32 words, and the lane encoders
 * against the scalar codecs over every bf16 value in range.
 */
class CtKernelEquivalenceTest {
    static final DType[] DTYPES = {DType.BF16, DType.F16, DType.F32};

    static Stream<Arguments> cases() {
        List<String> schemes = List.of("w4a16-g32", "w4a16-g64", "w4a16-g128", "w4a16-channel", "w4a16-g32-asym",
                "w4a16-g128-asym", "w4a16-channel-asym", "w8a16-g32", "w8a16-g128", "w8a16-channel", "w8a16-g64-asym",
                "w8a16-channel-asym", "w8a8", "fp8", "fp8-dynamic", "fp8-block", "nvfp4a16", "mxfp4a16");
        List<Arguments> out = new ArrayList<>();
        for (String s : schemes) {
            for (DType dt : DTYPES) {
                for (DivMode m : DivMode.values()) out.add(Arguments.of(s, dt, m));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("cases")
    void sameBytesAsReference(String scheme, DType dt, DivMode mode) {
        CompressedTensorsScheme s = CompressedTensorsScheme.parse(scheme);
        // 256 columns: whole fp8 blocks; 200 rows: a partial fp8 block row
        for (boolean withNonFinite : new boolean[] {true, false}) {
            Tensor w = weight(dt, 200, 256, withNonFinite, 7 + scheme.hashCode());
            assertSame(s, mode, w, Float.NaN, scheme + " " + dt + " nonFinite=" + withNonFinite);
        }
        if (s.preset() == CompressedTensorsScheme.Preset.NVFP4A16) {
            Tensor w = weight(dt, 64, 256, false, 3);
            assertSame(s, mode, w, 1000f, scheme + " group amax"); // a fused group's amax beyond this weight's
        }
    }

    @Test
    void raggedGroupsAndPartialWords() {
        // group sizes that are not multiples of the vector width, K not a multiple of the codes per word
        int[][] shapes = {{5, 100, 20}, {3, 100, CompressedTensorsScheme.CHANNEL}, {4, 36, 12}, {2, 7, 7}, {3, 3, 3}};
        for (int[] sh : shapes) {
            for (DType dt : DTYPES) {
                Tensor w = weight(dt, sh[0], sh[1], true, sh[1]);
                for (int bits : new int[] {4, 8}) {
                    for (boolean sym : new boolean[] {true, false}) {
                        for (DivMode mode : DivMode.values()) {
                            IntRtn.Result r = IntRtn.quantize(w, bits, sh[2], sym, mode);
                            CompressedLinear.PackedInt ref = CompressedLinear.PackedInt.ofCodes(r.codes(), r.scale(),
                                    r.zeroPoint(), bits);
                            CompressedLinear vec = CtVector.intRtn(w, bits, sh[2], sym, mode, true, Arena.ofAuto());
                            assertStoredEqual(ref, vec, "ragged " + sh[1] + "/" + sh[2] + " " + dt + " " + bits
                                    + (sym ? "" : " asym") + " " + mode);
                        }
                    }
                }
                // fp8 blocks that do not divide the weight, both ways
                for (DivMode mode : DivMode.values()) {
                    Fp8Rtn.Result r = Fp8Rtn.perBlock(w, 2, 8, mode);
                    CompressedLinear vec = CtVector.fp8(w, 2, 8, r.scale().shape(), Shape.of(2, 8), mode,
                            Arena.ofAuto());
                    assertStoredEqual(new CompressedLinear.Fp8(r.codes(), r.scale(), Shape.of(2, 8)), vec,
                            "fp8 ragged blocks " + sh[1] + " " + dt);
                }
            }
        }
    }

    @Test
    void e4m3LanesMatchTheScalarCast() {
        int lanes = IntVector.SPECIES_PREFERRED.length();
        List<Float> values = new ArrayList<>();
        for (int b = 0; b < 0x10000; b++) {
            float f = Float.intBitsToFloat(b << 16);
            if (Float.isFinite(f) && Math.abs(f) <= 448f) values.add(f);
        }
        Random rnd = new Random(1);
        for (int i = 0; i < 200_000; i++) {
            float f = Float.intBitsToFloat(rnd.nextInt());
            if (Float.isFinite(f) && Math.abs(f) <= 448f) values.add(f);
        }
        for (int c = 0; c < 0x7F; c++) { // every code's value, and the midpoints (ties) and their neighbours
            float v = Float8E4M3Fn.toFloat((byte) c);
            float next = c < 0x7E ? Float8E4M3Fn.toFloat((byte) (c + 1)) : v;
            float mid = (v + next) / 2;
            for (float f : new float[] {v, mid, Math.nextUp(mid), Math.nextDown(mid)}) {
                values.add(f);
                values.add(-f);
            }
        }
        int[] bits = new int[lanes];
        int[] got = new int[lanes];
        for (int i = 0; i + lanes <= values.size(); i += lanes) {
            for (int j = 0; j < lanes; j++) bits[j] = Float.floatToRawIntBits(values.get(i + j));
            CtVector.e4m3(IntVector.fromArray(IntVector.SPECIES_PREFERRED, bits, 0)).intoArray(got, 0);
            for (int j = 0; j < lanes; j++) {
                float f = values.get(i + j);
                assertEquals(Float8E4M3Fn.fromFloat(f) & 0xFF, got[j] & 0xFF, "e4m3 of " + f);
            }
        }
    }

    @Test
    void e2m1LanesMatchTheScalarCodec() {
        int lanes = FloatVector.SPECIES_PREFERRED.length();
        List<Float> values = new ArrayList<>();
        for (int b = 0; b < 0x10000; b++) {
            float f = Float.intBitsToFloat(b << 16);
            if (Float.isFinite(f) && Math.abs(f) <= 6f) values.add(f);
        }
        for (float t : new float[] {0f, 0.25f, 0.5f, 0.75f, 1f, 1.25f, 1.5f, 1.75f, 2f, 2.5f, 3f, 3.5f, 4f, 5f, 6f}) {
            for (float f : new float[] {t, Math.nextUp(t), Math.nextDown(t)}) {
                if (Math.abs(f) <= 6f) {
                    values.add(f);
                    values.add(-f);
                }
            }
        }
        Random rnd = new Random(2);
        for (int i = 0; i < 200_000; i++) values.add((rnd.nextFloat() * 2 - 1) * 6f);
        float[] in = new float[lanes];
        int[] got = new int[lanes];
        for (int i = 0; i + lanes <= values.size(); i += lanes) {
            for (int j = 0; j < lanes; j++) in[j] = values.get(i + j);
            CtVector.e2m1(FloatVector.fromArray(FloatVector.SPECIES_PREFERRED, in, 0)).intoArray(got, 0);
            for (int j = 0; j < lanes; j++) assertEquals(Fp4E2M1.fromFloat(in[j]), got[j], "e2m1 of " + in[j]);
        }
    }

    private static void assertSame(CompressedTensorsScheme s, DivMode mode, Tensor w, float groupAmax, String what) {
        CtQuantizer ref = new CtQuantizer(s, mode, Kernel.REFERENCE);
        CtQuantizer vec = new CtQuantizer(s, mode, Kernel.VECTOR);
        assertEquals(Float.floatToRawIntBits(ref.amax(w)), Float.floatToRawIntBits(vec.amax(w)), what + " amax");
        CompressedLinear a = ref.quantize(w, groupAmax);
        try (Arena arena = Arena.ofConfined()) {
            CompressedLinear b = vec.quantize(w, groupAmax, arena);
            assertEquals(a.getClass(), b.getClass(), what);
            assertStoredEqual(a, b, what);
            assertSameValues(a.dequantize(DType.F32), b.dequantize(DType.F32), what + " dequantized");
            double expected = Sqnr.db(w, a.dequantize(DType.F32));
            assertEquals(expected, ref.sqnr(w, a), 0.0, what + " reference sqnr");
            assertEquals(Double.doubleToLongBits(expected), Double.doubleToLongBits(vec.sqnr(w, b)), what + " sqnr");
            assertTrue(a.codes().contentEquals(b.codes()), what + " codes");
        }
    }

    /** Equal values, any NaN equal to any NaN (a product of two NaNs keeps either payload, as the JIT orders it). */
    private static void assertSameValues(Tensor a, Tensor b, String what) {
        assertEquals(a.shape(), b.shape(), what);
        for (long i = 0; i < a.numel(); i++) {
            assertEquals(Float.floatToIntBits(a.getFloat(i)), Float.floatToIntBits(b.getFloat(i)), what + " at " + i);
        }
    }

    private static void assertStoredEqual(CompressedLinear a, CompressedLinear b, String what) {
        Map<String, Tensor> x = a.stored();
        Map<String, Tensor> y = b.stored();
        assertEquals(List.copyOf(x.keySet()), List.copyOf(y.keySet()), what);
        for (String key : x.keySet()) {
            Tensor t = x.get(key);
            Tensor u = y.get(key);
            assertEquals(t.dtype(), u.dtype(), what + " " + key);
            assertEquals(t.shape(), u.shape(), what + " " + key);
            long at = t.data().mismatch(u.data());
            assertEquals(-1L, at, what + " " + key + " differs at byte " + at);
        }
        assertEquals(a.shape(), b.shape(), what);
    }

    /**
     * {@code rows x cols} of {@code dt}, row kinds cycling: random, zeros (with -0), NaN (optional), ±Inf
     * (optional), subnormal, exact quarter steps (ties), huge, all positive.
     */
    static Tensor weight(DType dt, int rows, int cols, boolean nonFinite, long seed) {
        Random rnd = new Random(seed);
        Tensor w = Tensor.allocate(dt, Shape.of(rows, cols));
        float tiny = dt == DType.F16 ? 0x1p-20f : 0x1p-130f;
        float huge = dt == DType.F16 ? 30000f : 1e37f;
        for (int r = 0; r < rows; r++) {
            int kind = r % 8;
            for (int c = 0; c < cols; c++) {
                float v = switch (kind) {
                    case 1 -> c % 3 == 0 ? -0f : 0f;
                    case 2, 3 -> (float) rnd.nextGaussian() * 0.05f;
                    case 4 -> (float) rnd.nextGaussian() * tiny;
                    case 5 -> (rnd.nextInt(33) - 16) * 0.25f;
                    case 6 -> (float) rnd.nextGaussian() * huge;
                    case 7 -> Math.abs((float) rnd.nextGaussian()) + 0.5f;
                    default -> (float) rnd.nextGaussian() * 0.02f;
                };
                w.setFloat((long) r * cols + c, v);
            }
            if (nonFinite && kind == 2) w.setFloat((long) r * cols + rnd.nextInt(cols), Float.NaN);
            if (nonFinite && kind == 3) {
                w.setFloat((long) r * cols + rnd.nextInt(cols), Float.POSITIVE_INFINITY);
                w.setFloat((long) r * cols + rnd.nextInt(cols), Float.NEGATIVE_INFINITY);
            }
        }
        return w;
    }
}
