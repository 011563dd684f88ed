// Operator kernels against their scalar _ref oracles and against known values; masking, dropout and
// loss edge cases; results independent of the thread count.
#include "ops/ops.h"
#include "ops/ops_internal.h"
#include "ops_testutil.h"

enum { B = TU_B, T = TU_T, NH = TU_NH, HS = TU_HS, C = TU_C, N = B * T };
static const int LENS[B] = {37, 21, 0};  // the last sequence is all padding

static void test_fast_math(void) {
    // ops_expf: ~1 ulp where the result is normal, 0 below, NaN through.
    double worst = 0.0;
    for (int i = 0; i <= 200000; i++) {
        float x = -87.3f + (88.0f + 87.3f) * (float)i / 200000.0f;
        double e = fabs(ops_expf(x) - exp((double)x)) / exp((double)x);
        if (e > worst) worst = e;
    }
    printf("  ops_expf max rel err %.2e\n", worst);
    CHECK(worst < 2.5e-7);
    CHECK(ops_expf(0.0f) == 1.0f);
    CHECK(ops_expf(-100.0f) == 0.0f && ops_expf(-INFINITY) == 0.0f);
    CHECK(isnan(ops_expf(NAN)));
    // ops_erff: Abramowitz-Stegun 7.1.26, absolute error <= 1.5e-7 (plus float rounding).
    worst = 0.0;
    for (int i = 0; i <= 200000; i++) {
        float x = -6.0f + 12.0f * (float)i / 200000.0f;
        double e = fabs(ops_erff(x) - erf((double)x));
        if (e > worst) worst = e;
    }
    printf("  ops_erff max abs err %.2e\n", worst);
    CHECK(worst < 2.5e-7);
    CHECK(isnan(ops_erff(NAN)));
}

static void test_linear(void) {
    os_rng r;
    os_rng_seed(&r, 1);
    const int shapes[][3] = {{N, C, 40}, {N, C, 1}, {1, 1, 5}, {7, 3, 2 * C}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int n = shapes[s][0], c = shapes[s][1], oc = shapes[s][2];
        float *x = tu_floats((size_t)n * c), *w = tu_floats((size_t)oc * c), *b = tu_floats(oc);
        float *out = tu_floats((size_t)n * oc), *ref = tu_floats((size_t)n * oc), *dout = tu_floats((size_t)n * oc);
        tu_fill_normal(&r, x, (size_t)n * c, 1.0f);
        tu_fill_normal(&r, w, (size_t)oc * c, 0.3f);
        tu_fill_normal(&r, b, oc, 1.0f);
        tu_fill_normal(&r, dout, (size_t)n * oc, 1.0f);
        for (int with_bias = 0; with_bias < 2; with_bias++) {
            const float *bias = with_bias ? b : NULL;
            for (size_t i = 0; i < (size_t)n * oc; i++) out[i] = NAN;  // the forward overwrites
            linear_forward(out, x, w, bias, n, c, oc);
            linear_forward_ref(ref, x, w, bias, n, c, oc);
            tu_expect_close(with_bias ? "linear forward" : "linear forward (no bias)", out, ref,
                            (size_t)n * oc, 1e-5);
        }
        // Backward from the same non-zero starting gradients (it accumulates).
        float *g[3], *gr[3];
        const size_t sz[3] = {(size_t)n * c, (size_t)oc * c, (size_t)oc};
        for (int i = 0; i < 3; i++) {
            g[i] = tu_floats(sz[i]);
            tu_fill_normal(&r, g[i], sz[i], 1.0f);
            gr[i] = tu_copy(g[i], sz[i]);
        }
        linear_backward(g[0], g[1], g[2], dout, x, w, n, c, oc);
        linear_backward_ref(gr[0], gr[1], gr[2], dout, x, w, n, c, oc);
        tu_expect_close("linear dinp", g[0], gr[0], sz[0], 1e-5);
        tu_expect_close("linear dw", g[1], gr[1], sz[1], 1e-5);
        tu_expect_close("linear db", g[2], gr[2], sz[2], 1e-5);
        // NULL gradients are skipped and leave the others unchanged.
        float *dw_only = tu_floats(sz[1]), *dw_all = tu_floats(sz[1]), *di = tu_floats(sz[0]), *db = tu_floats(oc);
        linear_backward(NULL, dw_only, NULL, dout, x, w, n, c, oc);
        linear_backward(di, dw_all, db, dout, x, w, n, c, oc);
        CHECK(tu_bitwise_equal(dw_only, dw_all, sz[1] * sizeof(float)));
        for (int i = 0; i < 3; i++) {
            free(g[i]);
            free(gr[i]);
        }
        free(dw_only), free(dw_all), free(di), free(db);
        free(x), free(w), free(b), free(out), free(ref), free(dout);
    }
    // No rows: nothing happens (and nothing is read).
    linear_forward(NULL, NULL, NULL, NULL, 0, 4, 4);
    linear_backward(NULL, NULL, NULL, NULL, NULL, NULL, 0, 4, 4);
}

