#include <stdlib.h>
#include <string.h>

#include "distill/unlabeled.h"

static os_status read_lines(os_dataset *ds, const char *file, long limit, int as_words) {
    FILE *fp = fopen(file, "r");
    if (!fp) return os_fail(OS_ERR_IO, "%s: cannot open the unlabeled text", file);
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t len;
    os_status st = OS_OK;
    const char *fname = os_dataset_intern(ds, file, strlen(file));
    while (!st && (limit <= 0 || (long)ds->n < limit) && (len = getline(&line, &cap, fp)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        size_t skip = strspn(line, " \t");
        if (!line[skip]) continue;
        os_example *ex = os_dataset_push(ds, fname, lineno);
        if (!ex) {
            st = OS_ERR_NOMEM;
            break;
        }
        if (!as_words) {
            ex->text = os_dataset_strndup(ds, line, (size_t)len);
            if (!ex->text) st = OS_ERR_NOMEM;
            continue;
        }
        uint32_t n = 0;
        for (char *p = line + skip; *p; p += strspn(p, " \t")) {
            n++;
            p += strcspn(p, " \t");
        }
        ex->words = os_dataset_alloc(ds, n * sizeof *ex->words);
        if (!ex->words) {
            st = OS_ERR_NOMEM;
            break;
        }
        ex->n_words = 0;
        for (char *p = line + skip; *p; p += strspn(p, " \t")) {
            size_t w = strcspn(p, " \t");
            if (!(ex->words[ex->n_words++] = os_dataset_strndup(ds, p, w))) st = OS_ERR_NOMEM;
            p += w;
        }
    }
    free(line);
    if (!st && ferror(fp)) st = os_fail(OS_ERR_IO, "%s: read error", file);
    fclose(fp);
    if (!st && ds->n == 0) st = os_fail(OS_ERR_INPUT, "%s: no text lines", file);
    return st;
}

os_status os_distill_add_unlabeled(os_runtime *rt, int i, const char *file, long limit, FILE *log) {
    os_group_rt *g = &rt->groups[rt->tasks[i].group];
    os_dataset *train = g->data[OS_SPLIT_TRAIN], *extra = NULL, *all = NULL;
    int as_words = train->n && train->ex[0].words != NULL, markers = 0;
    for (int k = 0; k < g->n_tasks; k++) markers |= rt->tasks[g->tasks[k]].cfg->type == OS_TT_RELATION;
    os_status st = os_dataset_new(&extra);
    if (!st) st = read_lines(extra, file, limit, as_words);
    os_dataset *parts[2] = {train, extra};
    if (!st) st = os_dataset_concat(parts, 2, &all);
    os_featset f = {0};
    if (!st) st = os_featurize(all, rt->tok, (int)rt->cfg->max_seq_length, markers, &f);
    for (size_t e = train->n; !st && markers && e < f.n; e++)
        if (f.pair_pos[2 * e] < 0 || f.pair_pos[2 * e + 1] < 0)
            st = os_fail(OS_ERR_INPUT, "%s:%zu: no <e1> and <e2> markers (unlabeled text for a relation task must mark "
                                       "both entities, or they were truncated away)", all->ex[e].file, all->ex[e].line);
    // Labels of every task on this dataset for the grown split (the new rows have none).
    os_task_labels labels[OS_MAX_TASKS];
    memset(labels, 0, sizeof labels);
    for (int k = 0; k < g->n_tasks && !st; k++) {
        os_task_rt *t = &rt->tasks[g->tasks[k]];
        st = os_task_labels_build(&labels[k], t->cfg, &t->vocab, all, t->field, &f);
    }
    if (st) {
        for (int k = 0; k < g->n_tasks; k++) os_task_labels_free(&labels[k]);
        os_featset_free(&f);
        os_dataset_free(all);
        os_dataset_free(extra);
        return st;
    }
    if (log)
        fprintf(log, "unlabeled %s: %zu lines added to the training data of '%s' (task %s)\n", file, extra->n, g->name,
                rt->tasks[i].cfg->name);
    for (int k = 0; k < g->n_tasks; k++) {
        os_task_rt *t = &rt->tasks[g->tasks[k]];
        os_task_labels_free(&t->labels[OS_SPLIT_TRAIN]);
        t->labels[OS_SPLIT_TRAIN] = labels[k];
    }
    os_featset_free(&g->feats[OS_SPLIT_TRAIN]);
    g->feats[OS_SPLIT_TRAIN] = f;
    os_dataset_free(train);
    os_dataset_free(extra);
    g->data[OS_SPLIT_TRAIN] = all;
    return OS_OK;
}
