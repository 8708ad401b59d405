// ao4j's CUDA quantize kernels: bf16 weights in, the same bits as the Java reference out (DivMode.CUDA_RECIPROCAL).
//
// Compiled to PTX by tools/cuda/build-ptx.sh with -fmad=false, so no multiply-add is fused: every float op below
// rounds once, like the Java code it mirrors (Java never contracts either). Divisions use __fdiv_rn (IEEE), the
// scalar-division convention is a multiply by the host's f32(1 / (double) divisor).
//
// NaN bits: wherever a NaN's payload reaches the output (int4 scales and zeros, MX/NVFP4 codes), values travel as
// uint32 bit patterns and a NaN result is chosen by integer code from the operands' bits. Float instructions only
// decide *whether* a result is NaN: ptxas does not promise to keep NaN payloads in float registers (the first
// version carried them through float selects and lost them, giving 0x7FFF where Java has 0x7FC0).
//
// Fast paths: where a segment can hold no NaN or infinity (decided once per segment), the reference's f32-then-bf16
// steps run as packed bf16 instructions, divisions by a scale as a multiply by its reciprocal with fma corrections,
// and rint plus the clamp as one magic-number add; the other segments take the reference's steps one by one.
//
// Layout shared by the row kernels: a "segment" is a run of elements of one row that share a scale (a row for
// per-row, a group of g columns, an MX/NVFP4 block). TPS threads (a power of two, 1..256) own one segment; each
// thread handles chunks of 8 consecutive bf16 (one 16-byte load). A 256-thread block holds 256 / TPS segments.
// int8 / fp8: chunks strided by TPS, the first MAXC kept in registers between the reduction and the quantize pass,
// so a segment is read from memory once (longer segments re-read their tail). int4: a 32-column window per thread.
// MX / NVFP4: one chunk per thread and segment, SCALE_BLOCKS_PER_THREAD segments per thread.

#include <cuda_fp8.h>
#include <stdint.h>

#define THREADS 256
#define MAXC 8
// Blocks per SM the register-caching kernels are compiled for (caps their registers at 65536 / (256 * n)).
#ifndef CACHED_MIN_BLOCKS
#define CACHED_MIN_BLOCKS 4
#endif
// Blocks per SM the int4 kernels (a 32-column window per thread, no register cache) are compiled for.
#ifndef WINDOW_MIN_BLOCKS
#define WINDOW_MIN_BLOCKS 5
#endif
// MX / NVFP4 blocks per thread: their loads are all issued before the first block is quantized.
#ifndef SCALE_BLOCKS_PER_THREAD
#define SCALE_BLOCKS_PER_THREAD 4
#endif

typedef uint32_t u32;

// ---- scalar helpers ----------------------------------------------------------------------------------------------

__device__ __forceinline__ float F(u32 b) { return __uint_as_float(b); }
__device__ __forceinline__ u32 B(float f) { return __float_as_uint(f); }
__device__ __forceinline__ bool is_nan_bits(u32 b) { return (b & 0x7FFFFFFFu) > 0x7F800000u; }

// Java's Bf16.fromFloat on f32 bits, as bf16 bits: RNE; NaN keeps sign and payload with the quiet bit set.
__device__ __forceinline__ u32 bf16_of(u32 b) {
    if (is_nan_bits(b)) return ((b >> 16) | 0x40u) & 0xFFFFu;
    return ((b + 0x7FFFu + ((b >> 16) & 1u)) >> 16) & 0xFFFFu;
}
// The same, widened back to f32 bits.
__device__ __forceinline__ u32 bf16r(u32 b) { return bf16_of(b) << 16; }
// bf16 RNE of a value known not to be NaN (Inf stays Inf, overflow rounds to Inf).
__device__ __forceinline__ u32 bf16r_num(u32 b) { return (b + 0x7FFFu + ((b >> 16) & 1u)) & 0xFFFF0000u; }

// The x86 (SSE) NaN rule the JVM's float ops follow: a NaN operand comes back quieted (the first one if both are
// NaN); an invalid operation gives the default NaN 0xFFC00000.
__device__ __forceinline__ u32 x86_nan(u32 a, u32 b) {
    if (is_nan_bits(a)) return a | 0x00400000u;
    if (is_nan_bits(b)) return b | 0x00400000u;
    return 0xFFC00000u;
}
__device__ __forceinline__ u32 xadd(u32 a, u32 b) { float r = __fadd_rn(F(a), F(b)); return r != r ? x86_nan(a, b) : B(r); }
__device__ __forceinline__ u32 xsub(u32 a, u32 b) { float r = __fsub_rn(F(a), F(b)); return r != r ? x86_nan(a, b) : B(r); }
__device__ __forceinline__ u32 xmul(u32 a, u32 b) { float r = __fmul_rn(F(a), F(b)); return r != r ? x86_nan(a, b) : B(r); }

// CUDA's rule (what torch computes on the GPU): every NaN result is 0x7FFFFFFF.
__device__ __forceinline__ u32 cnan(float r) { return r != r ? 0x7FFFFFFFu : B(r); }

// torch.clamp(x, min=lo) on bits: NaN passes with its bits.
__device__ __forceinline__ u32 clamp_min(u32 x, float lo) { return F(x) < lo ? B(lo) : x; }
// torch.clamp(x, lo, hi) on bits: NaN passes with its bits.
__device__ __forceinline__ u32 clamp_bits(u32 x, float lo, float hi) {
    float v = F(x);
    return v < lo ? B(lo) : (v > hi ? B(hi) : x);
}

__device__ __forceinline__ void unpack8(uint4 u, u32 v[8]) {
    u32 w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
    for (int i = 0; i < 4; i++) {
        v[2 * i] = w[i] << 16;
        v[2 * i + 1] = w[i] & 0xFFFF0000u;
    }
}

__device__ __forceinline__ uint4 ld16(const uint16_t* p) { return *reinterpret_cast<const uint4*>(p); }

// ---- packed bf16 pairs (a u32 holds two bf16: the lower half is the lower column) ----------------------------------
//
// Each op rounds once, to nearest even, from the exact result: for the difference of two bf16 values that is the
// bf16 rounding of their f32 difference (exact when the exponents are close; otherwise the result lies far from
// every bf16 midpoint), so these stand in for the reference's f32-op-then-bf16 steps wherever no NaN can occur.

