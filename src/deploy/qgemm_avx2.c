// AVX2 int8 kernels (compiled with -mavx2 -mfma; called only when the CPU reports AVX2). They must give the
// scalar reference's results bit for bit: the same int32 sums (u7 x s8 pair sums never saturate int16) and
// the same float operations in the same order afterwards.
#include <string.h>

#include "deploy/qgemm.h"
#include "deploy/qgemm_internal.h"

#if defined(__AVX2__)
#include <immintrin.h>

static float hmin(__m256 v) {
    __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_min_ps(m, _mm_movehl_ps(m, m));
    m = _mm_min_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

static float hmax(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

static __m256i quant8(const float *x, __m256 inv, __m256i zp) {
    const __m256i v = _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x), inv)), zp);
    return _mm256_min_epi32(_mm256_max_epi32(v, _mm256_setzero_si256()), _mm256_set1_epi32(OS_QACT_MAX));
}

void os_qacts_quantize_avx2(os_qacts *a, const float *x, int N) {
    a->N = N;
    const int K = a->K;
#pragma omp parallel for schedule(static) if ((size_t)N * K > 65536)
    for (int n = 0; n < N; n++) {
        const float *row = x + (size_t)n * K;
        __m256 vmn = _mm256_setzero_ps(), vmx = _mm256_setzero_ps();
        int k = 0;
        for (; k + 8 <= K; k += 8) {
            const __m256 v = _mm256_loadu_ps(row + k);
            vmn = _mm256_min_ps(vmn, v);
            vmx = _mm256_max_ps(vmx, v);
        }
        float mn = hmin(vmn), mx = hmax(vmx);
        for (; k < K; k++) {
            mn = row[k] < mn ? row[k] : mn;
            mx = row[k] > mx ? row[k] : mx;
        }
        float inv;
        int32_t zp;
        qact_row_params(mn, mx, &a->scale[n], &inv, &zp);
        a->zero[n] = zp;
        uint8_t *q = a->q + (size_t)n * a->Kp;
        const __m256 vinv = _mm256_set1_ps(inv);
        const __m256i vzp = _mm256_set1_epi32(zp), order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
        k = 0;
        for (; k + 32 <= K; k += 32) {
            const __m256i lo = _mm256_packs_epi32(quant8(row + k, vinv, vzp), quant8(row + k + 8, vinv, vzp));
            const __m256i hi = _mm256_packs_epi32(quant8(row + k + 16, vinv, vzp), quant8(row + k + 24, vinv, vzp));
            _mm256_storeu_si256((__m256i *)(q + k), _mm256_permutevar8x32_epi32(_mm256_packus_epi16(lo, hi), order));
        }
        for (; k < K; k++) {
            long v = _mm_cvtss_si32(_mm_set_ss(row[k] * inv)) + zp;  // round-half-even, as lrintf
            q[k] = (uint8_t)(v < 0 ? 0 : v > OS_QACT_MAX ? OS_QACT_MAX : v);
        }
        memset(q + K, 0, (size_t)(a->Kp - K));
    }
}

static __m256i bcast4(const uint8_t *p) {
    int32_t four;
    memcpy(&four, p, 4);
    return _mm256_set1_epi32(four);
}

// acc += the dot products of one activation broadcast (4 codes) with one packed vector (8 outputs x 4).
#define QMAC(acc, av, w) (acc) = _mm256_add_epi32((acc), _mm256_madd_epi16(_mm256_maddubs_epi16((av), (w)), ones))

// Four activation rows against one packed block of 16 outputs: 8 accumulators kept in registers.
static void dot4(__m256i acc[4][2], const uint8_t *const rows[4], const int8_t *pk, int G) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    for (int g = 0; g < G; g++) {
        const __m256i w0 = _mm256_load_si256((const __m256i *)(pk + (size_t)g * 64));
        const __m256i w1 = _mm256_load_si256((const __m256i *)(pk + (size_t)g * 64 + 32));
        __m256i av = bcast4(rows[0] + (size_t)g * 4);
        QMAC(c00, av, w0);
        QMAC(c01, av, w1);
        av = bcast4(rows[1] + (size_t)g * 4);
        QMAC(c10, av, w0);
        QMAC(c11, av, w1);
        av = bcast4(rows[2] + (size_t)g * 4);
        QMAC(c20, av, w0);
        QMAC(c21, av, w1);
        av = bcast4(rows[3] + (size_t)g * 4);
        QMAC(c30, av, w0);
        QMAC(c31, av, w1);
    }
    acc[0][0] = c00, acc[0][1] = c01, acc[1][0] = c10, acc[1][1] = c11;
    acc[2][0] = c20, acc[2][1] = c21, acc[3][0] = c30, acc[3][1] = c31;
}

static void dot1(__m256i acc[2], const uint8_t *row, const int8_t *pk, int G) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i c0 = _mm256_setzero_si256(), c1 = c0;
    for (int g = 0; g < G; g++) {
        const __m256i av = bcast4(row + (size_t)g * 4);
        QMAC(c0, av, _mm256_load_si256((const __m256i *)(pk + (size_t)g * 64)));
        QMAC(c1, av, _mm256_load_si256((const __m256i *)(pk + (size_t)g * 64 + 32)));
    }
    acc[0] = c0, acc[1] = c1;
}

