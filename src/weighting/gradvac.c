// Gradient Vaccine (Wang et al., ICLR 2021 "Gradient vaccine"), LibMTL's whole-model form: for each task i,
// starting from g_i = G_i and visiting the other tasks j in a fresh seeded random order,
//   rho = cos(g_i, G_j);  if rho < T_ij:
//     g_i += ||g_i|| (T_ij sqrt(1 - rho^2) - rho sqrt(1 - T_ij^2)) / (||G_j|| sqrt(1 - T_ij^2)) G_j
//   T_ij <- (1 - beta) T_ij + beta rho          (EMA cosine targets, initialised to 0; beta = 0.01 as the paper)
// then g = sum_i g_i. Runs on the Gram matrix with coefficients, like PCGrad. State: T (n x n).
#include <math.h>

#include "weighting/weighting_internal.h"

static size_t gradvac_state_len(int n) { return (size_t)n * n; }

static os_status gradvac_gram_weights(os_weighting *w, const double *M, const float *losses, double *weights) {
    (void)losses;
    int n = w->n, order[n];
    double c[n], beta = w->opt.gradvac_beta;
    if (!(beta >= 0 && beta <= 1)) return os_fail(OS_ERR_USAGE, "weighting gradvac: beta must be in [0, 1] (got %g)", beta);
    for (int j = 0; j < n; j++) weights[j] = 0;
    for (int i = 0; i < n; i++) {
        int m = 0;
        for (int j = 0; j < n; j++) {
            c[j] = i == j;
            if (j != i) order[m++] = j;
        }
        for (int j = m - 1; j > 0; j--) {
            int k = (int)os_rng_below(&w->rng, (uint64_t)j + 1), t = order[j];
            order[j] = order[k];
            order[k] = t;
        }
        for (int t = 0; t < m; t++) {
            int j = order[t];
            double dot = 0, nn = 0;
            for (int k = 0; k < n; k++) {
                double mk = 0;
                for (int l = 0; l < n; l++) mk += M[k * n + l] * c[l];
                nn += c[k] * mk;
                dot += c[k] * M[k * n + j];
            }
            double ni = sqrt(nn > 0 ? nn : 0), nj = sqrt(M[j * n + j] > 0 ? M[j * n + j] : 0);
            if (!(ni > 0 && nj > 0)) continue;
            double rho = dot / (ni * nj);
            float *T = &w->state[i * n + j];
            double tg = *T;
            if (rho < tg) {
                double s = sqrt(1 - tg * tg);
                if (s > 0) c[j] += ni * (tg * sqrt(fmax(0, 1 - rho * rho)) - rho * s) / (nj * s);
            }
            *T = (float)((1 - beta) * tg + beta * rho);
        }
        for (int j = 0; j < n; j++) weights[j] += c[j];
    }
    return OS_OK;
}

const os_weighting_vt os_wvt_gradvac = {"gradvac", 1, gradvac_state_len, NULL, NULL, gradvac_gram_weights, NULL};
