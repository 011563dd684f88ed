// Nash-MTL (Navon et al., ICML 2022 "Multi-task learning as a bargaining game"): the Nash bargaining weights
// solve A alpha = 1 / alpha (elementwise), alpha > 0, with A = G G^T / ||G G^T||_F (normalised as in the
// authors' code). The authors approximate this with a sequence of convex programs (CCP, cvxpy); here the
// same point is found exactly as the unique minimiser of the strictly convex
//   f(alpha) = 1/2 alpha^T A alpha - sum_i log alpha_i       (grad f = A alpha - 1/alpha)
// by damped Newton steps (backtracking keeps alpha > 0 and decreases f), at most 100 iterations.
// If a non-negative combination of the gradients vanishes the bargaining solution does not exist and f is
// unbounded; the iteration then stops at its cap. g = sum_i alpha_i G_i (the authors additionally clip the
// update's norm to 1, which the trainer's gradient clipping covers).
#include <math.h>
#include <string.h>

#include "weighting/weighting_internal.h"

static double nash_f(const double *A, const double *a, int n) {
    double f = 0;
    for (int i = 0; i < n; i++) {
        double s = 0;
        for (int j = 0; j < n; j++) s += A[i * n + j] * a[j];
        f += 0.5 * a[i] * s - log(a[i]);
    }
    return f;
}

static os_status nash_gram_weights(os_weighting *w, const double *M, const float *losses, double *alpha) {
    (void)losses;
    int n = w->n;
    double fro = 0, A[n * n], H[n * n], grad[n], step[n], cand[n];
    for (int i = 0; i < n * n; i++) fro += M[i] * M[i];
    fro = sqrt(fro);
    for (int i = 0; i < n; i++) alpha[i] = 1;
    if (!(fro > 0)) return OS_OK;  // all gradients zero: any weights give g = 0
    for (int i = 0; i < n * n; i++) A[i] = M[i] / fro;
    double f = nash_f(A, alpha, n);
    for (int it = 0; it < 100; it++) {
        double gn = 0;
        for (int i = 0; i < n; i++) {
            double s = 0;
            for (int j = 0; j < n; j++) s += A[i * n + j] * alpha[j];
            grad[i] = s - 1 / alpha[i];
            gn += grad[i] * grad[i];
        }
        if (gn < 1e-24) break;
        memcpy(H, A, sizeof H);
        for (int i = 0; i < n; i++) {
            H[i * n + i] += 1 / (alpha[i] * alpha[i]);
            step[i] = grad[i];
        }
        if (os_wt_solve(H, step, n)) break;
        double t = 1, dec = 0;
        for (int i = 0; i < n; i++) dec += grad[i] * step[i];
        for (int tries = 0; tries < 60; tries++, t *= 0.5) {
            int ok = 1;
            for (int i = 0; i < n; i++)
                if (!((cand[i] = alpha[i] - t * step[i]) > 0)) ok = 0;
            if (ok && nash_f(A, cand, n) <= f - 1e-4 * t * dec) break;
        }
        double fn = nash_f(A, cand, n);
        int ok = 1;
        for (int i = 0; i < n; i++) ok &= cand[i] > 0;
        if (!ok || !(fn <= f)) break;
        memcpy(alpha, cand, (size_t)n * sizeof(double));
        f = fn;
    }
    return OS_OK;
}

const os_weighting_vt os_wvt_nash_mtl = {"nash_mtl", 1, NULL, NULL, NULL, nash_gram_weights, NULL};
