// DB-MTL (Lin et al., 2023 "Dual-balancing for multi-task learning"), as in LibMTL:
//   loss-scale balancing: task gradients of log(L_i + 1e-8), i.e. G_i / (L_i + 1e-8);
//   EMA (step t = 1, 2, ...): buf_i <- grad_i + beta / t^beta_sigma (buf_i - grad_i)   (beta 0.9, beta_sigma 0.5)
//   gradient-magnitude balancing: alpha_i = max_j ||buf_j|| / (||buf_i|| + 1e-8),  g = sum_i alpha_i buf_i.
// The EMA buffer is n x D (model-sized) and owned by the caller (os_weighting_dbmtl); the step counter is
// the strategy's own (saved with os_weighting_state_save).
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "weighting/weighting_internal.h"

os_status os_weighting_dbmtl(os_weighting *w, const float *G, size_t D, const float *losses, float *buffer,
                             float *g, float *alpha) {
    if (strcmp(w->vt->name, "dbmtl") != 0)
        return os_fail(OS_ERR_USAGE, "weighting %s: os_weighting_dbmtl is for dbmtl only", w->vt->name);
    int n = w->n;
    if (!G || !buffer || !g || D == 0 || D > (size_t)0x7fffffff)
        return os_fail(OS_ERR_USAGE, "weighting dbmtl: needs G (n x D), the EMA buffer (n x D) and g");
    os_status st = os_wt_check_losses("dbmtl", losses, n);
    if (st) return st;
    for (size_t k = 0; k < (size_t)n * D; k++)
        if (!isfinite(G[k]))
            return os_fail(OS_ERR_NUMERIC, "weighting dbmtl: gradient of task %zu, element %zu is not finite", k / D, k % D);
    double t = (double)(w->step + 1), bt = w->opt.dbmtl_beta / pow(t, w->opt.dbmtl_beta_sigma), u[n], umax = 0;
    for (int i = 0; i < n; i++) {
        double inv = 1.0 / ((double)losses[i] + 1e-8), nn = 0;
        float *bi = buffer + (size_t)i * D;
        const float *gi = G + (size_t)i * D;
        for (size_t d = 0; d < D; d++) {
            double gr = gi[d] * inv;
            bi[d] = (float)(gr + bt * (bi[d] - gr));
            nn += (double)bi[d] * bi[d];
        }
        u[i] = sqrt(nn);
        if (u[i] > umax) umax = u[i];
    }
    float a[n];
    for (int i = 0; i < n; i++) {
        a[i] = (float)(umax / (u[i] + 1e-8));
        if (alpha) alpha[i] = a[i];
    }
    cblas_sgemv(CblasRowMajor, CblasTrans, n, (int)D, 1.0f, buffer, (int)D, a, 1, 0.0f, g, 1);
    w->step++;
    return OS_OK;
}

static os_status dbmtl_raw(os_weighting *w, const float *G, size_t D, const float *losses, float *g, float *weights) {
    (void)w, (void)G, (void)D, (void)losses, (void)g, (void)weights;
    return os_fail(OS_ERR_USAGE, "weighting dbmtl: needs its model-sized gradient EMA buffer; call os_weighting_dbmtl");
}

const os_weighting_vt os_wvt_dbmtl = {"dbmtl", 1, NULL, NULL, NULL, NULL, dbmtl_raw};
