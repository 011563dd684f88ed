#include <stdlib.h>
#include <string.h>

#include "distill/distiller.h"
#include "distill/kd_loss.h"

void os_distiller_init(os_distiller *d, const os_distill_config *cfg, os_runtime *rt, os_teacher_set *ts,
                       const os_kd_cache *cache) {
    memset(d, 0, sizeof *d);
    d->cfg = cfg;
    d->rt = rt;
    d->ts = ts;
    d->cache = cache;
}

void os_distiller_free(os_distiller *d) {
    for (int s = 0; s < OS_KD_MAX_TEACHERS; s++) free(d->logits[s]);
    free(d->targets);
    memset(d, 0, sizeof *d);
}

static os_status save_layers(void *ctx, const char *dir) {
    os_distiller *d = ctx;
    return d->layers ? os_kd_layers_save(d->layers, dir) : OS_OK;
}

static os_status load_layers(void *ctx, const char *dir) {
    os_distiller *d = ctx;
    return d->layers ? os_kd_layers_load(d->layers, dir) : OS_OK;
}

os_train_hook os_distiller_hook(os_distiller *d) {
    return (os_train_hook){d, os_distiller_after_loss, save_layers, load_layers};
}

static os_status reserve(os_distiller *d, size_t floats) {
    if (floats <= d->cap) return OS_OK;
    for (int s = 0; s < OS_KD_MAX_TEACHERS; s++) {
        free(d->logits[s]);
        d->logits[s] = malloc(floats * sizeof(float));
        if (!d->logits[s]) return os_fail(OS_ERR_NOMEM, "out of memory");
    }
    free(d->targets);
    d->targets = malloc(floats * sizeof(float));
    if (!d->targets) return os_fail(OS_ERR_NOMEM, "out of memory");
    d->cap = floats;
    return OS_OK;
}

// Teacher logits of task i's sources for the batch rows, from the cache (padding positions zeroed).
static void from_cache(os_distiller *d, int i, const os_batch *b, int token) {
    const os_featset *f = &d->rt->groups[d->rt->tasks[i].group].feats[OS_SPLIT_TRAIN];
    const int K = d->rt->model.heads[d->rt->tasks[i].head].num_labels, T = b->T;
    for (int s = 0; s < d->ts->n_src[i]; s++) {
        const float *src = d->cache->data[i][s];
        float *dst = d->logits[s];
        for (int r = 0; r < b->B; r++) {
            const size_t e = b->examples[r];
            if (token) {
                const int len = os_featset_len(f, e);
                memcpy(dst + (size_t)r * T * K, src + f->start[e] * K, (size_t)len * K * sizeof(float));
                memset(dst + ((size_t)r * T + len) * K, 0, (size_t)(T - len) * K * sizeof(float));
            } else {
                memcpy(dst + (size_t)r * K, src + e * K, (size_t)K * sizeof(float));
            }
        }
    }
}

// Scales the gradient the labelled loss left in head h by alpha (or clears it when there was none).
static void mix_hard_gradient(os_head *h, float alpha) {
    const size_t n = (size_t)h->rows * h->num_labels, K = (size_t)h->num_labels;
    if (!h->has_grad) {
        memset(h->d_logits, 0, n * sizeof(float));
        if (h->crf) {
            memset(h->d_start, 0, K * sizeof(float));
            memset(h->d_end, 0, K * sizeof(float));
            memset(h->d_trans, 0, K * K * sizeof(float));
        }
        h->has_grad = 1;
        return;
    }
    for (size_t j = 0; j < n; j++) h->d_logits[j] *= alpha;
    if (h->crf) {
        for (size_t j = 0; j < K; j++) h->d_start[j] *= alpha;
        for (size_t j = 0; j < K; j++) h->d_end[j] *= alpha;
        for (size_t j = 0; j < K * K; j++) h->d_trans[j] *= alpha;
    }
}

