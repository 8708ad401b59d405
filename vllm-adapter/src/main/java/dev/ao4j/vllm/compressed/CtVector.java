package dev.ao4j.vllm.compressed;

import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.dtype.Float8E4M3Fn;
import dev.ao4j.quant.dtype.Fp4E2M1;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.numerics.F32Bits;
import dev.ao4j.quant.numerics.TorchOps;
import dev.ao4j.quant.numerics.VectorRounding;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API twins of {@link IntRtn}, {@link Fp8Rtn} and {@link Fp4Rtn} (the reference loops), selected by
 * {@code Kernel.VECTOR}: the same bytes (tests prove it on random and edge inputs), computed a row at a time from
 * the weight's f32 bits and written straight into the stored form (int32 words, fp8 bytes, fp4 nibble pairs), so
 * no per-element code tensor is ever held.
 *
 * <p>Per group or block the scalar arithmetic (scale, zero point) is the reference's own. The element loops run
 * as vectors over whole vectors; ragged tails, and any group holding a NaN or an infinity (whose NaN payloads
 * and signs the scalar steps define), run the reference's per-element steps. What the vector steps reproduce:
 * min/max with NaN propagation ({@code FloatVector.min/max} follow {@code Math.min/max}), IEEE division, each
 * torch op's rounding to bf16/f16 ({@link VectorRounding}), clamp, ties-to-even rounding (the 2^23 trick, exact
 * below 2^23), and the fp8/fp4 encodings of values already clamped into range.
 */
