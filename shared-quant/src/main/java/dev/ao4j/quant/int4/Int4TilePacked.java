package dev.ao4j.quant.int4;

import dev.ao4j.quant.InvalidConfigException;
import dev.ao4j.quant.UnsupportedFormatException;
import dev.ao4j.quant.dtype.Bf16;
import dev.ao4j.quant.dtype.DType;
import dev.ao4j.quant.numerics.ComputeDtypes;
import dev.ao4j.quant.numerics.DivMode;
import dev.ao4j.quant.numerics.Kernel;
import dev.ao4j.quant.qtensor.Int4TilePackedTo4dTensor;
import dev.ao4j.quant.tensor.Shape;
import dev.ao4j.quant.tensor.Tensor;
import java.util.Arrays;
import java.util.Set;

/**
 * {@code Int4WeightOnlyConfig(int4_packing_format="tile_packed_to_4d")}: torchao's
 * {@code Int4TilePackedTo4dTensor.from_hp} with the TINYGEMM qparams algorithm (torchao-numerics §2.2), the
 * layout of PyTorch's CUDA int4 "tinygemm" kernel {@code _weight_int4pack_mm}.
 *
 * <ol>
 *   <li>Pad the bf16 weight {@code [N, K]} with zeros to {@code [N', K']}, {@code N' = ceil(N/8)*8},
 *       {@code K' = ceil(K/1024)*1024}.
 *   <li>{@link Tinygemm} qparams and unsigned codes 0..15 of the padded tensor, groups of {@code g} along K, in
 *       bf16. All-zero (padded) groups get scale = eps = 2^-126 and zero = 8*eps.
 *   <li>Pack the codes in the m16n8k16 tensor-core B-operand order of {@code _convert_weight_to_int4pack} with
 *       8 inner k-tiles (see {@link #convertWeightToInt4Pack}) into int32 {@code [N'/8, K'/128, 32, 4]}.
 *   <li>{@code scale_and_zero} = bf16 {@code [K'/g, N', 2]}: {@code [.., 0]} scale, {@code [.., 1]} zero.
 * </ol>
 * The kernel dequantizes as {@code (u - 8) * scale + zero}, one bf16 fused multiply-add.
 */
public final class Int4TilePacked {
    private Int4TilePacked() {}

    /** torchao fixes inner_k_tiles = 8 for this tensor. */
    public static final int INNER_K_TILES = 8;
    /** CUDA tinygemm's n tile (ROCm's 16 uses a different lane map and is not supported). */
    public static final int N_TILE = 8;
    /** K is padded to a multiple of this. */
    public static final int K_ALIGN = 1024;
    /** Group sizes the tinygemm kernel accepts. */
    private static final Set<Integer> KERNEL_GROUP_SIZES = Set.of(32, 64, 128, 256);

    private static final int K_TILE = 16;
    private static final int LANES = 32;

    /** {@code Int4TilePackedTo4dTensor.from_hp(weight, [1, groupSize])} with the {@link Kernel#VECTOR} kernel. */
    public static Int4TilePackedTo4dTensor quantize(Tensor weight, int groupSize, DivMode mode) {
        return quantize(weight, groupSize, mode, Kernel.VECTOR);
    }

