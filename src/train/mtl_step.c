// Adaptive loss weighting and gradient balancing inside the training step (docs/weighting.md, "In training").
//
// Two paths, chosen by the strategy:
//  - loss weighting with any sampler (ew, uw, dwa, rlw): each micro-batch's loss is sum_i lambda_i w_i L_i
//    over the tasks it has labels for, lambda_i the task's static weight and w_i the strategy's weight of this
//    step; UW's log-variances s_i get their own Adam update after the optimizer step.
//  - all-task steps (every other strategy: they need every task's loss or gradient at the same parameters):
//    each micro-step draws one batch of EVERY dataset. Per task i we collect
//      params mode: G_i = dL_i/d(shared parameters) (one backward per task, only task i's head active), or
//      rep mode:    R_i = dL_i/d(encoder outputs: last hidden states and pooled vector) (heads only),
//    combine them with the strategy and write the result into the shared parameters' gradient (params) or
//    backpropagate sum_i w_i R_i through the encoder (rep). With one dataset (single-input data, several
//    tasks per batch) G's rows are the full representation gradients (LibMTL's rep_grad); with several
//    datasets the batches differ in shape, so each row is R_i summed over examples and positions (2 x hidden
//    values), and each dataset's batch is run forward a second time (same seed) for its encoder backward.
// Task heads get the gradient of their own loss: weighted by w_i for the loss-weighting strategies, raw for
// the gradient-balancing ones (as LibMTL), of log L_i for DB-MTL.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "train/trainer_internal.h"
#include "util/fileio.h"
#include "weighting/weighting.h"

enum { HEADS_WEIGHTED, HEADS_RAW, HEADS_LOG };

typedef struct {
    size_t offset, numel;
} span;

struct os_balancer {
    os_weighting *w;
    int n;          // tasks
    int all_tasks;  // all-task steps with per-task gradients
    int rep;        // gradients of the shared representation
    int heads;      // HEADS_*: how task heads' gradients are scaled
    size_t D;       // shared (encoder) parameters occupy params [0, D)
    size_t Dcap;    // row capacity of G
    float *G, *g, *dbmtl_buf;
    size_t dbmtl_D;
    float lambda[OS_MAX_TASKS];      // this step's strategy weights (loss-weighting path)
    float last_loss[OS_MAX_TASKS];   // latest loss of each task (for tasks absent from a step)
    span head_span[OS_MAX_TASKS];    // per task: its head's parameters (contiguous)
    // UW's log-variances: Adam state and this step's gradient
    double uw_grad[OS_MAX_TASKS];
    float uw_m[OS_MAX_TASKS], uw_v[OS_MAX_TASKS];
    long uw_step;
    // DWA: this epoch's loss sums
    double ep_sum[OS_MAX_TASKS];
    long ep_n[OS_MAX_TASKS];
    // rep mode: per task, the gradient of the encoder outputs (d_seq (B*T*C) then d_pool (B*C))
    float *R[OS_MAX_TASKS];
    size_t R_len[OS_MAX_TASKS];
    size_t Rcap;
    const size_t *idx[OS_MAX_TASKS];  // per dataset: this step's batch (for the second forward)
    int B[OS_MAX_TASKS];
    uint64_t seed[OS_MAX_TASKS];
};

static int is_one_of(const char *s, const char *const *list) {
    for (; *list; list++)
        if (!strcmp(s, *list)) return 1;
    return 0;
}

size_t os_shared_param_count(const os_params *p) {
    // The encoder registers before the heads, so its tensors fill [0, D) of the store.
    size_t D = p->total;
    for (int i = 0; i < p->n; i++)
        if (strncmp(p->entries[i].name, "bert.", 5) != 0 && p->entries[i].offset < D) D = p->entries[i].offset;
    return D;
}

int os_balancer_all_tasks(const os_balancer *b) { return b->all_tasks; }

long os_balancer_epoch_steps(const os_balancer *b, long sum_of_batches, int n_groups) {
    // An all-task step consumes one batch of every dataset: keep an epoch at the same number of batches.
    return b->all_tasks ? (sum_of_batches + n_groups - 1) / n_groups : sum_of_batches;
}

