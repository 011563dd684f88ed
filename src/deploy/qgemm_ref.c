// Scalar reference of the int8 kernels: the oracle the AVX2 kernels must match bit for bit.
#include <math.h>
#include <string.h>

#include "deploy/qgemm.h"
#include "deploy/qgemm_internal.h"

void os_qacts_quantize_ref(os_qacts *a, const float *x, int N) {
    a->N = N;
    for (int n = 0; n < N; n++) {
        const float *row = x + (size_t)n * a->K;
        float mn = 0, mx = 0;
        for (int k = 0; k < a->K; k++) {
            mn = fminf(mn, row[k]);
            mx = fmaxf(mx, row[k]);
        }
        float inv;
        int32_t zp;
        qact_row_params(mn, mx, &a->scale[n], &inv, &zp);
        a->zero[n] = zp;
        uint8_t *q = a->q + (size_t)n * a->Kp;
        for (int k = 0; k < a->K; k++) {
            long v = lrintf(row[k] * inv) + zp;
            q[k] = (uint8_t)(v < 0 ? 0 : v > OS_QACT_MAX ? OS_QACT_MAX : v);
        }
        memset(q + a->K, 0, (size_t)(a->Kp - a->K));
    }
}

void os_qgemm_ref(float *out, int32_t *acc, const os_qacts *a, const os_qmatrix *w, const float *bias) {
    for (int n = 0; n < a->N; n++) {
        const uint8_t *x = a->q + (size_t)n * a->Kp;
        for (int o = 0; o < w->OC; o++) {
            const int8_t *wr = w->q + (size_t)o * w->K;
            int32_t s = 0;
            for (int k = 0; k < w->K; k++) s += (int32_t)x[k] * wr[k];
            if (acc) acc[(size_t)n * w->OC + o] = s;
            out[(size_t)n * w->OC + o] = qdequant(s, a->zero[n], w->wsum[o], a->scale[n], w->scale[o], bias ? bias[o] : 0.0f);
        }
    }
}