    /**
     * {@code Int4TilePackedTo4dTensor.from_hp(weight, [1, groupSize])}, TINYGEMM algorithm. {@code weight} must be
     * bf16 {@code [N, K]}; {@code groupSize} one of 32, 64, 128, 256 (the kernel's). torchao only runs this on a
     * GPU, so {@code mode} is normally {@link DivMode#CUDA_RECIPROCAL}. Rows are processed one n-tile (8 rows)
     * at a time, so memory stays at a few rows of K' beyond the result.
     */
    public static Int4TilePackedTo4dTensor quantize(Tensor weight, int groupSize, DivMode mode, Kernel kernel) {
        String what = "Int4TilePackedTo4dTensor weight";
        ComputeDtypes.require(what, weight.dtype(), Set.of(DType.BF16));
        Rows.requireRank(what, weight, 2);
        if (!KERNEL_GROUP_SIZES.contains(groupSize)) {
            throw new InvalidConfigException(what + ": group_size must be one of 32, 64, 128, 256 (tinygemm"
                    + " kernel), found " + groupSize);
        }
        int k = Rows.lastDim(what, weight);
        long n = weight.shape().dim(0);
        long nPad = ceilTo(n, N_TILE);
        int kPad = Math.toIntExact(ceilTo(k, K_ALIGN));
        int groups = kPad / groupSize;
        int kTilesOuter = kPad / (K_TILE * INNER_K_TILES);
        int words = INNER_K_TILES / 2;

        Tensor qdata = Tensor.allocate(DType.I32, Shape.of(nPad / N_TILE, kTilesOuter, LANES, words));
        Tensor scaleAndZero = Tensor.allocate(DType.BF16, Shape.of(groups, nPad, 2));
        float eps = Tinygemm.defaultEps(DType.BF16);
        GroupKernel impl = GroupKernel.of(kernel);

        float[] rows = new float[N_TILE * kPad];
        byte[] codes = new byte[N_TILE * kPad];
        float[] s = new float[groups];
        float[] z = new float[groups];
        for (long nt = 0; nt < nPad / N_TILE; nt++) {
            Arrays.fill(rows, 0f);
            for (int r = 0; r < N_TILE; r++) {
                long row = nt * N_TILE + r;
                if (row < n) Rows.read(weight, row * k, rows, r * kPad, k);
            }
            for (int r = 0; r < N_TILE; r++) {
                long row = nt * N_TILE + r;
                impl.tinygemm(rows, r * kPad, kPad, groupSize, DType.BF16, mode, eps, s, z, 0, codes, r * kPad);
                for (int j = 0; j < groups; j++) {
                    long at = (j * nPad + row) * 2;
                    scaleAndZero.setFloat(at, s[j]);
                    scaleAndZero.setFloat(at + 1, z[j]);
                }
            }
            packTile(codes, kPad, INNER_K_TILES, qdata, nt);
        }
        return new Int4TilePackedTo4dTensor(qdata, scaleAndZero, Shape.of(1, groupSize), weight.shape());
    }

    /**
     * torchao's pre-pack step: unsigned codes {@code [N, K]} (0..15, any integer dtype) to U8 {@code [N, K/2]}
     * with {@code byte = (u[2j] << 4) | u[2j+1]}: the even column in the HIGH nibble (the opposite of plain).
     */
    public static Tensor prepack(Tensor codes) {
        Rows.requireRank("tinygemm codes", codes, 2);
        if (!codes.dtype().isIntegral() || codes.shape().cols() % 2 != 0) {
            throw new UnsupportedFormatException("tinygemm codes: need an integer [N, K] tensor with even K, found "
                    + codes.dtype().torchName() + codes.shape());
        }
        long n = codes.shape().dim(0);
        long half = codes.shape().dim(1) / 2;
        Tensor out = Tensor.allocate(DType.U8, Shape.of(n, half));
        for (long i = 0; i < n * half; i++) {
            long hi = codes.getLong(2 * i);
            long lo = codes.getLong(2 * i + 1);
            if ((hi & ~0xFL) != 0 || (lo & ~0xFL) != 0) {
                throw new UnsupportedFormatException("tinygemm codes: values must be 0..15, found " + hi + ", "
                        + lo + " at flat index " + 2 * i);
            }
            out.setByte(i, (byte) ((hi << 4) | lo));
        }
        return out;
    }

