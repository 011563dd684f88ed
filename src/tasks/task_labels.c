#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/tag_scheme.h"
#include "model/heads.h"
#include "tasks/task_labels.h"

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int os_label_vocab_find(const os_label_vocab *v, const char *name) {
    if (!name) return -1;
    if (v->unsorted) {
        for (int i = 0; i < v->num_labels; i++)
            if (!strcmp(v->names[i], name)) return i;
        return -1;
    }
    char *const *hit = bsearch(&name, v->names, (size_t)v->num_labels, sizeof(char *), cmp_str);
    return hit ? (int)(hit - v->names) : -1;
}

void os_label_vocab_free(os_label_vocab *v) {
    for (int i = 0; i < v->num_labels; i++) free(v->names[i]);
    free(v->names);
    memset(v, 0, sizeof *v);
}

// The tags of one sentence in the training scheme (IOB1 converted to BIO), as malloc'd strings; a NULL
// (masked) tag converts as "O" and comes back NULL.
static os_status sentence_tags(const os_label_vocab *v, const os_example *ex, const os_label *lab, char **out) {
    const uint32_t n = lab->n;
    const char **in = calloc(n ? n : 1, sizeof *in);
    if (!in) return os_fail(OS_ERR_NOMEM, "out of memory");
    for (uint32_t i = 0; i < n; i++) in[i] = lab->v.names[i] ? lab->v.names[i] : "O";
    os_status st = OS_OK;
    if (v->convert_iob1) {
        st = os_tags_convert(in, n, OS_SCHEME_IOB2, out);
        if (st) {
            char msg[400];
            snprintf(msg, sizeof msg, "%s", os_last_error());
            st = os_fail(OS_ERR_INPUT, "%s:%zu: %s", ex->file, ex->line, msg);
        }
    } else {
        for (uint32_t i = 0; i < n; i++) out[i] = strdup(in[i]);
    }
    for (uint32_t i = 0; i < n && !st; i++)
        if (!lab->v.names[i]) {
            free(out[i]);
            out[i] = NULL;
        }
    free(in);
    return st;
}

static os_status add_name(os_label_vocab *v, const char *name, size_t *cap) {
    for (int i = 0; i < v->num_labels; i++)
        if (!strcmp(v->names[i], name)) return OS_OK;
    if ((size_t)v->num_labels == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        char **g = realloc(v->names, *cap * sizeof *g);
        if (!g) return os_fail(OS_ERR_NOMEM, "out of memory");
        v->names = g;
    }
    v->names[v->num_labels++] = strdup(name);
    return OS_OK;
}

os_status os_label_vocab_build(os_label_vocab *v, const os_task_cfg *t, const os_dataset *train, int field,
                               const char *const *fixed, int n_fixed) {
    memset(v, 0, sizeof *v);
    if (fixed && t->type != OS_TT_REGRESSION) {
        v->entity_tags = t->type == OS_TT_TOKEN && strcmp(t->scheme, "none") != 0;
        v->convert_iob1 = t->type == OS_TT_TOKEN && !strcmp(t->scheme, "iob1");
        v->unsorted = 1;
        v->num_labels = n_fixed;
        v->names = calloc((size_t)n_fixed + 1, sizeof(char *));
        if (!v->names) return os_fail(OS_ERR_NOMEM, "out of memory");
        for (int i = 0; i < n_fixed; i++) v->names[i] = strdup(fixed[i]);
        return OS_OK;
    }
    if (t->type == OS_TT_REGRESSION) {
        v->num_labels = 1;
        v->names = calloc(1, sizeof(char *));
        v->names[0] = strdup("value");
        return OS_OK;
    }
    if (t->type == OS_TT_TOKEN) {
        v->entity_tags = strcmp(t->scheme, "none") != 0;
        v->convert_iob1 = !strcmp(t->scheme, "iob1");
        size_t cap = 0;
        for (size_t i = 0; i < train->n; i++) {
            const os_label *lab = &train->ex[i].labels[field];
            if (lab->kind != OS_LABEL_TAGS) continue;
            char **tags = calloc(lab->n ? lab->n : 1, sizeof(char *));
            os_status st = tags ? sentence_tags(v, &train->ex[i], lab, tags) : OS_ERR_NOMEM;
            for (uint32_t k = 0; k < lab->n && !st; k++)
                if (tags[k]) st = add_name(v, tags[k], &cap);
            os_tags_free(tags, lab->n);
            free(tags);
            if (st) return st;
        }
        if (v->num_labels) qsort(v->names, (size_t)v->num_labels, sizeof(char *), cmp_str);
    } else {
        os_labelset ls;
        os_status st = os_dataset_labels(train, field, &ls);
        if (st) return st;
        v->names = ls.names;  // take ownership of the sorted copies
        v->num_labels = ls.n;
    }
    if (v->num_labels < (t->type == OS_TT_MULTILABEL ? 1 : 2))
        return os_fail(OS_ERR_INPUT, "task '%s': field '%s' of its training data has %d distinct label(s); a %s task "
                                     "needs at least %d", t->name, t->field, v->num_labels, os_task_type_name(t->type),
                       t->type == OS_TT_MULTILABEL ? 1 : 2);
    return OS_OK;
}