// Per-block epilogue constants: loaded once per block of 16 output channels, not once per row.
typedef struct {
    __m256 sw[2], b[2];
    __m256i wsum[2];
    int o0, no;  // first channel, channels in this block (16 except in the last block)
} block_consts;

static inline block_consts block_load(const os_qmatrix *w, const float *bias, int blk) {
    block_consts c;
    c.o0 = blk * OS_QGEMM_NB;
    c.no = w->OC - c.o0 < OS_QGEMM_NB ? w->OC - c.o0 : OS_QGEMM_NB;
    if (c.no == OS_QGEMM_NB)
        for (int h = 0; h < 2; h++) {
            c.sw[h] = _mm256_loadu_ps(w->scale + c.o0 + 8 * h);
            c.wsum[h] = _mm256_loadu_si256((const __m256i *)(w->wsum + c.o0 + 8 * h));
            c.b[h] = bias ? _mm256_loadu_ps(bias + c.o0 + 8 * h) : _mm256_setzero_ps();
        }
    return c;
}

// Dequantises one row's 16 accumulators into out (and copies them to accout when asked).
static inline __attribute__((always_inline)) void store_block(float *out, int32_t *accout, const __m256i acc[2], int n,
                                                             const block_consts *c, const os_qacts *a,
                                                             const os_qmatrix *w, const float *bias) {
    const int OC = w->OC, o0 = c->o0, no = c->no;
    float *y = out + (size_t)n * OC + o0;
    if (accout || no < OS_QGEMM_NB) {
        int32_t t[OS_QGEMM_NB];
        _mm256_storeu_si256((__m256i *)t, acc[0]);
        _mm256_storeu_si256((__m256i *)(t + 8), acc[1]);
        if (accout) memcpy(accout + (size_t)n * OC + o0, t, (size_t)no * sizeof(int32_t));
        if (no < OS_QGEMM_NB) {  // the last, partial block: the same arithmetic one value at a time
            for (int j = 0; j < no; j++)
                y[j] = qdequant(t[j], a->zero[n], w->wsum[o0 + j], a->scale[n], w->scale[o0 + j], bias ? bias[o0 + j] : 0.0f);
            return;
        }
    }
    const __m256 sa = _mm256_set1_ps(a->scale[n]);
    const __m256i zp = _mm256_set1_epi32(a->zero[n]);
    for (int h = 0; h < 2; h++) {
        const __m256 s = _mm256_mul_ps(sa, c->sw[h]);
        const __m256 v = _mm256_cvtepi32_ps(_mm256_sub_epi32(acc[h], _mm256_mullo_epi32(zp, c->wsum[h])));
        _mm256_storeu_ps(y + 8 * h, _mm256_add_ps(_mm256_mul_ps(s, v), c->b[h]));
    }
}

void os_qgemm_avx2(float *out, int32_t *accout, const os_qacts *a, const os_qmatrix *w, const float *bias) {
    const int N = a->N, G = w->Kp / OS_QGEMM_KB, nblk = w->OCp / OS_QGEMM_NB;
    // Rows in chunks whose codes stay in L2 while every block of weights passes over them.
    const int chunk = (int)(131072 / (size_t)a->Kp) / 4 * 4 > 4 ? (int)(131072 / (size_t)a->Kp) / 4 * 4 : 4;
    for (int n0 = 0; n0 < N; n0 += chunk) {
        const int n1 = n0 + chunk < N ? n0 + chunk : N;
#pragma omp parallel for schedule(static) if ((size_t)(n1 - n0) * w->OC * w->K > 262144 && nblk > 1)
        for (int blk = 0; blk < nblk; blk++) {
            const int8_t *pk = w->packed + (size_t)blk * G * OS_QGEMM_NB * OS_QGEMM_KB;
            const block_consts bc = block_load(w, bias, blk);
            int n = n0;
            for (; n + 4 <= n1; n += 4) {
                __m256i acc[4][2];
                const uint8_t *const rows[4] = {a->q + (size_t)n * a->Kp, a->q + (size_t)(n + 1) * a->Kp,
                                                a->q + (size_t)(n + 2) * a->Kp, a->q + (size_t)(n + 3) * a->Kp};
                dot4(acc, rows, pk, G);
                for (int r = 0; r < 4; r++) store_block(out, accout, acc[r], n + r, &bc, a, w, bias);
            }
            for (; n < n1; n++) {
                __m256i acc[2];
                dot1(acc, a->q + (size_t)n * a->Kp, pk, G);
                store_block(out, accout, acc, n, &bc, a, w, bias);
            }
        }
    }
}
#else
// Built without AVX2 code generation (a compiler without -mavx2): the dispatcher never selects these.
void os_qacts_quantize_avx2(os_qacts *a, const float *x, int N) { os_qacts_quantize_ref(a, x, N); }
void os_qgemm_avx2(float *out, int32_t *acc, const os_qacts *a, const os_qmatrix *w, const float *bias) {
    os_qgemm_ref(out, acc, a, w, bias);
}
#endif