os_status os_balancer_create(trainer *t, os_balancer **out) {
    const os_train_config *c = t->cfg;
    os_runtime *rt = t->rt;
    *out = NULL;
    if (!strcmp(c->weighting, "static")) return OS_OK;
    static const char *const loss_path[] = {"ew", "uw", "dwa", "rlw", NULL};
    static const char *const weighted[] = {"ew", "uw", "dwa", "rlw", "gls", "famo", "gradnorm", NULL};
    os_balancer *b = calloc(1, sizeof *b);
    if (!b) return os_fail(OS_ERR_NOMEM, "out of memory");
    b->n = rt->n_tasks;
    b->all_tasks = !is_one_of(c->weighting, loss_path);
    b->rep = c->weighting_rep;
    b->heads = is_one_of(c->weighting, weighted) ? HEADS_WEIGHTED : !strcmp(c->weighting, "dbmtl") ? HEADS_LOG : HEADS_RAW;
    os_status st = os_weighting_create(c->weighting, b->n, &c->wopt, os_trainer_mix((uint64_t)c->seed, 0x77e1ULL), &b->w);
    const char *where = c->file;
    if (!st && b->rep && !b->all_tasks)
        st = os_fail(OS_ERR_INPUT, "%s: weighting.grads: '%s' only weights losses; \"rep\" is for the gradient-based "
                                   "strategies", where, c->weighting);
    if (!st && b->rep && c->grad_accumulation != 1)
        st = os_fail(OS_ERR_INPUT, "%s: weighting.grads \"rep\" needs training.grad_accumulation = 1", where);
    if (!st && b->rep && !strcmp(c->weighting, "dbmtl"))
        st = os_fail(OS_ERR_INPUT, "%s: weighting.strategy dbmtl keeps an average of gradients and needs "
                                   "grads \"params\" (representation gradients change shape every step)", where);
    if (!st && b->rep && !strcmp(c->weighting, "graddrop") && rt->n_groups > 1)
        st = os_fail(OS_ERR_INPUT, "%s: weighting.strategy graddrop with grads \"rep\" needs one dataset "
                                   "(single-input data); use grads \"params\"", where);
    const os_params *p = &rt->model.params;
    const size_t D = os_shared_param_count(p);
    b->D = D;
    for (int ti = 0; ti < b->n && !st; ti++) {
        const char *prefix = rt->model.head_prefixes[rt->tasks[ti].head];
        size_t lo = (size_t)-1, hi = 0;
        for (int i = 0; i < p->n; i++) {
            const os_param_entry *e = &p->entries[i];
            if (strncmp(e->name, prefix, strlen(prefix)) != 0) continue;
            if (e->offset < lo) lo = e->offset;
            if (e->offset + e->numel > hi) hi = e->offset + e->numel;
        }
        b->head_span[ti] = lo < hi ? (span){lo, hi - lo} : (span){0, 0};
        b->lambda[ti] = 1;
        b->last_loss[ti] = 1;
    }
    if (!st && b->all_tasks) {
        const int C = rt->model.cfg.hidden_size;
        if (b->rep) {
            int Bmax = (int)c->batch_size, Tmax = (int)c->max_seq_length;
            b->Rcap = (size_t)Bmax * Tmax * C + (size_t)Bmax * C;
            b->Dcap = rt->n_groups == 1 ? b->Rcap : 2 * (size_t)C;
            for (int ti = 0; ti < b->n && !st; ti++)
                if (!(b->R[ti] = malloc(b->Rcap * sizeof(float)))) st = os_fail(OS_ERR_NOMEM, "out of memory");
        } else {
            b->Dcap = D;
        }
        if (!st) {
            b->G = malloc((size_t)b->n * b->Dcap * sizeof(float));
            b->g = malloc(b->Dcap * sizeof(float));
            if (!b->G || !b->g)
                st = os_fail(OS_ERR_NOMEM, "out of memory for %d x %zu per-task gradients", b->n, b->Dcap);
        }
        if (!st && !strcmp(c->weighting, "dbmtl")) {
            b->dbmtl_D = D;
            if (!(b->dbmtl_buf = calloc((size_t)b->n * D, sizeof(float))))
                st = os_fail(OS_ERR_NOMEM, "out of memory for DB-MTL's gradient buffer");
        }
    }
    if (st) {
        os_balancer_free(b);
        return st;
    }
    *out = b;
    return OS_OK;
}

