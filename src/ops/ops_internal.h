// Helpers shared by the operator kernels (not part of the public ops API): the OpenMP work threshold,
// operator scratch allocation, and branch-free float exp/erf that vectorize under `#pragma omp simd`.
#ifndef ONESTONE_OPS_INTERNAL_H
#define ONESTONE_OPS_INTERNAL_H
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Below this many elements of work a kernel runs on the calling thread (a parallel region costs more).
// Every parallel loop gives each output row / column block to exactly one thread, so results never
// depend on the thread count.
#define OPS_PAR_MIN 16384

// Scratch memory for a kernel. The kernels return void (llm.c style), so running out of memory for a
// few rows of work space is fatal.
static inline void *ops_xmalloc(size_t bytes) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "onestone: out of memory (%zu bytes of operator scratch)\n", bytes);
        abort();
    }
    return p;
}

// 32-byte aligned scratch (the packed GEMM's aligned loads); free() releases it.
static inline void *ops_xmalloc_aligned(size_t bytes) {
    void *p = aligned_alloc(32, (bytes + 31) & ~(size_t)31);
    if (!p) {
        fprintf(stderr, "onestone: out of memory (%zu bytes of operator scratch)\n", bytes);
        abort();
    }
    return p;
}

// linear_forward's packed-weight path (linear.c): packs w for this call, then gemm_packed_forward.
void linear_forward_packed(float *out, float *pre, float *cdf, const float *inp, const float *w, const float *b,
                           int N, int C, int OC, int act);

// max(x[0..n)), -inf when n == 0; NaNs are skipped (they propagate through the caller's exp instead).
// Eight independent lanes, so both gcc and clang vectorize it without -ffast-math (clang does not
// vectorize an `omp simd reduction(max)` over floats).
static inline float ops_max(const float *x, int n) {
    float m[8] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) m[l] = x[i + l] > m[l] ? x[i + l] : m[l];
    float r = -INFINITY;
    for (; i < n; i++) r = x[i] > r ? x[i] : r;
    for (int l = 0; l < 8; l++) r = m[l] > r ? m[l] : r;
    return r;
}

static inline float ops_bits_to_float(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}
static inline uint32_t ops_float_to_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

// c ? a : b on the bits. gcc sinks an arithmetic operand of a float ?: into a branch and then cannot
// vectorize the loop (it may not speculate a trapping operation); a bitwise blend has no branch.
static inline float ops_select(int c, float a, float b) {
    const uint32_t m = 0u - (uint32_t)(c != 0);
    return ops_bits_to_float((ops_float_to_bits(a) & m) | (ops_float_to_bits(b) & ~m));
}

// exp(x) in float, about 1 ulp on [-87.3, 88], branch-free so loops around it vectorize (Cephes expf:
// Cody-Waite reduction x = n ln2 + r, degree-6 polynomial for exp(r), 2^n built in the exponent bits).
// Returns 0 below -87.33 (where expf is subnormal), saturates at exp(88) above 88, and propagates NaN.
// Always inlined, like ops_erff and the GELU helpers: out of line (gcc stops inlining a big function used at
// several places of one file) the loops around them no longer vectorize, which measured 15 % of a training step.
#define OPS_ALWAYS_INLINE __attribute__((always_inline))
static inline OPS_ALWAYS_INLINE float ops_expf(float x) {
    const float hi = 88.0f, lo = -87.336544f;  // lo = ln(2^-126): the smallest normal result
    float xc = ops_select(x > hi, hi, x);       // comparisons keep NaN (fminf would drop it)
    xc = ops_select(xc < lo, lo, xc);
    // Round x*log2(e) to the nearest integer with the 1.5*2^23 trick: no float->int conversion, so
    // NaN cannot hit undefined behaviour, and the integer sits in the low mantissa bits of t.
    const float shifter = 12582912.0f;
    float t = xc * 1.44269504088896341f + shifter;
    float fx = t - shifter;
    float r = xc - fx * 0.693359375f;
    r = r - fx * -2.12194440e-4f;
    float y = 1.9875691500e-4f;
    y = y * r + 1.3981999507e-3f;
    y = y * r + 8.3334519073e-3f;
    y = y * r + 4.1665795894e-2f;
    y = y * r + 1.6666665459e-1f;
    y = y * r + 5.0000001201e-1f;
    y = y * r * r + r + 1.0f;
    uint32_t n_biased = ops_float_to_bits(t) - 0x4B400000u + 127u;  // n + 127, in [1, 254] here
    float scale = ops_bits_to_float(n_biased << 23);
    return ops_select(x < lo, 0.0f, y * scale);
}

