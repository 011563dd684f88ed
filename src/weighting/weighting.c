// Registry and dispatch for the weighting strategies (one file per strategy in this folder).
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "weighting/weighting_internal.h"

static const os_weighting_vt *const registry[] = {
    &os_wvt_ew,       &os_wvt_static,  &os_wvt_uw,     &os_wvt_dwa,     &os_wvt_gls,
    &os_wvt_rlw,      &os_wvt_gradnorm, &os_wvt_mgda,  &os_wvt_mgda_ub, &os_wvt_pcgrad,
    &os_wvt_cagrad,   &os_wvt_imtl_g,  &os_wvt_aligned_mtl, &os_wvt_upgrad,
    &os_wvt_gradvac,  &os_wvt_nash_mtl, &os_wvt_famo, &os_wvt_graddrop, &os_wvt_dbmtl,
};
#define N_REGISTRY (sizeof registry / sizeof registry[0])

const char *os_weighting_names(void) {
    return "ew, static, uw, dwa, gls, rlw, gradnorm, mgda, mgda_ub, pcgrad, cagrad, imtl_g, aligned_mtl, upgrad, gradvac, nash_mtl, famo, graddrop, dbmtl";
}

void os_weighting_default_options(os_weighting_options *o) {
    memset(o, 0, sizeof *o);
    o->static_weights = NULL;
    o->dwa_T = 2.0f;
    o->gradnorm_alpha = 1.5f;
    o->gradnorm_lr = 0.025f;
    o->cagrad_c = 0.5f;
    o->cagrad_rescale = 1;
    o->mgda_normalize = 0;
    o->upgrad_norm_eps = 1e-4f;
    o->upgrad_reg_eps = 1e-4f;
    o->gradvac_beta = 0.01f;
    o->famo_lr = 0.025f;
    o->famo_gamma = 0.001f;
    o->graddrop_leak = 0.0f;
    o->dbmtl_beta = 0.9f;
    o->dbmtl_beta_sigma = 0.5f;
}

os_status os_wt_check_losses(const char *who, const float *losses, int n) {
    if (!losses) return os_fail(OS_ERR_USAGE, "weighting %s: needs the per-task losses (got NULL)", who);
    for (int i = 0; i < n; i++)
        if (!isfinite(losses[i]))
            return os_fail(OS_ERR_NUMERIC, "weighting %s: loss of task %d is not finite (%g)", who, i,
                           (double)losses[i]);
    return OS_OK;
}

os_status os_weighting_create(const char *name, int n_tasks, const os_weighting_options *opt, uint64_t seed,
                              os_weighting **out) {
    *out = NULL;
    if (!name) return os_fail(OS_ERR_USAGE, "weighting: no strategy name given (one of: %s)", os_weighting_names());
    if (n_tasks < 1 || n_tasks > 128)
        return os_fail(OS_ERR_USAGE, "weighting %s: n_tasks must be in [1, 128] (got %d)", name, n_tasks);
    const os_weighting_vt *vt = NULL;
    for (size_t i = 0; i < N_REGISTRY; i++)
        if (strcmp(registry[i]->name, name) == 0) vt = registry[i];
    if (!vt) return os_fail(OS_ERR_USAGE, "weighting: unknown strategy '%s' (one of: %s)", name, os_weighting_names());
    os_weighting *w = os_calloc(1, sizeof *w);
    if (!w) return OS_ERR_NOMEM;
    w->vt = vt;
    w->n = n_tasks;
    if (opt) w->opt = *opt;
    else os_weighting_default_options(&w->opt);
    os_rng_seed(&w->rng, seed);
    w->state_len = vt->state_len ? vt->state_len(n_tasks) : 0;
    w->state = os_calloc(w->state_len, sizeof(float));
    if (!w->state) {
        free(w);
        return OS_ERR_NOMEM;
    }
    if (vt->init) {
        os_status st = vt->init(w);
        if (st) {
            os_weighting_free(w);
            return st;
        }
    }
    w->opt.static_weights = NULL;  // copied into the state by init; never keep the caller's pointer
    *out = w;
    return OS_OK;
}

void os_weighting_free(os_weighting *w) {
    if (!w) return;
    free(w->state);
    free(w);
}

const char *os_weighting_name(const os_weighting *w) { return w->vt->name; }
int os_weighting_n_tasks(const os_weighting *w) { return w->n; }
int os_weighting_needs_grads(const os_weighting *w) { return w->vt->needs_grads; }

os_status os_weighting_loss_weights(os_weighting *w, const float *losses, float *lambda) {
    if (!w->vt->loss_weights)
        return os_fail(OS_ERR_USAGE, "weighting %s: balances gradients; call os_weighting_combine with the "
                       "per-task gradients instead of asking for loss weights", w->vt->name);
    os_status st = w->vt->loss_weights(w, losses, lambda);
    if (st == OS_OK) w->step++;
    return st;
}