static void test_layernorm(void) {
    os_rng r;
    os_rng_seed(&r, 2);
    float *x = tu_floats(N * C), *w = tu_floats(C), *b = tu_floats(C), *out = tu_floats(N * C),
          *ref = tu_floats(N * C), mean[N], rstd[N], mean_r[N], rstd_r[N];
    tu_fill_normal(&r, x, N * C, 2.0f);
    for (int c = 0; c < C; c++) x[5 * C + c] = 50.0f + 0.5f * os_rng_normal(&r);  // mean >> std
    tu_fill_normal(&r, w, C, 1.0f);
    tu_fill_normal(&r, b, C, 1.0f);
    const float epss[2] = {1e-12f, 1e-5f};
    for (int e = 0; e < 2; e++) {
        layernorm_forward(out, mean, rstd, x, w, b, N, C, epss[e]);
        layernorm_forward_ref(ref, mean_r, rstd_r, x, w, b, N, C, epss[e]);
        tu_expect_close(e ? "layernorm out (eps 1e-5)" : "layernorm out (eps 1e-12)", out, ref, N * C, 2e-5);
        tu_expect_close("layernorm mean", mean, mean_r, N, 1e-6);
        tu_expect_close("layernorm rstd", rstd, rstd_r, N, 1e-6);
    }
    // Known values: [1, 2, 3] -> mean 2, biased var 2/3.
    const float x3[3] = {1, 2, 3}, w3[3] = {1, 1, 2}, b3[3] = {0, 0, 1};
    float o3[3], m3, r3;
    layernorm_forward(o3, &m3, &r3, x3, w3, b3, 1, 3, 1e-12f);
    const double k = 1.0 / sqrt(2.0 / 3.0);
    CHECK_NEAR(m3, 2.0, 1e-7);
    CHECK_NEAR(r3, k, 1e-6);
    CHECK_NEAR(o3[0], -k, 1e-6);
    CHECK_NEAR(o3[1], 0.0, 1e-6);
    CHECK_NEAR(o3[2], 2.0 * k + 1.0, 1e-6);
    free(x), free(w), free(b), free(out), free(ref);
}

static void test_activations(void) {
    const size_t n = 20001;
    float *x = tu_floats(n), *y = tu_floats(n), *yr = tu_floats(n);
    for (size_t i = 0; i < n; i++) x[i] = -10.0f + 20.0f * (float)i / (float)(n - 1);
    gelu_forward(y, x, n);
    gelu_forward_ref(yr, x, n);
    double worst = 0.0;  // erf's absolute error is what shows: compare on the scale of |x|
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)y[i] - yr[i]) / (1.0 + fabs(x[i]));
        if (e > worst) worst = e;
    }
    printf("  %-30s max err %.2e\n", "gelu vs erf (per 1+|x|)", worst);
    CHECK(worst < 2e-7);
    const float xs[5] = {0.0f, 1.0f, -1.0f, 3.0f, -10.0f};
    float g[5];
    gelu_forward(g, xs, 5);
    CHECK(g[0] == 0.0f);
    CHECK_NEAR(g[1], 0.8413447460685429, 2e-7);
    CHECK_NEAR(g[2], -0.15865525393145707, 2e-7);
    CHECK_NEAR(g[3], 2.9959502003, 1e-6);
    CHECK_NEAR(g[4], 0.0, 1e-6);
    const float nan_in = NAN;
    gelu_forward(g, &nan_in, 1);
    CHECK(isnan(g[0]));
    tanh_forward(g, xs, 5);
    CHECK(g[0] == 0.0f);
    CHECK_NEAR(g[1], 0.7615941559557649, 1e-7);
    CHECK_NEAR(g[2], -0.7615941559557649, 1e-7);
    CHECK_NEAR(g[4], -1.0, 1e-7);
    free(x), free(y), free(yr);
}