// RN(a * b + c) on each half.
__device__ __forceinline__ u32 bf2_fma(u32 a, u32 b, u32 c) {
    u32 d;
    asm("fma.rn.bf16x2 %0, %1, %2, %3;" : "=r"(d) : "r"(a), "r"(b), "r"(c));
    return d;
}
__device__ __forceinline__ u32 bf2_min(u32 a, u32 b) { u32 d; asm("min.bf16x2 %0, %1, %2;" : "=r"(d) : "r"(a), "r"(b)); return d; }
__device__ __forceinline__ u32 bf2_max(u32 a, u32 b) { u32 d; asm("max.bf16x2 %0, %1, %2;" : "=r"(d) : "r"(a), "r"(b)); return d; }
// min / max that return the canonical NaN when either operand is NaN (like torch.amin / amax).
__device__ __forceinline__ u32 bf2_min_nan(u32 a, u32 b) { u32 d; asm("min.NaN.bf16x2 %0, %1, %2;" : "=r"(d) : "r"(a), "r"(b)); return d; }
__device__ __forceinline__ u32 bf2_max_nan(u32 a, u32 b) { u32 d; asm("max.NaN.bf16x2 %0, %1, %2;" : "=r"(d) : "r"(a), "r"(b)); return d; }
// (bf16(hi) << 16) | bf16(lo), each rounded to nearest even from f32.
__device__ __forceinline__ u32 bf2_of(float lo, float hi) {
    u32 d;
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(d) : "f"(hi), "f"(lo));
    return d;
}
__device__ __forceinline__ float bf2_lo(u32 p) { return F(p << 16); }
__device__ __forceinline__ float bf2_hi(u32 p) { return F(p & 0xFFFF0000u); }
__device__ __forceinline__ u32 bf2_splat(u32 f32bits) { return (f32bits >> 16) * 0x10001u; }

// RN(x / s) for finite x with |x / s| below 2^64, given r = RN(1 / s) and 2^-64 <= s <= 2^64 (so s > 0): x * r is within
// 2 ulp of the quotient and one correction (the residual x - q * s is exact in an fma) lands on it whenever the
// quotient is an f32 number with a few significant bits; otherwise the result is within 2^-40 relative of it.
// The callers only round the result further to a format of at most 9 significant bits and divide values with at
// most 8 (bf16) by bf16 scales: such a quotient is either exactly one of those short numbers or 2^-14 relative
// away from every rounding boundary, so the coarse rounding of this result equals that of RN(x / s).
// s is positive (a scale), so the quotient has x's sign: restoring it keeps -0 / s = -0 (the correction adds +0).
__device__ __forceinline__ float div_short(float x, float s, float r) {
    float q = __fmul_rn(x, r);
    float e = __fmaf_rn(-q, s, x);
    return copysignf(__fmaf_rn(e, r, q), x);
}

// RN(x / s), f32, for finite x and s in [2^-64, 2^64] with r = RN(1 / s) and the quotient below 2^64 in magnitude:
// two corrections of x * r (each residual exact in an fma): the first brings it within an ulp, the second makes it
// correctly rounded (Markstein's theorem: a quotient within an ulp, corrected with the correctly rounded reciprocal).
__device__ __forceinline__ float div_rn(float x, float s, float r) {
    float q = div_short(x, s, r);
    float e = __fmaf_rn(-q, s, x);
    return copysignf(__fmaf_rn(e, r, q), x);
}

// ---- segments ----------------------------------------------------------------------------------------------------

// Combine the values of the TPS threads of a segment; every thread of the block must call it (it syncs when
// TPS > 32), and every thread gets its segment's result.
template <typename T, typename Op>
__device__ __forceinline__ T seg_reduce(T v, int tps, Op op) {
    int width = tps < 32 ? tps : 32;
    for (int o = width / 2; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(0xFFFFFFFFu, v, o));
    if (tps > 32) {
        __shared__ T buf[THREADS / 32];
        int warp = threadIdx.x / 32;
        if ((threadIdx.x & 31) == 0) buf[warp] = v;
        __syncthreads();
        int first = warp / (tps / 32) * (tps / 32);
        v = buf[first];
        for (int i = 1; i < tps / 32; i++) v = op(v, buf[first + i]);
        __syncthreads();
    }
    return v;
}

struct MinOp { __device__ float operator()(float a, float b) const { return fminf(a, b); } };
struct MaxOp { __device__ float operator()(float a, float b) const { return fmaxf(a, b); } };
struct OrOp { __device__ u32 operator()(u32 a, u32 b) const { return a | b; } };
struct UMaxOp { __device__ u32 operator()(u32 a, u32 b) const { return a > b ? a : b; } };

struct Seg {
    u32 seg;    // segment index within the launch, row-major: row * segsPerRow + j
    u32 row;
    u32 col0;
    int lane;   // thread index within the segment
    bool valid;
};

// Segment indices fit 32 bits: a launch covers one chunk of at most a few GiB with segments of >= 8 elements.
__device__ __forceinline__ Seg segment_at(u32 seg, unsigned long long nsegs, u32 spr, int seglen, int tps) {
    Seg s;
    s.seg = seg;
    s.lane = threadIdx.x & (tps - 1);
    s.valid = s.seg < nsegs;
    s.row = s.seg / spr;
    s.col0 = (s.seg - s.row * spr) * (u32)seglen;
    return s;
}

// The segment of this thread when each block holds THREADS / tps of them.
__device__ __forceinline__ Seg segment_of(unsigned long long nsegs, u32 spr, int seglen, int tps) {
    return segment_at(blockIdx.x * (u32)(THREADS / tps) + threadIdx.x / (u32)tps, nsegs, spr, seglen, tps);
}

// The `per` segments of this thread when each thread holds that many of one chunk each (tps threads per segment):
// segment groups of THREADS / tps, block-major, so that each group's loads are contiguous. One division for the
// first; the others step along the row (one division each only when a step spans a whole row).
template <int per>
__device__ __forceinline__ void segments_of(Seg (&sg)[per], unsigned long long nsegs, u32 spr, int seglen, int tps) {
    u32 step = (u32)(THREADS / tps);
    sg[0] = segment_at(blockIdx.x * (u32)per * step + threadIdx.x / (u32)tps, nsegs, spr, seglen, tps);
#pragma unroll
    for (int r = 1; r < per; r++) {
        if (step >= spr) {
            sg[r] = segment_at(sg[r - 1].seg + step, nsegs, spr, seglen, tps);
            continue;
        }
        Seg t = sg[r - 1];
        t.seg += step;
        t.valid = t.seg < nsegs;
        u32 j = t.col0 / (u32)seglen + step;
        if (j >= spr) {
            j -= spr;
            t.row++;
        }
        t.col0 = j * (u32)seglen;
        sg[r] = t;
    }
}

// Pass 1 over a thread's chunks of its segment: the first MAXC are loaded into `cache` (independent loads, all in
// flight at once) and handed to f; the rest are loaded and handed to f.
template <typename L, typename Fn>
__device__ __forceinline__ void pass1(uint4 (&cache)[MAXC], int lane, int tps, int nch, bool valid, L load, Fn f) {
#pragma unroll
    for (int i = 0; i < MAXC; i++) {
        int ch = lane + i * tps;
        if (valid && ch < nch) cache[i] = load(ch);
    }
#pragma unroll
    for (int i = 0; i < MAXC; i++) {
        int ch = lane + i * tps;
        if (valid && ch < nch) f(cache[i]);
    }
    if (valid) {
        for (int ch = lane + MAXC * tps; ch < nch; ch += tps) f(load(ch));
    }
}

