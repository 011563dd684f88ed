// Dynamic weight average (Liu, Johns & Davison, CVPR 2019 "End-to-end multi-task learning with attention"):
//   w_i = L_i(t-1) / L_i(t-2),  lambda_i = n softmax(w / T)_i,  T = 2,
// where L_i(t) is the average loss of task i over epoch t (recorded with os_weighting_epoch_end);
// lambda = 1 until two epochs are recorded. State: [epochs, L(t-1) (n), L(t-2) (n)].
#include <math.h>

#include "weighting/weighting_internal.h"

static size_t dwa_state_len(int n) { return 1 + 2 * (size_t)n; }

static os_status dwa_loss_weights(os_weighting *w, const float *losses, float *lambda) {
    (void)losses;
    int n = w->n;
    const float *s = w->state;
    if (s[0] < 2.0f) {
        for (int i = 0; i < n; i++) lambda[i] = 1.0f;
        return OS_OK;
    }
    double T = w->opt.dwa_T > 0 ? w->opt.dwa_T : 2.0, mx = -INFINITY, sum = 0;
    double r[n];
    for (int i = 0; i < n; i++) {
        double prev2 = s[1 + n + i];
        r[i] = (prev2 != 0 ? s[1 + i] / prev2 : 1.0) / T;
        if (r[i] > mx) mx = r[i];
    }
    for (int i = 0; i < n; i++) sum += r[i] = exp(r[i] - mx);
    for (int i = 0; i < n; i++) lambda[i] = (float)(n * r[i] / sum);
    return OS_OK;
}

const os_weighting_vt os_wvt_dwa = {"dwa", 0, dwa_state_len, NULL, dwa_loss_weights, NULL, NULL};