// The fused dense + bias + GELU against linear_forward then gelu_forward (the same sums: equal bits), and its
// backward against gelu_backward then linear_backward.
static void test_linear_gelu(void) {
    os_rng r;
    os_rng_seed(&r, 11);
    const int n = N, c = C, oc = 40;
    float *x = tu_floats((size_t)n * c), *w = tu_floats((size_t)oc * c), *b = tu_floats(oc);
    tu_fill_normal(&r, x, (size_t)n * c, 1.0f);
    tu_fill_normal(&r, w, (size_t)oc * c, 0.3f);
    tu_fill_normal(&r, b, oc, 1.0f);
    const size_t no = (size_t)n * oc;
    float *pre = tu_floats(no), *out = tu_floats(no), *pre_u = tu_floats(no), *out_u = tu_floats(no);
    for (int with_bias = 0; with_bias < 2; with_bias++) {
        const float *bb = with_bias ? b : NULL;
        linear_gelu_forward(out, pre, x, w, bb, n, c, oc);
        linear_forward(pre_u, x, w, bb, n, c, oc);
        gelu_forward(out_u, pre_u, no);
        CHECK(tu_bitwise_equal(pre, pre_u, no * sizeof(float)));
        CHECK(tu_bitwise_equal(out, out_u, no * sizeof(float)));
    }
    float *dout = tu_floats(no), *dpre = tu_floats(no), *dpre_u = tu_floats(no);
    tu_fill_normal(&r, dout, no, 1.0f);
    float *g[3] = {tu_floats((size_t)n * c), tu_floats((size_t)oc * c), tu_floats(oc)};
    float *gu[3] = {tu_floats((size_t)n * c), tu_floats((size_t)oc * c), tu_floats(oc)};
    linear_gelu_backward(g[0], g[1], g[2], dpre, dout, pre, x, w, n, c, oc);
    gelu_backward(dpre_u, pre_u, dout, no);  // tu_floats is zeroed: dpre_u = dout * gelu'(pre)
    linear_backward(gu[0], gu[1], gu[2], dpre_u, x, w, n, c, oc);
    CHECK(tu_bitwise_equal(dpre, dpre_u, no * sizeof(float)));
    CHECK(tu_bitwise_equal(g[0], gu[0], (size_t)n * c * sizeof(float)));
    CHECK(tu_bitwise_equal(g[1], gu[1], (size_t)oc * c * sizeof(float)));
    CHECK(tu_bitwise_equal(g[2], gu[2], oc * sizeof(float)));
    // dpre may alias dout.
    float *alias = tu_copy(dout, no);
    float *ga[3] = {tu_floats((size_t)n * c), tu_floats((size_t)oc * c), tu_floats(oc)};
    linear_gelu_backward(ga[0], ga[1], ga[2], alias, alias, pre, x, w, n, c, oc);
    CHECK(tu_bitwise_equal(alias, dpre, no * sizeof(float)));
    CHECK(tu_bitwise_equal(ga[0], g[0], (size_t)n * c * sizeof(float)));
    // Saving Phi in the forward (training) changes no bit of the forward nor of the backward.
    float *cdf = tu_floats(no), *pre_c = tu_floats(no), *out_c = tu_floats(no), *dpre_c = tu_floats(no);
    float *gc[3] = {tu_floats((size_t)n * c), tu_floats((size_t)oc * c), tu_floats(oc)};
    linear_gelu_forward_cdf(out_c, pre_c, cdf, x, w, b, n, c, oc);  // the with-bias forward of pre and out
    CHECK(tu_bitwise_equal(pre_c, pre, no * sizeof(float)));
    CHECK(tu_bitwise_equal(out_c, out, no * sizeof(float)));
    linear_gelu_backward_cdf(gc[0], gc[1], gc[2], dpre_c, dout, pre, cdf, x, w, n, c, oc);
    CHECK(tu_bitwise_equal(dpre_c, dpre, no * sizeof(float)));
    for (int i = 0; i < 3; i++) CHECK(tu_bitwise_equal(gc[i], g[i], (i == 0 ? (size_t)n * c : i == 1 ? (size_t)oc * c : (size_t)oc) * sizeof(float)));
    for (int i = 0; i < 3; i++) free(gc[i]);
    free(cdf), free(pre_c), free(out_c), free(dpre_c);
    for (int i = 0; i < 3; i++) free(g[i]), free(gu[i]), free(ga[i]);
    free(alias), free(dout), free(dpre), free(dpre_u);
    free(x), free(w), free(b), free(pre), free(out), free(pre_u), free(out_u);
}

// Add & Norm fused: the same bits as residual_forward then layernorm_forward.
static void test_residual_layernorm(void) {
    os_rng r;
    os_rng_seed(&r, 12);
    const size_t n = (size_t)N * C;
    float *a = tu_floats(n), *x = tu_floats(n), *w = tu_floats(C), *b = tu_floats(C);
    tu_fill_normal(&r, a, n, 1.0f);
    tu_fill_normal(&r, x, n, 2.0f);
    tu_fill_normal(&r, w, C, 1.0f);
    tu_fill_normal(&r, b, C, 1.0f);
    float *out = tu_floats(n), *res = tu_floats(n), *out_u = tu_floats(n), *res_u = tu_floats(n);
    float mean[N], rstd[N], mean_u[N], rstd_u[N];
    residual_layernorm_forward(out, res, mean, rstd, a, x, w, b, N, C, 1e-12f);
    residual_forward(res_u, a, x, n);
    layernorm_forward(out_u, mean_u, rstd_u, res_u, w, b, N, C, 1e-12f);
    CHECK(tu_bitwise_equal(res, res_u, n * sizeof(float)) && tu_bitwise_equal(out, out_u, n * sizeof(float)));
    CHECK(tu_bitwise_equal(mean, mean_u, sizeof mean) && tu_bitwise_equal(rstd, rstd_u, sizeof rstd));
    free(a), free(x), free(w), free(b), free(out), free(res), free(out_u), free(res_u);
}

