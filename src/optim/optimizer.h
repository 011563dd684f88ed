// Optimisers over the whole parameter store, with torch.optim's exact update rules:
//   AdamW  (decoupled weight decay: p -= lr*wd*p before the Adam update)
//   Adam   (L2 penalty: g += wd*p)
//   SGD    (momentum, optional Nesterov, L2 weight decay; dampening 0)
// Moments live in single allocations with the parameter store's layout. Entries flagged no_decay (biases,
// LayerNorm) get no weight decay; frozen entries are not updated; lr_scale multiplies the learning rate.
#ifndef ONESTONE_OPTIM_OPTIMIZER_H
#define ONESTONE_OPTIM_OPTIMIZER_H
#include "model/params.h"

typedef enum { OS_OPT_ADAMW, OS_OPT_ADAM, OS_OPT_SGD } os_opt_kind;

typedef struct {
    os_opt_kind kind;
    float lr;
    float beta1, beta2, eps;  // Adam(W)
    float weight_decay;
    float momentum;  // SGD
    int nesterov;    // SGD
} os_opt_config;

typedef struct {
    os_opt_config cfg;
    size_t n;
    float *m;  // first moment (Adam) or momentum buffer (SGD); NULL for plain SGD
    float *v;  // second moment (Adam); NULL otherwise
    long step;
} os_optimizer;

// torch defaults for `kind`: AdamW lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0.01; Adam the same
// with weight_decay 0; SGD lr 1e-3, no momentum.
os_opt_config os_opt_defaults(os_opt_kind kind);
// Parses "adamw" / "adam" / "sgd"; returns -1 when unknown.
int os_opt_kind_parse(const char *name, os_opt_kind *kind);
os_status os_optimizer_init(os_optimizer *o, const os_opt_config *cfg, const os_params *p);
// One update with learning rate `lr` (the schedule's value for this step).
void os_optimizer_step(os_optimizer *o, os_params *p, float lr);
// The same update with every gradient multiplied by grad_scale first (gradient clipping's coefficient), bitwise
// what os_params_scale_grad(p, grad_scale) then os_optimizer_step gives, in one pass; p->grad is left as it is.
void os_optimizer_step_scaled(os_optimizer *o, os_params *p, float lr, float grad_scale);
void os_optimizer_free(os_optimizer *o);
#endif
