// int8 kernels: the AVX2 kernels equal the scalar reference bit for bit (activation codes, int32
// accumulators, dequantised outputs), including the worst case for int16 saturation; the dequantised result
// stays within the analytic quantisation-error bound of the fp32 product.
#include "deploy/qgemm.h"
#include "ops/ops.h"
#include "ops_testutil.h"

typedef struct {
    int N, K, OC;
} shape;

static const shape shapes[] = {{1, 5, 3}, {7, 37, 19}, {13, 64, 48}, {9, 300, 33}, {64, 256, 256}, {5, 1024, 64}};

// Activations like a transformer's: normal rows, one row with outliers, one all-zero row, one non-negative
// (post-GELU-like) row.
static void fill_acts(os_rng *r, float *x, int N, int K) {
    tu_fill_normal(r, x, (size_t)N * K, 1.0f);
    if (N > 1) x[(size_t)1 * K + K / 2] = 25.0f;
    if (N > 2) memset(x + (size_t)2 * K, 0, (size_t)K * sizeof(float));
    if (N > 3)
        for (int k = 0; k < K; k++) x[(size_t)3 * K + k] = fabsf(x[(size_t)3 * K + k]);
}

static void test_avx2_equals_reference(void) {
    if (!os_qgemm_uses_avx2()) {
        printf("this CPU has no AVX2 (or ONESTONE_QGEMM=scalar): only the scalar kernels run\n");
        return;
    }
    os_rng r;
    os_rng_seed(&r, 7);
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        const int N = shapes[s].N, K = shapes[s].K, OC = shapes[s].OC;
        float *x = tu_floats((size_t)N * K), *w = tu_floats((size_t)OC * K), *b = tu_floats((size_t)OC);
        float *scale = tu_floats((size_t)OC);
        int8_t *q = tu_alloc((size_t)OC * K);
        fill_acts(&r, x, N, K);
        tu_fill_normal(&r, w, (size_t)OC * K, 0.05f);
        tu_fill_normal(&r, b, (size_t)OC, 0.1f);
        os_quantize_rows(q, scale, w, OC, K);
        os_qmatrix m;
        os_qacts a1, a2;
        CHECK(!os_qmatrix_init(&m, q, scale, OC, K));
        CHECK(!os_qacts_alloc(&a1, N, K));
        CHECK(!os_qacts_alloc(&a2, N, K));
        os_qacts_quantize_ref(&a1, x, N);
        os_qacts_quantize_avx2(&a2, x, N);
        CHECK_MSG(!memcmp(a1.q, a2.q, (size_t)N * a1.Kp), "activation codes differ (shape %d)", (int)s);
        CHECK(!memcmp(a1.scale, a2.scale, (size_t)N * sizeof(float)));
        CHECK(!memcmp(a1.zero, a2.zero, (size_t)N * sizeof(int32_t)));
        int32_t *acc1 = tu_alloc((size_t)N * OC * 4), *acc2 = tu_alloc((size_t)N * OC * 4);
        float *y1 = tu_floats((size_t)N * OC), *y2 = tu_floats((size_t)N * OC);
        os_qgemm_ref(y1, acc1, &a1, &m, b);
        os_qgemm_avx2(y2, acc2, &a1, &m, b);
        CHECK_MSG(!memcmp(acc1, acc2, (size_t)N * OC * 4), "int32 accumulators differ (N=%d K=%d OC=%d)", N, K, OC);
        CHECK_MSG(!memcmp(y1, y2, (size_t)N * OC * 4), "dequantised outputs differ (N=%d K=%d OC=%d)", N, K, OC);
        os_qgemm_avx2(y2, NULL, &a1, &m, NULL);  // no bias
        os_qgemm_ref(y1, NULL, &a1, &m, NULL);
        CHECK(!memcmp(y1, y2, (size_t)N * OC * 4));
        free(acc1), free(acc2), free(y1), free(y2), free(x), free(w), free(b), free(scale), free(q);
        os_qmatrix_free(&m);
        os_qacts_free(&a1);
        os_qacts_free(&a2);
    }
}