static void test_softmax(void) {
    os_rng r;
    os_rng_seed(&r, 3);
    const int n = N, c = 37;
    float *x = tu_floats((size_t)n * c), *y = tu_floats((size_t)n * c), *yr = tu_floats((size_t)n * c);
    tu_fill_normal(&r, x, (size_t)n * c, 5.0f);
    softmax_forward(y, x, n, c);
    softmax_forward_ref(yr, x, n, c);
    tu_expect_close("softmax", y, yr, (size_t)n * c, 1e-6);
    for (int i = 0; i < n; i++) {
        double s = 0.0;
        for (int j = 0; j < c; j++) s += y[(size_t)i * c + j];
        CHECK_NEAR(s, 1.0, 1e-6);
    }
    const float x3[6] = {1, 2, 3, 1000, 1001, 1002};  // the second row overflows without the max shift
    float y3[6];
    softmax_forward(y3, x3, 2, 3);
    const double want[3] = {0.09003057317038046, 0.24472847105479767, 0.6652409557748219};
    for (int j = 0; j < 6; j++) CHECK_NEAR(y3[j], want[j % 3], 1e-7);
    free(x), free(y), free(yr);
}

// q, k, v, dout (B,T,C) with padding LENS; probs/out from the fast and the reference paths.
static void test_attention(void) {
    os_rng r;
    os_rng_seed(&r, 4);
    const size_t nx = (size_t)N * C, np = (size_t)B * NH * T * T;
    float *q = tu_floats(nx), *k = tu_floats(nx), *v = tu_floats(nx), *dout = tu_floats(nx);
    float *out = tu_floats(nx), *out_r = tu_floats(nx), *probs = tu_floats(np), *probs_r = tu_floats(np);
    int32_t mask[B * T];
    tu_mask(mask, LENS, B, T);
    tu_fill_normal(&r, q, nx, 1.5f);
    tu_fill_normal(&r, k, nx, 1.5f);
    tu_fill_normal(&r, v, nx, 1.0f);
    tu_fill_normal(&r, dout, nx, 1.0f);
    attention_forward(out, probs, q, k, v, mask, B, T, NH, HS);
    attention_forward_ref(out_r, probs_r, q, k, v, mask, B, T, NH, HS);
    tu_expect_close("attention probs", probs, probs_r, np, 1e-5);
    tu_expect_close("attention out", out, out_r, nx, 1e-5);
    // Masked keys: probability exactly 0; all-padding sequence: uniform rows (HF); rows sum to 1.
    int exact_zero = 1, uniform = 1;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int i = 0; i < T; i++) {
                const float *Pi = probs + (((size_t)b * NH + h) * T + i) * T;
                double s = 0.0;
                for (int j = 0; j < T; j++) {
                    s += Pi[j];
                    if (LENS[b] > 0 && j >= LENS[b] && Pi[j] != 0.0f) exact_zero = 0;
                    if (LENS[b] == 0 && Pi[j] != 1.0f / T) uniform = 0;
                }
                CHECK_NEAR(s, 1.0, 1e-5);
            }
    CHECK(exact_zero);
    CHECK(uniform);
    // The two halves compose to the whole; a NULL mask is an all-ones mask.
    float *out2 = tu_floats(nx), *probs2 = tu_floats(np);
    attention_probs_forward(probs2, q, k, mask, B, T, NH, HS);
    attention_weighted_sum(out2, probs2, v, B, T, NH, HS);
    CHECK(tu_bitwise_equal(probs, probs2, np * sizeof(float)) && tu_bitwise_equal(out, out2, nx * sizeof(float)));
    int32_t ones[B * T];
    for (int i = 0; i < B * T; i++) ones[i] = 1;
    attention_forward(out, probs, q, k, v, NULL, B, T, NH, HS);
    attention_forward(out2, probs2, q, k, v, ones, B, T, NH, HS);
    CHECK(tu_bitwise_equal(probs, probs2, np * sizeof(float)) && tu_bitwise_equal(out, out2, nx * sizeof(float)));

    // Backward (no dropout) against the reference, from the same non-zero starting gradients.
    attention_forward(out, probs, q, k, v, mask, B, T, NH, HS);
    float *g[3], *gr[3], *scratch = tu_floats(np);
    for (int i = 0; i < 3; i++) {
        g[i] = tu_floats(nx);
        tu_fill_normal(&r, g[i], nx, 1.0f);
        gr[i] = tu_copy(g[i], nx);
    }
    attention_backward(g[0], g[1], g[2], scratch, dout, q, k, v, probs, probs, NULL, 0.0f, B, T, NH, HS);
    attention_backward_ref(gr[0], gr[1], gr[2], dout, q, k, v, probs, mask, B, T, NH, HS);
    tu_expect_close("attention dq", g[0], gr[0], nx, 1e-5);
    tu_expect_close("attention dk", g[1], gr[1], nx, 1e-5);
    tu_expect_close("attention dv", g[2], gr[2], nx, 1e-5);
    // Dropout with every key kept (p = 0) is the same as no dropout.
    uint8_t *keep = tu_alloc(np);
    float *probs_used = tu_floats(np);
    dropout_forward(probs_used, keep, probs, np, 0.0f, 9);
    float *gd[3];
    for (int i = 0; i < 3; i++) gd[i] = tu_floats(nx);
    float *gz[3];
    for (int i = 0; i < 3; i++) gz[i] = tu_floats(nx);
    attention_backward(gd[0], gd[1], gd[2], scratch, dout, q, k, v, probs, probs_used, keep, 0.0f, B, T, NH, HS);
    attention_backward(gz[0], gz[1], gz[2], scratch, dout, q, k, v, probs, probs, NULL, 0.0f, B, T, NH, HS);
    for (int i = 0; i < 3; i++) CHECK(tu_bitwise_equal(gd[i], gz[i], nx * sizeof(float)));
    // NULL gradients are skipped.
    float *dq_only = tu_floats(nx);
    attention_backward(dq_only, NULL, NULL, scratch, dout, q, k, v, probs, probs, NULL, 0.0f, B, T, NH, HS);
    CHECK(tu_bitwise_equal(dq_only, gz[0], nx * sizeof(float)));
    for (int i = 0; i < 3; i++) free(g[i]), free(gr[i]), free(gd[i]), free(gz[i]);
    free(dq_only), free(keep), free(probs_used), free(scratch), free(out2), free(probs2);
    free(q), free(k), free(v), free(dout), free(out), free(out_r), free(probs), free(probs_r);
}