// Pass 2: the same chunks again, from the registers where pass 1 kept them.
template <typename L, typename Fn>
__device__ __forceinline__ void pass2(const uint4 (&cache)[MAXC], int lane, int tps, int nch, L load, Fn f) {
#pragma unroll
    for (int i = 0; i < MAXC; i++) {
        int ch = lane + i * tps;
        if (ch < nch) f(ch, cache[i]);
    }
    for (int ch = lane + MAXC * tps; ch < nch; ch += tps) f(ch, load(ch));
}

// min, max of a segment (torch.amin / amax: a NaN anywhere makes both the canonical NaN 0x7FC00000, as Java's
// reference canonicalizes them). Accumulated on bf16 pairs with NaN-propagating min / max (exact: they select).
struct MinMax {
    u32 lo2 = 0x7F807F80u, hi2 = 0xFF80FF80u;
    __device__ __forceinline__ void add(uint4 u) {
        lo2 = bf2_min_nan(bf2_min_nan(lo2, u.x), bf2_min_nan(u.y, bf2_min_nan(u.z, u.w)));
        hi2 = bf2_max_nan(bf2_max_nan(hi2, u.x), bf2_max_nan(u.y, bf2_max_nan(u.z, u.w)));
    }
    // After this every thread holds its segment's values, returned as f32 bits.
    __device__ __forceinline__ void reduce(int tps, u32& mn, u32& mx) {
        u32 nan = is_nan_bits(lo2 << 16) || is_nan_bits(lo2 & 0xFFFF0000u) ? 1u : 0u;
        float lo = fminf(bf2_lo(lo2), bf2_hi(lo2)), hi = fmaxf(bf2_lo(hi2), bf2_hi(hi2));
        lo = seg_reduce(lo, tps, MinOp());
        hi = seg_reduce(hi, tps, MaxOp());
        nan = seg_reduce(nan, tps, OrOp());
        mn = nan ? 0x7FC00000u : B(lo);
        mx = nan ? 0x7FC00000u : B(hi);
    }
};

// Largest |x| of a segment as f32 bits with the sign cleared: non-NaN patterns order like magnitudes and a NaN
// (bf16's canonical 0x7FFF after the NaN-propagating max) exceeds them all.
struct AbsMax {
    u32 m2 = 0;
    __device__ __forceinline__ void add(uint4 u) {
        const u32 abs = 0x7FFF7FFFu;
        m2 = bf2_max_nan(bf2_max_nan(m2, u.x & abs), bf2_max_nan(u.y & abs, bf2_max_nan(u.z & abs, u.w & abs)));
    }
    __device__ __forceinline__ u32 bits() const { return max(m2 << 16, m2 & 0xFFFF0000u); }
};

__device__ __forceinline__ u32 abs_max_of(uint4 u) {
    AbsMax a;
    a.add(u);
    return a.bits();
}

// Codes of 8 values already clamped to [qmin, qmax] (no NaN), as int8 bytes: RNE to an integer by adding 1.5 * 2^23
// (the integer then sits in the low mantissa bits, two's complement in the low byte).
__device__ __forceinline__ uint2 int8_pack(const float (&y)[8]) {
    u32 m[8];
#pragma unroll
    for (int i = 0; i < 8; i++) m[i] = B(__fadd_rn(y[i], 12582912.0f));
    return make_uint2(__byte_perm(__byte_perm(m[0], m[1], 0x0040), __byte_perm(m[2], m[3], 0x0040), 0x5410),
                      __byte_perm(__byte_perm(m[4], m[5], 0x0040), __byte_perm(m[6], m[7], 0x0040), 0x5410));
}

// ---- int8: Int8Tensor.from_hp, symmetric, blocks [1, seglen] ------------------------------------------------------

// scale = clamp(bf16(max(-min(mn,0), max(mx,0)) * c), eps) stored f32 (canonical NaN); q = clamp(rne(x * f32(1 /
// scale)), qmin, qmax), NaN -> 0.
extern "C" __global__ void __launch_bounds__(THREADS, CACHED_MIN_BLOCKS)
int8_sym(const uint16_t* x, long long rows, long long cols, int seglen, int tps, int8_t* q, u32* scale, float c,
         float eps, int qmin, int qmax) {
    u32 spr = (u32)(cols / seglen);
    Seg s = segment_of((unsigned long long)rows * spr, spr, seglen, tps);
    const uint16_t* base = x + (long long)s.row * cols + s.col0;
    auto load = [&](int ch) { return ld16(base + 8 * ch); };
    int nch = seglen / 8;
    uint4 cache[MAXC];
    // max(-min(mn, 0), max(mx, 0)) is max |x| (up to the sign of a zero, which the eps clamp erases)
    AbsMax am;
    pass1(cache, s.lane, tps, nch, s.valid, load, [&](uint4 u) { am.add(u); });
    u32 a = seg_reduce(am.bits(), tps, UMaxOp());
    if (!s.valid) return;
    u32 sc = is_nan_bits(a) ? 0x7FC00000u : clamp_min(bf16r_num(B(__fmul_rn(F(a), c))), eps);
    if (s.lane == 0) scale[s.seg] = sc;
    float inv = __fdiv_rn(1.0f, F(sc));
    // a finite scale means every x is finite, so x * inv is never NaN (it may overflow to an infinity, clamped)
    bool fast = F(sc) < __int_as_float(0x7F800000);
    float lo = (float)qmin, hi = (float)qmax;
    int8_t* out = q + (long long)s.row * cols + s.col0;
    pass2(cache, s.lane, tps, nch, load, [&](int ch, uint4 u) {
        u32 v[8];
        unpack8(u, v);
        uint2 codes;
        if (fast) {
            float y[8];
#pragma unroll
            for (int i = 0; i < 8; i++) y[i] = fminf(fmaxf(__fmul_rn(F(v[i]), inv), lo), hi);
            codes = int8_pack(y);
        } else {
            u32 packed[2] = {0, 0};
#pragma unroll
            for (int i = 0; i < 8; i++) {
                float r = rintf(__fmul_rn(F(v[i]), inv));
                int code = r != r ? 0 : (int)fminf(fmaxf(r, lo), hi);
                packed[i / 4] |= ((u32)code & 0xFFu) << (8 * (i % 4));
            }
            codes = make_uint2(packed[0], packed[1]);
        }
        *reinterpret_cast<uint2*>(out + 8 * ch) = codes;
    });
}