// KD loss of task i on the batch (teacher logits already in d->logits); adds its gradient into the head.
static float task_kd(os_distiller *d, int i, const os_batch *b, const os_batch_input *in, int *n_rows) {
    os_head *h = &d->rt->model.heads[d->rt->tasks[i].head];
    const int K = h->num_labels, token = h->level == OS_TASK_TOKEN, R = token ? b->B * b->T : b->B;
    const int n_src = d->ts->n_src[i];
    const float T = (float)d->cfg->temperature[i], alpha = (float)d->cfg->alpha[i];
    int n = 0;
    for (int r = 0; r < R; r++) n += !token || (in->word_first && in->word_first[r]);
    *n_rows = n;
    if (!n) return 0;
    mix_hard_gradient(h, alpha);
    const float scale = (1 - alpha) * h->loss_weight / (float)n, w = 1.0f / (float)n_src;
    double sum = 0;
    for (int r = 0; r < R; r++) {
        if (token && !(in->word_first && in->word_first[r])) continue;
        const float *s = h->logits + (size_t)r * K;
        float *p = d->targets, *grad = h->d_logits + (size_t)r * K;
        memset(p, 0, (size_t)K * sizeof(float));
        for (int k = 0; k < n_src; k++) {
            const float *z = d->logits[k] + (size_t)r * K;
            if (h->problem == OS_PROBLEM_SINGLE_LABEL) os_kd_soft_targets(z, K, T, w, p);
            else if (h->problem == OS_PROBLEM_MULTI_LABEL) os_kd_sigmoid_targets(z, K, T, w, p);
            else
                for (int j = 0; j < K; j++) p[j] += w * z[j];
        }
        if (h->problem == OS_PROBLEM_SINGLE_LABEL) sum += os_kd_soft_ce(s, p, K, T, grad, scale);
        else if (h->problem == OS_PROBLEM_MULTI_LABEL) sum += os_kd_sigmoid_bce(s, p, K, T, grad, scale);
        else sum += os_kd_mse(s, p, K, grad, scale);
    }
    return (float)(sum / n);
}

os_status os_distiller_after_loss(void *ctx, int group, const os_batch *b, const os_batch_input *in,
                                  float *task_losses, int *task_counts) {
    os_distiller *d = ctx;
    os_runtime *rt = d->rt;
    const os_group_rt *g = &rt->groups[group];
    size_t need = 0;
    for (int j = 0; j < g->n_tasks; j++) {
        const os_head *h = &rt->model.heads[rt->tasks[g->tasks[j]].head];
        const size_t rows = h->level == OS_TASK_TOKEN ? (size_t)b->B * b->T : (size_t)b->B;
        if (rows * h->num_labels > need) need = rows * h->num_labels;
    }
    os_status st = reserve(d, need);
    if (st) return st;
    // Online: each teacher that feeds a task of this dataset runs once on the batch; the teacher of layer
    // matching always does.
    for (int k = 0; k < d->ts->n_teachers && !st; k++) {
        int used = d->layers && k == d->cfg->layer_teacher;
        for (int j = 0; j < g->n_tasks && !d->cache; j++)
            for (int s = 0; s < d->ts->n_src[g->tasks[j]]; s++) used |= d->ts->src[g->tasks[j]][s].teacher == k;
        if (used) st = os_teacher_forward(d->ts, k, in);
    }
    float layer_loss;
    if (!st && d->layers) st = os_kd_layers_step(d->layers, &layer_loss);
    for (int j = 0; j < g->n_tasks && !st; j++) {
        const int i = g->tasks[j], hi = rt->tasks[i].head;
        if (!d->ts->n_src[i]) continue;
        const os_head *h = &rt->model.heads[hi];
        const int token = h->level == OS_TASK_TOKEN;
        if (d->cache) {
            from_cache(d, i, b, token);
        } else {
            const int rows = token ? b->B * b->T : b->B;
            for (int s = 0; s < d->ts->n_src[i]; s++) os_teacher_logits(d->ts, i, s, rows, h->num_labels, d->logits[s]);
        }
        int n;
        const float kd = task_kd(d, i, b, in, &n), alpha = (float)d->cfg->alpha[i];
        if (!n) continue;
        task_losses[hi] = (task_counts[hi] ? alpha * task_losses[hi] : 0) + (1 - alpha) * kd;
        if (!task_counts[hi]) task_counts[hi] = n;
    }
    return st;
}
