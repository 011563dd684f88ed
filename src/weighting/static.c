// Static weighting: fixed user-given lambda_i (options.static_weights), all ones when none are given.
#include <math.h>

#include "weighting/weighting_internal.h"

static size_t static_state_len(int n) { return (size_t)n; }

static os_status static_init(os_weighting *w) {
    for (int i = 0; i < w->n; i++) {
        float v = w->opt.static_weights ? w->opt.static_weights[i] : 1.0f;
        if (!isfinite(v) || v < 0)
            return os_fail(OS_ERR_INPUT, "weighting static: weight of task %d must be finite and >= 0 (got %g)", i,
                           (double)v);
        w->state[i] = v;
    }
    return OS_OK;
}

static os_status static_loss_weights(os_weighting *w, const float *losses, float *lambda) {
    (void)losses;
    for (int i = 0; i < w->n; i++) lambda[i] = w->state[i];
    return OS_OK;
}

const os_weighting_vt os_wvt_static = {"static", 0, static_state_len, static_init, static_loss_weights, NULL, NULL};
