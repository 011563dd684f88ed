// UPGrad (Quinton & Rey 2024, "Jacobian descent for multi-objective optimization"; torchjd's aggregator):
// each row G_i is projected onto the dual cone {x : G x >= 0} and the projections are averaged. Projecting
// G^T u gives G^T v with v = argmin_{v >= u} v^T M v (M = G G^T), so
//   weights = sum_i argmin_{v >= e_i / n} v^T M~ v,   g = sum_i weights_i G_i,
// where, as in torchjd, M~ = M / ||M||_F (0 when ||M||_F < norm_eps) + reg_eps I (both 1e-4 by default).
// Each box-constrained QP is solved by exact cyclic coordinate descent (M~ is positive definite).
#include <math.h>

#include "weighting/weighting_internal.h"

static os_status upgrad_gram_weights(os_weighting *w, const double *M, const float *losses, double *weights) {
    (void)losses;
    int n = w->n;
    double fro = 0, Mr[n * n], v[n], lb[n];
    for (int i = 0; i < n * n; i++) fro += M[i] * M[i];
    fro = sqrt(fro);
    double reg = w->opt.upgrad_reg_eps;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            Mr[i * n + j] = (fro >= w->opt.upgrad_norm_eps && fro > 0 ? M[i * n + j] / fro : 0) + (i == j ? reg : 0);
    for (int j = 0; j < n; j++) weights[j] = 0;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) v[j] = lb[j] = (i == j) / (double)n;
        for (int sweep = 0; sweep < 100000; sweep++) {
            double change = 0;
            for (int k = 0; k < n; k++) {
                if (!(Mr[k * n + k] > 0)) continue;
                double r = 0;
                for (int j = 0; j < n; j++) r += Mr[k * n + j] * v[j];
                double nv = v[k] - r / Mr[k * n + k];
                if (nv < lb[k]) nv = lb[k];
                change += fabs(nv - v[k]);
                v[k] = nv;
            }
            if (change < 1e-15) break;
        }
        for (int j = 0; j < n; j++) weights[j] += v[j];
    }
    return OS_OK;
}

const os_weighting_vt os_wvt_upgrad = {"upgrad", 1, NULL, NULL, NULL, upgrad_gram_weights, NULL};