void os_balancer_free(os_balancer *b) {
    if (!b) return;
    os_weighting_free(b->w);
    free(b->G);
    free(b->g);
    free(b->dbmtl_buf);
    for (int i = 0; i < OS_MAX_TASKS; i++) free(b->R[i]);
    free(b);
}

os_status os_balancer_begin_step(trainer *t) {
    os_balancer *b = t->bal;
    memset(b->uw_grad, 0, sizeof b->uw_grad);
    if (b->all_tasks) return OS_OK;
    return os_weighting_loss_weights(b->w, b->last_loss, b->lambda);
}

// os_model_loss with per-task weights (NULL: 1 for every task) in place of the heads' static ones.
float os_trainer_task_loss(trainer *t, const float *w, const os_head_labels *labels, float *losses, int *counts) {
    os_runtime *rt = t->rt;
    float saved[OS_MAX_TASKS];
    for (int ti = 0; ti < rt->n_tasks; ti++) {
        os_head *h = &rt->model.heads[rt->tasks[ti].head];
        saved[ti] = h->loss_weight;
        h->loss_weight = w ? w[ti] : 1.0f;
    }
    float total = os_model_loss(&rt->model, labels, losses, counts);
    for (int ti = 0; ti < rt->n_tasks; ti++) rt->model.heads[rt->tasks[ti].head].loss_weight = saved[ti];
    return total;
}

float os_balancer_loss(trainer *t, const os_head_labels *labels, float *losses, int *counts) {
    os_balancer *b = t->bal;
    os_runtime *rt = t->rt;
    float w[OS_MAX_TASKS];
    for (int ti = 0; ti < b->n; ti++) w[ti] = b->lambda[ti] * (float)rt->tasks[ti].cfg->loss_weight;
    float total = os_trainer_task_loss(t, w, labels, losses, counts);
    for (int ti = 0; ti < b->n; ti++) {
        const int h = rt->tasks[ti].head;
        if (!rt->model.active[h] || counts[h] == 0 || !isfinite(losses[h])) continue;
        b->last_loss[ti] = losses[h];
        b->ep_sum[ti] += losses[h];
        b->ep_n[ti]++;
        t->weight_sum[ti] += w[ti];
        t->weight_n[ti]++;
        if (!strcmp(os_weighting_name(b->w), "uw")) {
            float s = os_weighting_params(b->w, &(int){0})[ti];
            b->uw_grad[ti] += 0.5 - 0.5 * exp(-(double)s) * losses[h];  // d/ds of L/(2e^s) + s/2
        }
    }
    return total;
}

// Backward of task ti's loss alone through the whole model (its head active, the others off).
void os_trainer_backward_task(trainer *t, int ti) {
    os_model *m = &t->rt->model;
    uint8_t saved[OS_MAX_TASKS];
    memcpy(saved, m->active, (size_t)m->n_heads);
    memset(m->active, 0, (size_t)m->n_heads);
    m->active[t->rt->tasks[ti].head] = 1;
    os_model_backward(m, t->frozen_below);
    memcpy(m->active, saved, (size_t)m->n_heads);
}

// Task ti's gradient of the encoder outputs (its head's backward only) into R[ti].
static void rep_grad_one(trainer *t, int ti) {
    os_balancer *b = t->bal;
    os_model *m = &t->rt->model;
    const size_t C = (size_t)m->cfg.hidden_size, NT = (size_t)m->acts.B * m->acts.T * C, NB = (size_t)m->acts.B * C;
    os_encoder_zero_output_grads(&m->enc, &m->acts);
    os_head_backward(&m->heads[t->rt->tasks[ti].head], &m->params, &m->enc, &m->acts);
    memcpy(b->R[ti], m->acts.d_seq, NT * sizeof(float));
    memcpy(b->R[ti] + NT, m->acts.d_pool, NB * sizeof(float));
    b->R_len[ti] = NT + NB;
}