// ---- int4: a thread per 32-column window ---------------------------------------------------------------------

// The int4 kernels give each thread one 32-column window of its group (tps = g / 32 threads per group; lane l owns
// columns 32l .. 32l + 31 of the group, four 8-column chunks): the codes of a window fill whole output words, so a
// thread writes them without exchanging anything. Loads the window (zeros where `real` is false) into u and m.
__device__ __forceinline__ void load_window(const uint16_t* at, bool real, uint4 (&u)[4], MinMax& m) {
#pragma unroll
    for (int c = 0; c < 4; c++) u[c] = real ? ld16(at + 8 * c) : make_uint4(0, 0, 0, 0);
#pragma unroll
    for (int c = 0; c < 4; c++) m.add(u[c]);
}

// ---- int4 tile-packed (tinygemm): Int4TilePackedTo4dTensor.from_hp ------------------------------------------------

// Groups of g along K' of the zero-padded [N', K'] weight, every op in bf16 (Java's x86 NaN rules for the stored
// scale/zero). Codes go straight into tinygemm's int32 [N'/8, K'/128, 32, 4] layout: a word (nt, kt, t, w) holds,
// in nibble i, u[8nt + t/4][128kt + 32w + 2(t%4) + (i >> 2) + 8(i & 1) + 16((i >> 1) & 1)]: of window w's four
// 8-column chunks c, word t%4 = p takes the elements 2p and 2p + 1 of every chunk, at nibbles c and c + 4.
extern "C" __global__ void __launch_bounds__(THREADS, WINDOW_MIN_BLOCKS)
int4_tinygemm(const uint16_t* x, long long n, long long k, long long n_pad, long long k_pad, int g, int tps,
              u32* packed, uint16_t* scale_zero, float c, float eps) {
    u32 spr = (u32)(k_pad / g);
    Seg s = segment_of((unsigned long long)n_pad * spr, spr, g, tps);
    long long col = (long long)s.col0 + 32LL * s.lane;  // this thread's window (K is a multiple of g >= 32)
    uint4 u[4];
    MinMax m;
    load_window(x + (long long)s.row * k + col, s.valid && s.row < n && col < k, u, m);
    u32 mn, mx;
    m.reduce(tps, mn, mx);
    if (!s.valid) return;
    const u32 mid = 0x41000000u;  // 8.0f
    u32 sc = clamp_min(bf16r(xmul(bf16r(xsub(mx, mn)), B(c))), eps);
    u32 smid = bf16r(xmul(sc, mid));
    u32 zero = bf16r(xadd(mn, smid));
    u32 low = bf16r(xsub(zero, smid));
    if (s.lane == 0) {  // (scale, zero) as one 4-byte store
        long long at = ((long long)(s.col0 / g) * n_pad + s.row) * 2;
        *reinterpret_cast<u32*>(scale_zero + at) = (sc >> 16) | (zero & 0xFFFF0000u);
    }
    float scf = F(sc), lowf = F(low);
    // fast: no NaN or infinity can arise and the scale lies in [2^-64, 2^64] (div_short's range): then every step
    // is a packed bf16 op or a short division; otherwise the reference's steps one by one
    bool fast = !is_nan_bits(mn) && !is_nan_bits(low) && scf >= 0x1p-64f && scf <= 0x1p64f;
    float rinv = __frcp_rn(scf);
    u32 words[4] = {0, 0, 0, 0};
    if (fast) {
        const u32 one2 = 0x3F803F80u, fifteen2 = 0x41704170u, magic2 = 0x43404340u;  // 1, 15, 192 = 1.5 * 2^7
        u32 neg_low2 = bf2_splat(low) ^ 0x80008000u;
#pragma unroll
        for (int ch = 0; ch < 4; ch++) {
            u32 x2[4] = {u[ch].x, u[ch].y, u[ch].z, u[ch].w};
#pragma unroll
            for (int p = 0; p < 4; p++) {
                u32 a2 = bf2_fma(x2[p], one2, neg_low2);  // bf16(x - low)
                u32 q2 = bf2_of(div_short(bf2_lo(a2), scf, rinv), div_short(bf2_hi(a2), scf, rinv));  // bf16(a / s)
                // rint(clamp(q, 0, 15)) + 192: bf16's step is 1 in [128, 256), so the add rounds to the integer
                // (ties to even, as rint) and leaves it in the low mantissa bits of each half
                u32 c2 = bf2_fma(bf2_min(bf2_max(q2, 0u), fifteen2), one2, magic2);
                words[p] |= (c2 & 0x000F000Fu) << (4 * ch);
            }
        }
    } else {
#pragma unroll
        for (int ch = 0; ch < 4; ch++) {
            u32 v[8];
            unpack8(u[ch], v);
#pragma unroll
            for (int i = 0; i < 8; i++) {
                float a = F(bf16r(B(__fsub_rn(F(v[i]), lowf))));
                float r = rintf(F(bf16r(B(__fdiv_rn(a, scf)))));
                u32 code = r != r ? 0u : (u32)fminf(fmaxf(r, 0.0f), 15.0f);
                words[i / 2] |= code << (4 * (ch + 4 * (i % 2)));
            }
        }
    }
    long long window = col / 32, kt = window / 4;
    u32* tile = packed + ((s.row / 8 * (k_pad / 128) + kt) * 32 + (s.row % 8) * 4) * 4 + window % 4;
#pragma unroll
    for (int p = 0; p < 4; p++) tile[4 * p] = words[p];
}

// ---- int4 plain (MSLK int4_row_quantize_zp): Int4Tensor.from_hp ---------------------------------------------------

