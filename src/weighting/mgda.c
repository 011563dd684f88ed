// MGDA (Sener & Koltun, NeurIPS 2018 "Multi-task learning as multi-objective optimization"): the weights are
// the min-norm point of the convex hull of the (optionally normalised) task gradients,
//   alpha = argmin_{alpha in simplex} || sum_i alpha_i G_i / gn_i ||^2,
// solved on the Gram matrix (closed form for two tasks, accelerated projected gradient otherwise).
// As in the paper's code the scales alpha_i multiply the
// original task losses, so g = sum_i alpha_i G_i. Normalisation gn_i: none (default, LibMTL), l2 (||G_i||),
// loss (L_i), loss+ (L_i ||G_i||).
// MGDA-UB ("mgda_ub") is the same computation on the gradients w.r.t. the shared representation: the caller
// passes those as G and applies the weights to the task losses.
#include <math.h>

#include "weighting/weighting_internal.h"

static os_status mgda_gram_weights(os_weighting *w, const double *M, const float *losses, double *weights) {
    int n = w->n, mode = w->opt.mgda_normalize;
    if (mode < 0 || mode > 3)
        return os_fail(OS_ERR_USAGE, "weighting %s: mgda_normalize must be 0..3 (got %d)", w->vt->name, mode);
    if (mode >= 2) {
        os_status st = os_wt_check_losses(w->vt->name, losses, n);
        if (st) return st;
    }
    double gn[n], Mn[n * n];
    for (int i = 0; i < n; i++) {
        double l2 = sqrt(M[i * n + i] > 0 ? M[i * n + i] : 0);
        gn[i] = mode == 1 ? l2 : mode == 2 ? losses[i] : mode == 3 ? losses[i] * l2 : 1.0;
        if (!(gn[i] > 1e-12)) gn[i] = 1e-12;
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) Mn[i * n + j] = M[i * n + j] / (gn[i] * gn[j]);
    os_wt_min_norm(Mn, n, weights);
    return OS_OK;
}

const os_weighting_vt os_wvt_mgda = {"mgda", 1, NULL, NULL, NULL, mgda_gram_weights, NULL};
const os_weighting_vt os_wvt_mgda_ub = {"mgda_ub", 1, NULL, NULL, NULL, mgda_gram_weights, NULL};