static void note_unknown(os_task_labels *l, const char *name, const os_example *ex) {
    if (!l->n_unknown++) {
        l->first_unknown = name;
        l->first_unknown_file = ex->file;
        l->first_unknown_line = ex->line;
    }
}

os_status os_task_labels_build(os_task_labels *l, const os_task_cfg *t, const os_label_vocab *v,
                               const os_dataset *ds, int field, const os_featset *f) {
    memset(l, 0, sizeof *l);
    const size_t n = ds->n, L = (size_t)v->num_labels;
    if (t->type == OS_TT_CLASSIFICATION || t->type == OS_TT_RELATION) {
        if (!(l->cls = os_calloc(n, sizeof *l->cls))) return OS_ERR_NOMEM;
    } else if (t->type == OS_TT_MULTILABEL || t->type == OS_TT_REGRESSION) {
        if (!(l->vals = os_calloc(n * L, sizeof *l->vals))) return OS_ERR_NOMEM;
    } else {
        l->piece = os_calloc(f->start[n] + 1, sizeof *l->piece);
        l->word = os_calloc(f->word_start[n] + 1, sizeof *l->word);
        if (!l->piece || !l->word) return OS_ERR_NOMEM;
        for (size_t k = 0; k < f->start[n]; k++) l->piece[k] = OS_IGNORE_LABEL;
    }
    for (size_t i = 0; i < n; i++) {
        const os_example *ex = &ds->ex[i];
        const os_label *lab = &ex->labels[field];
        int present = lab->kind != OS_LABEL_MISSING;
        switch (t->type) {
        case OS_TT_CLASSIFICATION:
        case OS_TT_RELATION: {
            int id = present ? os_label_vocab_find(v, lab->v.name) : -1;
            if (present && id < 0) note_unknown(l, lab->v.name, ex);
            // A relation whose markers were truncated away cannot be classified from entity starts.
            if (t->type == OS_TT_RELATION && !t->use_cls && (f->pair_pos[2 * i] < 0 || f->pair_pos[2 * i + 1] < 0))
                id = -1;
            l->cls[i] = id >= 0 ? id : OS_IGNORE_LABEL;
            l->n_labeled += id >= 0;
            break;
        }
        case OS_TT_REGRESSION:
            l->vals[i] = present ? (float)lab->v.number : NAN;
            l->n_labeled += present;
            break;
        case OS_TT_MULTILABEL: {
            float *row = l->vals + i * L;
            if (!present) {
                row[0] = NAN;
                break;
            }
            for (uint32_t k = 0; k < lab->n; k++) {
                int id = os_label_vocab_find(v, lab->v.names[k]);
                if (id < 0) note_unknown(l, lab->v.names[k], ex);
                else row[id] = 1.0f;
            }
            l->n_labeled++;
            break;
        }
        case OS_TT_TOKEN: {
            int32_t *words = l->word + f->word_start[i];
            const size_t nw = f->word_start[i + 1] - f->word_start[i];
            for (size_t w = 0; w < nw; w++) words[w] = OS_IGNORE_LABEL;
            if (!present) break;
            if (lab->n != nw)
                return os_fail(OS_ERR_INPUT, "%s:%zu: %u tags for %zu words", ex->file, ex->line, lab->n, nw);
            char **tags = calloc(nw ? nw : 1, sizeof(char *));
            os_status st = tags ? sentence_tags(v, ex, lab, tags) : OS_ERR_NOMEM;
            for (size_t w = 0; w < nw && !st; w++) {
                if (!tags[w]) continue;
                int id = os_label_vocab_find(v, tags[w]);
                if (id < 0) {
                    note_unknown(l, lab->v.names[w], ex);
                    continue;
                }
                words[w] = id;
                int32_t p = f->first_piece[f->word_start[i] + w];
                if (p >= 0) l->piece[f->start[i] + (size_t)p] = id;
            }
            os_tags_free(tags, nw);
            free(tags);
            if (st) return st;
            l->n_labeled++;
            break;
        }
        }
    }
    return OS_OK;
}

void os_task_labels_free(os_task_labels *l) {
    free(l->cls);
    free(l->vals);
    free(l->piece);
    free(l->word);
    memset(l, 0, sizeof *l);
}