// Per group of g, in f32 with Java's x86 NaN bits: scale = clamp(mx - mn, 1e-6) * c, zero = mn + scale * 8,
// u = clamp(rne((x - mn) / scale), 0, 15) (NaN -> 8); qdata int8 [N, K/2] with (u - 8) of the even column in the
// low nibble; scale and zero rounded to bf16 and stored transposed [K/g, N]. A window's codes are 16 bytes of qdata.
//
// The NaN cases, derived from the x86 rule: a NaN in the group gives mn = mx = 0x7FC00000 and so scale = zero =
// 0x7FC00000; mx - mn = Inf - Inf (both infinities of one sign) gives the default NaN for scale and zero; otherwise
// scale is a number and zero is the default NaN only for -Inf + Inf.
extern "C" __global__ void __launch_bounds__(THREADS, WINDOW_MIN_BLOCKS)
int4_mslk(const uint16_t* x, long long n, long long k, int g, int tps, u32* qdata, uint16_t* scale, uint16_t* zero,
          float c) {
    u32 spr = (u32)(k / g);
    Seg s = segment_of((unsigned long long)n * spr, spr, g, tps);
    long long at = (long long)s.row * k + s.col0 + 32LL * s.lane;  // this thread's window
    uint4 u[4];
    MinMax m;
    load_window(x + at, s.valid, u, m);
    u32 mn, mx;
    m.reduce(tps, mn, mx);
    if (!s.valid) return;
    u32 sc, z;
    bool fast = false;
    if (is_nan_bits(mn)) {
        sc = z = 0x7FC00000u;
    } else {
        float d = __fsub_rn(F(mx), F(mn));
        if (d != d) {
            sc = z = 0xFFC00000u;
        } else {
            float scf = __fmul_rn(d < 1e-6f ? 1e-6f : d, c);
            float zf = __fadd_rn(F(mn), __fmul_rn(scf, 8.0f));
            sc = B(scf);
            z = zf != zf ? 0xFFC00000u : B(zf);
            fast = scf >= 0x1p-64f && scf <= 0x1p64f;  // div_rn's range
        }
    }
    if (s.lane == 0) {
        long long o = (long long)(s.col0 / g) * n + s.row;
        scale[o] = (uint16_t)bf16_of(sc);
        zero[o] = (uint16_t)bf16_of(z);
    }
    float scf = F(sc), mnf = F(mn);
    float rinv = __frcp_rn(scf);
    u32 words[4];
#pragma unroll
    for (int ch = 0; ch < 4; ch++) {
        u32 v[8];
        unpack8(u[ch], v);
        u32 word = 0;
        if (fast) {
            // no NaN: the quotient, clamped, plus 1.5 * 2^23 - 8 leaves rint(q) - 8 in the low nibble
#pragma unroll
            for (int i = 0; i < 8; i++) {
                float qf = fminf(fmaxf(div_rn(__fsub_rn(F(v[i]), mnf), scf, rinv), 0.0f), 15.0f);
                word |= (B(__fadd_rn(qf, 12582904.0f)) & 0xFu) << (4 * i);
            }
        } else {
#pragma unroll
            for (int i = 0; i < 8; i++) {
                float r = rintf(__fdiv_rn(__fsub_rn(F(v[i]), mnf), scf));
                u32 cu = r != r ? 8u : (u32)fminf(fmaxf(r, 0.0f), 15.0f);
                word |= ((cu - 8u) & 0xFu) << (4 * i);
            }
        }
        words[ch] = word;
    }
    *reinterpret_cast<uint4*>(qdata + at / 8) = make_uint4(words[0], words[1], words[2], words[3]);
}

// ---- float8: Float8Tensor.from_hp (torch path) --------------------------------------------------------------------

// Block amax as f32 bits (sign cleared: non-NaN patterns order like magnitudes, any NaN exceeds them), combined
// over the rows of a block with atomicMax. amax must be zeroed first. Used for per-tensor scales (and NVFP4's).
extern "C" __global__ void fp8_amax(const uint16_t* x, long long rows, long long cols, int br, int bc, int tps,
                                    u32* amax) {
    u32 spr = (u32)(cols / bc);
    Seg s = segment_of((unsigned long long)rows * spr, spr, bc, tps);
    AbsMax am;
    if (s.valid) {
        const uint16_t* base = x + (long long)s.row * cols + s.col0;
        int nch = bc / 8;
        int ch = s.lane;
        for (; ch + 3 * tps < nch; ch += 4 * tps) {  // four loads in flight
            uint4 a = ld16(base + 8 * ch), b = ld16(base + 8 * (ch + tps));
            uint4 c = ld16(base + 8 * (ch + 2 * tps)), d = ld16(base + 8 * (ch + 3 * tps));
            am.add(a);
            am.add(b);
            am.add(c);
            am.add(d);
        }
        for (; ch < nch; ch += tps) am.add(ld16(base + 8 * ch));
    }
    u32 m = seg_reduce(am.bits(), tps, UMaxOp());
    if (s.valid && s.lane == 0) atomicMax(amax + (s.row / br) * spr + s.col0 / bc, m);
}

__device__ __forceinline__ u32 fp8_encode(float y, int e5m2) {
    return e5m2 ? (u32)__nv_cvt_float_to_fp8(y, __NV_SATFINITE, __NV_E5M2)
                : (u32)__nv_cvt_float_to_fp8(y, __NV_SATFINITE, __NV_E4M3);
}

// scale = bf16(amax * c) widened to f32 (NaN amax: CUDA's bf16 NaN 0x7FFF); the f32 bits.
__device__ __forceinline__ u32 fp8_scale(u32 a, float c) {
    return is_nan_bits(a) ? 0x7FFF0000u : bf16r_num(B(__fmul_rn(F(a), c)));
}

// Two fp8 codes (lo in the low byte) of values that are not NaN, saturated to the finite range: the same as the
// reference's clamp to +-fmax followed by the cast.
__device__ __forceinline__ u32 fp8x2_sat(float lo, float hi, int e5m2) {
    float2 f = make_float2(lo, hi);
    return e5m2 ? (u32)__nv_cvt_float2_to_fp8x2(f, __NV_SATFINITE, __NV_E5M2)
                : (u32)__nv_cvt_float2_to_fp8x2(f, __NV_SATFINITE, __NV_E4M3);
}

// Whether a block's f32 scale takes fp8_chunk's fast path: a number in div_short's range (so no x is NaN or
// infinite either: the scale comes from the block's largest |x|).
__device__ __forceinline__ bool fp8_fast(float sc) { return sc >= 0x1p-64f && sc <= 0x1p64f; }

// q = cast(clamp(x / scale, +-fmax)), NaN -> 0x7F, for the 8 elements of a chunk, packed little-endian. rsc =
// RN(1 / scale); fast as fp8_fast says (the quotient is then below 2^64: |x| <= amax and scale ~ amax / fmax).
__device__ __forceinline__ uint2 fp8_chunk(uint4 u, float sc, float rsc, bool fast, float fmax, int e5m2) {
    u32 v[8];
    unpack8(u, v);
    u32 packed[2] = {0, 0};
    if (fast) {
#pragma unroll
        for (int i = 0; i < 8; i += 2) {
            u32 pair = fp8x2_sat(div_short(F(v[i]), sc, rsc), div_short(F(v[i + 1]), sc, rsc), e5m2);
            packed[i / 4] |= pair << (8 * (i % 4));
        }
    } else {
#pragma unroll
        for (int i = 0; i < 8; i++) {
            float y = __fdiv_rn(F(v[i]), sc);
            u32 code = y != y ? 0x7Fu : fp8_encode(fminf(fmaxf(y, -fmax), fmax), e5m2);
            packed[i / 4] |= code << (8 * (i % 4));
        }
    }
    return make_uint2(packed[0], packed[1]);
}

