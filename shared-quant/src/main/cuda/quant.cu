// ao4j's CUDA quantize kernels: bf16 weights in, the same bits as the Java reference out (DivMode.CUDA_RECIPROCAL).
//
// Compiled to PTX by tools/cuda/build-ptx.sh with -fmad=false, so no multiply-add is fused: every float op below
// rounds once, like the Java code it mirrors (Java never contracts either). Divisions use __fdiv_rn (IEEE), the
// scalar-division convention is a multiply by the host's f32(1 / (double) divisor).
//
// Layout shared by every kernel: a "segment" is a run of elements of one row that share a scale (a row for
// per-row, a group of g columns, 128 columns of a 128x128 block). TPS threads (a power of two, 4..256) own one
// segment; each thread handles chunks of 8 consecutive bf16 (one 16-byte load) strided by TPS chunks. A 256-thread
// block holds 256 / TPS segments.

#include <cuda_bf16.h>
#include <cuda_fp8.h>
#include <stdint.h>

#define THREADS 256

// ---- scalar helpers ----------------------------------------------------------------------------------------------

__device__ __forceinline__ bool is_nan_bits(uint32_t b) { return (b & 0x7FFFFFFFu) > 0x7F800000u; }

// Java's Bf16.fromFloat: RNE on the bit pattern; NaN keeps sign and payload with the quiet bit set.
__device__ __forceinline__ uint32_t bf16_bits(float f) {
    uint32_t b = __float_as_uint(f);
    if (is_nan_bits(b)) return ((b >> 16) | 0x40u) & 0xFFFFu;
    return ((b + 0x7FFFu + ((b >> 16) & 1u)) >> 16) & 0xFFFFu;
}

__device__ __forceinline__ float bf16_round(float f) { return __uint_as_float(bf16_bits(f) << 16); }

// The x86 (SSE) NaN rule the JVM's float ops follow: a NaN operand comes back quieted (the first one if both are
// NaN); an invalid operation gives the default NaN 0xFFC00000. Used where a NaN's bits reach the output.
__device__ __forceinline__ float x86_nan(float a, float b) {
    uint32_t ab = __float_as_uint(a), bb = __float_as_uint(b);
    if (is_nan_bits(ab)) return __uint_as_float(ab | 0x00400000u);
    if (is_nan_bits(bb)) return __uint_as_float(bb | 0x00400000u);
    return __uint_as_float(0xFFC00000u);
}
__device__ __forceinline__ float xadd(float a, float b) { float r = __fadd_rn(a, b); return r != r ? x86_nan(a, b) : r; }
__device__ __forceinline__ float xsub(float a, float b) { float r = __fsub_rn(a, b); return r != r ? x86_nan(a, b) : r; }
__device__ __forceinline__ float xmul(float a, float b) { float r = __fmul_rn(a, b); return r != r ? x86_nan(a, b) : r; }

// torch.clamp(x, min=lo): NaN passes.
__device__ __forceinline__ float clamp_min(float x, float lo) { return x < lo ? lo : x; }

__device__ __forceinline__ void load8(const uint16_t* p, float v[8]) {
    uint4 u = *reinterpret_cast<const uint4*>(p);
    uint32_t w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
    for (int i = 0; i < 4; i++) {
        v[2 * i] = __uint_as_float(w[i] << 16);
        v[2 * i + 1] = __uint_as_float(w[i] & 0xFFFF0000u);
    }
}

// ---- segment reductions ------------------------------------------------------------------------------------------

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
struct OrOp { __device__ uint32_t operator()(uint32_t a, uint32_t b) const { return a | b; } };
struct UMaxOp { __device__ uint32_t operator()(uint32_t a, uint32_t b) const { return a > b ? a : b; } };

struct Seg {
    long long seg;   // segment index, row-major: row * segsPerRow + j
    long long row;
    long long col0;
    int lane;        // thread index within the segment
    bool valid;
};

__device__ __forceinline__ Seg segment_of(long long rows, long long segs_per_row, int seglen, int tps) {
    Seg s;
    s.seg = (long long)blockIdx.x * (THREADS / tps) + threadIdx.x / tps;
    s.lane = threadIdx.x % tps;
    s.valid = s.seg < rows * segs_per_row;
    s.row = s.seg / segs_per_row;
    s.col0 = (s.seg % segs_per_row) * seglen;
    return s;
}

