// Helpers shared by the operator tests (test_ops_*.c): buffers, random fills, masks and tolerance checks.
#ifndef ONESTONE_TESTS_OPS_TESTUTIL_H
#define ONESTONE_TESTS_OPS_TESTUTIL_H
#include <stdint.h>

#include "harness.h"
#include "util/rng.h"

// The odd sizes every operator test uses: hidden 48 = 3 heads of 16, 37 tokens, padded batches.
enum { TU_B = 3, TU_T = 37, TU_NH = 3, TU_HS = 16, TU_C = TU_NH * TU_HS };

static inline void *tu_alloc(size_t bytes) {
    void *p = calloc(bytes ? bytes : 1, 1);
    if (!p) {
        fprintf(stderr, "test: out of memory\n");
        exit(2);
    }
    return p;
}
static inline float *tu_floats(size_t n) { return tu_alloc(n * sizeof(float)); }

static inline float *tu_copy(const float *x, size_t n) {
    float *y = tu_floats(n);
    memcpy(y, x, n * sizeof *y);
    return y;
}

static inline void tu_fill_normal(os_rng *r, float *x, size_t n, float sd) {
    for (size_t i = 0; i < n; i++) x[i] = sd * os_rng_normal(r);
}

static inline void tu_fill_uniform(os_rng *r, float *x, size_t n, float lo, float hi) {
    for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * os_rng_uniform(r);
}

// mask(B,T): 1 for the first lens[b] tokens of sequence b, 0 after.
static inline void tu_mask(int32_t *mask, const int *lens, int B, int T) {
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) mask[b * T + t] = t < lens[b];
}

// Largest |a - b| / (|b| + scale) over n values, where scale is the root mean square of b: relative for
// large values, absolute (relative to the tensor's typical size) near zero.
static inline double tu_rel_err(const float *a, const float *b, size_t n) {
    double ss = 0.0;
    for (size_t i = 0; i < n; i++) ss += (double)b[i] * b[i];
    const double scale = n ? sqrt(ss / (double)n) + 1e-30 : 1.0;
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - (double)b[i]) / (fabs((double)b[i]) + scale);
        if (!(e <= worst)) worst = e;  // NaN wins
    }
    return worst;
}

// Checks a against the expected b within tol (tu_rel_err), printing the error either way; returns it.
static inline double tu_expect_close(const char *what, const float *a, const float *b, size_t n, double tol) {
    double e = tu_rel_err(a, b, n);
    printf("  %-30s max rel err %.2e\n", what, e);
    CHECK_MSG(e <= tol, "%s: max rel err %.3g > %.3g", what, e, tol);
    return e;
}

static inline int tu_bitwise_equal(const void *a, const void *b, size_t bytes) { return !memcmp(a, b, bytes); }
#endif