os_status os_weighting_combine(os_weighting *w, const float *G, size_t D, const float *losses, float *g,
                               float *weights) {
    int n = w->n;
    if (!G || !g || D == 0) return os_fail(OS_ERR_USAGE, "weighting %s: combine needs G (n x D, D > 0) and g", w->vt->name);
    if (D > (size_t)0x7fffffff) return os_fail(OS_ERR_USAGE, "weighting %s: D = %zu too large for BLAS", w->vt->name, D);
    double *wd = os_calloc((size_t)n, sizeof(double));
    float *wf = os_calloc((size_t)n, sizeof(float));
    double *M = NULL;
    float *Mf = NULL;
    os_status st = OS_OK;
    if (!wd || !wf) {
        st = OS_ERR_NOMEM;
        goto done;
    }
    if (w->vt->raw_combine) {
        st = w->vt->raw_combine(w, G, D, losses, g, weights);
        if (st == OS_OK) w->step++;
        goto done;
    }
    for (size_t k = 0; k < (size_t)n * D; k++)
        if (!isfinite(G[k])) {
            st = os_fail(OS_ERR_NUMERIC, "weighting %s: gradient of task %zu, element %zu is not finite",
                         w->vt->name, k / D, k % D);
            goto done;
        }
    if (w->vt->gram_weights) {
        M = os_calloc((size_t)n * n, sizeof(double));
        Mf = os_calloc((size_t)n * n, sizeof(float));
        if (!M || !Mf) {
            st = OS_ERR_NOMEM;
            goto done;
        }
        cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, n, (int)D, 1.0f, G, (int)D, 0.0f, Mf, n);
        for (int i = 0; i < n; i++)
            for (int j = i; j < n; j++) M[i * n + j] = M[j * n + i] = Mf[i * n + j];
        st = w->vt->gram_weights(w, M, losses, wd);
        if (st) goto done;
        for (int i = 0; i < n; i++) wf[i] = (float)wd[i];
        w->step++;
    } else {
        st = os_weighting_loss_weights(w, losses, wf);
        if (st) goto done;
    }
    cblas_sgemv(CblasRowMajor, CblasTrans, n, (int)D, 1.0f, G, (int)D, wf, 1, 0.0f, g, 1);
    if (weights) memcpy(weights, wf, (size_t)n * sizeof(float));
done:
    free(wd);
    free(wf);
    free(M);
    free(Mf);
    return st;
}

os_status os_weighting_epoch_end(os_weighting *w, const float *epoch_losses) {
    if (strcmp(w->vt->name, "dwa") != 0) return OS_OK;
    os_status st = os_wt_check_losses("dwa", epoch_losses, w->n);
    if (st) return st;
    // DWA state: [epochs recorded, L(t-1) (n), L(t-2) (n)]
    float *s = w->state;
    memcpy(s + 1 + w->n, s + 1, (size_t)w->n * sizeof(float));
    memcpy(s + 1, epoch_losses, (size_t)w->n * sizeof(float));
    s[0] += 1.0f;
    return OS_OK;
}

float *os_weighting_params(os_weighting *w, int *count) {
    if (strcmp(w->vt->name, "uw") == 0 || strcmp(w->vt->name, "gradnorm") == 0) {
        *count = w->n;
        return w->state;
    }
    *count = 0;
    return NULL;
}

// Step counter and RNG are stored as 16-bit pieces so the float array holds them exactly.
#define HEADER_LEN 20

size_t os_weighting_state_size(const os_weighting *w) { return HEADER_LEN + w->state_len; }

static void put_u64(float *b, uint64_t v) {
    for (int k = 0; k < 4; k++) b[k] = (float)((v >> (16 * k)) & 0xffff);
}

static int get_u64(const float *b, uint64_t *v) {
    *v = 0;
    for (int k = 0; k < 4; k++) {
        if (!(b[k] >= 0.0f && b[k] <= 65535.0f) || b[k] != floorf(b[k])) return -1;
        *v |= (uint64_t)b[k] << (16 * k);
    }
    return 0;
}

os_status os_weighting_state_save(const os_weighting *w, float *buf, size_t len) {
    if (len != os_weighting_state_size(w))
        return os_fail(OS_ERR_USAGE, "weighting %s: state buffer has %zu floats, expected %zu", w->vt->name, len,
                       os_weighting_state_size(w));
    put_u64(buf, w->step);
    for (int k = 0; k < 4; k++) put_u64(buf + 4 + 4 * k, w->rng.s[k]);
    memcpy(buf + HEADER_LEN, w->state, w->state_len * sizeof(float));
    return OS_OK;
}

os_status os_weighting_state_load(os_weighting *w, const float *buf, size_t len) {
    if (len != os_weighting_state_size(w))
        return os_fail(OS_ERR_INPUT, "weighting %s: saved state has %zu floats, expected %zu (different strategy "
                       "or task count?)", w->vt->name, len, os_weighting_state_size(w));
    uint64_t step, s[4];
    int bad = get_u64(buf, &step);
    for (int k = 0; k < 4; k++) bad |= get_u64(buf + 4 + 4 * k, &s[k]);
    for (size_t i = 0; i < w->state_len; i++)
        if (!isfinite(buf[HEADER_LEN + i])) bad = 1;
    if (bad) return os_fail(OS_ERR_INPUT, "weighting %s: saved state is corrupt (bad counter, RNG or value)", w->vt->name);
    w->step = step;
    memcpy(w->rng.s, s, sizeof s);
    memcpy(w->state, buf + HEADER_LEN, w->state_len * sizeof(float));
    return OS_OK;
}