// min, max of a segment (NaN propagating like torch.amin/amax, as the canonical NaN 0x7FC00000), for rows
// [0, rows_real) and columns [0, cols_real) of a zero-padded [.., cols] view.
__device__ __forceinline__ void seg_min_max(const uint16_t* x, const Seg& s, int seglen, int tps, long long rows_real,
                                            long long cols_real, float& mn, float& mx) {
    float lo = __int_as_float(0x7F800000), hi = __int_as_float(0xFF800000);
    uint32_t nan = 0;
    if (s.valid) {
        for (int ch = s.lane; ch < seglen / 8; ch += tps) {
            long long col = s.col0 + 8LL * ch;
            float v[8];
            if (s.row < rows_real && col < cols_real) {
                load8(x + s.row * cols_real + col, v);
            } else {
#pragma unroll
                for (int i = 0; i < 8; i++) v[i] = 0.0f;
            }
#pragma unroll
            for (int i = 0; i < 8; i++) {
                nan |= v[i] != v[i];
                lo = fminf(lo, v[i]);
                hi = fmaxf(hi, v[i]);
            }
        }
    }
    lo = seg_reduce(lo, tps, MinOp());
    hi = seg_reduce(hi, tps, MaxOp());
    nan = seg_reduce(nan, tps, OrOp());
    if (nan) lo = hi = __uint_as_float(0x7FC00000u);
    mn = lo;
    mx = hi;
}

// ---- int8: Int8Tensor.from_hp, symmetric, blocks [1, seglen] ------------------------------------------------------

// scale = clamp(bf16(max(-min(mn,0), max(mx,0)) * c), eps) stored f32 (canonical NaN); q = clamp(rne(x * f32(1 /
// scale)), qmin, qmax), NaN -> 0.
extern "C" __global__ void int8_sym(const uint16_t* x, long long rows, long long cols, int seglen, int tps,
                                    int8_t* q, float* scale, float c, float eps, int qmin, int qmax) {
    long long spr = cols / seglen;
    Seg s = segment_of(rows, spr, seglen, tps);
    float mn, mx;
    seg_min_max(x, s, seglen, tps, rows, cols, mn, mx);
    if (!s.valid) return;
    float sc;
    if (mn != mn) {
        sc = __uint_as_float(0x7FC00000u);
    } else {
        float mn0 = fminf(mn, 0.0f), mx0 = fmaxf(mx, 0.0f);
        sc = clamp_min(bf16_round(__fmul_rn(fmaxf(-mn0, mx0), c)), eps);
    }
    if (s.lane == 0) scale[s.seg] = sc;
    float inv = __fdiv_rn(1.0f, sc);
    for (int ch = s.lane; ch < seglen / 8; ch += tps) {
        long long at = s.row * cols + s.col0 + 8LL * ch;
        float v[8];
        load8(x + at, v);
        uint32_t packed[2] = {0, 0};
#pragma unroll
        for (int i = 0; i < 8; i++) {
            float r = rintf(__fmul_rn(v[i], inv));
            int code = r != r ? 0 : (int)fminf(fmaxf(r, (float)qmin), (float)qmax);
            packed[i / 4] |= ((uint32_t)code & 0xFFu) << (8 * (i % 4));
        }
        *reinterpret_cast<uint2*>(q + at) = make_uint2(packed[0], packed[1]);
    }
}

// ---- int4 tile-packed (tinygemm): Int4TilePackedTo4dTensor.from_hp ------------------------------------------------