    /**
     * {@code aten._convert_weight_to_int4pack(prepacked, innerKTiles)} (CUDA): U8 {@code [N, K/2]} from
     * {@link #prepack} to int32 {@code [N/8, K/(16*innerKTiles), 32, innerKTiles/2]}; {@code N} must be a
     * multiple of 8 and {@code K} of {@code 16*innerKTiles}.
     *
     * <p>The layout serves the m16n8k16 tensor-core MMA, whose B operand (a 16(k) x 8(n) tile) is spread over a
     * 32-lane warp: lane {@code t} holds column {@code n = t / 4} and rows {@code k = 2(t%4), +1, +8, +9}.
     * Element {@code [nt][kt][t][w]} is the int32 that lane {@code t} loads for n-tile {@code nt}, k-tiles
     * {@code kt*innerKTiles + 2w} and {@code + 2w + 1}; its nibble {@code i} (bits {@code 4i..4i+3}) holds
     * <pre>
     *   u[n][k],  n = 8*nt + t/4,
     *             k = 16*innerKTiles*kt + 16*(2w + (i>>1 &amp; 1)) + 2*(t%4) + (i>>2) + 8*(i &amp; 1)
     * </pre>
     * i.e. nibbles 0..3 are the even-k values (k0, k0+8 of the first k-tile, then of the second), nibbles 4..7
     * the odd-k ones in the same order; the kernel's int4-to-bf16 conversion pulls out pairs (i, i+4).
     * Derived from the golden tensors and cross-checked against PyTorch's kernel description.
     */
    public static Tensor convertWeightToInt4Pack(Tensor prepacked, int innerKTiles) {
        if (!validInnerKTiles(innerKTiles)) {
            throw new InvalidConfigException("_convert_weight_to_int4pack: inner_k_tiles must be 2, 4 or 8, found "
                    + innerKTiles);
        }
        Rows.requireRank("int4pack input", prepacked, 2);
        if (prepacked.dtype() != DType.U8) {
            throw new UnsupportedFormatException("int4pack input: dtype must be uint8, found "
                    + prepacked.dtype().torchName());
        }
        long n = prepacked.shape().dim(0);
        long k = prepacked.shape().dim(1) * 2;
        if (n % N_TILE != 0 || k % ((long) K_TILE * innerKTiles) != 0 || k > Integer.MAX_VALUE - 8) {
            throw new UnsupportedFormatException("int4pack input: N must be a multiple of 8 and K of "
                    + K_TILE * innerKTiles + ", found [N, K/2] = " + prepacked.shape());
        }
        int kk = (int) k;
        Tensor out = Tensor.allocate(DType.I32,
                Shape.of(n / N_TILE, k / ((long) K_TILE * innerKTiles), LANES, innerKTiles / 2));
        byte[] codes = new byte[N_TILE * kk];
        for (long nt = 0; nt < n / N_TILE; nt++) {
            for (int r = 0; r < N_TILE; r++) {
                for (int j = 0; j < kk / 2; j++) {
                    int b = prepacked.getByte((nt * N_TILE + r) * (kk / 2) + j) & 0xFF;
                    codes[r * kk + 2 * j] = (byte) (b >>> 4);
                    codes[r * kk + 2 * j + 1] = (byte) (b & 0xF);
                }
            }
            packTile(codes, kk, innerKTiles, out, nt);
        }
        return out;
    }

    /** The inverse of {@link #prepack} then {@link #convertWeightToInt4Pack}: U8 codes {@code [N', K']}. */
    public static Tensor unpackCodes(Tensor qdata) {
        Rows.requireRank("int4pack qdata", qdata, 4);
        Shape sh = qdata.shape();
        if (qdata.dtype() != DType.I32 || sh.dim(2) != LANES || !validInnerKTiles(sh.dim(3) * 2)) {
            throw new UnsupportedFormatException("int4pack qdata: expected int32 [N/8, K/(16*ikt), 32, ikt/2] with"
                    + " ikt in {2, 4, 8}, found " + qdata.dtype().torchName() + sh);
        }
        int ikt = (int) sh.dim(3) * 2;
        long nTiles = sh.dim(0);
        long k = sh.dim(1) * K_TILE * ikt;
        if (k > Integer.MAX_VALUE - 8) {
            throw new UnsupportedFormatException("int4pack qdata: K too large: " + k);
        }
        int kk = (int) k;
        Tensor codes = Tensor.allocate(DType.U8, Shape.of(nTiles * N_TILE, k));
        int words = ikt / 2;
        for (long nt = 0; nt < nTiles; nt++) {
            for (long kt = 0; kt < sh.dim(1); kt++) {
                for (int t = 0; t < LANES; t++) {
                    for (int w = 0; w < words; w++) {
                        int word = (int) qdata.getLong(((nt * sh.dim(1) + kt) * LANES + t) * words + w);
                        long n = nt * N_TILE + t / 4;
                        for (int i = 0; i < 8; i++) {
                            long col = kt * K_TILE * ikt + kOffset(w, t, i);
                            codes.setByte(n * kk + col, (byte) ((word >>> (4 * i)) & 0xF));
                        }
                    }
                }
            }
        }
        return codes;
    }

    /** tinygemm's {@code scale_and_zero}: scale and zero {@code [N, G]} (same dtype) to {@code [G, N, 2]}. */
    public static Tensor packScaleAndZero(Tensor scale, Tensor zero) {
        Rows.requireRank("tinygemm scale", scale, 2);
        if (!scale.shape().equals(zero.shape()) || scale.dtype() != zero.dtype()) {
            throw new UnsupportedFormatException("tinygemm scale/zero: need equal dtype and shape, found " + scale
                    + " and " + zero);
        }
        long n = scale.shape().dim(0);
        long g = scale.shape().dim(1);
        Tensor out = Tensor.allocate(scale.dtype(), Shape.of(g, n, 2));
        for (long r = 0; r < n; r++) {
            for (long j = 0; j < g; j++) {
                out.setFloat((j * n + r) * 2, scale.getFloat(r * g + j));
                out.setFloat((j * n + r) * 2 + 1, zero.getFloat(r * g + j));
            }
        }
        return out;
    }

