// PCGrad (Yu et al., NeurIPS 2020 "Gradient surgery for multi-task learning"), LibMTL's form: for each task i,
// starting from g_i = G_i and visiting all tasks j in a fresh random order (seeded RNG),
//   if g_i . G_j < 0:  g_i <- g_i - (g_i . G_j) / (||G_j||^2 + 1e-8) G_j;
// then g = sum_i g_i (each task is projected BEFORE summing). Every g_i stays a combination of the rows of G,
// so the projection runs on the Gram matrix with an n x n coefficient matrix; g = sum_j weights_j G_j.
#include <string.h>

#include "weighting/weighting_internal.h"

static os_status pcgrad_gram_weights(os_weighting *w, const double *M, const float *losses, double *weights) {
    (void)losses;
    int n = w->n, order[n];
    double c[n];  // coefficients of the projected g_i over the rows of G
    for (int j = 0; j < n; j++) weights[j] = 0;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
            c[j] = i == j;
            order[j] = j;
        }
        for (int j = n - 1; j > 0; j--) {  // Fisher-Yates
            int k = (int)os_rng_below(&w->rng, (uint64_t)j + 1), t = order[j];
            order[j] = order[k];
            order[k] = t;
        }
        for (int t = 0; t < n; t++) {
            int j = order[t];
            double dot = 0;
            for (int k = 0; k < n; k++) dot += c[k] * M[k * n + j];
            if (dot < 0) c[j] -= dot / (M[j * n + j] + 1e-8);
        }
        for (int j = 0; j < n; j++) weights[j] += c[j];
    }
    return OS_OK;
}

const os_weighting_vt os_wvt_pcgrad = {"pcgrad", 1, NULL, NULL, NULL, pcgrad_gram_weights, NULL};