// Sets the encoder's output gradients to sum over group gi's tasks of weights_i R_i and runs its backward.
static void rep_backward_group(trainer *t, int gi, const float *weights, const float *combined) {
    os_balancer *b = t->bal;
    os_model *m = &t->rt->model;
    const os_group_rt *g = &t->rt->groups[gi];
    const size_t C = (size_t)m->cfg.hidden_size, NT = (size_t)m->acts.B * m->acts.T * C, NB = (size_t)m->acts.B * C;
    os_encoder_zero_output_grads(&m->enc, &m->acts);
    if (combined) {
        memcpy(m->acts.d_seq, combined, NT * sizeof(float));
        memcpy(m->acts.d_pool, combined + NT, NB * sizeof(float));
    } else {
        for (int k = 0; k < g->n_tasks; k++) {
            const int ti = g->tasks[k];
            if (!b->R_len[ti]) continue;
            const float wi = weights[ti];
            for (size_t j = 0; j < NT; j++) m->acts.d_seq[j] += wi * b->R[ti][j];
            for (size_t j = 0; j < NB; j++) m->acts.d_pool[j] += wi * b->R[ti][NT + j];
        }
    }
    os_encoder_backward(&m->enc, &m->params, &m->acts, t->frozen_below);
}

// GradDrop on the representation of one batch: per-example rows [d_seq row (T*C) | d_pool row (C)], with the
// signs of the matching encoder outputs [last hidden states | pooled vector].
static os_status graddrop_rep(trainer *t, float *kept) {
    os_balancer *b = t->bal;
    os_model *m = &t->rt->model;
    const int Bn = m->acts.B, T = m->acts.T, C = m->cfg.hidden_size, L = m->cfg.num_hidden_layers;
    const size_t Rw = (size_t)T * C + C, total = (size_t)Bn * Rw;
    float *per = malloc((size_t)b->n * total * sizeof(float)), *rep = malloc(total * sizeof(float));
    float *out = malloc(total * sizeof(float));
    os_status st = per && rep && out ? OS_OK : os_fail(OS_ERR_NOMEM, "out of memory");
    const float *hidden = m->acts.layers[L - 1].ln2, *pool = m->acts.pool;
    for (int ex = 0; ex < Bn && !st; ex++) {
        memcpy(rep + ex * Rw, hidden + (size_t)ex * T * C, (size_t)T * C * sizeof(float));
        if (pool) memcpy(rep + ex * Rw + (size_t)T * C, pool + (size_t)ex * C, (size_t)C * sizeof(float));
        else memset(rep + ex * Rw + (size_t)T * C, 0, (size_t)C * sizeof(float));
        for (int ti = 0; ti < b->n; ti++) {
            float *dst = per + (size_t)ti * total + ex * Rw;
            if (!b->R_len[ti]) {
                memset(dst, 0, Rw * sizeof(float));
                continue;
            }
            memcpy(dst, b->R[ti] + (size_t)ex * T * C, (size_t)T * C * sizeof(float));
            memcpy(dst + (size_t)T * C, b->R[ti] + (size_t)Bn * T * C + (size_t)ex * C, (size_t)C * sizeof(float));
        }
    }
    if (!st) st = os_weighting_graddrop(b->w, per, rep, (size_t)Bn, Rw, out, kept);
    if (!st) {  // back to the [d_seq | d_pool] layout
        for (int ex = 0; ex < Bn; ex++) {
            memcpy(b->g + (size_t)ex * T * C, out + ex * Rw, (size_t)T * C * sizeof(float));
            memcpy(b->g + (size_t)Bn * T * C + (size_t)ex * C, out + ex * Rw + (size_t)T * C, (size_t)C * sizeof(float));
        }
        rep_backward_group(t, 0, NULL, b->g);
    }
    free(per);
    free(rep);
    free(out);
    return st;
}