static void test_dropout(void) {
    os_rng r;
    os_rng_seed(&r, 5);
    const size_t n = 200000;
    float *x = tu_floats(n), *y = tu_floats(n), *y2 = tu_floats(n);
    uint8_t *keep = tu_alloc(n), *keep2 = tu_alloc(n);
    tu_fill_normal(&r, x, n, 1.0f);
    // p = 0: a copy, every keep 1; in place too.
    dropout_forward(y, keep, x, n, 0.0f, 1);
    CHECK(tu_bitwise_equal(y, x, n * sizeof(float)));
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) kept += keep[i] == 1;
    CHECK(kept == n);
    // p = 0.1: about 90% kept, kept values scaled by 1/(1-p), the rest exactly 0.
    const float p = 0.1f, scale = 1.0f / (1.0f - p);
    dropout_forward(y, keep, x, n, p, 1234);
    kept = 0;
    int values_ok = 1;
    for (size_t i = 0; i < n; i++) {
        kept += keep[i];
        if (keep[i] > 1 || y[i] != (keep[i] ? x[i] * scale : 0.0f)) values_ok = 0;
    }
    CHECK(values_ok);
    CHECK_NEAR((double)kept / n, 0.9, 0.004);
    // Reproducible; keep[i] depends on (seed, i) only: a prefix run gives the same prefix; in place works.
    dropout_forward(y2, keep2, x, 1000, p, 1234);
    CHECK(tu_bitwise_equal(keep, keep2, 1000) && tu_bitwise_equal(y, y2, 1000 * sizeof(float)));
    memcpy(y2, x, n * sizeof(float));
    dropout_forward(y2, keep2, y2, n, p, 1234);
    CHECK(tu_bitwise_equal(keep, keep2, n) && tu_bitwise_equal(y, y2, n * sizeof(float)));
    // Another seed gives an independent mask: agreement about p^2 + (1-p)^2.
    dropout_forward(y2, keep2, x, n, p, 1235);
    size_t same = 0;
    for (size_t i = 0; i < n; i++) same += keep[i] == keep2[i];
    CHECK_NEAR((double)same / n, 0.82, 0.005);
    // No runs of kept/dropped beyond chance between neighbours (P(both dropped) ~ p^2).
    size_t both = 0;
    for (size_t i = 1; i < n; i++) both += !keep[i] && !keep[i - 1];
    CHECK_NEAR((double)both / (n - 1), 0.01, 0.002);
    // p = 1: all dropped.
    dropout_forward(y2, keep2, x, 100, 1.0f, 7);
    int zeros = 1;
    for (int i = 0; i < 100; i++) zeros &= y2[i] == 0.0f && keep2[i] == 0;
    CHECK(zeros);
    // Backward: dinp += dout * keep / (1 - p).
    float *d = tu_floats(n);
    for (size_t i = 0; i < n; i++) d[i] = 1.0f;
    dropout_backward(d, x, keep, n, p);
    int grads_ok = 1;
    for (size_t i = 0; i < n; i++) {  // (clang may fuse the multiply-add: allow its rounding)
        const double want = 1.0 + (keep[i] ? (double)x[i] * scale : 0.0);
        grads_ok &= fabs(d[i] - want) <= 1e-6 * (1.0 + fabs(want));
    }
    CHECK(grads_ok);
    free(x), free(y), free(y2), free(keep), free(keep2), free(d);
}