// Groups of g along K' of the zero-padded [N', K'] weight, every op in bf16 (Java's x86 NaN rules for the stored
// scale/zero). Codes go straight into tinygemm's int32 [N'/8, K'/128, 32, 4] layout: a word (nt, kt, t, w) holds,
// in nibble i, u[8nt + t/4][128kt + 32w + 2(t%4) + (i >> 2) + 8(i & 1) + 16((i >> 1) & 1)], so the four threads
// holding 8-column chunks q = 0..3 of one 32-column window each give word t%4 = p its elements 2p and 2p + 1 at
// nibbles q and q + 4; an OR across the four threads assembles each word.
extern "C" __global__ void int4_tinygemm(const uint16_t* x, long long n, long long k, long long n_pad,
                                         long long k_pad, int g, int tps, uint32_t* packed, uint16_t* scale_zero,
                                         float c, float eps) {
    long long spr = k_pad / g;
    Seg s = segment_of(n_pad, spr, g, tps);
    float mn, mx;
    seg_min_max(x, s, g, tps, n, k, mn, mx);
    if (!s.valid) return;
    const float mid = 8.0f;
    float sc = clamp_min(bf16_round(xmul(bf16_round(xsub(mx, mn)), c)), eps);
    float smid = bf16_round(xmul(sc, mid));
    float zero = bf16_round(xadd(mn, smid));
    float low = bf16_round(xsub(zero, smid));
    if (s.lane == 0) {
        long long j = s.col0 / g;
        long long at = (j * n_pad + s.row) * 2;
        scale_zero[at] = (uint16_t)bf16_bits(sc);
        scale_zero[at + 1] = (uint16_t)bf16_bits(zero);
    }
    long long k_tiles = k_pad / 128;
    for (int ch = s.lane; ch < g / 8; ch += tps) {
        long long col = s.col0 + 8LL * ch;
        float v[8];
        if (s.row < n && col < k) {
            load8(x + s.row * k + col, v);
        } else {
#pragma unroll
            for (int i = 0; i < 8; i++) v[i] = 0.0f;
        }
        uint32_t u[8];
#pragma unroll
        for (int i = 0; i < 8; i++) {
            float d = bf16_round(__fdiv_rn(bf16_round(__fsub_rn(v[i], low)), sc));
            float r = rintf(d);
            u[i] = r != r ? 0u : (uint32_t)fminf(fmaxf(r, 0.0f), 15.0f);
        }
        int q = ch & 3;
        uint32_t mine[4];
#pragma unroll
        for (int p = 0; p < 4; p++) mine[p] = (u[2 * p] << (4 * q)) | (u[2 * p + 1] << (4 * (q + 4)));
        unsigned quad = 0xFu << (threadIdx.x & 28);  // the four threads of this window (segments never split one)
#pragma unroll
        for (int p = 0; p < 4; p++) {
            mine[p] |= __shfl_xor_sync(quad, mine[p], 1);
            mine[p] |= __shfl_xor_sync(quad, mine[p], 2);
        }
        long long window = col / 32;  // 32-column window along K'
        long long kt = window / 4;
        int w = (int)(window % 4);
        long long nt = s.row / 8;
        int t = (int)(s.row % 8) * 4 + q;
        packed[((nt * k_tiles + kt) * 32 + t) * 4 + w] = mine[q];
    }
}

// ---- int4 plain (MSLK int4_row_quantize_zp): Int4Tensor.from_hp ---------------------------------------------------

// Per group of g, in f32: scale = clamp(mx - mn, 1e-6) * c, zero = mn + scale * 8, u = clamp(rne((x - mn) / scale),
// 0, 15) (NaN -> 8); qdata int8 [N, K/2] with (u - 8) of the even column in the low nibble; scale and zero
// rounded to bf16 and stored transposed [K/g, N].
extern "C" __global__ void int4_mslk(const uint16_t* x, long long n, long long k, int g, int tps, uint8_t* qdata,
                                     uint16_t* scale, uint16_t* zero, float c) {
    long long spr = k / g;
    Seg s = segment_of(n, spr, g, tps);
    float mn, mx;
    seg_min_max(x, s, g, tps, n, k, mn, mx);
    if (!s.valid) return;
    float sc = xmul(clamp_min(xsub(mx, mn), 1e-6f), c);
    float z = xadd(mn, xmul(sc, 8.0f));
    if (s.lane == 0) {
        long long at = (s.col0 / g) * n + s.row;
        scale[at] = (uint16_t)bf16_bits(sc);
        zero[at] = (uint16_t)bf16_bits(z);
    }
    for (int ch = s.lane; ch < g / 8; ch += tps) {
        long long at = s.row * k + s.col0 + 8LL * ch;
        float v[8];
        load8(x + at, v);
        uint32_t word = 0;
#pragma unroll
        for (int i = 0; i < 8; i++) {
            float r = rintf(__fdiv_rn(__fsub_rn(v[i], mn), sc));
            uint32_t u = r != r ? 8u : (uint32_t)fminf(fmaxf(r, 0.0f), 15.0f);
            word |= ((u - 8u) & 0xFu) << (4 * i);
        }
        *reinterpret_cast<uint32_t*>(qdata + at / 2) = word;
    }
}