os_status os_balancer_all_tasks_step(trainer *t, uint64_t seed) {
    os_balancer *b = t->bal;
    os_runtime *rt = t->rt;
    os_params *p = &rt->model.params;
    const int n = b->n, NG = rt->n_groups;
    const long A = t->cfg->grad_accumulation;
    double loss_sum[OS_MAX_TASKS] = {0};
    int seen[OS_MAX_TASKS] = {0};
    if (!b->rep) memset(b->G, 0, (size_t)n * b->D * sizeof(float));
    for (int ti = 0; ti < n; ti++) b->R_len[ti] = 0;
    os_status st = OS_OK;
    for (long micro = 0; micro < A && !st; micro++) {
        for (int gi = 0; gi < NG && !st; gi++) {
            const os_group_rt *g = &rt->groups[gi];
            const uint64_t s = os_trainer_mix(seed, (uint64_t)(micro * NG + gi));
            const size_t *idx;
            int B;
            if ((st = os_trainer_forward_next(t, gi, s, &idx, &B))) break;
            b->idx[gi] = idx;
            b->B[gi] = B;
            b->seed[gi] = s;
            float losses[OS_MAX_TASKS];
            int counts[OS_MAX_TASKS];
            os_trainer_task_loss(t, NULL, g->batch.labels, losses, counts);
            for (int k = 0; k < g->n_tasks && !st; k++) {
                const int ti = g->tasks[k], h = rt->tasks[ti].head;
                if (counts[h] == 0) continue;
                st = os_trainer_record_loss(t, ti, losses[h]);
                if (isfinite(losses[h])) {
                    loss_sum[ti] += losses[h];
                    seen[ti]++;
                }
            }
            if (st || t->bad_task) continue;
            for (int k = 0; k < g->n_tasks; k++) {
                const int ti = g->tasks[k];
                if (counts[rt->tasks[ti].head] == 0) continue;
                if (b->rep) {
                    rep_grad_one(t, ti);
                } else {
                    memset(p->grad, 0, b->D * sizeof(float));
                    os_trainer_backward_task(t, ti);
                    float *row = b->G + (size_t)ti * b->D;
                    for (size_t j = 0; j < b->D; j++) row[j] += p->grad[j];
                }
            }
        }
    }
    if (st || t->bad_task) return st;  // a skipped step: the trainer sees the bad task and does not update
    float losses[OS_MAX_TASKS], weights[OS_MAX_TASKS];
    for (int ti = 0; ti < n; ti++) {
        if (seen[ti]) b->last_loss[ti] = (float)(loss_sum[ti] / seen[ti]);
        losses[ti] = b->last_loss[ti];
    }
    const char *name = os_weighting_name(b->w);
    size_t Dg = b->D;
    if (b->rep) {  // rows of G from the representation gradients
        const int C = rt->model.cfg.hidden_size;
        if (NG == 1) {
            Dg = 0;
            for (int ti = 0; ti < n; ti++)
                if (b->R_len[ti] > Dg) Dg = b->R_len[ti];
            for (int ti = 0; ti < n; ti++) {
                float *row = b->G + (size_t)ti * Dg;
                if (b->R_len[ti]) memcpy(row, b->R[ti], Dg * sizeof(float));
                else memset(row, 0, Dg * sizeof(float));
            }
        } else {  // per task: d_seq summed over examples and positions, d_pool summed over examples
            Dg = 2 * (size_t)C;
            memset(b->G, 0, (size_t)n * Dg * sizeof(float));
            for (int ti = 0; ti < n; ti++) {
                if (!b->R_len[ti]) continue;
                const int gi = rt->tasks[ti].group;
                const size_t NT = b->R_len[ti] - (size_t)b->B[gi] * C;  // d_seq part
                float *row = b->G + (size_t)ti * Dg;
                for (size_t j = 0; j < NT; j++) row[j % C] += b->R[ti][j];
                for (size_t j = NT; j < b->R_len[ti]; j++) row[C + (j - NT) % C] += b->R[ti][j];
            }
        }
    }
    if (b->rep && !strcmp(name, "graddrop")) {
        st = graddrop_rep(t, weights);
    } else {
        if (!strcmp(name, "dbmtl"))
            st = os_weighting_dbmtl(b->w, b->G, Dg, losses, b->dbmtl_buf, b->g, weights);
        else
            st = os_weighting_combine(b->w, b->G, Dg, losses, b->g, weights);
        if (st) return st;
        if (!b->rep) {
            memcpy(p->grad, b->g, b->D * sizeof(float));
        } else if (NG == 1) {
            rep_backward_group(t, 0, weights, NULL);
        } else {  // each dataset's batch again (same examples and dropout seed), then its encoder backward
            for (int gi = 0; gi < NG && !st; gi++) {
                if (!(st = os_trainer_forward_batch(t, gi, OS_SPLIT_TRAIN, b->idx[gi], b->B[gi], 1, b->seed[gi])))
                    rep_backward_group(t, gi, weights, NULL);
            }
        }
    }
    if (st) return st;
    for (int ti = 0; ti < n; ti++) {
        const float f = b->heads == HEADS_WEIGHTED ? weights[ti] : b->heads == HEADS_LOG ? 1.0f / (losses[ti] + 1e-8f) : 1.0f;
        if (f != 1.0f)
            for (size_t j = 0; j < b->head_span[ti].numel; j++) p->grad[b->head_span[ti].offset + j] *= f;
        t->weight_sum[ti] += weights[ti];
        t->weight_n[ti]++;
    }
    return OS_OK;
}