// Rows of blocks [br, bc]: with br == 1 the segment's own amax (one read); else amax comes from fp8_amax.
extern "C" __global__ void __launch_bounds__(THREADS, CACHED_MIN_BLOCKS)
fp8_quant(const uint16_t* x, long long rows, long long cols, int br, int bc, int tps, const u32* amax, float c,
          float fmax, int e5m2, uint8_t* q, u32* scale) {
    u32 spr = (u32)(cols / bc);
    Seg s = segment_of((unsigned long long)rows * spr, spr, bc, tps);
    const uint16_t* base = x + (long long)s.row * cols + s.col0;
    auto load = [&](int ch) { return ld16(base + 8 * ch); };
    int nch = bc / 8;
    uint4 cache[MAXC];
    AbsMax am;  // the segment's own amax when br == 1; the chunks are cached either way (all loads in flight)
    pass1(cache, s.lane, tps, nch, s.valid, load, [&](uint4 u) {
        if (br == 1) am.add(u);
    });
    u32 a = br == 1 ? seg_reduce(am.bits(), tps, UMaxOp()) : 0u;
    if (!s.valid) return;
    long long block = (long long)(s.row / br) * spr + s.col0 / bc;
    if (br != 1) a = amax[block];
    u32 sbits = fp8_scale(a, c);
    if (s.lane == 0 && s.row % br == 0) scale[block] = sbits;
    float sc = F(sbits), rsc = __frcp_rn(sc);
    bool fast = fp8_fast(sc);
    uint8_t* out = q + (long long)s.row * cols + s.col0;
    pass2(cache, s.lane, tps, nch, load, [&](int ch, uint4 u) {
        *reinterpret_cast<uint2*>(out + 8 * ch) = fp8_chunk(u, sc, rsc, fast, fmax, e5m2);
    });
}

// One 256-thread block per [br, bc] tile (br * bc / 8 <= 256 * MAXC chunks): amax and quantize in one read.
extern "C" __global__ void __launch_bounds__(THREADS, CACHED_MIN_BLOCKS)
fp8_tile(const uint16_t* x, long long rows, long long cols, int br, int bc, float c, float fmax, int e5m2,
         uint8_t* q, u32* scale) {
    u32 bpr = (u32)(cols / bc);
    u32 b = blockIdx.x;
    u32 brow = b / bpr, bcol = b - brow * bpr;
    int cpr = bc / 8;
    int nch = br * cpr;
    auto at = [&](int ch) {
        int r = ch / cpr;
        return ((long long)brow * br + r) * cols + (long long)bcol * bc + 8LL * (ch - r * cpr);
    };
    auto load = [&](int ch) { return ld16(x + at(ch)); };
    uint4 cache[MAXC];
    AbsMax am;
    pass1(cache, threadIdx.x, THREADS, nch, true, load, [&](uint4 u) { am.add(u); });
    u32 a = seg_reduce(am.bits(), THREADS, UMaxOp());
    u32 sbits = fp8_scale(a, c);
    if (threadIdx.x == 0) scale[b] = sbits;
    float sc = F(sbits), rsc = __frcp_rn(sc);
    bool fast = fp8_fast(sc);
    pass2(cache, threadIdx.x, THREADS, nch, load, [&](int ch, uint4 u) {
        *reinterpret_cast<uint2*>(q + at(ch)) = fp8_chunk(u, sc, rsc, fast, fmax, e5m2);
    });
}

// ---- MX and NVFP4 (torchao to_mx / nvfp4_quantize, CUDA NaN convention) -------------------------------------------

// This thread's `per` MX / NVFP4 blocks of `seglen` columns (one chunk each) of a [rows, cols] chunk whose rows past
// rows_real are swizzle padding (not valid, zeros): every load is in flight before the first block is reduced.
template <int per>
__device__ __forceinline__ void load_blocks(const uint16_t* x, long long rows_real, long long rows, long long cols,
                                            int seglen, int tps, Seg (&sg)[per], uint4 (&u)[per]) {
    u32 spr = (u32)(cols / seglen);
    segments_of(sg, (unsigned long long)rows * spr, spr, seglen, tps);
#pragma unroll
    for (int r = 0; r < per; r++) {
        sg[r].valid = sg[r].valid && sg[r].row < rows_real;
        u[r] = sg[r].valid ? ld16(x + (long long)sg[r].row * cols + sg[r].col0 + 8LL * sg[r].lane)
                           : make_uint4(0, 0, 0, 0);
    }
}

// Byte offset of plain scale (r, c) of a [*, cols] scale in the 128x4-tile swizzled layout (ScaleSwizzle).
__device__ __forceinline__ long long swizzle_offset(u32 r, u32 c, u32 cols) {
    u32 tiles_per_row = (cols + 3) / 4;
    long long tile = (long long)(r / 128) * tiles_per_row + c / 4;
    u32 tr = r % 128;
    return tile * 512 + (tr % 32) * 16 + (tr / 32) * 4 + c % 4;
}

// torchao's fp4 e2m1 encoder (MxFloat(2, 1).fromFloat) on f32 bits: saturating RNE; NaN runs through the same
// integer arithmetic as a normal value.
__device__ __forceinline__ u32 fp4_code(u32 b) {
    u32 abs = b & 0x7FFFFFFFu;
    float a = F(abs);
    // [0, 1): the subnormal grid of steps 0.5 with ties to the even code is rint(2a) (2a is exact)
    float sub = rintf(__fmul_rn(a, 2.0f));
    // [1, 6) and NaN: re-bias the exponent, round the mantissa to 1 bit with integer arithmetic
    int v = (int)abs + ((1 - 127) << 23) + ((1 << 21) - 1) + (int)((abs >> 22) & 1u);
    int norm = (v >> 22) & 0xFF;
    int code = a >= 6.0f ? 7 : (a < 1.0f ? (int)sub : norm);
    return (u32)(code | ((int)b < 0 ? 8 : 0)) & 0xFFu;
}

// fp4_code for a value that is not NaN, with float ops only: e2m1's step is 0.5 below 2, 1 in [2, 4) and 2 from 4,
// so a scaled to a step of 1 and rounded by adding 1.5 * 2^23 (ties to even, like the encoder) gives the code's
// offset within its range; past 6 (and for infinities) the sum saturates at code 7.
__device__ __forceinline__ u32 fp4_code_num(u32 b) {
    float a = F(b & 0x7FFFFFFFu);
    float s = a < 2.0f ? 2.0f : (a < 4.0f ? 1.0f : 0.5f);
    u32 base = a < 2.0f ? 0u : (a < 4.0f ? 2u : 4u);
    u32 code = min(B(__fmaf_rn(a, s, 12582912.0f)) - 0x4B400000u + base, 7u);
    return code | ((b >> 28) & 8u);
}

