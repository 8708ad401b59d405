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
// Layout shared by the row kernels: a "segment" is a run of elements of one row that share a scale (a row for
// per-row, a group of g columns, an MX/NVFP4 block). TPS threads (a power of two, 2..256) own one segment; each
// thread handles chunks of 8 consecutive bf16 (one 16-byte load) strided by TPS chunks. A 256-thread block holds
// 256 / TPS segments. The first MAXC chunks of a thread stay in registers between the reduction and the quantize
// pass, so a segment is read from memory once (longer segments re-read their tail).

#include <cuda_fp8.h>
#include <stdint.h>

#define THREADS 256
#define MAXC 8

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
__device__ __forceinline__ Seg segment_of(unsigned long long nsegs, u32 spr, int seglen, int tps) {
    Seg s;
    s.seg = blockIdx.x * (u32)(THREADS / tps) + threadIdx.x / (u32)tps;
    s.lane = threadIdx.x & (tps - 1);
    s.valid = s.seg < nsegs;
    s.row = s.seg / spr;
    s.col0 = (s.seg - s.row * spr) * (u32)seglen;
    return s;
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

// min, max of a segment with NaN tracked apart (fminf/fmaxf drop NaN; torch.amin/amax propagate it).
struct MinMax {
    float lo = __int_as_float(0x7F800000), hi = __int_as_float(0xFF800000);
    u32 nan = 0;
    __device__ __forceinline__ void add(uint4 u) {
        u32 v[8];
        unpack8(u, v);
#pragma unroll
        for (int i = 0; i < 8; i++) {
            nan |= is_nan_bits(v[i]) ? 1u : 0u;
            lo = fminf(lo, F(v[i]));
            hi = fmaxf(hi, F(v[i]));
        }
    }
    // After this every thread holds its segment's values; a NaN anywhere makes both the canonical NaN
    // 0x7FC00000 (as Java's reference canonicalizes them), returned as bits.
    __device__ __forceinline__ void reduce(int tps, u32& mn, u32& mx) {
        lo = seg_reduce(lo, tps, MinOp());
        hi = seg_reduce(hi, tps, MaxOp());
        nan = seg_reduce(nan, tps, OrOp());
        mn = nan ? 0x7FC00000u : B(lo);
        mx = nan ? 0x7FC00000u : B(hi);
    }
};

__device__ __forceinline__ u32 abs_max8(uint4 u, u32 m) {
    u32 w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
    for (int i = 0; i < 4; i++) {
        u32 a = (w[i] << 16) & 0x7FFFFFFFu, b = w[i] & 0x7FFF0000u;
        m = max(m, max(a, b));
    }
    return m;
}

// ---- int8: Int8Tensor.from_hp, symmetric, blocks [1, seglen] ------------------------------------------------------

// scale = clamp(bf16(max(-min(mn,0), max(mx,0)) * c), eps) stored f32 (canonical NaN); q = clamp(rne(x * f32(1 /
// scale)), qmin, qmax), NaN -> 0.
extern "C" __global__ void int8_sym(const uint16_t* x, long long rows, long long cols, int seglen, int tps,
                                    int8_t* q, u32* scale, float c, float eps, int qmin, int qmax) {
    u32 spr = (u32)(cols / seglen);
    Seg s = segment_of((unsigned long long)rows * spr, spr, seglen, tps);
    const uint16_t* base = x + (long long)s.row * cols + s.col0;
    auto load = [&](int ch) { return ld16(base + 8 * ch); };
    int nch = seglen / 8;
    uint4 cache[MAXC];
    // max(-min(mn, 0), max(mx, 0)) is max |x| (up to the sign of a zero, which the eps clamp erases): one integer
    // reduction over |x|'s bits, in which any NaN exceeds every number
    u32 a = 0;
    pass1(cache, s.lane, tps, nch, s.valid, load, [&](uint4 u) { a = abs_max8(u, a); });
    a = seg_reduce(a, tps, UMaxOp());
    if (!s.valid) return;
    u32 sc = is_nan_bits(a) ? 0x7FC00000u : clamp_min(bf16r_num(B(__fmul_rn(F(a), c))), eps);
    if (s.lane == 0) scale[s.seg] = sc;
    float inv = __fdiv_rn(1.0f, F(sc));
    int8_t* out = q + (long long)s.row * cols + s.col0;
    pass2(cache, s.lane, tps, nch, load, [&](int ch, uint4 u) {
        u32 v[8];
        unpack8(u, v);
        u32 packed[2] = {0, 0};
#pragma unroll
        for (int i = 0; i < 8; i++) {
            float r = rintf(__fmul_rn(F(v[i]), inv));
            int code = r != r ? 0 : (int)fminf(fmaxf(r, (float)qmin), (float)qmax);
            packed[i / 4] |= ((u32)code & 0xFFu) << (8 * (i % 4));
        }
        *reinterpret_cast<uint2*>(out + 8 * ch) = make_uint2(packed[0], packed[1]);
    });
}

// ---- int4 tile-packed (tinygemm): Int4TilePackedTo4dTensor.from_hp ------------------------------------------------

// Within [-0.5, 15.5] a quotient q' = a * RN(1/s) is within 2^-22 relative of RN(a / s), so it rounds to the same
// bf16 unless it lies within a few f32 units of a bf16 rounding midpoint (low 16 bits near 0x8000): then divide.
__device__ __forceinline__ bool near_bf16_tie(u32 qb) { return ((qb + 8u - 0x8000u) & 0xFFFFu) < 16u; }

// Groups of g along K' of the zero-padded [N', K'] weight, every op in bf16 (Java's x86 NaN rules for the stored
// scale/zero). Codes go straight into tinygemm's int32 [N'/8, K'/128, 32, 4] layout: a word (nt, kt, t, w) holds,
// in nibble i, u[8nt + t/4][128kt + 32w + 2(t%4) + (i >> 2) + 8(i & 1) + 16((i >> 1) & 1)], so the four threads
// holding 8-column chunks q = 0..3 of one 32-column window each give word t%4 = p its elements 2p and 2p + 1 at
// nibbles q and q + 4; an OR across the four threads assembles each word. tps == 4: a thread holds chunk q = lane
// of every window of its group (g <= 256: at most MAXC chunks, all kept in registers).
extern "C" __global__ void int4_tinygemm(const uint16_t* x, long long n, long long k, long long n_pad,
                                         long long k_pad, int g, int tps, u32* packed, uint16_t* scale_zero,
                                         float c, float eps) {
    u32 spr = (u32)(k_pad / g);
    Seg s = segment_of((unsigned long long)n_pad * spr, spr, g, tps);
    bool real_row = s.row < n;
    auto load = [&](int ch) {
        long long col = (long long)s.col0 + 8LL * ch;
        return real_row && col < k ? ld16(x + (long long)s.row * k + col) : make_uint4(0, 0, 0, 0);
    };
    int nch = g / 8;
    uint4 cache[MAXC];
    MinMax m;
    pass1(cache, s.lane, tps, nch, s.valid, load, [&](uint4 u) { m.add(u); });
    u32 mn, mx;
    m.reduce(tps, mn, mx);
    if (!s.valid) return;
    const u32 mid = 0x41000000u;  // 8.0f
    u32 sc = clamp_min(bf16r(xmul(bf16r(xsub(mx, mn)), B(c))), eps);
    u32 smid = bf16r(xmul(sc, mid));
    u32 zero = bf16r(xadd(mn, smid));
    u32 low = bf16r(xsub(zero, smid));
    if (s.lane == 0) {
        long long at = ((long long)(s.col0 / g) * n_pad + s.row) * 2;
        scale_zero[at] = (uint16_t)(sc >> 16);
        scale_zero[at + 1] = (uint16_t)(zero >> 16);
    }
    float scf = F(sc), lowf = F(low);
    // fast: no NaN can arise, and 1/scale is a normal f32 (scale in (2^-125, 2^125)).
    bool fast = !is_nan_bits(mn) && !is_nan_bits(low) && scf > 0x1p-125f && scf < 0x1p125f;
    float rinv = __frcp_rn(scf);
    long long k_tiles = k_pad / 128;
    long long nt = s.row / 8;
    int q = s.lane;  // tps == 4: chunk ch = lane + 4i is chunk q = ch & 3 of its 32-column window
    int t = (int)(s.row % 8) * 4 + q;
    unsigned quad = 0xFu << (threadIdx.x & 28);  // the four threads of this segment
    pass2(cache, s.lane, tps, nch, load, [&](int ch, uint4 u) {
        u32 v[8];
        unpack8(u, v);
        u32 w[8];
#pragma unroll
        for (int i = 0; i < 8; i++) {
            float a = F(bf16r(B(__fsub_rn(F(v[i]), lowf))));
            u32 qb;
            if (fast) {
                qb = B(__fmul_rn(a, rinv));
                if (near_bf16_tie(qb)) qb = B(__fdiv_rn(a, scf));
            } else {
                qb = B(__fdiv_rn(a, scf));
            }
            float r = rintf(F(bf16r(qb)));
            w[i] = r != r ? 0u : (u32)fminf(fmaxf(r, 0.0f), 15.0f);
        }
        u32 mine[4];
#pragma unroll
        for (int p = 0; p < 4; p++) mine[p] = (w[2 * p] << (4 * q)) | (w[2 * p + 1] << (4 * (q + 4)));
#pragma unroll
        for (int p = 0; p < 4; p++) {
            mine[p] |= __shfl_xor_sync(quad, mine[p], 1);
            mine[p] |= __shfl_xor_sync(quad, mine[p], 2);
        }
        long long window = ((long long)s.col0 + 8LL * ch) / 32;  // 32-column window along K'
        long long kt = window / 4;
        int wi = (int)(window % 4);
        u32 word = q == 0 ? mine[0] : q == 1 ? mine[1] : q == 2 ? mine[2] : mine[3];  // no local-memory array
        packed[((nt * k_tiles + kt) * 32 + t) * 4 + wi] = word;
    });
}

// ---- int4 plain (MSLK int4_row_quantize_zp): Int4Tensor.from_hp ---------------------------------------------------

// Per group of g, in f32 with Java's x86 NaN bits: scale = clamp(mx - mn, 1e-6) * c, zero = mn + scale * 8,
// u = clamp(rne((x - mn) / scale), 0, 15) (NaN -> 8); qdata int8 [N, K/2] with (u - 8) of the even column in the
// low nibble; scale and zero rounded to bf16 and stored transposed [K/g, N]. tps == g / 8.
//
// The NaN cases, derived from the x86 rule: a NaN in the group gives mn = mx = 0x7FC00000 and so scale = zero =
// 0x7FC00000; mx - mn = Inf - Inf (both infinities of one sign) gives the default NaN for scale and zero; otherwise
// scale is a number and zero is the default NaN only for -Inf + Inf.
extern "C" __global__ void int4_mslk(const uint16_t* x, long long n, long long k, int g, int tps, u32* qdata,
                                     uint16_t* scale, uint16_t* zero, float c) {
    u32 spr = (u32)(k / g);
    Seg s = segment_of((unsigned long long)n * spr, spr, g, tps);
    long long base = (long long)s.row * k + s.col0;
    auto load = [&](int ch) { return ld16(x + base + 8 * ch); };
    int nch = g / 8;
    uint4 cache[MAXC];
    MinMax m;
    pass1(cache, s.lane, tps, nch, s.valid, load, [&](uint4 u) { m.add(u); });
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
            fast = scf > 0x1p-125f && scf < 0x1p125f;
        }
    }
    if (s.lane == 0) {
        long long o = (long long)(s.col0 / g) * n + s.row;
        scale[o] = (uint16_t)bf16_of(sc);
        zero[o] = (uint16_t)bf16_of(z);
    }
    float scf = F(sc), mnf = F(mn);
    float rinv = __frcp_rn(scf);
    pass2(cache, s.lane, tps, nch, load, [&](int ch, uint4 u) {
        u32 v[8];
        unpack8(u, v);
        u32 word = 0;
    #pragma unroll
        for (int i = 0; i < 8; i++) {
            float t = __fsub_rn(F(v[i]), mnf);
            float qf;
            if (fast) {
                // within 2^-22 relative of RN(t / s); only a quotient next to a rint tie (j + 0.5) needs the division
                qf = __fmul_rn(t, rinv);
                if (fabsf(qf) < 32.0f && fabsf(fabsf(__fsub_rn(qf, rintf(qf))) - 0.5f) < 0x1p-14f) qf = __fdiv_rn(t, scf);
            } else {
                qf = __fdiv_rn(t, scf);
            }
            float r = rintf(qf);
            u32 cu = r != r ? 8u : (u32)fminf(fmaxf(r, 0.0f), 15.0f);
            word |= ((cu - 8u) & 0xFu) << (4 * i);
        }
        qdata[(base + 8 * ch) / 8] = word;
    });
}

