// CAGrad (Liu et al., NeurIPS 2021 "Conflict-averse gradient descent"), as in the authors' and LibMTL's code:
//   A = G G^T, g0 = mean_i G_i, ||g0|| = sqrt(mean(A) + 1e-8), c~ = c ||g0|| + 1e-8, b = 1/n,
//   w = argmin_{w in simplex} w^T A b + c~ sqrt(w^T A w + 1e-8)       (the dual; c = 0.5)
//   g = (g0 + c~ / (||G^T w|| + 1e-8) G^T w) / (1 + c^2)             (rescale 1; 2: / (1 + c); 0: none)
// The dual is convex; it is solved by projected gradient descent with backtracking (Armijo) on the simplex.
#include <math.h>

#include "weighting/weighting_internal.h"

typedef struct {
    const double *A, *Ab;
    double c;
    int n;
} cag_prob;

static double cag_obj(const cag_prob *p, const double *x, double *grad) {
    int n = p->n;
    double lin = 0, q = 0, Ax[n];
    for (int i = 0; i < n; i++) {
        Ax[i] = 0;
        for (int j = 0; j < n; j++) Ax[i] += p->A[i * n + j] * x[j];
        lin += x[i] * p->Ab[i];
        q += x[i] * Ax[i];
    }
    double r = sqrt((q > 0 ? q : 0) + 1e-8);
    if (grad)
        for (int i = 0; i < n; i++) grad[i] = p->Ab[i] + p->c * Ax[i] / r;
    return lin + p->c * r;
}

static os_status cagrad_gram_weights(os_weighting *w, const double *A, const float *losses, double *weights) {
    (void)losses;
    int n = w->n;
    double calpha = w->opt.cagrad_c, meanA = 0, Ab[n], x[n], grad[n], cand[n];
    if (!(calpha >= 0)) return os_fail(OS_ERR_USAGE, "weighting cagrad: c must be >= 0 (got %g)", calpha);
    for (int i = 0; i < n; i++) {
        Ab[i] = 0;
        for (int j = 0; j < n; j++) {
            Ab[i] += A[i * n + j] / n;
            meanA += A[i * n + j] / ((double)n * n);
        }
        x[i] = 1.0 / n;
    }
    cag_prob p = {A, Ab, calpha * sqrt(meanA + 1e-8) + 1e-8, n};
    double f = cag_obj(&p, x, grad), step = 1.0;
    for (int it = 0; it < 5000; it++) {
        double fn = f, moved = 0;
        for (int tries = 0; tries < 60; tries++) {
            for (int i = 0; i < n; i++) cand[i] = x[i] - step * grad[i];
            os_wt_project_simplex(cand, n);
            double dec = 0;
            for (int i = 0; i < n; i++) dec += grad[i] * (x[i] - cand[i]) - (x[i] - cand[i]) * (x[i] - cand[i]) / (2 * step);
            fn = cag_obj(&p, cand, NULL);
            if (fn <= f - dec + 1e-15) break;  // sufficient decrease (quadratic upper bound holds)
            step *= 0.5;
        }
        for (int i = 0; i < n; i++) {
            moved += fabs(cand[i] - x[i]);
            x[i] = cand[i];
        }
        f = cag_obj(&p, x, grad);
        step *= 2;
        if (moved < 1e-13) break;
    }
    double q = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) q += x[i] * A[i * n + j] * x[j];
    double lmbda = p.c / (sqrt(q > 0 ? q : 0) + 1e-8);
    int rs = w->opt.cagrad_rescale;
    double scale = rs == 0 ? 1.0 : rs == 2 ? 1.0 + calpha : 1.0 + calpha * calpha;
    if (rs < 0 || rs > 2) return os_fail(OS_ERR_USAGE, "weighting cagrad: rescale must be 0, 1 or 2 (got %d)", rs);
    for (int i = 0; i < n; i++) weights[i] = (1.0 / n + lmbda * x[i]) / scale;
    return OS_OK;
}

const os_weighting_vt os_wvt_cagrad = {"cagrad", 1, NULL, NULL, NULL, cagrad_gram_weights, NULL};