// fp4 codes of a pair of bf16 values that are not NaN (lower half first): codes in bits 0-3 and 16-19. With a = |y|,
// the code is min(rint(2a), rint(a) + 2, rint(a / 2) + 4, 7): each term is e2m1's rounding on one of its ranges
// (step 0.5 below 2, 1 up to 4, 2 beyond) and exceeds the others outside its range. Each rint comes from a single
// packed bf16 fma into 192 + base, where bf16's step is 1 (ties to even, as the encoder); 192 + code keeps the code
// in its low mantissa bits. Same codes as fp4_code_num (checked over every bf16 value).
__device__ __forceinline__ u32 fp4x2_of_bf16(u32 y2) {
    u32 a2 = y2 & 0x7FFF7FFFu;
    u32 t1 = bf2_fma(a2, 0x40004000u, 0x43404340u);  // 2a + 192
    u32 t2 = bf2_fma(a2, 0x3F803F80u, 0x43424342u);  // a + 194
    u32 t4 = bf2_fma(a2, 0x3F003F00u, 0x43444344u);  // a / 2 + 196
    u32 m = bf2_min(bf2_min(t1, t2), bf2_min(t4, 0x43474347u));  // ..., 199
    return (m & 0x00070007u) | ((y2 >> 12) & 0x00080008u);
}

// A pair of f32 values that are not NaN as bf16 rounded to odd (truncated, the last bit set when bits were
// dropped): rounding that to e2m1 (at most 2 significant bits, 6 fewer than bf16's) gives the f32 value's rounding.
__device__ __forceinline__ u32 bf2_round_odd(float lo, float hi) {
    u32 l = B(lo), h = B(hi);
    return __byte_perm(l, h, 0x7632) | min(l & 0xFFFFu, 1u) | (min(h & 0xFFFFu, 1u) << 16);
}

// Byte p of a word of e2m1 codes from fp4x2_of_bf16's pair (first value in the low nibble).
__device__ __forceinline__ u32 fp4_byte(u32 c2) { return (c2 | (c2 >> 12)) & 0xFFu; }

// The fp8 code of already clamped f32 bits (torch's RNE cast; a NaN gives 0x7F with its sign).
__device__ __forceinline__ u32 fp8_code(u32 y, int e5m2) {
    return is_nan_bits(y) ? (((y >> 24) & 0x80u) | 0x7Fu) : fp8_encode(F(y), e5m2);
}

// E8M0 code of a block whose largest |x| has bits amax (MxScale.e8m0). scaling: 0 FLOOR, 1 CEIL, 2 EVEN, 3 RCEIL.
__device__ __forceinline__ u32 e8m0_code(u32 amax, int scaling, int mbits, int target_max_pow2, float inv_max) {
    if (is_nan_bits(amax)) return 255u;
    if (scaling == 3) {
        float d = __fmul_rn(F(amax), inv_max);
        int e;
        if (d == __int_as_float(0x7F800000)) {
            e = 127;
        } else if (d == 0.0f) {
            e = -127;
        } else {
            u32 db = B(d), mant = db & 0x7FFFFFu, ex = db >> 23;
            float l;
            if (mant == 0 && ex != 0) {
                l = (float)((int)ex - 127);
            } else if (ex != 0 && mant > (1u << 9) && mant < (1u << 23) - (1u << 10)) {
                // d = m * 2^E with m in (1 + 2^-14, 2 - 2^-13): log2(m) is more than 2^-15 from 0 and from 1, more
                // than half an f32 ulp of any |E + log2 m| <= 128, so the rounded log2 lies strictly between E
                // and E + 1 and its ceiling is E + 1
                l = (float)((int)ex - 126);
            } else {
                // the reference's log2f: the double logarithm divided by ln 2, rounded to f32
                l = __double2float_rn(__ddiv_rn(log((double)d), 0.69314718055994530942));
            }
            e = (int)ceilf(l);
            e = e < -127 ? -127 : (e > 127 ? 127 : e);
        }
        return (u32)(e + 127);
    }
    u32 b = amax;
    if (scaling == 2) b = (b + (1u << (23 - mbits - 1))) & 0xFF800000u;
    int e = (int)((b >> 23) & 0xFFu) - 127;
    if (scaling == 1 && (b & 0x7FFFFFu) != 0) e++;
    int unb = e - target_max_pow2;
    unb = unb < -127 ? -127 : (unb > 128 ? 128 : unb);
    return (u32)(unb + 127);
}

// Blocks of 32 (tps 4, one chunk per thread, SCALE_BLOCKS_PER_THREAD blocks per thread) of a [rows, cols] chunk
// whose rows past rows_real are swizzle padding (the host zeroes the scale buffer; their scales stay 0). elem: 0 fp8
// e4m3, 1 fp8 e5m2, 2 fp4 e2m1 (packed).
extern "C" __global__ void mx_quant(const uint16_t* x, long long rows_real, long long rows, long long cols,
                                    int elem, int scaling, int mbits, int target_max_pow2, float fmax,
                                    float inv_max, uint8_t* q, uint8_t* scale) {
    const int tps = 4, per = SCALE_BLOCKS_PER_THREAD;
    u32 spr = (u32)(cols / 32);
    Seg sg[per];
    uint4 u[per];
    load_blocks(x, rows_real, rows, cols, 32, tps, sg, u);
#pragma unroll
    for (int r = 0; r < per; r++) {
        u32 a = seg_reduce(abs_max_of(u[r]), tps, UMaxOp());
        if (!sg[r].valid) continue;
        long long at = (long long)sg[r].row * cols + sg[r].col0 + 8LL * sg[r].lane;
        u32 code = e8m0_code(a, scaling, mbits, target_max_pow2, inv_max);
        if (sg[r].lane == 0) scale[swizzle_offset(sg[r].row, sg[r].col0 / 32, spr)] = (uint8_t)code;
        u32 v[8];
        unpack8(u[r], v);
        if (code != 255u) {
            // x / 2^(code - 127) is the exact scaling x * 2^(127 - code) (RCEIL: 1.0 for code 0, 2^-127 for 254, as
            // below); no NaN: the block's amax is a number
            u32 m = scaling == 3 && code == 0u ? 0x3F800000u : code == 254u ? 0x00400000u
                    : (254u - (code < 1u ? 1u : code)) << 23;
            float mult = F(m);
            if (elem == 2 && code != 254u) {
                // the multiplier is a normal power of two: x * mult is exact in bf16 (or underflows to a code 0)
                u32 mult2 = bf2_splat(m), x2[4] = {u[r].x, u[r].y, u[r].z, u[r].w}, word = 0;
#pragma unroll
                for (int p = 0; p < 4; p++) word |= fp4_byte(fp4x2_of_bf16(bf2_fma(x2[p], mult2, 0x80008000u))) << (8 * p);
                *reinterpret_cast<u32*>(q + at / 2) = word;
            } else if (elem == 2) {
                u32 word = 0;
#pragma unroll
                for (int i = 0; i < 8; i += 2) {
                    u32 pair = fp4_code_num(B(__fmul_rn(F(v[i]), mult)))
                               | (fp4_code_num(B(__fmul_rn(F(v[i + 1]), mult))) << 4);
                    word |= (pair & 0xFFu) << (4 * i);
                }
                *reinterpret_cast<u32*>(q + at / 2) = word;
            } else {
                u32 packed[2] = {0, 0};
#pragma unroll
                for (int i = 0; i < 8; i += 2) {
                    u32 pair = fp8x2_sat(__fmul_rn(F(v[i]), mult), __fmul_rn(F(v[i + 1]), mult), elem);
                    packed[i / 4] |= pair << (8 * (i % 4));
                }
                *reinterpret_cast<uint2*>(q + at) = make_uint2(packed[0], packed[1]);
            }
            continue;
        }
        // code 255: a NaN amax (RCEIL's multiplier is then NaN) or a scale past the E8M0 range (a division by +Inf)
        u32 y[8];
#pragma unroll
        for (int i = 0; i < 8; i++) {
            y[i] = scaling == 3 ? 0x7FFFFFFFu : cnan(__fdiv_rn(F(v[i]), __int_as_float(0x7F800000)));
            if (elem != 2) y[i] = clamp_bits(y[i], -fmax, fmax);
        }
        if (elem == 2) {
            u32 word = 0;
#pragma unroll
            for (int i = 0; i < 8; i += 2) word |= ((fp4_code(y[i]) | (fp4_code(y[i + 1]) << 4)) & 0xFFu) << (4 * i);
            *reinterpret_cast<u32*>(q + at / 2) = word;
        } else {
            u32 packed[2] = {0, 0};
#pragma unroll
            for (int i = 0; i < 8; i++) packed[i / 4] |= fp8_code(y[i], elem) << (8 * (i % 4));
            *reinterpret_cast<uint2*>(q + at) = make_uint2(packed[0], packed[1]);
        }
    }
}

