// os_optimizer_step_scaled (gradient clipping applied as the optimizer reads the gradient) against the two-pass
// form it replaces, os_params_scale_grad then os_optimizer_step: the parameters and moments must be bitwise the
// same after several steps, for AdamW, Adam with L2 decay and SGD with Nesterov momentum, with frozen and
// no-decay entries and entries large enough for the parallel loop; and the gradient must be left as it was.
// Also the global gradient norm the clipping coefficient comes from (os_params_grad_norm): against a long-double
// sum, frozen entries left out, and bitwise the same on 1, 2 and 3 threads; and the gradient zeroing, over a
// store that the threads do not divide evenly.
#include <math.h>

#include "harness.h"
#include "ops/ops.h"
#include "optim/optimizer.h"

// x[i] = scale * uniform(-0.5, 0.5), the same sequence for the same seed.
static void fill(float *x, size_t n, unsigned seed, float scale) {
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = scale * ((float)(seed >> 8) / 16777216.0f - 0.5f);
    }
}

static void make(os_params *p) {
    memset(p, 0, sizeof *p);
    const int64_t big[2] = {300, 300}, bias[1] = {7}, frozen[1] = {5};
    os_params_add(p, "w", 2, big, 0);
    os_params_add(p, "b", 1, bias, 1);
    os_params_add(p, "f", 1, frozen, 0);
    CHECK(os_params_alloc(p) == OS_OK);
    p->entries[2].frozen = 1;
    p->entries[1].lr_scale = 2.0f;
}

static int same(const float *a, const float *b, size_t n) { return !memcmp(a, b, n * sizeof *a); }

static void check_kind(os_opt_kind kind, const char *name) {
    os_opt_config cfg = os_opt_defaults(kind);
    cfg.weight_decay = 0.05f;
    if (kind == OS_OPT_SGD) cfg.momentum = 0.9f, cfg.nesterov = 1;
    os_params two, one;  // two passes / one pass
    make(&two);
    make(&one);
    os_optimizer o2, o1;
    CHECK(os_optimizer_init(&o2, &cfg, &two) == OS_OK);
    CHECK(os_optimizer_init(&o1, &cfg, &one) == OS_OK);
    const float scales[4] = {0.37f, 1.0f, 0.0123f, 0.9f};
    int ok = 1;
    fill(two.data, two.total, 5u, 1.0f);
    fill(one.data, one.total, 5u, 1.0f);
    for (int step = 0; step < 4; step++) {
        fill(two.grad, two.total, 11u + (unsigned)step, 3.0f);
        fill(one.grad, one.total, 11u + (unsigned)step, 3.0f);
        float *g_before = malloc(one.total * sizeof *g_before);
        memcpy(g_before, one.grad, one.total * sizeof *g_before);
        os_params_scale_grad(&two, scales[step]);
        os_optimizer_step(&o2, &two, 1e-2f);
        os_optimizer_step_scaled(&o1, &one, 1e-2f, scales[step]);
        ok &= same(two.data, one.data, two.total);
        if (o2.m) ok &= same(o2.m, o1.m, two.total);
        if (o2.v) ok &= same(o2.v, o1.v, two.total);
        CHECK(same(g_before, one.grad, one.total));  // the gradient is read, not rewritten
        free(g_before);
    }
    printf("  %s: %s\n", name, ok ? "bitwise equal over 4 steps" : "DIFFERENT");
    CHECK(ok);
    os_optimizer_free(&o2);
    os_optimizer_free(&o1);
    os_params_free(&two);
    os_params_free(&one);
}

static void test_adamw(void) { check_kind(OS_OPT_ADAMW, "AdamW"); }
static void test_adam(void) { check_kind(OS_OPT_ADAM, "Adam (L2)"); }
static void test_sgd(void) { check_kind(OS_OPT_SGD, "SGD (Nesterov)"); }

static void test_grad_norm(void) {
    // Entries past one 65536-value chunk and with tails past the sum's 4 lanes; a frozen one, whose
    // gradient must not count.
    os_params p;
    memset(&p, 0, sizeof p);
    const int64_t big[1] = {3 * 65536 + 21}, odd[1] = {37}, frozen[1] = {1000};
    os_params_add(&p, "big", 1, big, 0);
    os_params_add(&p, "odd", 1, odd, 0);
    os_params_add(&p, "f", 1, frozen, 0);
    CHECK(os_params_alloc(&p) == OS_OK);
    p.entries[2].frozen = 1;
    fill(p.grad, p.total, 99, 2.0f);
    long double want = 0;
    for (int i = 0; i < 2; i++)
        for (size_t j = 0; j < p.entries[i].numel; j++) {
            const long double g = p.grad[p.entries[i].offset + j];
            want += g * g;
        }
    const int before = ops_num_threads();
    double got[3];
    for (int th = 1; th <= 3; th++) {
        ops_set_num_threads(th);
        got[th - 1] = os_params_grad_norm(&p);
    }
    ops_set_num_threads(before);
    const double rel = fabs(got[0] - (double)sqrtl(want)) / (double)sqrtl(want);
    printf("  gradient norm: relative error %.2e\n", rel);
    CHECK(rel < 1e-13);
    CHECK(got[0] == got[1] && got[1] == got[2]);
    os_params_free(&p);
}

static void test_zero_grad(void) {
    os_params p;
    memset(&p, 0, sizeof p);
    const int64_t big[1] = {5 * 65536 + 7}, odd[1] = {13};
    os_params_add(&p, "big", 1, big, 0);
    os_params_add(&p, "odd", 1, odd, 0);
    CHECK(os_params_alloc(&p) == OS_OK);
    const int before = ops_num_threads();
    for (int th = 1; th <= 3; th++) {
        ops_set_num_threads(th);
        for (size_t i = 0; i < p.total; i++) p.grad[i] = 1.0f;
        os_params_zero_grad(&p);
        size_t nonzero = 0;
        for (size_t i = 0; i < p.total; i++) nonzero += p.grad[i] != 0.0f;
        CHECK_MSG(nonzero == 0, "%d threads: %zu gradients left", th, nonzero);
    }
    ops_set_num_threads(before);
    os_params_free(&p);
}

int main(void) {
    RUN(test_adamw);
    RUN(test_adam);
    RUN(test_sgd);
    RUN(test_grad_norm);
    RUN(test_zero_grad);
    return th_finish();
}
