// Inverted dropout with a counter-based mask: keep[i] is a pure function of (seed, i), so a run is
// reproducible, independent of the thread count, and a mask can be recomputed instead of stored.
#include "ops/ops.h"
#include "ops/ops_internal.h"

static uint64_t mix64(uint64_t z) {  // splitmix64's finalizer
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint32_t fmix32(uint32_t h) {  // murmur3's finalizer: a bijection with full avalanche
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

void dropout_forward(float *out, uint8_t *keep, const float *inp, size_t n, float p, uint64_t seed) {
    if (p <= 0.0f) {
        if (out != inp) memcpy(out, inp, n * sizeof *out);
        memset(keep, 1, n);
        return;
    }
    if (p >= 1.0f) {  // everything dropped (torch returns zeros)
        memset(out, 0, n * sizeof *out);
        memset(keep, 0, n);
        return;
    }
    // Keep when a uniform 32-bit hash of (seed, i) is >= p * 2^32: P(keep) = 1 - p to within 2^-32.
    const uint32_t threshold = (uint32_t)((double)p * 4294967296.0);
    const float scale = 1.0f / (1.0f - p);
    // The hash works on 32-bit lanes (vectorizes on AVX2): the low half of i is hashed with a key made
    // from the seed and the high half of i. Blocks of 4096 never straddle a multiple of 2^32.
    const size_t BLK = 4096;
    const ptrdiff_t nblk = (ptrdiff_t)((n + BLK - 1) / BLK);
#pragma omp parallel for schedule(static) if (n > OPS_PAR_MIN)
    for (ptrdiff_t blk = 0; blk < nblk; blk++) {
        const size_t i0 = (size_t)blk * BLK;
        const int len = (int)(n - i0 < BLK ? n - i0 : BLK);
        const uint64_t key = mix64(seed ^ mix64((uint64_t)(i0 >> 32) + 0x9e3779b97f4a7c15ULL));
        const uint32_t ka = (uint32_t)key, kb = (uint32_t)(key >> 32), lo = (uint32_t)i0;
        float *o = out + i0;
        uint8_t *kp = keep + i0;
        const float *x = inp + i0;
#pragma omp simd
        for (int j = 0; j < len; j++) {
            const uint32_t h = fmix32(fmix32((lo + (uint32_t)j) * 0x9e3779b1u + ka) ^ kb);
            const uint8_t kept = h >= threshold;
            kp[j] = kept;
            o[j] = x[j] * (kept ? scale : 0.0f);  // torch's x * (keep / (1 - p)): a dropped inf gives NaN
        }
    }
}

void dropout_backward(float *dinp, const float *dout, const uint8_t *keep, size_t n, float p) {
    const ptrdiff_t m = (ptrdiff_t)n;
    if (p >= 1.0f) return;  // nothing was kept
    if (p <= 0.0f) {        // identity (keep is all 1)
#pragma omp parallel for simd schedule(static) if (parallel : n > 4 * OPS_PAR_MIN)
        for (ptrdiff_t i = 0; i < m; i++) dinp[i] += dout[i];
        return;
    }
    const float scale = 1.0f / (1.0f - p);
#pragma omp parallel for simd schedule(static) if (parallel : n > 4 * OPS_PAR_MIN)
    for (ptrdiff_t i = 0; i < m; i++) dinp[i] += dout[i] * (keep[i] ? scale : 0.0f);
}
