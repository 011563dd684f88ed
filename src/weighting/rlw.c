// Random loss weighting (Lin et al., TMLR 2022 "Reasonable effectiveness of random weighting"):
// each step lambda = softmax(z), z_i ~ N(0, 1) drawn from the strategy's seeded RNG (LibMTL's form).
#include <math.h>

#include "weighting/weighting_internal.h"

static os_status rlw_loss_weights(os_weighting *w, const float *losses, float *lambda) {
    (void)losses;
    double mx = -INFINITY, sum = 0;
    double z[w->n];
    for (int i = 0; i < w->n; i++) {
        z[i] = os_rng_normal(&w->rng);
        if (z[i] > mx) mx = z[i];
    }
    for (int i = 0; i < w->n; i++) sum += z[i] = exp(z[i] - mx);
    for (int i = 0; i < w->n; i++) lambda[i] = (float)(z[i] / sum);
    return OS_OK;
}

const os_weighting_vt os_wvt_rlw = {"rlw", 0, NULL, NULL, rlw_loss_weights, NULL, NULL};
