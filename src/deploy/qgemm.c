// int8 linear layers: weight quantisation, packing and the run-time choice between the AVX2 kernels and
// the scalar reference (qgemm_ref.c, qgemm_avx2.c).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/qgemm.h"

void os_quantize_rows(int8_t *q, float *scale, const float *w, int OC, int K) {
    for (int o = 0; o < OC; o++) {
        const float *row = w + (size_t)o * K;
        float m = 0;
        for (int k = 0; k < K; k++) m = fmaxf(m, fabsf(row[k]));
        const float s = m > 0 ? m / (float)OS_QW_MAX : 1.0f;
        scale[o] = s;
        for (int k = 0; k < K; k++) {
            long v = lrintf(row[k] / s);
            q[(size_t)o * K + k] = (int8_t)(v > OS_QW_MAX ? OS_QW_MAX : v < -OS_QW_MAX ? -OS_QW_MAX : v);
        }
    }
}

static int round_up(int x, int m) { return (x + m - 1) / m * m; }

os_status os_qmatrix_init(os_qmatrix *m, const int8_t *q, const float *scale, int OC, int K) {
    memset(m, 0, sizeof *m);
    if (OC <= 0 || K <= 0) return os_fail(OS_ERR_INPUT, "int8 matrix shape must be positive, got %dx%d", OC, K);
    m->OC = OC;
    m->K = K;
    m->OCp = round_up(OC, OS_QGEMM_NB);
    m->Kp = round_up(K, OS_QGEMM_KB);
    m->q = malloc((size_t)OC * K);
    m->packed = aligned_alloc(32, (size_t)m->OCp * m->Kp);
    m->scale = malloc((size_t)OC * sizeof(float));
    m->wsum = malloc((size_t)OC * sizeof(int32_t));
    if (!m->q || !m->packed || !m->scale || !m->wsum) {
        os_qmatrix_free(m);
        return os_fail(OS_ERR_NOMEM, "out of memory for a %dx%d int8 matrix", OC, K);
    }
    memcpy(m->q, q, (size_t)OC * K);
    memcpy(m->scale, scale, (size_t)OC * sizeof(float));
    memset(m->packed, 0, (size_t)m->OCp * m->Kp);
    const int G = m->Kp / OS_QGEMM_KB;
    for (int o = 0; o < OC; o++) {
        int32_t s = 0;
        const int blk = o / OS_QGEMM_NB, j = o % OS_QGEMM_NB;
        for (int k = 0; k < K; k++) {
            const int8_t v = q[(size_t)o * K + k];
            s += v;
            const int g = k / OS_QGEMM_KB, kk = k % OS_QGEMM_KB;
            m->packed[(((size_t)blk * G + g) * OS_QGEMM_NB + j) * OS_QGEMM_KB + kk] = v;
        }
        m->wsum[o] = s;
    }
    return OS_OK;
}

void os_qmatrix_free(os_qmatrix *m) {
    free(m->q);
    free(m->packed);
    free(m->scale);
    free(m->wsum);
    memset(m, 0, sizeof *m);
}

os_status os_qacts_alloc(os_qacts *a, int N_max, int K) {
    memset(a, 0, sizeof *a);
    a->K = K;
    a->Kp = a->Kp_max = round_up(K, OS_QGEMM_KB);
    a->N_max = N_max;
    a->q = calloc((size_t)N_max * a->Kp + 32, 1);  // + 32: the AVX2 quantiser's last partial store
    a->scale = calloc((size_t)N_max, sizeof(float));
    a->zero = calloc((size_t)N_max, sizeof(int32_t));
    if (!a->q || !a->scale || !a->zero) {
        os_qacts_free(a);
        return os_fail(OS_ERR_NOMEM, "out of memory for %dx%d quantised activations", N_max, K);
    }
    return OS_OK;
}

void os_qacts_free(os_qacts *a) {
    free(a->q);
    free(a->scale);
    free(a->zero);
    memset(a, 0, sizeof *a);
}

void os_qacts_set_k(os_qacts *a, int K) {
    a->K = K;
    a->Kp = round_up(K, OS_QGEMM_KB);
}

static int use_avx2(void) {
    static int cached = -1;  // benign race: every thread computes the same value
    if (cached < 0) {
        const char *force = getenv("ONESTONE_QGEMM");
        int cpu = 0;
#if defined(__x86_64__) || defined(__i386__)
        __builtin_cpu_init();
        cpu = __builtin_cpu_supports("avx2") != 0;
#endif
        cached = cpu && !(force && !strcmp(force, "scalar"));
    }
    return cached;
}

int os_qgemm_uses_avx2(void) { return use_avx2(); }

void os_qacts_quantize(os_qacts *a, const float *x, int N) {
    if (use_avx2()) os_qacts_quantize_avx2(a, x, N);
    else os_qacts_quantize_ref(a, x, N);
}

void os_qgemm(float *out, const os_qacts *a, const os_qmatrix *w, const float *bias) {
    if (use_avx2()) os_qgemm_avx2(out, NULL, a, w, bias);
    else os_qgemm_ref(out, NULL, a, w, bias);
}