// y[i] = exp(x[i] - max(x)) for i < n, the numerators of a stable softmax (y may be x); returns their
// sum, accumulated in double, and the max in *max_out.
static inline double ops_exp_shifted(float *y, const float *x, int n, float *max_out) {
    const float mx = ops_max(x, n);
    double sum = 0.0;
#pragma omp simd reduction(+ : sum)
    for (int i = 0; i < n; i++) {
        y[i] = ops_expf(x[i] - mx);
        sum += y[i];
    }
    if (max_out) *max_out = mx;
    return sum;
}

// erf(x) in float, branch-free. For |x| >= 0.8: Abramowitz & Stegun 7.1.26 (absolute error <= 1.5e-7),
// the formula PyTorch's vectorized CPU erf uses; below, where that formula's 1 - r*t*exp(-x^2) cancels,
// the Taylor series to x^19 (truncation < 3e-9).
static inline OPS_ALWAYS_INLINE float ops_erff(float x) {
    float ax = fabsf(x);
    float t = 1.0f / (0.3275911f * ax + 1.0f);
    float r = 1.061405429f;
    r = r * t - 1.453152027f;
    r = r * t + 1.421413741f;
    r = r * t - 0.284496736f;
    r = r * t + 0.254829592f;
    float e = 1.0f - r * t * ops_expf(-x * x);
    float big = ops_select(x < 0.0f, -e, e);
    // 2/sqrt(pi) * sum_k (-1)^k x^(2k+1) / (k! (2k+1))
    float x2 = x * x;
    float s = -1.6365844691234924e-07f;
    s = s * x2 + 1.6462114365889246e-06f;
    s = s * x2 - 1.492565035840625e-05f;
    s = s * x2 + 1.2055332981789664e-4f;
    s = s * x2 - 8.548327023450852e-4f;
    s = s * x2 + 5.223977625442188e-3f;
    s = s * x2 - 2.6866170645131252e-2f;
    s = s * x2 + 1.1283791670955126e-1f;
    s = s * x2 - 3.7612638903183754e-1f;
    s = s * x2 + 1.1283791670955126f;
    return ops_select(ax < 0.8f, x * s, big);
}

// Exact GELU (erf form, HF "gelu"): x * Phi(x). x * ops_gelu_cdf(x) gives the same bits (the factor 0.5 is
// exact, so both round x * (1 + erf) / 2 once); the fused GELU saves Phi for its backward that way.
static inline OPS_ALWAYS_INLINE float ops_gelu(float x) { return x * 0.5f * (1.0f + ops_erff(x * (float)M_SQRT1_2)); }
static inline OPS_ALWAYS_INLINE float ops_gelu_cdf(float x) { return 0.5f * (1.0f + ops_erff(x * (float)M_SQRT1_2)); }

// GELU of one row of pre-activations: o = gelu(p); with cdf (else NULL), also cdf = Phi(p), saved for the
// backward (o = p * Phi(p) has the same bits as ops_gelu). Shared by the fused dense+GELU of linear_gelu.c and
// the packed GEMM's epilogue.
static inline void ops_gelu_row(float *restrict o, float *restrict cdf, const float *restrict p, int n) {
    if (cdf) {
#pragma omp simd
        for (int j = 0; j < n; j++) {
            const float c = ops_gelu_cdf(p[j]);
            cdf[j] = c;
            o[j] = p[j] * c;
        }
    } else {
#pragma omp simd
        for (int j = 0; j < n; j++) o[j] = ops_gelu(p[j]);
    }
}
#endif
