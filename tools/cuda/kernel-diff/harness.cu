// Kernel diff: the working tree's quant.cu kernels against those of commit 0f941a8 (proven bit-exact against the
// Java CPU reference by CudaSelfCheck on an H200, and launched here with that revision's conventions), on the GPU: byte equality of every output on ~1000 generated
// inputs (random bits, N(0, 0.02), per-span mixes of binades, NaN payloads, infinities, subnormals, signed zeros
// and exact small integers; odd shapes), an exhaustive check of the fp4 encoder over every non-NaN f32, and the
// time of each kernel against a device-to-device copy. Built by build.sh (old.cu is the earlier revision's file
// with its kernels renamed into namespace old); run with no arguments, or with "0 time" for timings only.
#include <cuda_fp8.h>
#include <cuda_bf16.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vector>
#include <algorithm>
#include <string>
#include <functional>
namespace old {
#include "old.cu"
}
#include "quant.cu"

#define CK(x) do { cudaError_t e = (x); if (e != cudaSuccess) { printf("CUDA %s at %s:%d\n", cudaGetErrorString(e), __FILE__, __LINE__); exit(2);} } while (0)
typedef unsigned long long u64;

__device__ u64 mix(u64 z) { z += 0x9E3779B97F4A7C15ull; z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull; z = (z ^ (z >> 27)) * 0x94D049BB133111EBull; return z ^ (z >> 31); }
__device__ float normal(u64 h) {
    float u1 = ((h >> 40) + 1) * 0x1p-24f, u2 = ((h >> 16) & 0xFFFFFF) * 0x1p-24f;
    return sqrtf(-2.0f * logf(u1)) * cospif(2.0f * u2);
}
__device__ uint16_t bf(float f) { return __bfloat16_as_ushort(__float2bfloat16_rn(f)); }
// mode 0: N(0, 0.02); 1: random bits; 2 / 3: a random kind per span of 256 / 16 elements
__global__ void gen(uint16_t* out, long long n, int mode, u64 seed) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
        u64 h = mix(seed * 0x100000001B3ull + i);
        uint16_t v;
        if (mode == 0) v = bf(0.02f * normal(h));
        else if (mode == 1) v = (uint16_t)h;
        else {
            long long span = mode == 2 ? 256 : 16;
            u64 hb = mix(seed ^ (0xABCDEFull * (i / span + 1)));
            int kind = (int)(hb % 17);
            int e = (int)((hb >> 8) % 276) - 142;
            int pos = (int)((hb >> 20) % span);
            bool at = (i % span) == pos;
            float z = normal(h);
            switch (kind) {
                case 8: v = (uint16_t)h; break;
                case 9: v = bf(ldexpf(normal(hb), e)); break;
                case 10: v = (h & 1) ? 0x8000 : 0; break;
                case 11: v = bf(ldexpf(at ? 1000.0f * z : z, e)); break;
                case 12: v = at ? (uint16_t)(0x7F81 + (h % 0x7E) + ((h >> 8 & 1) << 15)) : bf(ldexpf(z, e)); break;
                case 13: v = at ? ((h & 1) ? 0xFF80 : 0x7F80) : bf(ldexpf(z, e)); break;
                case 14: v = (uint16_t)(h & 0x807F); break;
                case 15: v = bf(ldexpf((float)((int)(h % 31) - 15), e)); break;           // exact small integers
                case 16: v = bf(ldexpf((float)((int)(h % 33) - 16) * 0.5f, (int)((hb >> 40) % 8) - 4)); break;
                default: v = bf(ldexpf(z, e)); break;
            }
        }
        out[i] = v;
    }
}