// ---- float8: Float8Tensor.from_hp (torch path), blocks [br, bc] ---------------------------------------------------

__device__ __forceinline__ uint32_t seg_abs_max(const uint16_t* x, const Seg& s, int seglen, int tps, long long cols) {
    uint32_t m = 0;
    if (s.valid) {
        for (int ch = s.lane; ch < seglen / 8; ch += tps) {
            uint4 u = *reinterpret_cast<const uint4*>(x + s.row * cols + s.col0 + 8LL * ch);
            uint32_t w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
            for (int i = 0; i < 4; i++) {
                uint32_t a = (w[i] << 16) & 0x7FFFFFFFu, b = w[i] & 0x7FFF0000u;
                m = max(m, max(a, b));
            }
        }
    }
    return seg_reduce(m, tps, UMaxOp());
}

// Block amax as f32 bits (sign cleared: non-NaN patterns order like magnitudes, any NaN exceeds them), combined
// over the rows of a block with atomicMax. amax must be zeroed first.
extern "C" __global__ void fp8_amax(const uint16_t* x, long long rows, long long cols, int br, int bc, int tps,
                                    uint32_t* amax) {
    long long spr = cols / bc;
    Seg s = segment_of(rows, spr, bc, tps);
    uint32_t m = seg_abs_max(x, s, bc, tps, cols);
    if (s.valid && s.lane == 0) atomicMax(amax + (s.row / br) * spr + s.col0 / bc, m);
}

__device__ __forceinline__ uint8_t fp8_encode(float y, int e5m2) {
    return e5m2 ? (uint8_t)__nv_cvt_float_to_fp8(y, __NV_SATFINITE, __NV_E5M2)
                : (uint8_t)__nv_cvt_float_to_fp8(y, __NV_SATFINITE, __NV_E4M3);
}

// scale = bf16(amax * c) widened to f32 (NaN amax: CUDA's bf16 NaN 0x7FFF), q = cast(clamp(x / scale, +-fmax)),
// NaN -> 0x7F. With br == 1 the segment's own amax is used (one pass); else amax comes from fp8_amax.
extern "C" __global__ void fp8_quant(const uint16_t* x, long long rows, long long cols, int br, int bc, int tps,
                                     const uint32_t* amax, float c, float fmax, int e5m2, uint8_t* q, float* scale) {
    long long spr = cols / bc;
    Seg s = segment_of(rows, spr, bc, tps);
    uint32_t a = 0;
    if (br == 1) a = seg_abs_max(x, s, bc, tps, cols);
    if (!s.valid) return;
    long long block = (s.row / br) * spr + s.col0 / bc;
    if (br != 1) a = amax[block];
    uint32_t sbits = is_nan_bits(a) ? 0x7FFF0000u : bf16_bits(__fmul_rn(__uint_as_float(a), c)) << 16;
    float sc = __uint_as_float(sbits);
    if (s.lane == 0 && s.row % br == 0) scale[block] = sc;
    for (int ch = s.lane; ch < bc / 8; ch += tps) {
        long long at = s.row * cols + s.col0 + 8LL * ch;
        float v[8];
        load8(x + at, v);
        uint32_t packed[2] = {0, 0};
#pragma unroll
        for (int i = 0; i < 8; i++) {
            float y = __fdiv_rn(v[i], sc);
            uint32_t code = y != y ? 0x7Fu : fp8_encode(fminf(fmaxf(y, -fmax), fmax), e5m2);
            packed[i / 4] |= code << (8 * (i % 4));
        }
        *reinterpret_cast<uint2*>(q + at) = make_uint2(packed[0], packed[1]);
    }
}