// f32 bits of an e4m3fn code (Float8E4M3Fn.toFloatBits): NaN codes give sign | 0x7FF00000.
__device__ __forceinline__ u32 e4m3_bits(u32 c8) {
    u32 sign = (c8 & 0x80u) << 24;
    u32 e = (c8 >> 3) & 0xFu, m = c8 & 7u;
    if (e == 0xFu && m == 7u) return sign | 0x7FF00000u;
    if (e == 0) return sign | B((float)m * 0x1p-9f);
    return sign | ((e + 120u) << 23) | (m << 20);
}

// Blocks of 16 (tps 2, one chunk per thread). With use_pts the per-tensor scale is f32(amax[0]) * f32(1/2688)
// (amax from fp8_amax over the whole tensor, launched before; this launch then covers the whole tensor) and is
// written to pts_out by the thread of segment 0. Rows past rows_real are swizzle padding, as in mx_quant.
extern "C" __global__ void nvfp4_quant(const uint16_t* x, long long rows_real, long long rows, long long cols,
                                       const u32* amax, int use_pts, float inv_2688, float inv_6, uint8_t* q,
                                       uint8_t* scale, u32* pts_out) {
    const int tps = 2, per = SCALE_BLOCKS_PER_THREAD;
    u32 spr = (u32)(cols / 16);
    Seg sg[per];
    uint4 u[per];
    load_blocks(x, rows_real, rows, cols, 16, tps, sg, u);
    u32 pts = 0;
    if (use_pts) {
        u32 am = amax[0];
        if (is_nan_bits(am)) am = 0x7FC00000u;
        pts = cnan(__fmul_rn(F(am), inv_2688));
    }
    // the block multiplier for each of the 256 e4m3 scale codes, (1 / pts) / scale or 1 / scale, one per thread
    __shared__ u32 mult_of[256];
    {
        u32 sb = e4m3_bits(threadIdx.x);
        mult_of[threadIdx.x] = use_pts ? cnan(__fdiv_rn(F(cnan(__fdiv_rn(1.0f, F(pts)))), F(sb)))
                                       : cnan(__fdiv_rn(1.0f, F(sb)));
    }
    __syncthreads();
    float pts_f = F(pts), pts_r = __frcp_rn(pts_f);
    bool pts_ok = pts_f >= 0x1p-64f && pts_f <= 0x1p64f;  // div_rn's range (the quotients stay below 449)
#pragma unroll
    for (int r = 0; r < per; r++) {
        u32 bmax = seg_reduce(abs_max_of(u[r]), tps, UMaxOp());
        if (!sg[r].valid) continue;
        if (use_pts && sg[r].seg == 0 && sg[r].lane == 0) pts_out[0] = pts;
        if (is_nan_bits(bmax)) bmax = 0x7FC00000u;
        u32 bs = cnan(__fmul_rn(F(bmax), inv_6));
        if (use_pts) {
            bs = pts_ok && F(bs) < __int_as_float(0x7F800000) ? B(div_rn(F(bs), pts_f, pts_r))
                                                               : cnan(__fdiv_rn(F(bs), pts_f));
        }
        u32 s8 = fp8_code(clamp_bits(bs, 0x1p-6f, 448.0f), 0);
        if (sg[r].lane == 0) scale[swizzle_offset(sg[r].row, sg[r].col0 / 16, spr)] = (uint8_t)s8;
        u32 mult = mult_of[s8];
        // fast: a finite multiplier and no NaN in the block make every product a number (an infinite x needs a
        // finite multiplier only without the per-tensor scale, whose amax would be infinite), and fp4_code
        // saturates like the clamp to +-6
        bool fast = !is_nan_bits(bmax) && F(mult) < __int_as_float(0x7F800000);
        u32 v[8];
        unpack8(u[r], v);
        u32 word = 0;
#pragma unroll
        for (int i = 0; i < 8; i += 2) {
            if (fast) {
                u32 y2 = bf2_round_odd(__fmul_rn(F(v[i]), F(mult)), __fmul_rn(F(v[i + 1]), F(mult)));
                word |= fp4_byte(fp4x2_of_bf16(y2)) << (4 * i);
            } else {
                u32 lo = fp4_code(clamp_bits(cnan(__fmul_rn(F(v[i]), F(mult))), -6.0f, 6.0f));
                u32 hi = fp4_code(clamp_bits(cnan(__fmul_rn(F(v[i + 1]), F(mult))), -6.0f, 6.0f));
                word |= ((lo | (hi << 4)) & 0xFFu) << (4 * i);
            }
        }
        long long at = (long long)sg[r].row * cols + sg[r].col0 + 8LL * sg[r].lane;
        *reinterpret_cast<u32*>(q + at / 2) = word;
    }
}