static void test_embeddings(void) {
    // V=4, P=3, TV=2, C=2, B=1, T=3, with a repeated id.
    const float wte[8] = {1, 2, 3, 4, 5, 6, 7, 8}, wpe[6] = {10, 20, 30, 40, 50, 60}, wtt[4] = {100, 200, 300, 400};
    const int32_t ids[3] = {2, 0, 2}, tt[3] = {0, 1, 1};
    float out[6];
    embeddings_forward(out, ids, tt, wte, wpe, wtt, 1, 3, 2);
    const float want[6] = {5 + 100 + 10, 6 + 200 + 20, 1 + 300 + 30, 2 + 400 + 40, 5 + 300 + 50, 6 + 400 + 60};
    CHECK(tu_bitwise_equal(out, want, sizeof want));
    embeddings_forward(out, ids, NULL, wte, wpe, wtt, 1, 3, 2);  // NULL type ids: all type 0
    CHECK(out[2] == 1 + 100 + 30 && out[5] == 6 + 200 + 60);
    const float dout[6] = {1, 2, 3, 4, 5, 6};
    float dwte[8] = {0}, dwpe[6] = {0}, dwtt[4] = {0};
    embeddings_backward(dwte, dwpe, dwtt, dout, ids, tt, 1, 3, 2);
    const float want_te[8] = {3, 4, 0, 0, 1 + 5, 2 + 6, 0, 0}, want_tt[4] = {1, 2, 3 + 5, 4 + 6};
    CHECK(tu_bitwise_equal(dwte, want_te, sizeof dwte));
    CHECK(tu_bitwise_equal(dwpe, dout, sizeof dwpe));
    CHECK(tu_bitwise_equal(dwtt, want_tt, sizeof dwtt));
    embeddings_backward(NULL, dwpe, NULL, dout, ids, tt, 1, 3, 2);  // frozen tables skipped; accumulates
    CHECK(dwpe[0] == 2 && dwpe[5] == 12 && dwte[0] == 3);
}

static void test_residual(void) {
    const float a[3] = {1, 2, 3}, b[3] = {10, 20, 30}, d[3] = {1, -1, 0.5f};
    float out[3], da[3] = {1, 1, 1}, db[3] = {0};
    residual_forward(out, a, b, 3);
    CHECK(out[0] == 11 && out[1] == 22 && out[2] == 33);
    residual_backward(da, db, d, 3);
    CHECK(da[0] == 2 && da[1] == 0 && da[2] == 1.5f && db[0] == 1 && db[1] == -1 && db[2] == 0.5f);
    float dx[3] = {0};
    residual_backward(dx, dx, d, 3);  // x + x: the same buffer gets dout twice
    CHECK(dx[0] == 2 && dx[1] == -2 && dx[2] == 1);
}

static void test_losses(void) {
    // Cross entropy: -log softmax([1,2,3])[2]; a row with target -100 is ignored; huge logits are stable.
    const float logits[9] = {1, 2, 3, 5, 5, 5, 1000, 1001, 1002};
    const int32_t targets[3] = {2, -100, 0};
    float probs[9], d[9] = {0};
    int nv = -1;
    float loss = cross_entropy_forward(probs, logits, targets, 3, 3, -100, &nv);
    const double l0 = -log(0.6652409557748219), l2 = -log(0.09003057317038046);
    CHECK(nv == 2);
    CHECK_NEAR(loss, (l0 + l2) / 2, 1e-6);
    CHECK_NEAR(probs[3], 1.0 / 3, 1e-7);  // probabilities of ignored rows are computed too
    cross_entropy_backward(d, probs, targets, 3, 3, -100, nv, 2.0f);
    CHECK_NEAR(d[2], (0.6652409557748219 - 1.0), 1e-6);  // scale 2 / n_valid 2
    CHECK(d[3] == 0 && d[4] == 0 && d[5] == 0);
    CHECK_NEAR(d[6], 0.09003057317038046 - 1.0, 1e-6);
    // Only ignored rows: loss 0, no valid rows, backward adds nothing.
    const int32_t none[3] = {-100, -100, -100};
    loss = cross_entropy_forward(probs, logits, none, 3, 3, -100, &nv);
    CHECK(loss == 0.0f && nv == 0);
    float d0[9] = {0};
    cross_entropy_backward(d0, probs, none, 3, 3, -100, nv, 1.0f);
    int untouched = 1;
    for (int i = 0; i < 9; i++) untouched &= d0[i] == 0.0f;
    CHECK(untouched);
    // MSE.
    const float pred[2] = {1, 3}, tgt[2] = {0, 1};
    CHECK_NEAR(mse_forward(pred, tgt, 2), 2.5, 1e-7);
    float dp[2] = {0};
    mse_backward(dp, pred, tgt, 2, 1.0f);
    CHECK_NEAR(dp[0], 1.0, 1e-7);
    CHECK_NEAR(dp[1], 2.0, 1e-7);
    // BCE with logits: log 2 at 0; stable at +-100.
    const float x[3] = {0, 100, -100}, t[3] = {1, 0, 0};
    CHECK_NEAR(bce_logits_forward(x, t, 1), log(2.0), 1e-7);
    CHECK_NEAR(bce_logits_forward(x + 1, t + 1, 1), 100.0, 1e-5);
    CHECK_NEAR(bce_logits_forward(x + 2, t + 2, 1), 0.0, 1e-7);
    float dx[3] = {0};
    bce_logits_backward(dx, x, t, 3, 3.0f);  // scale 3 / n 3
    CHECK_NEAR(dx[0], -0.5, 1e-7);
    CHECK_NEAR(dx[1], 1.0, 1e-7);
    CHECK_NEAR(dx[2], 0.0, 1e-7);
}

