#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/semeval.h"

typedef struct {
    const char *p;
    size_t len;
} span;

// The relation type of a label: the label without its "(eX,eY)" suffix, or the Other label itself.
static os_status label_type(const char *label, const char *other, const char *side, size_t i, span *out) {
    size_t n = strlen(label);
    if (!strcmp(label, other)) {
        *out = (span){label, n};
        return OS_OK;
    }
    const char *s = n > 7 ? label + n - 7 : NULL;  // "(eX,eY)" is 7 characters, after a non-empty name
    if (s && s[0] == '(' && s[1] == 'e' && (s[2] == '1' || s[2] == '2') && s[3] == ',' && s[4] == 'e' &&
        (s[5] == '1' || s[5] == '2') && s[6] == ')') {
        *out = (span){label, n - 7};
        return OS_OK;
    }
    return os_fail(OS_ERR_INPUT,
                   "%s relation label '%s' at position %zu is neither '%s' nor 'Type(e1,e2)' / "
                   "'Type(e2,e1)'",
                   side, label, i, other);
}

static int span_cmp(span a, const char *name) {
    int c = strncmp(a.p, name, a.len);
    if (c) return c;
    return name[a.len] ? -1 : 0;  // a is a prefix of name: the shorter sorts first
}

// Index of type `t` in the sorted table, or where it would go (with *found = false).
static size_t find_type(const os_semeval_result *r, span t, bool *found) {
    size_t lo = 0, hi = r->n_types;
    *found = false;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = span_cmp(t, r->types[mid].name);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c > 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

// Builds the sorted table of gold types (counts zero); validates every gold label.
static os_status gold_types(os_semeval_result *r, const char *const *gold, size_t n, const char *other) {
    r->types = os_calloc(n, sizeof *r->types);  // at most one type per example
    if (!r->types) return OS_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        span t;
        os_status st = label_type(gold[i], other, "gold", i, &t);
        if (st != OS_OK) return st;
        bool found;
        size_t at = find_type(r, t, &found);
        if (found) continue;
        char *name = strndup(t.p, t.len);
        if (!name) return os_fail(OS_ERR_NOMEM, "out of memory scoring relations");
        memmove(&r->types[at + 1], &r->types[at], (r->n_types - at) * sizeof *r->types);
        r->types[at] = (os_semeval_type){.name = name, .other = !strcmp(name, other)};
        r->n_types++;
    }
    return OS_OK;
}

os_status os_semeval_eval(const char *const *gold, const char *const *pred, size_t n, const char *other_label,
                          os_semeval_result *out) {
    memset(out, 0, sizeof *out);
    const char *other = other_label ? other_label : "Other";
    os_status st = gold_types(out, gold, n, other);
    for (size_t i = 0; st == OS_OK && i < n; i++) {
        span gt, pt;
        bool found;
        label_type(gold[i], other, "gold", i, &gt);  // validated by gold_types
        os_semeval_type *g = &out->types[find_type(out, gt, &found)];
        g->prf.n_gold++;
        if (!pred[i]) continue;  // skipped by the system
        if ((st = label_type(pred[i], other, "predicted", i, &pt)) != OS_OK) break;
        if (!strcmp(pred[i], gold[i])) {
            g->prf.tp++;
            g->prf.n_pred++;
        } else if (pt.len == gt.len && !strncmp(pt.p, gt.p, gt.len)) {
            g->wrong_dir++;  // right type, wrong direction: an error that still counts as a prediction of g
            g->prf.n_pred++;
        } else {
            size_t at = find_type(out, pt, &found);
            if (found) out->types[at].prf.n_pred++;  // a type missing from the gold labels scores nowhere
        }
    }
    if (st != OS_OK) {
        os_semeval_result_free(out);
        return st;
    }
    int64_t tp = 0, n_pred = 0, n_gold = 0;
    size_t k = 0;
    // Summed in the scorer's (sorted) order so the mean is the same floating-point number.
    for (size_t t = 0; t < out->n_types; t++) {
        os_prf *p = &out->types[t].prf;
        *p = os_prf_from_counts(p->tp, p->n_pred, p->n_gold);
        if (out->types[t].other) continue;
        out->macro_precision += p->precision;
        out->macro_recall += p->recall;
        out->macro_f1 += p->f1;
        tp += p->tp;
        n_pred += p->n_pred;
        n_gold += p->n_gold;
        k++;
    }
    if (k > 0) {
        out->macro_precision /= (double)k;
        out->macro_recall /= (double)k;
        out->macro_f1 /= (double)k;
    }
    out->micro = os_prf_from_counts(tp, n_pred, n_gold);
    return OS_OK;
}

void os_semeval_result_free(os_semeval_result *r) {
    for (size_t i = 0; r->types && i < r->n_types; i++) free(r->types[i].name);
    free(r->types);
    memset(r, 0, sizeof *r);
}

static json_t *prf_json(const os_prf *p) {
    return json_pack("{s:f, s:f, s:f, s:I, s:I, s:I}", "precision", p->precision, "recall", p->recall, "f1",
                     p->f1, "correct", (json_int_t)p->tp, "predicted", (json_int_t)p->n_pred, "gold",
                     (json_int_t)p->n_gold);
}

json_t *os_semeval_json(const os_semeval_result *r) {
    json_t *types = json_object();
    for (size_t i = 0; types && i < r->n_types; i++) {
        json_t *t = prf_json(&r->types[i].prf);
        if (t && json_object_set_new(t, "wrong_direction", json_integer((json_int_t)r->types[i].wrong_dir))) {
            json_decref(t);
            t = NULL;
        }
        // json_object_set_new releases t itself when it fails.
        if (!t || json_object_set_new(types, r->types[i].name, t)) {
            json_decref(types);
            types = NULL;
        }
    }
    json_t *o = types ? json_pack("{s:f, s:f, s:f, s:o, s:o}", "official_macro_f1", r->macro_f1,
                                  "macro_precision", r->macro_precision, "macro_recall", r->macro_recall,
                                  "micro", prf_json(&r->micro), "types", types)
                      : NULL;
    if (!o)
        os_fail(OS_ERR_NOMEM, "cannot build the relation report JSON: out of memory or a non-UTF-8 label");
    return o;
}