static float timeit(const std::function<void()>& f, int reps) {
    cudaEvent_t a, b; cudaEventCreate(&a); cudaEventCreate(&b);
    std::vector<float> t;
    for (int r = -1; r < reps; r++) {
        cudaEventRecord(a); f(); cudaEventRecord(b); CK(cudaEventSynchronize(b));
        float ms; cudaEventElapsedTime(&ms, a, b); if (r >= 0) t.push_back(ms);
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}
static long long grid(long long segs, int tps, int per = 1) { long long pb = 256 / tps * per; return (segs + pb - 1) / pb; }
static int tpsOf(long long seg) { long long ch = std::max(1LL, seg / 8); int t = 1; while (t * 2LL <= std::min(256LL, ch)) t *= 2; return t; }
static int fails = 0, checks = 0;

// one job: outputs sizes, a launcher for old and new
struct Job {
    std::string name;
    std::vector<size_t> outBytes;
    std::function<void(const uint16_t*, std::vector<void*>&, bool)> run;  // bool: new kernels
};

static void compare(const Job& j, const uint16_t* x, const char* input) {
    std::vector<void*> o, nn;
    for (size_t b : j.outBytes) { void* p; void* q; CK(cudaMalloc(&p, b)); CK(cudaMalloc(&q, b)); CK(cudaMemset(p, 0x5A, b)); CK(cudaMemset(q, 0x5A, b)); o.push_back(p); nn.push_back(q); }
    j.run(x, o, false); j.run(x, nn, true); CK(cudaDeviceSynchronize());
    bool ok = true;
    for (size_t k = 0; k < o.size(); k++) {
        std::vector<uint8_t> a(j.outBytes[k]), b(j.outBytes[k]);
        CK(cudaMemcpy(a.data(), o[k], a.size(), cudaMemcpyDeviceToHost)); CK(cudaMemcpy(b.data(), nn[k], b.size(), cudaMemcpyDeviceToHost));
        if (memcmp(a.data(), b.data(), a.size())) {
            size_t first = 0, count = 0;
            for (size_t i = 0; i < a.size(); i++) if (a[i] != b[i]) { if (!count) first = i; count++; }
            printf("MISMATCH %s on %s: output %zu, %zu bytes differ, first at %zu: old %02x new %02x\n", j.name.c_str(), input, k, count, first, a[first], b[first]);
            ok = false;
        }
    }
    checks++; if (!ok) fails++;
    for (void* p : o) cudaFree(p); for (void* p : nn) cudaFree(p);
}

static std::vector<Job> jobs(long long n, long long k) {
    std::vector<Job> J;
    // int8 per row and per group of 32
    for (long long seg : {k, 32LL}) {
        int tps = tpsOf(seg);
        J.push_back({"int8 seg " + std::to_string(seg), {(size_t)(n * k), (size_t)(4 * n * (k / seg))}, [=](const uint16_t* x, std::vector<void*>& o, bool nw) {
            float c = (float)(1.0 / 127.5), eps = 1.1920929e-07f;
            if (nw) int8_sym<<<grid(n * (k / seg), tps), 256>>>(x, n, k, (int)seg, tps, (int8_t*)o[0], (u32*)o[1], c, eps, -128, 127);
            else old::int8_sym<<<grid(n * (k / seg), tps), 256>>>(x, n, k, (int)seg, tps, (int8_t*)o[0], (old::u32*)o[1], c, eps, -128, 127);
        }});
    }
    for (int g : {32, 64, 128, 256}) {
        long long npad = (n + 7) / 8 * 8, kpad = (k + 1023) / 1024 * 1024;
        if (k % g) continue;
        J.push_back({"tinygemm g" + std::to_string(g), {(size_t)(npad * kpad / 2), (size_t)(kpad / g * npad * 4)}, [=](const uint16_t* x, std::vector<void*>& o, bool nw) {
            long long segs = npad * (kpad / g);
            if (nw) int4_tinygemm<<<grid(segs, g / 32), 256>>>(x, n, k, npad, kpad, g, g / 32, (u32*)o[0], (uint16_t*)o[1], (float)(1.0 / 15), 1.17549435e-38f);
            else old::int4_tinygemm<<<grid(segs, 4), 256>>>(x, n, k, npad, kpad, g, 4, (old::u32*)o[0], (uint16_t*)o[1], (float)(1.0 / 15), 1.17549435e-38f);
        }});
    }
    for (int g : {32, 128, 256}) {
        if (k % g) continue;
        J.push_back({"plain g" + std::to_string(g), {(size_t)(n * k / 2), (size_t)(k / g * n * 2), (size_t)(k / g * n * 2)}, [=](const uint16_t* x, std::vector<void*>& o, bool nw) {
            long long segs = n * (k / g);
            if (nw) int4_mslk<<<grid(segs, g / 32), 256>>>(x, n, k, g, g / 32, (u32*)o[0], (uint16_t*)o[1], (uint16_t*)o[2], (float)(1.0 / 15));
            else old::int4_mslk<<<grid(segs, 4), 256>>>(x, n, k, g, 4, (old::u32*)o[0], (uint16_t*)o[1], (uint16_t*)o[2], (float)(1.0 / 15));
        }});
    }
    for (int e5 : {0, 1}) {
        float fmax = e5 ? 57344.0f : 448.0f, c = (float)(1.0 / fmax);
        int tps = tpsOf(k);
        J.push_back({std::string("fp8 row ") + (e5 ? "e5m2" : "e4m3"), {(size_t)(n * k), (size_t)(4 * n)}, [=](const uint16_t* x, std::vector<void*>& o, bool nw) {
            if (nw) fp8_quant<<<grid(n, tps), 256>>>(x, n, k, 1, (int)k, tps, nullptr, c, fmax, e5, (uint8_t*)o[0], (u32*)o[1]);
            else old::fp8_quant<<<grid(n, tps), 256>>>(x, n, k, 1, (int)k, tps, nullptr, c, fmax, e5, (uint8_t*)o[0], (old::u32*)o[1]);
        }});
    }
    // the per-row kernels with fewer threads per row (more chunks per thread, up to MAXC)
    for (int div : {2, 4}) {
        int tps = std::max(1, tpsOf(k) / div);
        if ((k / 8 + tps - 1) / tps > MAXC) continue;
        J.push_back({"fp8 row tps" + std::to_string(tps), {(size_t)(n * k), (size_t)(4 * n)}, [=](const uint16_t* x, std::vector<void*>& o, bool nw) {
            float c = 1.0f / 448.0f;
            if (nw) fp8_quant<<<grid(n, tps), 256>>>(x, n, k, 1, (int)k, tps, nullptr, c, 448.0f, 0, (uint8_t*)o[0], (u32*)o[1]);
            else old::fp8_quant<<<grid(n, tpsOf(k)), 256>>>(x, n, k, 1, (int)k, tpsOf(k), nullptr, c, 448.0f, 0, (uint8_t*)o[0], (old::u32*)o[1]);
        }});
        J.push_back({"int8 row tps" + std::to_string(tps), {(size_t)(n * k), (size_t)(4 * n)}, [=](const uint16_t* x, std::vector<void*>& o, bool nw) {
            float c = (float)(1.0 / 127.5), eps = 1.1920929e-07f;
            if (nw) int8_sym<<<grid(n, tps), 256>>>(x, n, k, (int)k, tps, (int8_t*)o[0], (u32*)o[1], c, eps, -128, 127);
            else old::int8_sym<<<grid(n, tpsOf(k)), 256>>>(x, n, k, (int)k, tpsOf(k), (int8_t*)o[0], (old::u32*)o[1], c, eps, -128, 127);
        }});
    }
    if (n % 128 == 0 && k % 128 == 0) {
        J.push_back({"fp8 tile128", {(size_t)(n * k), (size_t)(4 * (n / 128) * (k / 128))}, [=](const uint16_t* x, std::vector<void*>& o, bool nw) {
            float c = 1.0f / 448.0f;
            if (nw) fp8_tile<<<(n / 128) * (k / 128), 256>>>(x, n, k, 128, 128, c, 448.0f, 0, (uint8_t*)o[0], (u32*)o[1]);
            else old::fp8_tile<<<(n / 128) * (k / 128), 256>>>(x, n, k, 128, 128, c, 448.0f, 0, (uint8_t*)o[0], (old::u32*)o[1]);
        }});
    }
    {   // per tensor: amax over all then quantize (amax word in output 2, zeroed by the job)
        int tps = tpsOf(k);
        J.push_back({"fp8 tensor", {(size_t)(n * k), 4, 4}, [=](const uint16_t* x, std::vector<void*>& o, bool nw) {
            float c = 1.0f / 448.0f;
            cudaMemset(o[2], 0, 4);
            if (nw) { fp8_amax<<<grid(n, tps), 256>>>(x, n, k, (int)n, (int)k, tps, (u32*)o[2]);
                      fp8_quant<<<grid(n, tps), 256>>>(x, n, k, (int)n, (int)k, tps, (u32*)o[2], c, 448.0f, 0, (uint8_t*)o[0], (u32*)o[1]); }
            else { old::fp8_amax<<<grid(n, tps), 256>>>(x, n, k, (int)n, (int)k, tps, (old::u32*)o[2]);
                   old::fp8_quant<<<grid(n, tps), 256>>>(x, n, k, (int)n, (int)k, tps, (old::u32*)o[2], c, 448.0f, 0, (uint8_t*)o[0], (old::u32*)o[1]); }
            cudaMemset(o[2], 0, 4);  // the amax word itself is scratch (NaN payloads may differ)
        }});
    }
    if (k % 32 == 0) {
        long long npad = (n + 127) / 128 * 128, blocks = k / 32, tiles = (blocks + 3) / 4;
        struct M { int elem, scaling; const char* name; };
        for (M m : {M{0, 3, "mxfp8 rceil"}, M{0, 0, "mxfp8 floor"}, M{1, 1, "mxfp8 e5m2 ceil"}, M{2, 3, "mxfp4 rceil"}, M{2, 2, "mxfp4 even"}, M{2, 0, "mxfp4 floor"}}) {
            int mb = m.elem == 0 ? 3 : m.elem == 1 ? 2 : 1, tmp = m.elem == 0 ? 8 : m.elem == 1 ? 15 : 2;
            float fmax = m.elem == 0 ? 448.0f : m.elem == 1 ? 57344.0f : 6.0f, inv = (float)(1.0 / fmax);
            size_t qb = m.elem == 2 ? n * k / 2 : n * k;
            J.push_back({m.name, {qb, (size_t)(npad * 4 * tiles)}, [=](const uint16_t* x, std::vector<void*>& o, bool nw) {
                cudaMemset(o[1], 0, npad * 4 * tiles);
                if (nw) mx_quant<<<grid(npad * blocks, 4, SCALE_BLOCKS_PER_THREAD), 256>>>(x, n, npad, k, m.elem, m.scaling, mb, tmp, fmax, inv, (uint8_t*)o[0], (uint8_t*)o[1]);
                else old::mx_quant<<<grid(npad * blocks, 4), 256>>>(x, n, npad, k, m.elem, m.scaling, mb, tmp, fmax, inv, (uint8_t*)o[0], (uint8_t*)o[1]);
            }});
        }
    }
    if (k % 16 == 0) {
        long long npad = (n + 127) / 128 * 128, blocks = k / 16, tiles = (blocks + 3) / 4;
        for (int pts : {0, 1}) {
            int tps = tpsOf(k);
            J.push_back({pts ? "nvfp4 pts" : "nvfp4", {(size_t)(n * k / 2), (size_t)(npad * 4 * tiles), 4, 4}, [=](const uint16_t* x, std::vector<void*>& o, bool nw) {
                cudaMemset(o[1], 0, npad * 4 * tiles); cudaMemset(o[3], 0, 4);
                float i2688 = (float)(1.0 / 2688.0), i6 = (float)(1.0 / 6.0);
                if (nw) { if (pts) fp8_amax<<<grid(n, tps), 256>>>(x, n, k, (int)n, (int)k, tps, (u32*)o[3]);
                          nvfp4_quant<<<grid(npad * blocks, 2, SCALE_BLOCKS_PER_THREAD), 256>>>(x, n, npad, k, (u32*)o[3], pts, i2688, i6, (uint8_t*)o[0], (uint8_t*)o[1], (u32*)o[2]); }
                else { if (pts) old::fp8_amax<<<grid(n, tps), 256>>>(x, n, k, (int)n, (int)k, tps, (old::u32*)o[3]);
                       old::nvfp4_quant<<<grid(npad * blocks, 2), 256>>>(x, n, npad, k, (old::u32*)o[3], pts, i2688, i6, (uint8_t*)o[0], (uint8_t*)o[1], (old::u32*)o[2]); }
                cudaMemset(o[3], 0, 4);
            }});
        }
    }
    return J;
}

__global__ void fp4_all(unsigned long long* bad, unsigned long long* first) {
    for (u64 i = blockIdx.x * (u64)blockDim.x + threadIdx.x; i < (1ull << 32); i += (u64)gridDim.x * blockDim.x) {
        u32 b = (u32)i;
        if (is_nan_bits(b)) continue;
        if (fp4_code_num(b) != old::fp4_code(b)) { atomicAdd(bad, 1ull); atomicMin(first, i); }
    }
}

// Every bf16 pair through the packed encoder against fp4_code_num (lanes: all 2^32 pairs of non-NaN bf16).
__global__ void fp4_pairs(unsigned long long* bad) {
    for (u64 i = blockIdx.x * (u64)blockDim.x + threadIdx.x; i < (1ull << 32); i += (u64)gridDim.x * blockDim.x) {
        u32 y2 = (u32)i;
        if (is_nan_bits(y2 << 16) || is_nan_bits(y2 & 0xFFFF0000u)) continue;
        u32 c2 = fp4x2_of_bf16(y2);
        if ((c2 & 0xFFFFu) != fp4_code_num(y2 << 16) || (c2 >> 16) != fp4_code_num(y2 & 0xFFFF0000u)) atomicAdd(bad, 1ull);
    }
}
// Every non-NaN f32, rounded to odd in either lane, through the packed encoder against fp4_code_num.
__global__ void fp4_round_odd(unsigned long long* bad) {
    for (u64 i = blockIdx.x * (u64)blockDim.x + threadIdx.x; i < (1ull << 32); i += (u64)gridDim.x * blockDim.x) {
        u32 b = (u32)i;
        if (is_nan_bits(b)) continue;
        u32 other = (u32)(i * 0x9E3779B1u) & 0x8FFFFFFFu;  // a number (exponent < 0x7F8) in the other lane
        u32 ref = fp4_code_num(b), ro = fp4_code_num(other);
        u32 c2 = fp4x2_of_bf16(bf2_round_odd(F(b), F(other))), d2 = fp4x2_of_bf16(bf2_round_odd(F(other), F(b)));
        if ((c2 & 0xFFFFu) != ref || (d2 >> 16) != ref || (c2 >> 16) != ro) atomicAdd(bad, 1ull);
    }
}
// MX: every bf16 x times every normal multiplier the kernel uses, packed path against fp4_code_num of the f32 product.
__global__ void fp4_mx(unsigned long long* bad) {
    u64 total = 65536ull * 254 * 2;
    for (u64 i = blockIdx.x * (u64)blockDim.x + threadIdx.x; i < total; i += (u64)gridDim.x * blockDim.x) {
        u32 x = (u32)(i & 0xFFFF), code = (u32)((i >> 16) % 254), rceil = (u32)((i >> 16) / 254);
        if (is_nan_bits(x << 16)) continue;
        u32 m = rceil && code == 0u ? 0x3F800000u : (254u - (code < 1u ? 1u : code)) << 23;
        u32 got = fp4x2_of_bf16(bf2_fma(x | (x << 16), bf2_splat(m), 0x80008000u)) & 0xFFFFu;
        if (got != fp4_code_num(B(__fmul_rn(F(x << 16), F(m))))) atomicAdd(bad, 1ull);
    }
}

static void exhaustive(const char* what, void (*k)(unsigned long long*)) {
    unsigned long long* d; CK(cudaMalloc(&d, 8)); CK(cudaMemset(d, 0, 8));
    k<<<132 * 16, 256>>>(d);
    unsigned long long h; CK(cudaMemcpy(&h, d, 8, cudaMemcpyDeviceToHost)); cudaFree(d);
    printf("%s: %llu differ%s\n", what, h, h ? " <-- FAILURE" : "");
    checks++; if (h) fails++;
}

int main(int argc, char** argv) {
    int seeds = argc > 1 ? atoi(argv[1]) : 3;
    cudaDeviceProp prop; CK(cudaGetDeviceProperties(&prop, 0));
    printf("device %s, CACHED_MIN_BLOCKS %d, SCALE_BLOCKS_PER_THREAD %d\n", prop.name, CACHED_MIN_BLOCKS, SCALE_BLOCKS_PER_THREAD);
    {
        unsigned long long* d; CK(cudaMalloc(&d, 16)); unsigned long long h[2] = {0, ~0ull}; CK(cudaMemcpy(d, h, 16, cudaMemcpyHostToDevice));
        fp4_all<<<132 * 16, 256>>>(d, d + 1); CK(cudaMemcpy(h, d, 16, cudaMemcpyDeviceToHost));
        printf("fp4_code_num vs fp4_code on every non-NaN f32: %llu differ%s\n", h[0], h[0] ? " <-- FAILURE" : "");
        if (h[0]) { printf("first %llx\n", h[1]); fails++; }
        checks++;
    }
    exhaustive("packed fp4 encoder vs fp4_code_num, every pair of bf16", fp4_pairs);
    exhaustive("packed fp4 encoder after round-to-odd vs fp4_code_num, every f32", fp4_round_odd);
    exhaustive("MX packed fp4 path vs fp4_code_num of the f32 product, every bf16 x normal multiplier", fp4_mx);
    long long N = 65536, K = 8192;
    uint16_t* x; CK(cudaMalloc(&x, N * K * 2));
    // equality: odd shapes and stress inputs
    struct S { long long n, k; };
    bool timeOnly = argc > 2;
    if (!timeOnly) for (S s : {S{4096, 8192}, S{136, 1536}, S{200, 1120}, S{1024, 14336}, S{8, 4096}}) {
        for (int mode = 0; mode < 4; mode++) {
            for (int seed = 0; seed < (mode == 0 ? 1 : seeds); seed++) {
                gen<<<1024, 256>>>(x, s.n * s.k, mode, 1000 * mode + seed + 7 * s.k);
                char in[64]; snprintf(in, sizeof in, "[%lld,%lld] mode %d seed %d", s.n, s.k, mode, seed);
                for (auto& j : jobs(s.n, s.k)) compare(j, x, in);
            }
        }
    }
    printf("equality: %d of %d checks identical\n", checks - fails, checks);
    // timing on 1 GiB of N(0, 0.02), compared once too
    gen<<<4096, 256>>>(x, N * K, 0, 42);
    CK(cudaDeviceSynchronize());
    void *c1, *c2; CK(cudaMalloc(&c1, N * K * 2)); CK(cudaMalloc(&c2, N * K * 2));
    float copy = timeit([&] { cudaMemcpyAsync(c2, x, N * K * 2, cudaMemcpyDeviceToDevice); }, 10);
    cudaFree(c1); cudaFree(c2);
    double copyBw = 2.0 * N * K * 2 / (copy * 1e-3) / 1e9;
    printf("D2D copy 1 GiB: %.3f ms, %.0f GB/s (read + write)\n", copy, copyBw);
    for (auto& j : jobs(N, K)) {
        compare(j, x, "1 GiB normal");
        std::vector<void*> o;
        size_t outb = 0;
        for (size_t b : j.outBytes) { void* p; CK(cudaMalloc(&p, b)); o.push_back(p); outb += b; }
        float to = timeit([&] { j.run(x, o, false); }, 10), tn = timeit([&] { j.run(x, o, true); }, 10);
        double bytes = (double)N * K * 2 + outb;
        printf("%-18s old %.3f ms (%.2f of copy)  new %.3f ms (%.2f of copy)  x%.2f\n", j.name.c_str(), to,
               bytes / (to * 1e-3) / 1e9 / copyBw, tn, bytes / (tn * 1e-3) / 1e9 / copyBw, to / tn);
        for (void* p : o) cudaFree(p);
    }
    printf("equality total: %d of %d checks identical%s\n", checks - fails, checks, fails ? "  <-- FAILURES" : "");
    return fails ? 1 : 0;
}