// Runs every threaded kernel at 1 and at 3 threads on sizes above the parallel thresholds: bitwise equal.
static void run_threaded(int threads, float **outs, const float *x, const float *w, const float *b,
                         const int32_t *mask, const int32_t *ids, size_t big) {
    enum { BB = 4, TT = 64, NN = BB * TT, CC = 256, NHH = 4, HSS = 64 };
    ops_set_num_threads(threads);
    CHECK(ops_num_threads() == threads);
    float mean[NN], rstd[NN];
    const size_t nx = (size_t)NN * CC, np = (size_t)BB * NHH * TT * TT;
    layernorm_forward(outs[0], mean, rstd, x, w, b, NN, CC, 1e-12f);
    layernorm_backward(outs[1], outs[2], outs[3], x + 1, x, w, mean, rstd, NN, CC);
    softmax_forward(outs[4], x, NN, CC);
    softmax_backward(outs[5], outs[4], x + 2, NN, CC);
    gelu_forward(outs[6], x, nx);
    gelu_backward(outs[7], x, x + 3, nx);
    attention_forward(outs[8], outs[9], x, x + 1, x + 2, mask, BB, TT, NHH, HSS);
    uint8_t *keep = tu_alloc(np);
    float *used = tu_floats(np), *scratch = tu_floats(np);
    dropout_forward(used, keep, outs[9], np, 0.1f, 77);
    attention_backward(outs[10], outs[11], outs[12], scratch, x + 4, x, x + 1, x + 2, outs[9], used, keep, 0.1f,
                       BB, TT, NHH, HSS);
    int nv;
    int32_t tg[NN];
    for (int i = 0; i < NN; i++) tg[i] = i % 3 == 0 ? -100 : i % CC;
    outs[13][0] = cross_entropy_forward(outs[14], x, tg, NN, CC, -100, &nv);
    cross_entropy_backward(outs[15], outs[14], tg, NN, CC, -100, nv, 1.0f);
    embeddings_backward(outs[16], outs[17], outs[18], x, ids, ids, BB, TT, CC);
    dropout_forward(outs[19], keep, x, big, 0.2f, 5);
    linear_backward(NULL, NULL, outs[20], x, x, x, NN, CC, CC);
    free(keep), free(used), free(scratch);
}

static void test_thread_count_independent(void) {
    enum { NOUT = 21 };
    const size_t big = 4 * 64 * 256, np = 4 * 4 * 64 * 64;
    os_rng r;
    os_rng_seed(&r, 6);
    float *x = tu_floats(big + 8), *w = tu_floats(256), *b = tu_floats(256);
    tu_fill_normal(&r, x, big + 8, 1.0f);
    tu_fill_normal(&r, w, 256, 1.0f);
    tu_fill_normal(&r, b, 256, 1.0f);
    int32_t mask[4 * 64], ids[4 * 64];
    const int lens[4] = {64, 40, 1, 0};
    tu_mask(mask, lens, 4, 64);
    for (int i = 0; i < 4 * 64; i++) ids[i] = (i * 7) % 2;
    float *o1[NOUT], *o3[NOUT];
    const size_t sz = big > np ? big : np;
    for (int i = 0; i < NOUT; i++) o1[i] = tu_floats(sz), o3[i] = tu_floats(sz);
    const int before = ops_num_threads();
    run_threaded(1, o1, x, w, b, mask, ids, big);
    run_threaded(3, o3, x, w, b, mask, ids, big);
    ops_set_num_threads(before);
    for (int i = 0; i < NOUT; i++) CHECK_MSG(tu_bitwise_equal(o1[i], o3[i], sz * sizeof(float)), "output %d", i);
    for (int i = 0; i < NOUT; i++) free(o1[i]), free(o3[i]);
    free(x), free(w), free(b);
}

