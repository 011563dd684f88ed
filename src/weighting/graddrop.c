// GradDrop (Chen et al., NeurIPS 2020 "Just pick a sign"), as in LibMTL, on representation gradients:
//   s_ir = sum_b per_grads[i][b][r] * sign(rep[b][r])                 (batch-summed signed gradients)
//   P_r = 1/2 (1 + sum_i s_ir / (sum_i |s_ir| + 1e-7))                  (gradient sign purity)
//   U_r ~ Uniform[0, 1) (seeded, one per coordinate, shared by the tasks)
//   M_ir = [P_r > U_r and s_ir > 0] or [P_r < U_r and s_ir < 0]
//   out[b][r] = sum_i per_grads[i][b][r] (leak + (1 - leak) M_ir)    (leak = 0)
// Only n doubles of scratch; no n x R mask is stored.
#include <math.h>
#include <string.h>

#include "weighting/weighting_internal.h"

os_status os_weighting_graddrop(os_weighting *w, const float *per_grads, const float *rep, size_t B, size_t R,
                                float *out, float *kept) {
    if (strcmp(w->vt->name, "graddrop") != 0)
        return os_fail(OS_ERR_USAGE, "weighting %s: os_weighting_graddrop is for graddrop only", w->vt->name);
    int n = w->n;
    if (!per_grads || !out || B == 0 || R == 0)
        return os_fail(OS_ERR_USAGE, "weighting graddrop: needs per-task gradients (n x B x R, B, R > 0) and out");
    for (size_t k = 0; k < (size_t)n * B * R; k++)
        if (!isfinite(per_grads[k]))
            return os_fail(OS_ERR_NUMERIC, "weighting graddrop: gradient of task %zu, element %zu is not finite",
                           k / (B * R), k % (B * R));
    double leak = w->opt.graddrop_leak, s[n], cnt[n];
    if (!(leak >= 0 && leak <= 1)) return os_fail(OS_ERR_USAGE, "weighting graddrop: leak must be in [0, 1] (got %g)", leak);
    for (int i = 0; i < n; i++) cnt[i] = 0;
    for (size_t r = 0; r < R; r++) {
        double sum = 0, abs_sum = 0;
        for (int i = 0; i < n; i++) {
            double v = 0;
            for (size_t b = 0; b < B; b++) {
                double pg = per_grads[((size_t)i * B + b) * R + r];
                v += rep ? (rep[b * R + r] > 0 ? pg : rep[b * R + r] < 0 ? -pg : 0) : pg;
            }
            s[i] = v;
            sum += v;
            abs_sum += fabs(v);
        }
        double P = 0.5 * (1 + sum / (abs_sum + 1e-7)), U = os_rng_uniform(&w->rng);
        for (size_t b = 0; b < B; b++) out[b * R + r] = 0;
        for (int i = 0; i < n; i++) {
            int m = (P > U && s[i] > 0) || (P < U && s[i] < 0);
            cnt[i] += m;
            double f = leak + (1 - leak) * m;
            if (f == 0) continue;
            for (size_t b = 0; b < B; b++) out[b * R + r] += (float)(f * per_grads[((size_t)i * B + b) * R + r]);
        }
    }
    if (kept)
        for (int i = 0; i < n; i++) kept[i] = (float)(cnt[i] / (double)R);
    return OS_OK;
}

static os_status graddrop_raw(os_weighting *w, const float *G, size_t D, const float *losses, float *g,
                              float *weights) {
    (void)losses;
    return os_weighting_graddrop(w, G, NULL, 1, D, g, weights);
}

const os_weighting_vt os_wvt_graddrop = {"graddrop", 1, NULL, NULL, NULL, NULL, graddrop_raw};