// Every pair sum at its maximum, 2 * 127 * 127, and at its minimum: int16 would saturate with 8-bit codes.
static void test_no_saturation(void) {
    const int N = 5, K = 64, OC = 16;
    int8_t *q = tu_alloc((size_t)OC * K);
    float *scale = tu_floats(OC), *y1 = tu_floats((size_t)N * OC), *y2 = tu_floats((size_t)N * OC);
    for (int o = 0; o < OC; o++) {
        scale[o] = 1;
        for (int k = 0; k < K; k++) q[o * K + k] = (int8_t)(o % 2 ? -OS_QW_MAX : OS_QW_MAX);
    }
    os_qmatrix m;
    os_qacts a;
    CHECK(!os_qmatrix_init(&m, q, scale, OC, K));
    CHECK(!os_qacts_alloc(&a, N, K));
    a.N = N;
    memset(a.q, OS_QACT_MAX, (size_t)N * a.Kp);
    for (int n = 0; n < N; n++) a.scale[n] = 1, a.zero[n] = 0;
    int32_t *acc1 = tu_alloc((size_t)N * OC * 4), *acc2 = tu_alloc((size_t)N * OC * 4);
    os_qgemm_ref(y1, acc1, &a, &m, NULL);
    os_qgemm_avx2(y2, acc2, &a, &m, NULL);
    CHECK(acc1[0] == OS_QACT_MAX * OS_QW_MAX * K && acc1[1] == -OS_QACT_MAX * OS_QW_MAX * K);
    CHECK(!memcmp(acc1, acc2, (size_t)N * OC * 4));
    free(q), free(scale), free(y1), free(y2), free(acc1), free(acc2);
    os_qmatrix_free(&m);
    os_qacts_free(&a);
}

// |y_int8 - y_fp32| <= sum_k (|w_k| ea + |x_k| ew + ea ew) + 1e-5 |y|, with ea = activation scale (half a step
// of rounding plus at most half a step of clamping at the range ends) and ew = weight scale / 2. Also the
// relative L2 error over a realistic matrix, the figure docs/deploy.md quotes.
static void test_error_bound(void) {
    os_rng r;
    os_rng_seed(&r, 11);
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        const int N = shapes[s].N, K = shapes[s].K, OC = shapes[s].OC;
        float *x = tu_floats((size_t)N * K), *w = tu_floats((size_t)OC * K), *b = tu_floats((size_t)OC);
        float *scale = tu_floats((size_t)OC), *yq = tu_floats((size_t)N * OC), *yf = tu_floats((size_t)N * OC);
        int8_t *q = tu_alloc((size_t)OC * K);
        fill_acts(&r, x, N, K);
        tu_fill_normal(&r, w, (size_t)OC * K, 0.05f);
        tu_fill_normal(&r, b, (size_t)OC, 0.1f);
        os_quantize_rows(q, scale, w, OC, K);
        os_qmatrix m;
        os_qacts a;
        CHECK(!os_qmatrix_init(&m, q, scale, OC, K));
        CHECK(!os_qacts_alloc(&a, N, K));
        os_qacts_quantize(&a, x, N);
        os_qgemm(yq, &a, &m, b);
        linear_forward_ref(yf, x, w, b, N, K, OC);
        double num = 0, den = 0;
        int bad = 0;
        for (int n = 0; n < N; n++)
            for (int o = 0; o < OC; o++) {
                double bound = 0;
                const double ea = a.scale[n], ew = scale[o] / 2;
                for (int k = 0; k < K; k++)
                    bound += fabs(w[(size_t)o * K + k]) * ea + fabs(x[(size_t)n * K + k]) * ew + ea * ew;
                const double yv = yf[(size_t)n * OC + o], d = yq[(size_t)n * OC + o] - yv;
                bad += fabs(d) > bound + 1e-5 * fabs(yv) + 1e-6;
                num += d * d;
                den += yv * yv;
            }
        CHECK_MSG(!bad, "%d outputs outside the quantisation error bound (N=%d K=%d OC=%d)", bad, N, K, OC);
        if (N >= 64) {
            const double rel = sqrt(num / den);
            printf("relative L2 error of int8 vs fp32 (N=%d K=%d OC=%d): %.4f\n", N, K, OC, rel);
            CHECK_MSG(rel < 0.03, "relative error %.4f", rel);
        }
        free(x), free(w), free(b), free(scale), free(yq), free(yf), free(q);
        os_qmatrix_free(&m);
        os_qacts_free(&a);
    }
}

static void test_weight_quantisation(void) {
    const float w[2][4] = {{0.5f, -1.0f, 0.25f, 0.0f}, {0, 0, 0, 0}};
    int8_t q[8];
    float s[2];
    os_quantize_rows(q, s, &w[0][0], 2, 4);
    CHECK_NEAR(s[0], 1.0 / 127, 1e-9);
    CHECK(q[0] == 64 && q[1] == -127 && q[2] == 32 && q[3] == 0);  // 63.5 rounds to even: 64
    CHECK(s[1] == 1.0f && q[4] == 0 && q[7] == 0);
    os_qmatrix m;
    CHECK(os_qmatrix_init(&m, q, s, 0, 4) == OS_ERR_INPUT);
}

int main(void) {
    RUN(test_weight_quantisation);
    RUN(test_avx2_equals_reference);
    RUN(test_no_saturation);
    RUN(test_error_bound);
    return th_finish();
}
