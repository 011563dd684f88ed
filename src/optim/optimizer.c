#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "optim/optimizer.h"

os_opt_config os_opt_defaults(os_opt_kind kind) {
    os_opt_config c = {.kind = kind, .lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
    c.weight_decay = kind == OS_OPT_ADAMW ? 0.01f : 0.0f;
    return c;
}

int os_opt_kind_parse(const char *name, os_opt_kind *kind) {
    if (!strcmp(name, "adamw")) *kind = OS_OPT_ADAMW;
    else if (!strcmp(name, "adam")) *kind = OS_OPT_ADAM;
    else if (!strcmp(name, "sgd")) *kind = OS_OPT_SGD;
    else return -1;
    return 0;
}

os_status os_optimizer_init(os_optimizer *o, const os_opt_config *cfg, const os_params *p) {
    memset(o, 0, sizeof *o);
    o->cfg = *cfg;
    o->n = p->total;
    int need_m = cfg->kind != OS_OPT_SGD || cfg->momentum != 0;
    int need_v = cfg->kind != OS_OPT_SGD;
    if (need_m && !(o->m = os_calloc(o->n, sizeof(float)))) return OS_ERR_NOMEM;
    if (need_v && !(o->v = os_calloc(o->n, sizeof(float)))) return OS_ERR_NOMEM;
    return OS_OK;
}

void os_optimizer_free(os_optimizer *o) {
    free(o->m);
    free(o->v);
    memset(o, 0, sizeof *o);
}

static void adam_entry(const os_opt_config *c, float *restrict w, const float *restrict g, float gs,
                       float *restrict m, float *restrict v, size_t n, float lr, float wd, long t) {
    // torch's single-tensor Adam(W): bias corrections folded into the step size and the denominator.
    const float b1 = c->beta1, b2 = c->beta2, eps = c->eps;
    const double bc1 = 1.0 - pow(b1, (double)t), bc2 = 1.0 - pow(b2, (double)t);
    const float step_size = (float)(lr / bc1);
    const float bc2_sqrt = (float)sqrt(bc2);
    const int decoupled = c->kind == OS_OPT_ADAMW;
    // AdamW decays first (torch: p.mul_(1 - lr*wd), then the Adam update reads the decayed p); Adam adds the
    // L2 term to the gradient instead (f = 1 leaves w unchanged). One fused pass over the four arrays, which
    // vectorizes (sqrtf needs -fno-math-errno, set in CMakeLists.txt) and gives the bits of separate passes.
    const float f = decoupled ? 1.0f - lr * wd : 1.0f;
    const float l2 = decoupled ? 0.0f : wd;
    const ptrdiff_t nn = (ptrdiff_t)n;
#pragma omp parallel for simd schedule(static) if (parallel : n > 65536)
    for (ptrdiff_t i = 0; i < nn; i++) {
        const float wi = w[i] * f;
        const float gi = g[i] * gs + l2 * wi;
        const float mi = b1 * m[i] + (1.0f - b1) * gi;  // torch 1.13: m.mul_(b1).add_(g, alpha=1-b1)
        const float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
        const float denom = sqrtf(vi) / bc2_sqrt + eps;
        m[i] = mi;
        v[i] = vi;
        w[i] = wi - step_size * (mi / denom);
    }
}

static void sgd_entry(const os_opt_config *c, float *w, const float *g, float gs, float *buf, size_t n, float lr,
                      float wd, long t) {
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] * gs + wd * w[i];
        if (buf) {
            buf[i] = t == 1 ? gi : c->momentum * buf[i] + gi;  // torch clones the first gradient
            gi = c->nesterov ? gi + c->momentum * buf[i] : buf[i];
        }
        w[i] -= lr * gi;
    }
}

void os_optimizer_step(os_optimizer *o, os_params *p, float lr) { os_optimizer_step_scaled(o, p, lr, 1.0f); }

// The gradient's scale (gradient clipping) is applied as each value is read: a separate pass would read and
// write every gradient once more (2 x 440 MB per step on BERT-Base). g * gs rounds once, exactly as the
// scaled copy did, and g * 1 is g.
void os_optimizer_step_scaled(os_optimizer *o, os_params *p, float lr, float grad_scale) {
    o->step++;
    for (int k = 0; k < p->n; k++) {
        const os_param_entry *e = &p->entries[k];
        if (e->frozen) continue;
        const size_t off = e->offset;
        const float elr = lr * e->lr_scale, wd = e->no_decay ? 0.0f : o->cfg.weight_decay;
        if (o->cfg.kind == OS_OPT_SGD)
            sgd_entry(&o->cfg, p->data + off, p->grad + off, grad_scale, o->m ? o->m + off : NULL, e->numel, elr, wd,
                      o->step);
        else
            adam_entry(&o->cfg, p->data + off, p->grad + off, grad_scale, o->m + off, o->v + off, e->numel, elr, wd,
                       o->step);
    }
}