os_status os_balancer_end_step(trainer *t, float lr) {
    os_balancer *b = t->bal;
    const os_train_config *c = t->cfg;
    if (!strcmp(os_weighting_name(b->w), "uw")) {
        // The log-variances are parameters of the loss: one Adam step (the run's betas, no weight decay).
        int count;
        float *s = os_weighting_params(b->w, &count);
        const double b1 = c->opt.kind == OS_OPT_SGD ? 0.9 : c->opt.beta1, b2 = c->opt.kind == OS_OPT_SGD ? 0.999 : c->opt.beta2;
        const double eps = c->opt.kind == OS_OPT_SGD ? 1e-8 : c->opt.eps;
        b->uw_step++;
        const double bc1 = 1 - pow(b1, (double)b->uw_step), bc2 = 1 - pow(b2, (double)b->uw_step);
        for (int i = 0; i < count; i++) {
            const float gr = (float)(b->uw_grad[i] / (double)c->grad_accumulation);
            b->uw_m[i] = (float)(b1 * b->uw_m[i] + (1 - b1) * gr);
            b->uw_v[i] = (float)(b2 * b->uw_v[i] + (1 - b2) * (double)gr * gr);
            s[i] -= (float)(lr * (b->uw_m[i] / bc1) / (sqrt(b->uw_v[i] / bc2) + eps));
        }
    }
    if ((t->step + 1) % t->epoch_steps == 0) {  // the epoch ends with this step: DWA's history
        float mean[OS_MAX_TASKS];
        for (int i = 0; i < b->n; i++) mean[i] = b->ep_n[i] ? (float)(b->ep_sum[i] / b->ep_n[i]) : b->last_loss[i];
        os_status st = os_weighting_epoch_end(b->w, mean);
        if (st) return st;
        memset(b->ep_sum, 0, sizeof b->ep_sum);
        memset(b->ep_n, 0, sizeof b->ep_n);
    }
    return OS_OK;
}

// ---- exact resume --------------------------------------------------------------------------------------

static json_t *floats(const float *x, size_t n) {
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(a, json_real(x[i]));
    return a;
}

static int read_floats(const json_t *a, float *x, size_t n) {
    if (json_array_size(a) != n) return -1;
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(a, i);
        if (!json_is_number(v)) return -1;
        x[i] = (float)json_number_value(v);
    }
    return 0;
}

