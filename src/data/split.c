// Seeded random dev carving (plain or stratified by a class field) and small slices.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/split.h"
#include "util/rng.h"

static int cmp_size(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

// Moves k items drawn uniformly at random to the front of v[0..n) (partial Fisher-Yates).
static void draw_front(os_rng *r, size_t *v, size_t n, size_t k) {
    for (size_t i = 0; i < k && i < n; i++) {
        size_t j = i + (size_t)os_rng_below(r, n - i);
        size_t t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}

// Group ids: the label's index in the field's label set, or n_labels for MISSING.
static os_status group_of(const os_dataset *ds, int field, size_t *group, size_t *n_groups) {
    os_labelset ls;
    os_status st = os_dataset_labels(ds, field, &ls);
    if (st) return st;
    for (size_t i = 0; i < ds->n; i++) {
        const os_label *l = &ds->ex[i].labels[field];
        group[i] = l->kind == OS_LABEL_CLASS ? (size_t)os_labelset_find(&ls, l->v.name) : (size_t)ls.n;
    }
    *n_groups = (size_t)ls.n + 1;
    os_labelset_free(&ls);
    return OS_OK;
}

// How many of each group go to dev (see split.h), `want` in total.
static void stratified_quota(const size_t *count, size_t g, double frac, size_t want, size_t *quota) {
    size_t sum = 0;
    for (size_t k = 0; k < g; k++) {
        size_t q = (size_t)floor(frac * (double)count[k]);
        if (count[k] && q > count[k] - 1) q = count[k] - 1;
        quota[k] = q;
        sum += q;
    }
    // One more for the groups with the largest fractional parts, each at most once.
    while (sum < want) {
        size_t best = g;
        double best_r = -1;
        for (size_t k = 0; k < g; k++) {
            double r = frac * (double)count[k] - (double)quota[k];
            if (count[k] && quota[k] + 1 < count[k] && r > 0 && r < 1 && r > best_r) {
                best = k;
                best_r = r;
            }
        }
        if (best == g) break;
        quota[best]++;
        sum++;
    }
    // Still short (the keep-one-in-train rule bit): fill from the groups with room, in label order.
    for (size_t k = 0; k < g && sum < want; k++)
        while (sum < want && count[k] && quota[k] + 1 < count[k]) quota[k]++, sum++;
}

os_status os_split_indices(const os_dataset *ds, const os_split_opts *o, size_t **train_idx, size_t *n_train,
                           size_t **dev_idx, size_t *n_dev) {
    *train_idx = *dev_idx = NULL;
    *n_train = *n_dev = 0;
    size_t n = ds->n;
    if (!(o->dev_fraction > 0 && o->dev_fraction < 1))
        return os_fail(OS_ERR_USAGE, "dev fraction %g is outside (0, 1); use e.g. 0.1 for a 10%% dev set",
                       o->dev_fraction);
    const char *src = n ? ds->ex[0].file : "dataset";
    if (n < 2)
        return os_fail(OS_ERR_INPUT, "%s: cannot carve a dev set out of %zu example(s); give a dev file or more "
                                     "training data", src, n);
    int field = -1;
    if (o->stratify_field) {
        field = os_dataset_field(ds, o->stratify_field);
        if (field < 0 || ds->fields[field].kind != OS_LABEL_CLASS)
            return os_fail(OS_ERR_USAGE, "%s: cannot stratify by '%s': %s; stratify by a single-label "
                                         "classification field or split without stratifying",
                           src, o->stratify_field, field < 0 ? "no such label field" : "it is not a class field");
    }
    double want_d = floor(o->dev_fraction * (double)n + 0.5);
    size_t want = want_d < 1 ? 1 : want_d > (double)(n - 1) ? n - 1 : (size_t)want_d;
    size_t *order = malloc(n * sizeof *order);
    size_t *group = calloc(n, sizeof *group);
    unsigned char *is_dev = calloc(n, 1);
    size_t *count = NULL, *quota = NULL, *start = NULL;
    os_status st = OS_OK;
    if (!order || !group || !is_dev) st = os_fail(OS_ERR_NOMEM, "out of memory splitting %zu examples", n);
    size_t g = 1;
    if (!st && field >= 0) st = group_of(ds, field, group, &g);
    if (!st) {
        count = calloc(g, sizeof *count);
        quota = calloc(g, sizeof *quota);
        start = calloc(g + 1, sizeof *start);
        if (!count || !quota || !start) st = os_fail(OS_ERR_NOMEM, "out of memory splitting %zu examples", n);
    }
    if (!st) {
        os_rng rng;
        os_rng_seed(&rng, o->seed);
        // Bucket the indices by group (in file order within a group), then draw each group's quota.
        for (size_t i = 0; i < n; i++) count[group[i]]++;
        for (size_t k = 0; k < g; k++) start[k + 1] = start[k] + count[k];
        for (size_t i = 0; i < n; i++) order[start[group[i]]++] = i;
        for (size_t k = 0; k < g; k++) start[k] -= count[k];
        if (field >= 0)
            stratified_quota(count, g, o->dev_fraction, want, quota);
        else
            quota[0] = want;
        for (size_t k = 0; k < g; k++) {
            draw_front(&rng, order + start[k], count[k], quota[k]);
            for (size_t j = 0; j < quota[k]; j++) is_dev[order[start[k] + j]] = 1;
        }
        size_t nd = 0;
        for (size_t i = 0; i < n; i++) nd += is_dev[i];
        *dev_idx = malloc((nd ? nd : 1) * sizeof **dev_idx);
        *train_idx = malloc((n - nd ? n - nd : 1) * sizeof **train_idx);
        if (!*dev_idx || !*train_idx) {
            free(*dev_idx);
            free(*train_idx);
            *dev_idx = *train_idx = NULL;
            st = os_fail(OS_ERR_NOMEM, "out of memory splitting %zu examples", n);
        } else {
            for (size_t i = 0; i < n; i++) {
                if (is_dev[i])
                    (*dev_idx)[(*n_dev)++] = i;
                else
                    (*train_idx)[(*n_train)++] = i;
            }
        }
    }
    free(order);
    free(group);
    free(is_dev);
    free(count);
    free(quota);
    free(start);
    return st;
}

os_status os_dataset_split(const os_dataset *ds, const os_split_opts *o, os_dataset **train, os_dataset **dev) {
    *train = *dev = NULL;
    size_t *ti, *di, nt, nd;
    os_status st = os_split_indices(ds, o, &ti, &nt, &di, &nd);
    if (!st) st = os_dataset_subset(ds, ti, nt, train);
    if (!st) st = os_dataset_subset(ds, di, nd, dev);
    if (st) {
        os_dataset_free(*train);
        *train = NULL;
    }
    free(ti);
    free(di);
    return st;
}

os_status os_dataset_head(const os_dataset *ds, size_t n, os_dataset **out) {
    *out = NULL;
    if (n > ds->n) n = ds->n;
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    if (!idx) return os_fail(OS_ERR_NOMEM, "out of memory taking %zu examples", n);
    for (size_t i = 0; i < n; i++) idx[i] = i;
    os_status st = os_dataset_subset(ds, idx, n, out);
    free(idx);
    return st;
}

os_status os_dataset_sample(const os_dataset *ds, size_t n, uint64_t seed, os_dataset **out) {
    *out = NULL;
    if (n > ds->n) n = ds->n;
    size_t *idx = malloc((ds->n ? ds->n : 1) * sizeof *idx);
    if (!idx) return os_fail(OS_ERR_NOMEM, "out of memory sampling %zu examples", n);
    for (size_t i = 0; i < ds->n; i++) idx[i] = i;
    os_rng rng;
    os_rng_seed(&rng, seed);
    draw_front(&rng, idx, ds->n, n);
    qsort(idx, n, sizeof *idx, cmp_size);
    os_status st = os_dataset_subset(ds, idx, n, out);
    free(idx);
    return st;
}
