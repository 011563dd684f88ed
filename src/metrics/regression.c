#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/regression.h"

double os_mse(const double *gold, const double *pred, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (pred[i] - gold[i]) * (pred[i] - gold[i]);
    return n ? s / (double)n : 0.0;
}

double os_pearson(const double *x, const double *y, size_t n) {
    if (n < 2) return 0.0;
    // Centre first (two passes): the one-pass sum-of-products formula cancels badly for large means.
    double mx = 0.0, my = 0.0;
    for (size_t i = 0; i < n; i++) {
        mx += x[i];
        my += y[i];
    }
    mx /= (double)n;
    my /= (double)n;
    double sxy = 0.0, sxx = 0.0, syy = 0.0;
    for (size_t i = 0; i < n; i++) {
        double dx = x[i] - mx, dy = y[i] - my;
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    if (sxx == 0.0 || syy == 0.0) return 0.0;
    double r = sxy / sqrt(sxx * syy);
    // Rounding can push |r| a hair past 1 (scipy clips too).
    return r > 1.0 ? 1.0 : r < -1.0 ? -1.0 : r;
}

typedef struct {
    double v;
    size_t i;
} keyed;

static int keyed_cmp(const void *a, const void *b) {
    double x = ((const keyed *)a)->v, y = ((const keyed *)b)->v;
    return (x > y) - (x < y);
}

// rank[i] = 1-based rank of v[i], tied values sharing the mean of their ranks; tmp holds n entries.
static void average_ranks(const double *v, size_t n, keyed *tmp, double *rank) {
    for (size_t i = 0; i < n; i++) tmp[i] = (keyed){v[i], i};
    qsort(tmp, n, sizeof *tmp, keyed_cmp);
    for (size_t a = 0; a < n;) {
        size_t b = a + 1;
        while (b < n && tmp[b].v == tmp[a].v) b++;
        double r = 0.5 * (double)(a + 1 + b);  // mean of ranks a+1 .. b
        for (size_t k = a; k < b; k++) rank[tmp[k].i] = r;
        a = b;
    }
}

static os_status check_finite(const double *v, size_t n, const char *what) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return os_fail(OS_ERR_INPUT, "%s value %zu is not finite (%g)", what, i, v[i]);
    return OS_OK;
}

os_status os_spearman(const double *x, const double *y, size_t n, double *rho) {
    *rho = 0.0;
    os_status st = check_finite(x, n, "first");
    if (st == OS_OK) st = check_finite(y, n, "second");
    if (st != OS_OK || n < 2) return st;
    double *rx = os_calloc(n, sizeof *rx), *ry = os_calloc(n, sizeof *ry);
    keyed *tmp = os_calloc(n, sizeof *tmp);
    if (rx && ry && tmp) {
        average_ranks(x, n, tmp, rx);
        average_ranks(y, n, tmp, ry);
        *rho = os_pearson(rx, ry, n);
    } else {
        st = OS_ERR_NOMEM;
    }
    free(rx);
    free(ry);
    free(tmp);
    return st;
}

os_status os_regression_eval(const float *gold, const float *pred, size_t n, os_regression_scores *out) {
    memset(out, 0, sizeof *out);
    double *g = os_calloc(n, sizeof *g), *p = os_calloc(n, sizeof *p);
    os_status st = g && p ? OS_OK : OS_ERR_NOMEM;
    for (size_t i = 0; st == OS_OK && i < n; i++) {
        g[i] = gold[i];
        p[i] = pred[i];
    }
    if (st == OS_OK) st = check_finite(g, n, "gold");
    if (st == OS_OK) st = check_finite(p, n, "predicted");
    if (st == OS_OK) st = os_spearman(g, p, n, &out->spearman);
    if (st == OS_OK) {
        out->mse = os_mse(g, p, n);
        out->pearson = os_pearson(g, p, n);
    }
    free(g);
    free(p);
    return st;
}