json_t *os_balancer_state(const trainer *t) {
    const os_balancer *b = t->bal;
    json_t *s = json_object();
    size_t len = os_weighting_state_size(b->w);
    float *buf = malloc((len ? len : 1) * sizeof(float));
    if (buf && os_weighting_state_save(b->w, buf, len) == OS_OK) json_object_set_new(s, "strategy_state", floats(buf, len));
    free(buf);
    float ep[OS_MAX_TASKS], epn[OS_MAX_TASKS];
    for (int i = 0; i < b->n; i++) {
        ep[i] = (float)b->ep_sum[i];
        epn[i] = (float)b->ep_n[i];
    }
    json_object_set_new(s, "strategy", json_string(os_weighting_name(b->w)));
    json_object_set_new(s, "last_loss", floats(b->last_loss, (size_t)b->n));
    json_object_set_new(s, "uw_m", floats(b->uw_m, (size_t)b->n));
    json_object_set_new(s, "uw_v", floats(b->uw_v, (size_t)b->n));
    json_object_set_new(s, "uw_step", json_integer(b->uw_step));
    json_object_set_new(s, "epoch_loss_sum", floats(ep, (size_t)b->n));
    json_object_set_new(s, "epoch_loss_count", floats(epn, (size_t)b->n));
    return s;
}

os_status os_balancer_load_state(trainer *t, const json_t *s, const char *where) {
    os_balancer *b = t->bal;
    const size_t n = (size_t)b->n, len = os_weighting_state_size(b->w);
    if (!json_is_object(s) || strcmp(json_string_value(json_object_get(s, "strategy")) ? json_string_value(json_object_get(s, "strategy")) : "", os_weighting_name(b->w)))
        return os_fail(OS_ERR_INPUT, "%s: weighting: the checkpoint was not written with strategy '%s'", where,
                       os_weighting_name(b->w));
    float *buf = malloc((len ? len : 1) * sizeof(float)), ep[OS_MAX_TASKS], epn[OS_MAX_TASKS];
    if (!buf) return os_fail(OS_ERR_NOMEM, "out of memory");
    int bad = read_floats(json_object_get(s, "strategy_state"), buf, len) || read_floats(json_object_get(s, "last_loss"), b->last_loss, n) ||
              read_floats(json_object_get(s, "uw_m"), b->uw_m, n) || read_floats(json_object_get(s, "uw_v"), b->uw_v, n) ||
              read_floats(json_object_get(s, "epoch_loss_sum"), ep, n) ||
              read_floats(json_object_get(s, "epoch_loss_count"), epn, n) || !json_is_integer(json_object_get(s, "uw_step"));
    os_status st = bad ? os_fail(OS_ERR_INPUT, "%s: weighting: malformed state", where) : os_weighting_state_load(b->w, buf, len);
    free(buf);
    if (st) return st;
    b->uw_step = (long)json_integer_value(json_object_get(s, "uw_step"));
    for (size_t i = 0; i < n; i++) {
        b->ep_sum[i] = ep[i];
        b->ep_n[i] = (long)epn[i];
    }
    return OS_OK;
}

os_status os_balancer_save_buffers(const trainer *t, const char *dir) {
    const os_balancer *b = t->bal;
    if (!b->dbmtl_buf) return OS_OK;
    char *path = os_path_join(dir, "weighting.safetensors");
    int64_t shape[2] = {b->n, (int64_t)b->dbmtl_D};
    os_st_entry e = {"dbmtl_buffer", OS_DT_F32, b->dbmtl_buf, 2, shape};
    os_status st = os_st_write(path, &e, 1, NULL);
    free(path);
    return st;
}

os_status os_balancer_load_buffers(trainer *t, const char *dir) {
    os_balancer *b = t->bal;
    if (!b->dbmtl_buf) return OS_OK;
    char *path = os_path_join(dir, "weighting.safetensors");
    os_safetensors f = {0};
    int64_t shape[2] = {b->n, (int64_t)b->dbmtl_D};
    os_status st = os_st_open(&f, path);
    if (!st) st = os_st_read_f32(&f, "dbmtl_buffer", b->dbmtl_buf, shape, 2);
    os_st_close(&f);
    free(path);
    return st;
}