final class CtVector {
    private CtVector() {}

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    private static final int LANES = I.length();
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(LANES * 8));

    // ---------------------------------------------------------------- integer (W4A16 / W8A16 / W8A8)

    /**
     * compressed-tensors' integer round-to-nearest ({@link IntRtn#quantize}) with the codes packed as
     * {@link Int32Packing#pack} packs them along K ({@code pack}) or kept as I8 {@code [N, K]}.
     */
    static CompressedLinear intRtn(Tensor w, int bits, int groupSize, boolean symmetric, DivMode mode, boolean pack,
                                   Arena arena) {
        DType dt = CtOps.requireFloat(w);
        int n = Math.toIntExact(w.shape().dim(0));
        int k = Math.toIntExact(w.shape().dim(1));
        int g = groupSize == CompressedTensorsScheme.CHANNEL ? k : groupSize;
        if (g <= 0 || k % g != 0) {
            throw new IllegalArgumentException("in-features " + k + " not a multiple of group size " + g);
        }
        int groups = k / g;
        float qmin = -(1 << (bits - 1));
        float qmax = (1 << (bits - 1)) - 1;
        int per = 32 / bits;
        int words = (k + per - 1) / per;
        Tensor out = CtOps.allocate(arena, pack ? DType.I32 : DType.I8, pack ? Shape.of(n, words) : Shape.of(n, k));
        Tensor scale = CtOps.allocate(arena, dt, Shape.of(n, groups));
        Tensor zero = symmetric ? null : CtOps.allocate(arena, DType.I8, Shape.of(n, groups));
        float eps = CtOps.eps(dt);
        int[] row = new int[k];
        int[] codes = new int[k];
        int[] packed = new int[words];
        byte[] bytes = pack ? null : new byte[k];
        float[] mm = new float[2];
        for (int r = 0; r < n; r++) {
            F32Bits.loadRow(w, r, k, row);
            for (int c = 0; c < groups; c++) {
                int base = c * g;
                minMax(row, base, g, mm);
                float s = IntRtn.scaleOf(mm[0], mm[1], symmetric, bits, dt, mode);
                float zp = 0f;
                if (!symmetric) {
                    zp = IntRtn.zeroOf(mm[0], s, bits, dt);
                    zero.setLong((long) r * groups + c, (long) zp);
                }
                if (s == 0f) s = eps;
                scale.setFloat((long) r * groups + c, s);
                intGroup(row, base, g, finite(mm), s, zp, symmetric, qmin, qmax, dt, codes);
            }
            if (pack) {
                int mask = (1 << bits) - 1;
                int offset = (int) qmin;
                for (int wi = 0, i = 0; wi < words; wi++) {
                    int word = 0;
                    for (int sh = 0; sh < 32 && i < k; sh += bits, i++) word |= ((codes[i] - offset) & mask) << sh;
                    packed[wi] = word;
                }
                MemorySegment.copy(packed, 0, out.data(), Tensor.I32, (long) r * words * 4, words);
            } else {
                for (int i = 0; i < k; i++) bytes[i] = (byte) codes[i];
                MemorySegment.copy(bytes, 0, out.data(), ValueLayout.JAVA_BYTE, (long) r * k, k);
            }
        }
        return pack ? new CompressedLinear.PackedInt(out, w.shape(), scale, zero, bits)
                : new CompressedLinear.Int8(out, scale);
    }

    /**
     * One group's codes into {@code codes[base, base + g)}; a method of its own so that the JIT compiles it early
     * as a whole (rather than through on-stack replacement of the row loop).
     */
    private static void intGroup(int[] row, int base, int g, boolean vector, float s, float zp, boolean symmetric,
                                 float qmin, float qmax, DType dt, int[] codes) {
        int j = 0;
        if (vector) {
            FloatVector vs = FloatVector.broadcast(F, s);
            FloatVector vzp = FloatVector.broadcast(F, zp);
            FloatVector lo = FloatVector.broadcast(F, qmin);
            FloatVector hi = FloatVector.broadcast(F, qmax);
            for (int bound = g - g % LANES; j < bound; j += LANES) {
                FloatVector v = VectorRounding.round(dt, load(row, base + j).div(vs));
                if (!symmetric) v = VectorRounding.round(dt, v.add(vzp));
                toInt(VectorRounding.rint(v.max(lo).min(hi))).intoArray(codes, base + j);
            }
        }
        for (; j < g; j++) {
            codes[base + j] = IntRtn.codeOf(Float.intBitsToFloat(row[base + j]), s, zp, symmetric, qmin, qmax, dt);
        }
    }

    // ---------------------------------------------------------------- fp8

    /** {@link Fp8Rtn}'s quantization over {@code bn x bk} regions (edge regions partial). */
    static CompressedLinear.Fp8 fp8(Tensor w, long bn, long bk, Shape scaleShape, Shape block, DivMode mode,
                                    Arena arena) {
        DType dt = CtOps.requireFloat(w);
        int n = Math.toIntExact(w.shape().dim(0));
        int k = Math.toIntExact(w.shape().dim(1));
        int rowsPer = (int) Math.min(bn, n);
        int colsPer = (int) Math.min(bk, k);
        int gridCols = (k + colsPer - 1) / colsPer;
        Tensor codes = CtOps.allocate(arena, DType.F8_E4M3, w.shape());
        Tensor scale = CtOps.allocate(arena, dt, scaleShape);
        float eps = CtOps.eps(dt);
        int[] row = new int[k];
        byte[] out = new byte[k];
        float[] mins = new float[gridCols];
        float[] maxs = new float[gridCols];
        float[] scales = new float[gridCols];
        float[] mm = new float[2];
        for (int br = 0, r0 = 0; r0 < n; br++, r0 += rowsPer) {
            int r1 = Math.min(n, r0 + rowsPer);
            Arrays.fill(mins, 0f);
            Arrays.fill(maxs, 0f);
            for (int r = r0; r < r1; r++) {
                F32Bits.loadRow(w, r, k, row);
                for (int bc = 0; bc < gridCols; bc++) {
                    int c0 = bc * colsPer;
                    minMax(row, c0, Math.min(k, c0 + colsPer) - c0, mm);
                    mins[bc] = CtOps.min(mins[bc], mm[0]);
                    maxs[bc] = CtOps.max(maxs[bc], mm[1]);
                }
            }
            for (int bc = 0; bc < gridCols; bc++) {
                float s = TorchOps.divScalar(Math.max(Math.abs(mins[bc]), Math.abs(maxs[bc])), Float8E4M3Fn.MAX, dt,
                        mode);
                if (s == 0f) s = eps;
                scales[bc] = s;
                scale.setFloat(scaleShape.numel() == 1 ? 0 : (long) br * gridCols + bc, s);
            }
            for (int r = r0; r < r1; r++) {
                if (r1 - r0 > 1) F32Bits.loadRow(w, r, k, row); // a single row is still loaded from the pass above
                for (int bc = 0; bc < gridCols; bc++) {
                    int c0 = bc * colsPer;
                    fp8Run(row, c0, Math.min(k, c0 + colsPer), Float.isFinite(mins[bc]) && Float.isFinite(maxs[bc]),
                            scales[bc], dt, out);
                }
                MemorySegment.copy(out, 0, codes.data(), ValueLayout.JAVA_BYTE, (long) r * k, k);
            }
        }
        return new CompressedLinear.Fp8(codes, scale, block);
    }

    /** The e4m3 codes of {@code row[c0, c1)} with scale {@code s} into {@code out[c0, c1)}. */
    private static void fp8Run(int[] row, int c0, int c1, boolean vector, float s, DType dt, byte[] out) {
        int c = c0;
        if (vector) {
            FloatVector vs = FloatVector.broadcast(F, s);
            FloatVector lo = FloatVector.broadcast(F, -Float8E4M3Fn.MAX);
            FloatVector hi = FloatVector.broadcast(F, Float8E4M3Fn.MAX);
            for (int bound = c1 - (c1 - c0) % LANES; c < bound; c += LANES) {
                FloatVector v = VectorRounding.round(dt, load(row, c).div(vs)).max(lo).min(hi);
                storeBytes(e4m3(v.reinterpretAsInts()), out, c);
            }
        }
        for (; c < c1; c++) {
            out[c] = Float8E4M3Fn.fromFloat(TorchOps.clamp(TorchOps.div(Float.intBitsToFloat(row[c]), s, dt),
                    -Float8E4M3Fn.MAX, Float8E4M3Fn.MAX));
        }
    }

    /**
     * e4m3fn codes of lanes holding finite f32 values within ±448, rounded to nearest even: below the smallest
     * normal (2^-6) adding 2^14, whose ulp is e4m3's subnormal step 2^-9, makes the f32 adder round and leaves the
     * code in the low bits; above it the exponent is re-biased (127 → 7) and the 20 dropped mantissa bits rounded
     * by adding {@code 2^19 - 1 + lsb}.
     */
    static IntVector e4m3(IntVector bits) {
        IntVector sign = bits.lanewise(VectorOperators.LSHR, 24).and(0x80);
        IntVector abs = bits.and(0x7FFFFFFF);
        IntVector sub = abs.reinterpretAsFloats().add(0x1p14f).reinterpretAsInts().sub(0x46800000);
        IntVector odd = abs.lanewise(VectorOperators.LSHR, 20).and(1);
        IntVector normal = abs.add(((7 - 127) << 23) + 0x7FFFF).add(odd).lanewise(VectorOperators.LSHR, 20);
        return normal.blend(sub, abs.compare(VectorOperators.LT, 0x3C800000)).or(sign);
    }

    // ---------------------------------------------------------------- fp4

    /** {@code max|w|} as {@link Fp4Rtn#amax} gives it: the absolute bits' maximum, any NaN giving NaN. */
    static float amax(Tensor w) {
        int n = Math.toIntExact(w.shape().dim(0));
        int k = Math.toIntExact(w.numel() / Math.max(1, n));
        int[] row = new int[k];
        int m = 0;
        for (int r = 0; r < n; r++) {
            F32Bits.loadRow(w, r, k, row);
            m = Math.max(m, absBitsMax(row, 0, k));
        }
        return absBitsToFloat(m);
    }

    /** {@link Fp4Rtn#nvfp4}, the codes packed two per byte as {@link Fp4Rtn#pack} packs them. */
    static CompressedLinear.Nvfp4 nvfp4(Tensor w, float globalScale, DivMode mode, Arena arena) {
        DType dt = CtOps.requireFloat(w);
        Tensor[] t = fp4Rows(w, Fp4Rtn.NVFP4_BLOCK, DType.F8_E4M3, arena, (row, base, amax, codes) -> {
            byte sc = Fp4Rtn.nvfp4Scale(amax, globalScale, dt, mode);
            float eff = Float8E4M3Fn.toFloat(sc) / globalScale;
            fp4Block(row, base, Fp4Rtn.NVFP4_BLOCK, Float.isFinite(amax) && Float.isFinite(eff) && eff != 0f, eff,
                    null, codes);
            return sc;
        });
        return new CompressedLinear.Nvfp4(t[0], t[1], globalScale);
    }

    /** {@link Fp4Rtn#mxfp4}, the codes packed two per byte. */
    static CompressedLinear.Mxfp4 mxfp4(Tensor w, DivMode mode, Arena arena) {
        DType dt = CtOps.requireFloat(w);
        float eps = CtOps.eps(dt);
        Tensor[] t = fp4Rows(w, Fp4Rtn.MXFP4_BLOCK, DType.U8, arena, (row, base, amax, codes) -> {
            float s = Fp4Rtn.mxfp4Scale(amax, dt, eps);
            fp4Block(row, base, Fp4Rtn.MXFP4_BLOCK, Float.isFinite(amax) && Float.isFinite(s), s, dt, codes);
            return (byte) Fp4Rtn.biasedExponent(s);
        });
        return new CompressedLinear.Mxfp4(t[0], t[1]);
    }

    /** One fp4 block's scale rule: writes the block's codes into {@code codes} and returns its scale byte. */
    @FunctionalInterface
    private interface Fp4BlockRule {
        byte quantize(int[] row, int base, float amax, int[] codes);
    }

    /**
     * The row loop both fp4 formats share: each row's blocks of {@code bs} through {@code rule}, the codes packed two
     * per byte. Returns {packed U8 [N, K/2], scales of {@code scaleType} [N, K/bs]}.
     */
    private static Tensor[] fp4Rows(Tensor w, int bs, DType scaleType, Arena arena, Fp4BlockRule rule) {
        int n = Math.toIntExact(w.shape().dim(0));
        int k = Math.toIntExact(w.shape().dim(1));
        if (k % bs != 0) throw new IllegalArgumentException("in-features " + k + " not a multiple of " + bs);
        int blocks = k / bs;
        Tensor packed = CtOps.allocate(arena, DType.U8, Shape.of(n, k / 2));
        Tensor scale = CtOps.allocate(arena, scaleType, Shape.of(n, blocks));
        int[] row = new int[k];
        int[] codes = new int[k];
        byte[] out = new byte[k / 2];
        byte[] scaleRow = new byte[blocks];
        for (int r = 0; r < n; r++) {
            F32Bits.loadRow(w, r, k, row);
            for (int b = 0; b < blocks; b++) {
                int base = b * bs;
                scaleRow[b] = rule.quantize(row, base, absBitsToFloat(absBitsMax(row, base, bs)), codes);
            }
            pairs(codes, out, k);
            MemorySegment.copy(out, 0, packed.data(), ValueLayout.JAVA_BYTE, (long) r * (k / 2), k / 2);
            MemorySegment.copy(scaleRow, 0, scale.data(), ValueLayout.JAVA_BYTE, (long) r * blocks, blocks);
        }
        return new Tensor[] {packed, scale};
    }

    /**
     * The e2m1 codes of {@code row[base, base + len)} into {@code codes}: {@code clamp(x / s, ±6)} in f32 (NVFP4,
     * {@code dt} null) or with the quotient rounded to {@code dt} first (MXFP4).
     */
    private static void fp4Block(int[] row, int base, int len, boolean vector, float s, DType dt, int[] codes) {
        int j = 0;
        if (vector) {
            FloatVector vs = FloatVector.broadcast(F, s);
            FloatVector lo = FloatVector.broadcast(F, -Fp4E2M1.MAX);
            FloatVector hi = FloatVector.broadcast(F, Fp4E2M1.MAX);
            for (int bound = len - len % LANES; j < bound; j += LANES) {
                FloatVector v = load(row, base + j).div(vs);
                if (dt != null) v = VectorRounding.round(dt, v);
                e2m1(v.max(lo).min(hi)).intoArray(codes, base + j);
            }
        }
        for (; j < len; j++) {
            float x = Float.intBitsToFloat(row[base + j]);
            float v = dt == null ? x / s : TorchOps.div(x, s, dt);
            codes[base + j] = Fp4E2M1.fromFloat(TorchOps.clamp(v, -Fp4E2M1.MAX, Fp4E2M1.MAX));
        }
    }

    /**
     * e2m1 codes of lanes holding finite values within ±6, to the nearest value with ties to the even code: the
     * magnitude code counts the decision points passed (ties at 0.25, 1.25, 2.5 and 5 stay below, at 0.75, 1.75
     * and 3.5 go above); the sign bit gives code bit 3, so a negative value rounding to zero is code 8.
     */
    static IntVector e2m1(FloatVector v) {
        FloatVector a = v.abs();
        IntVector one = IntVector.broadcast(I, 1);
        IntVector code = IntVector.zero(I);
        code = code.add(one, a.compare(VectorOperators.GT, 0.25f).cast(I));
        code = code.add(one, a.compare(VectorOperators.GE, 0.75f).cast(I));
        code = code.add(one, a.compare(VectorOperators.GT, 1.25f).cast(I));
        code = code.add(one, a.compare(VectorOperators.GE, 1.75f).cast(I));
        code = code.add(one, a.compare(VectorOperators.GT, 2.5f).cast(I));
        code = code.add(one, a.compare(VectorOperators.GE, 3.5f).cast(I));
        code = code.add(one, a.compare(VectorOperators.GT, 5f).cast(I));
        return code.or(v.reinterpretAsInts().lanewise(VectorOperators.LSHR, 28).and(8));
    }

    /** Codes {@code [0, k)} two per byte, element {@code 2i} in the low nibble. */
    private static void pairs(int[] codes, byte[] out, int k) {
        for (int i = 0; i < k / 2; i++) out[i] = (byte) (codes[2 * i] | (codes[2 * i + 1] << 4));
    }

    /** The maximum of the absolute f32 bits over {@code [from, from + len)} (any NaN sorts above infinity). */
    private static int absBitsMax(int[] row, int from, int len) {
        int c = from;
        int end = from + len;
        int m = 0;
        if (len >= LANES) {
            IntVector acc = IntVector.zero(I);
            for (int bound = end - len % LANES; c < bound; c += LANES) {
                acc = acc.max(IntVector.fromArray(I, row, c).and(0x7FFFFFFF));
            }
            m = acc.reduceLanes(VectorOperators.MAX);
        }
        for (; c < end; c++) m = Math.max(m, row[c] & 0x7FFFFFFF);
        return m;
    }

    /**
     * {@code max(|min(x, 0)|, |max(x, 0)|)} as the reference computes it from absolute bits: the value, or the
     * canonical NaN that {@code CtOps.max} returns when any element is NaN.
     */
    private static float absBitsToFloat(int bits) {
        return bits > 0x7F800000 ? Float.NaN : Float.intBitsToFloat(bits);
    }

    // ---------------------------------------------------------------- shared steps

    /** {@code {min(min(x), 0), max(max(x), 0)}} over {@code [from, from + len)}, NaN propagating. */
    private static void minMax(int[] row, int from, int len, float[] mm) {
        F32Bits.minMax(row, from, len, 0f, 0f, mm);
    }

    private static boolean finite(float[] mm) {
        return Float.isFinite(mm[0]) && Float.isFinite(mm[1]);
    }

    private static FloatVector load(int[] row, int c) {
        return IntVector.fromArray(I, row, c).reinterpretAsFloats();
    }

    /** Java's float-to-int cast per lane (NaN gives 0). */
    private static IntVector toInt(FloatVector v) {
        return (IntVector) v.convertShape(VectorOperators.F2I, I, 0);
    }

    private static void storeBytes(IntVector codes, byte[] out, int at) {
        ((ByteVector) codes.convertShape(VectorOperators.I2B, B, 0)).intoArray(out, at);
    }
}