// ---- float8: Float8Tensor.from_hp (torch path) --------------------------------------------------------------------

// Block amax as f32 bits (sign cleared: non-NaN patterns order like magnitudes, any NaN exceeds them), combined
// over the rows of a block with atomicMax. amax must be zeroed first. Used for per-tensor scales (and NVFP4's).
extern "C" __global__ void fp8_amax(const uint16_t* x, long long rows, long long cols, int br, int bc, int tps,
                                    u32* amax) {
    u32 spr = (u32)(cols / bc);
    Seg s = segment_of((unsigned long long)rows * spr, spr, bc, tps);
    u32 m = 0;
    if (s.valid) {
        const uint16_t* base = x + (long long)s.row * cols + s.col0;
        int nch = bc / 8;
        int ch = s.lane;
        for (; ch + 3 * tps < nch; ch += 4 * tps) {  // four loads in flight
            uint4 a = ld16(base + 8 * ch), b = ld16(base + 8 * (ch + tps));
            uint4 c = ld16(base + 8 * (ch + 2 * tps)), d = ld16(base + 8 * (ch + 3 * tps));
            m = abs_max8(d, abs_max8(c, abs_max8(b, abs_max8(a, m))));
        }
        for (; ch < nch; ch += tps) m = abs_max8(ld16(base + 8 * ch), m);
    }
    m = seg_reduce(m, tps, UMaxOp());
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

// q = cast(clamp(x / scale, +-fmax)), NaN -> 0x7F, for the 8 elements of a chunk, packed little-endian.
__device__ __forceinline__ uint2 fp8_chunk(uint4 u, float sc, float fmax, int e5m2) {
    u32 v[8];
    unpack8(u, v);
    u32 packed[2] = {0, 0};
#pragma unroll
    for (int i = 0; i < 8; i++) {
        float y = __fdiv_rn(F(v[i]), sc);
        u32 code = y != y ? 0x7Fu : fp8_encode(fminf(fmaxf(y, -fmax), fmax), e5m2);
        packed[i / 4] |= code << (8 * (i % 4));
    }
    return make_uint2(packed[0], packed[1]);
}

// Rows of blocks [br, bc]: with br == 1 the segment's own amax (one read); else amax comes from fp8_amax.
extern "C" __global__ void fp8_quant(const uint16_t* x, long long rows, long long cols, int br, int bc, int tps,
                                     const u32* amax, float c, float fmax, int e5m2, uint8_t* q, u32* scale) {
    u32 spr = (u32)(cols / bc);
    Seg s = segment_of((unsigned long long)rows * spr, spr, bc, tps);
    const uint16_t* base = x + (long long)s.row * cols + s.col0;
    auto load = [&](int ch) { return ld16(base + 8 * ch); };
    int nch = bc / 8;
    uint4 cache[MAXC];
    u32 a = 0;
    pass1(cache, s.lane, tps, nch, s.valid && br == 1, load, [&](uint4 u) { a = abs_max8(u, a); });
    if (br == 1) a = seg_reduce(a, tps, UMaxOp());
    if (!s.valid) return;
    long long block = (long long)(s.row / br) * spr + s.col0 / bc;
    if (br != 1) a = amax[block];
    u32 sbits = fp8_scale(a, c);
    if (s.lane == 0 && s.row % br == 0) scale[block] = sbits;
    float sc = F(sbits);
    uint8_t* out = q + (long long)s.row * cols + s.col0;
    if (br == 1) {
        pass2(cache, s.lane, tps, nch, load, [&](int ch, uint4 u) {
            *reinterpret_cast<uint2*>(out + 8 * ch) = fp8_chunk(u, sc, fmax, e5m2);
        });
    } else {
        for (int ch = s.lane; ch < nch; ch += tps) {
            *reinterpret_cast<uint2*>(out + 8 * ch) = fp8_chunk(load(ch), sc, fmax, e5m2);
        }
    }
}

// One 256-thread block per [br, bc] tile (br * bc / 8 <= 256 * MAXC chunks): amax and quantize in one read.
extern "C" __global__ void fp8_tile(const uint16_t* x, long long rows, long long cols, int br, int bc, float c,
                                    float fmax, int e5m2, uint8_t* q, u32* scale) {
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
    u32 a = 0;
    pass1(cache, threadIdx.x, THREADS, nch, true, load, [&](uint4 u) { a = abs_max8(u, a); });
    a = seg_reduce(a, THREADS, UMaxOp());
    u32 sbits = fp8_scale(a, c);
    if (threadIdx.x == 0) scale[b] = sbits;
    float sc = F(sbits);
    pass2(cache, threadIdx.x, THREADS, nch, load, [&](int ch, uint4 u) {
        *reinterpret_cast<uint2*>(q + at(ch)) = fp8_chunk(u, sc, fmax, e5m2);
    });
}

// ---- MX and NVFP4 (torchao to_mx / nvfp4_quantize, CUDA NaN convention) -------------------------------------------

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

// Blocks of 32 (tps 4, one chunk per thread) of a [rows, cols] chunk whose rows past rows_real are swizzle padding
// (the host zeroes the scale buffer; their scales stay 0). elem: 0 fp8 e4m3, 1 fp8 e5m2, 2 fp4 e2m1 (packed).
extern "C" __global__ void mx_quant(const uint16_t* x, long long rows_real, long long rows, long long cols,
                                    int elem, int scaling, int mbits, int target_max_pow2, float fmax,
                                    float inv_max, uint8_t* q, uint8_t* scale) {
    const int tps = 4;
    u32 spr = (u32)(cols / 32);
    Seg s = segment_of((unsigned long long)rows * spr, spr, 32, tps);
    bool real = s.valid && s.row < rows_real;
    long long at = (long long)s.row * cols + s.col0 + 8LL * s.lane;
    uint4 u = make_uint4(0, 0, 0, 0);
    if (real) u = ld16(x + at);
    u32 a = seg_reduce(abs_max8(u, 0u), tps, UMaxOp());
    if (!real) return;
    u32 code = e8m0_code(a, scaling, mbits, target_max_pow2, inv_max);
    if (s.lane == 0) scale[swizzle_offset(s.row, s.col0 / 32, spr)] = (uint8_t)code;
    u32 v[8];
    unpack8(u, v);
    u32 y[8];
    if (scaling == 3) {
        // multiplier 2^(127 - code): 1.0 for code 0, NaN for 255, 2^-127 (subnormal) for 254
        u32 r = code == 255u ? 0x7FC00000u : code == 0u ? 0x3F800000u
                : code == 254u ? 0x00400000u : (254u - code) << 23;
#pragma unroll
        for (int i = 0; i < 8; i++) y[i] = clamp_bits(cnan(__fmul_rn(F(v[i]), F(r))), -fmax, fmax);
    } else {
        float d = F((code < 1u ? 1u : code) << 23);  // 2^(code - 127), at least 2^-126; +Inf for 255
#pragma unroll
        for (int i = 0; i < 8; i++) {
            y[i] = cnan(__fdiv_rn(F(v[i]), d));
            if (elem != 2) y[i] = clamp_bits(y[i], -fmax, fmax);
        }
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
    const int tps = 2;
    u32 spr = (u32)(cols / 16);
    Seg s = segment_of((unsigned long long)rows * spr, spr, 16, tps);
    bool real = s.valid && s.row < rows_real;
    long long at = (long long)s.row * cols + s.col0 + 8LL * s.lane;
    uint4 u = make_uint4(0, 0, 0, 0);
    if (real) u = ld16(x + at);
    u32 bmax = seg_reduce(abs_max8(u, 0u), tps, UMaxOp());
    if (!real) return;
    u32 pts = 0;
    if (use_pts) {
        u32 am = amax[0];
        if (is_nan_bits(am)) am = 0x7FC00000u;
        pts = cnan(__fmul_rn(F(am), inv_2688));
        if (s.seg == 0 && s.lane == 0) pts_out[0] = pts;
    }
    if (is_nan_bits(bmax)) bmax = 0x7FC00000u;
    u32 bs = cnan(__fmul_rn(F(bmax), inv_6));
    if (use_pts) bs = cnan(__fdiv_rn(F(bs), F(pts)));
    u32 s8 = fp8_code(clamp_bits(bs, 0x1p-6f, 448.0f), 0);
    if (s.lane == 0) scale[swizzle_offset(s.row, s.col0 / 16, spr)] = (uint8_t)s8;
    u32 sb = e4m3_bits(s8);
    u32 mult;
    if (use_pts) {
        u32 rp = cnan(__fdiv_rn(1.0f, F(pts)));
        mult = cnan(__fdiv_rn(F(rp), F(sb)));
    } else {
        mult = cnan(__fdiv_rn(1.0f, F(sb)));
    }
    u32 v[8];
    unpack8(u, v);
    u32 word = 0;
#pragma unroll
    for (int i = 0; i < 8; i += 2) {
        u32 lo = fp4_code(clamp_bits(cnan(__fmul_rn(F(v[i]), F(mult))), -6.0f, 6.0f));
        u32 hi = fp4_code(clamp_bits(cnan(__fmul_rn(F(v[i + 1]), F(mult))), -6.0f, 6.0f));
        word |= ((lo | (hi << 4)) & 0xFFu) << (4 * i);
    }
    *reinterpret_cast<u32*>(q + at / 2) = word;
}
