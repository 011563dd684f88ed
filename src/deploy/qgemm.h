// int8 linear layers for inference: weights quantised symmetrically per output channel (int8 in [-127,127],
// one float scale per row), activations quantised dynamically per row to 7-bit unsigned values with a zero
// point (u7 in [0,127], PyTorch fbgemm's "reduce_range"). 7 bits keep AVX2's u8 x s8 pair sums
// (_mm256_maddubs_epi16) below the int16 limit (2 * 127 * 127 = 32258 <= 32767), so the AVX2 kernel never
// saturates and its int32 accumulators equal the scalar reference's exactly.
//   y[n][o] = sa[n] * sw[o] * (sum_k qa[n][k] * qw[o][k] - za[n] * sum_k qw[o][k]) + b[o]
#ifndef ONESTONE_DEPLOY_QGEMM_H
#define ONESTONE_DEPLOY_QGEMM_H
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define OS_QACT_MAX 127  // activation code range [0, OS_QACT_MAX]
#define OS_QW_MAX 127    // weight code range [-OS_QW_MAX, OS_QW_MAX]
#define OS_QGEMM_NB 16   // output channels per packed block
#define OS_QGEMM_KB 4    // reduction values per packed group (one 32-bit broadcast of activations)

typedef struct {
    int OC, K;       // logical shape (torch.nn.Linear: out_features, in_features)
    int OCp, Kp;     // padded to OS_QGEMM_NB and OS_QGEMM_KB
    int8_t *q;       // (OC,K) row-major codes, as stored in the model file
    int8_t *packed;  // (OCp/NB) blocks x (Kp/KB) groups x NB x KB codes, zero padded (the AVX2 layout)
    float *scale;    // (OC) per-row weight scales
    int32_t *wsum;   // (OC) sum_k q[o][k], for the activation zero point
} os_qmatrix;

// Quantised activations of N rows of K values: codes (N, Kp) zero padded, scale and zero point per row.
typedef struct {
    int N, K, Kp;
    int N_max, Kp_max;  // capacity
    uint8_t *q;
    float *scale;
    int32_t *zero;
} os_qacts;

// Symmetric per-row quantisation of a float (OC,K) matrix: scale[o] = max|w[o]| / 127 (1 for a zero row),
// q = round-half-even(w / scale) clamped to [-127,127].
void os_quantize_rows(int8_t *q, float *scale, const float *w, int OC, int K);
// Builds a matrix from codes and scales (copied); frees with os_qmatrix_free.
os_status os_qmatrix_init(os_qmatrix *m, const int8_t *q, const float *scale, int OC, int K);
void os_qmatrix_free(os_qmatrix *m);

os_status os_qacts_alloc(os_qacts *a, int N_max, int K);
void os_qacts_free(os_qacts *a);
// Reuses the buffers for rows of K values (K <= the allocated K).
void os_qacts_set_k(os_qacts *a, int K);

// Dispatching entry points: AVX2 when the CPU has it (checked once at run time), the scalar reference
// otherwise. ONESTONE_QGEMM=scalar in the environment forces the scalar kernels (for comparisons).
void os_qacts_quantize(os_qacts *a, const float *x, int N);
// out(N,OC) = dequantised product + bias (bias may be NULL).
void os_qgemm(float *out, const os_qacts *a, const os_qmatrix *w, const float *bias);
// 1 when the dispatching entry points use the AVX2 kernels.
int os_qgemm_uses_avx2(void);

// The scalar reference (the oracle) and the AVX2 kernels, for tests. acc (N,OC) receives the raw int32
// sums over k of qa * qw (before the zero-point correction); pass NULL to skip it.
void os_qacts_quantize_ref(os_qacts *a, const float *x, int N);
void os_qgemm_ref(float *out, int32_t *acc, const os_qacts *a, const os_qmatrix *w, const float *bias);
void os_qacts_quantize_avx2(os_qacts *a, const float *x, int N);
void os_qgemm_avx2(float *out, int32_t *acc, const os_qacts *a, const os_qmatrix *w, const float *bias);
#endif