// The _set backward variants (the encoder's, which skip a zeroing pass) write what the accumulating ones add
// to a zero buffer, bitwise, whatever the buffer held; the parameter gradients still accumulate.
static void test_backward_set(void) {
    enum { BB = 4, TT = 64, NN = BB * TT, CC = 256, NHH = 4, HSS = 64 };
    const size_t nx = (size_t)NN * CC, np = (size_t)BB * NHH * TT * TT;
    os_rng r;
    os_rng_seed(&r, 7);
    float *x = tu_floats(nx), *dy = tu_floats(nx), *q = tu_floats(nx), *k = tu_floats(nx), *v = tu_floats(nx);
    float *w = tu_floats(CC), *b = tu_floats(CC), *y = tu_floats(nx), mean[NN], rstd[NN];
    tu_fill_normal(&r, x, nx, 1.0f);
    tu_fill_normal(&r, dy, nx, 1.0f);
    tu_fill_normal(&r, q, nx, 1.0f);
    tu_fill_normal(&r, k, nx, 1.0f);
    tu_fill_normal(&r, v, nx, 1.0f);
    tu_fill_normal(&r, w, CC, 1.0f);
    tu_fill_normal(&r, b, CC, 1.0f);
    layernorm_forward(y, mean, rstd, x, w, b, NN, CC, 1e-12f);
    float *dx_acc = tu_floats(nx), *dx_set = tu_floats(nx), *dw1 = tu_floats(CC), *db1 = tu_floats(CC);
    float *dw2 = tu_floats(CC), *db2 = tu_floats(CC);
    for (size_t i = 0; i < nx; i++) dx_set[i] = NAN;
    layernorm_backward(dx_acc, dw1, db1, dy, x, w, mean, rstd, NN, CC);
    layernorm_backward_set(dx_set, dw2, db2, dy, x, w, mean, rstd, NN, CC);
    CHECK(tu_bitwise_equal(dx_acc, dx_set, nx * sizeof(float)));
    CHECK(tu_bitwise_equal(dw1, dw2, CC * sizeof(float)) && tu_bitwise_equal(db1, db2, CC * sizeof(float)));
    layernorm_backward_set(dx_set, dw2, db2, dy, x, w, mean, rstd, NN, CC);  // dw, db: twice the sums
    int doubled = 1;
    for (int c = 0; c < CC; c++) doubled &= dw2[c] == 2.0f * dw1[c] && db2[c] == 2.0f * db1[c];
    CHECK(doubled);

    int32_t mask[NN];
    const int lens[BB] = {64, 40, 1, 0};
    tu_mask(mask, lens, BB, TT);
    float *out = tu_floats(nx), *probs = tu_floats(np), *used = tu_floats(np), *scratch = tu_floats(np);
    uint8_t *keep = tu_alloc(np);
    attention_forward(out, probs, q, k, v, mask, BB, TT, NHH, HSS);
    dropout_forward(used, keep, probs, np, 0.1f, 78);
    float *ga[3], *gs[3];
    for (int i = 0; i < 3; i++) {
        ga[i] = tu_floats(nx), gs[i] = tu_floats(nx);
        for (size_t j = 0; j < nx; j++) gs[i][j] = NAN;
    }
    attention_backward(ga[0], ga[1], ga[2], scratch, dy, q, k, v, probs, used, keep, 0.1f, BB, TT, NHH, HSS);
    attention_backward_set(gs[0], gs[1], gs[2], scratch, dy, q, k, v, probs, used, keep, 0.1f, BB, TT, NHH, HSS);
    for (int i = 0; i < 3; i++) CHECK_MSG(tu_bitwise_equal(ga[i], gs[i], nx * sizeof(float)), "attention grad %d", i);
    for (int i = 0; i < 3; i++) free(ga[i]), free(gs[i]);
    free(x), free(dy), free(q), free(k), free(v), free(w), free(b), free(y), free(dx_acc), free(dx_set);
    free(dw1), free(db1), free(dw2), free(db2), free(out), free(probs), free(used), free(scratch), free(keep);
}

int main(void) {
    RUN(test_fast_math);
    RUN(test_linear);
    RUN(test_layernorm);
    RUN(test_activations);
    RUN(test_linear_gelu);
    RUN(test_residual_layernorm);
    RUN(test_softmax);
    RUN(test_attention);
    RUN(test_dropout);
    RUN(test_embeddings);
    RUN(test_residual);
    RUN(test_losses);
    RUN(test_thread_count_independent);
    RUN(test_backward_set);
    return th_finish();
}