    /**
     * The weight the tinygemm kernel multiplies with, bf16 {@code [N, K]} (padding dropped): per element
     * {@code bf16((u - 8) * scale + zero)} with ONE rounding, as the kernel's bf16x2 fused multiply-add does.
     * Matches {@code _weight_int4pack_mm(eye, qdata, g, scale_and_zero)} on the golden data.
     */
    public static Tensor dequantize(Int4TilePackedTo4dTensor t) {
        Shape shape = t.shape();
        if (shape.rank() != 2) {
            throw new UnsupportedFormatException("Int4TilePackedTo4dTensor: expected a 2-D weight shape, found "
                    + shape);
        }
        Tensor codes = unpackCodes(t.qdata());
        long nPad = codes.shape().dim(0);
        long kPad = codes.shape().dim(1);
        long n = shape.dim(0);
        long k = shape.dim(1);
        int g = Math.toIntExact(t.blockSize().dim(-1));
        Shape szShape = Shape.of(kPad / g, nPad, 2);
        if (nPad < n || kPad < k || kPad % g != 0 || !t.scaleAndZero().shape().equals(szShape)) {
            throw new UnsupportedFormatException("Int4TilePackedTo4dTensor: qdata covers [" + nPad + ", " + kPad
                    + "] and scale_and_zero is " + t.scaleAndZero().shape() + "; expected at least " + shape
                    + " and " + szShape);
        }
        Tensor sz = t.scaleAndZero();
        Tensor out = Tensor.allocate(DType.BF16, shape);
        for (long r = 0; r < n; r++) {
            for (long c = 0; c < k; c++) {
                long at = ((c / g) * nPad + r) * 2;
                float v = (float) (codes.getLong(r * kPad + c) - 8);
                out.data().setAtIndex(Tensor.I16, r * k + c, fmaBf16(v, sz.getFloat(at), sz.getFloat(at + 1)));
            }
        }
        return out;
    }

    /**
     * {@code bf16(a * b + c)} rounded once (nearest even), for f32 inputs. {@code a*b} is exact in double; the sum
     * is kept exactly as a double pair, rounded to f32 with round-to-odd (which makes the second rounding to bf16
     * correct because f32 has more than two extra bits), then to bf16.
     */
    static short fmaBf16(float a, float b, float c) {
        double p = (double) a * b;
        double s = p + c;
        if (!Double.isFinite(s) || Double.isNaN(p)) return Bf16.fromFloat((float) s);
        double bp = s - p;
        double err = (p - (s - bp)) + (c - bp);  // TwoSum: s + err == p + c exactly
        float f = (float) s;
        double diff = (s - (double) f) + err;    // sign of (exact - f); zero iff f is exact
        if (diff == 0) return Bf16.fromFloat(f);
        if ((Float.floatToRawIntBits(f) & 1) == 0) {
            f = Math.nextAfter(f, diff > 0 ? Double.POSITIVE_INFINITY : Double.NEGATIVE_INFINITY);
        }
        return Bf16.fromFloat(f);
    }

    /** Column offset inside one outer k-tile group for word {@code w}, lane {@code t}, nibble {@code i}. */
    private static int kOffset(int w, int t, int i) {
        return K_TILE * (2 * w + ((i >> 1) & 1)) + 2 * (t % 4) + (i >> 2) + 8 * (i & 1);
    }

    /** Pack 8 rows of unsigned codes ({@code codes[r*k + col]}) into n-tile {@code nt} of {@code out}. */
    private static void packTile(byte[] codes, int k, int innerKTiles, Tensor out, long nt) {
        int words = innerKTiles / 2;
        int kTiles = k / (K_TILE * innerKTiles);
        for (int kt = 0; kt < kTiles; kt++) {
            for (int t = 0; t < LANES; t++) {
                int rowBase = (t / 4) * k + kt * K_TILE * innerKTiles;
                for (int w = 0; w < words; w++) {
                    int word = 0;
                    for (int i = 0; i < 8; i++) {
                        word |= (codes[rowBase + kOffset(w, t, i)] & 0xF) << (4 * i);
                    }
                    out.setLong(((nt * kTiles + kt) * LANES + t) * words + w, word);
                }
            }
        }
    }

    private static long ceilTo(long v, long m) {
        return (v + m - 1) / m * m;
    }

    private static boolean validInnerKTiles(long v) {
        return v == 2 || v == 4 || v == 8;
    }
}
