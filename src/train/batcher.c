#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/batcher.h"
#include "util/rng.h"

static void shuffle(size_t *a, size_t n, os_rng *r) {
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)os_rng_below(r, i);
        size_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

static const os_featset *sort_feats;  // qsort has no context argument; plans are made on one thread
static int by_length(const void *a, const void *b) {
    int la = os_featset_len(sort_feats, *(const size_t *)a), lb = os_featset_len(sort_feats, *(const size_t *)b);
    if (la != lb) return la < lb ? -1 : 1;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;  // ties by index: qsort is not stable
    return x < y ? -1 : x > y;
}

os_status os_batch_plan_make(os_batch_plan *p, const os_featset *f, size_t batch_size, int do_shuffle, int bucket,
                             uint64_t seed) {
    memset(p, 0, sizeof *p);
    const size_t n = f->n;
    p->n = n;
    p->n_batches = (n + batch_size - 1) / batch_size;
    p->order = os_calloc(n ? n : 1, sizeof *p->order);
    p->batch_start = os_calloc(p->n_batches + 1, sizeof *p->batch_start);
    size_t *perm = os_calloc(p->n_batches ? p->n_batches : 1, sizeof *perm);
    if (!p->order || !p->batch_start || !perm) {
        free(perm);
        return OS_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) p->order[i] = i;
    os_rng r;
    os_rng_seed(&r, seed);
    if (do_shuffle) shuffle(p->order, n, &r);
    if (do_shuffle && bucket) {
        const size_t window = batch_size * 50;
        sort_feats = f;
        for (size_t s = 0; s < n; s += window) qsort(p->order + s, (s + window < n ? window : n - s), sizeof(size_t), by_length);
    }
    // Batch boundaries are fixed-size ranges; with bucketing, the order of whole batches is shuffled so
    // lengths do not rise monotonically through a window.
    for (size_t b = 0; b < p->n_batches; b++) perm[b] = b;
    if (do_shuffle && bucket) shuffle(perm, p->n_batches, &r);
    size_t *reordered = os_calloc(n ? n : 1, sizeof *reordered);
    if (!reordered) {
        free(perm);
        return OS_ERR_NOMEM;
    }
    size_t k = 0;
    for (size_t b = 0; b < p->n_batches; b++) {
        size_t s = perm[b] * batch_size, e = s + batch_size < n ? s + batch_size : n;
        p->batch_start[b] = k;
        for (size_t i = s; i < e; i++) reordered[k++] = p->order[i];
    }
    p->batch_start[p->n_batches] = k;
    free(p->order);
    p->order = reordered;
    free(perm);
    return OS_OK;
}

void os_batch_plan_free(os_batch_plan *p) {
    free(p->order);
    free(p->batch_start);
    memset(p, 0, sizeof *p);
}

static int grow(os_batch *b, int B, int T, const os_batch_tasks *tasks) {
    if (B <= b->cap_B && T <= b->cap_T && tasks->n <= b->n_tasks) return 0;
    int cB = B > b->cap_B ? B : b->cap_B, cT = T > b->cap_T ? T : b->cap_T;
    size_t BT = (size_t)cB * cT;
    free(b->ids);
    free(b->types);
    free(b->mask);
    free(b->pair_pos);
    b->ids = calloc(BT, sizeof(int32_t));
    b->types = calloc(BT, sizeof(int32_t));
    b->mask = calloc(BT, sizeof(int32_t));
    b->pair_pos = calloc((size_t)cB * 2, sizeof(int32_t));
    for (int k = 0; k < OS_MAX_TASKS; k++) {
        free(b->cls[k]);
        free(b->vals[k]);
        free(b->tokens[k]);
        b->cls[k] = NULL;
        b->vals[k] = NULL;
        b->tokens[k] = NULL;
    }
    for (int k = 0; k < tasks->n; k++) {
        b->cls[k] = calloc((size_t)cB, sizeof(int32_t));
        b->vals[k] = calloc((size_t)cB * (size_t)(tasks->num_labels[k] > 0 ? tasks->num_labels[k] : 1) + 64, sizeof(float));
        b->tokens[k] = calloc(BT, sizeof(int32_t));
        if (!b->cls[k] || !b->vals[k] || !b->tokens[k]) return -1;
    }
    b->cap_B = cB;
    b->cap_T = cT;
    b->n_tasks = tasks->n;
    return b->ids && b->types && b->mask && b->pair_pos ? 0 : -1;
}

os_status os_batch_collate(os_batch *b, const os_featset *f, const size_t *idx, int B, int32_t pad_id,
                           const os_batch_tasks *tasks, int n_heads) {
    int T = 1;
    long real = 0;
    for (int r = 0; r < B; r++) {
        int len = os_featset_len(f, idx[r]);
        if (len > T) T = len;
        real += len;
    }
    // vals rows are (B, num_labels): regrow when a task has more labels than the buffer was sized for.
    if (grow(b, B, T, tasks)) return os_fail(OS_ERR_NOMEM, "out of memory collating a batch of %d x %d", B, T);
    b->B = B;
    b->T = T;
    b->examples = idx;
    b->n_tokens = real;
    for (int r = 0; r < B; r++) {
        size_t e = idx[r], s = f->start[e];
        int len = os_featset_len(f, e);
        for (int t = 0; t < T; t++) {
            size_t k = (size_t)r * T + t;
            b->ids[k] = t < len ? f->ids[s + t] : pad_id;
            b->types[k] = t < len ? f->types[s + t] : 0;
            b->mask[k] = t < len;
        }
        b->pair_pos[2 * r] = f->pair_pos && f->pair_pos[2 * e] >= 0 ? f->pair_pos[2 * e] : 0;
        b->pair_pos[2 * r + 1] = f->pair_pos && f->pair_pos[2 * e + 1] >= 0 ? f->pair_pos[2 * e + 1] : 0;
    }
    memset(b->labels, 0, sizeof(os_head_labels) * (size_t)n_heads);
    for (int k = 0; k < tasks->n; k++) {
        const os_task_labels *l = tasks->labels[k];
        const int L = tasks->num_labels[k];
        os_head_labels *hl = &b->labels[tasks->head[k]];
        switch (tasks->type[k]) {
        case OS_TT_CLASSIFICATION:
        case OS_TT_RELATION:
            for (int r = 0; r < B; r++) b->cls[k][r] = l->cls[idx[r]];
            hl->classes = b->cls[k];
            break;
        case OS_TT_MULTILABEL:
        case OS_TT_REGRESSION:
            for (int r = 0; r < B; r++) memcpy(b->vals[k] + (size_t)r * L, l->vals + idx[r] * (size_t)L, (size_t)L * sizeof(float));
            hl->values = b->vals[k];
            break;
        case OS_TT_TOKEN:
            for (int r = 0; r < B; r++) {
                size_t s = f->start[idx[r]];
                int len = os_featset_len(f, idx[r]);
                for (int t = 0; t < T; t++) b->tokens[k][(size_t)r * T + t] = t < len ? l->piece[s + t] : OS_IGNORE_LABEL;
            }
            hl->classes = b->tokens[k];
            break;
        }
    }
    return OS_OK;
}

void os_batch_free(os_batch *b) {
    free(b->ids);
    free(b->types);
    free(b->mask);
    free(b->pair_pos);
    for (int k = 0; k < OS_MAX_TASKS; k++) {
        free(b->cls[k]);
        free(b->vals[k]);
        free(b->tokens[k]);
    }
    memset(b, 0, sizeof *b);
}
