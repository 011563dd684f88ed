#include <stdlib.h>
#include <string.h>

#include "metrics/report.h"
#include "metrics/seqeval.h"

void os_seqeval_init(os_seqeval *ev) { memset(ev, 0, sizeof *ev); }

void os_seqeval_free(os_seqeval *ev) {
    for (size_t i = 0; i < ev->n_types; i++) free(ev->types[i].name);
    free(ev->types);
    free(ev->scratch);
    memset(ev, 0, sizeof *ev);
}

// Index of `name` in the sorted type table, inserting it (zero counts) when new; NULL when out of memory.
static os_seqeval_type *type_slot(os_seqeval *ev, const char *name) {
    size_t lo = 0, hi = ev->n_types;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(ev->types[mid].name, name);
        if (c == 0) return &ev->types[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (ev->n_types == ev->cap_types) {
        size_t cap = ev->cap_types ? 2 * ev->cap_types : 8;
        os_seqeval_type *t = realloc(ev->types, cap * sizeof *t);
        if (!t) return NULL;
        ev->types = t;
        ev->cap_types = cap;
    }
    char *copy = strdup(name);
    if (!copy) return NULL;
    memmove(&ev->types[lo + 1], &ev->types[lo], (ev->n_types - lo) * sizeof *ev->types);
    ev->types[lo] = (os_seqeval_type){.name = copy};
    ev->n_types++;
    return &ev->types[lo];
}

// Reads one side's chunks, naming the side in the error.
static os_status extract(const char *side, const char *const *tags, size_t len, os_chunk *out, size_t *n) {
    os_status st = os_chunks_extract(tags, len, out, n);
    if (st != OS_OK) {
        char msg[512];  // os_fail formats into the buffer os_last_error returns: copy it out first
        snprintf(msg, sizeof msg, "%s", os_last_error());
        return os_fail(st, "%s sequence: %s", side, msg);
    }
    return OS_OK;
}

os_status os_seqeval_add(os_seqeval *ev, const char *const *gold, const char *const *pred, size_t len) {
    if (len == 0) return OS_OK;  // an empty sentence has no tokens and no entities
    if (2 * len > ev->cap_scratch) {
        os_chunk *s = realloc(ev->scratch, 2 * len * sizeof *s);
        if (!s) return os_fail(OS_ERR_NOMEM, "out of memory evaluating a %zu-token sentence", len);
        ev->scratch = s;
        ev->cap_scratch = 2 * len;
    }
    os_chunk *g = ev->scratch, *p = ev->scratch + len;
    size_t ng, np;
    os_status st = extract("gold", gold, len, g, &ng);
    if (st == OS_OK) st = extract("predicted", pred, len, p, &np);
    if (st != OS_OK) return st;
    // Create every type slot before counting, so running out of memory cannot leave a half-counted sentence.
    for (size_t i = 0; i < ng + np; i++)
        if (!type_slot(ev, i < ng ? g[i].type : p[i - ng].type))
            return os_fail(OS_ERR_NOMEM, "out of memory recording entity types");
    for (size_t i = 0; i < ng; i++) type_slot(ev, g[i].type)->n_gold++;
    for (size_t i = 0; i < np; i++) type_slot(ev, p[i].type)->n_pred++;
    // Both lists are ordered by start and chunks of one side never overlap: a merge finds the exact matches
    // (conlleval's "correct chunk": same start, same end, same type).
    for (size_t i = 0, j = 0; i < ng && j < np;) {
        if (g[i].start < p[j].start) {
            i++;
        } else if (p[j].start < g[i].start) {
            j++;
        } else {
            if (g[i].end == p[j].end && !strcmp(g[i].type, p[j].type)) type_slot(ev, g[i].type)->correct++;
            i++;
            j++;
        }
    }
    for (size_t i = 0; i < len; i++) ev->correct_tokens += !strcmp(gold[i], pred[i]);
    ev->tokens += (int64_t)len;
    return OS_OK;
}

os_prf os_seqeval_type_prf(const os_seqeval *ev, size_t i) {
    const os_seqeval_type *t = &ev->types[i];
    return os_prf_from_counts(t->correct, t->n_pred, t->n_gold);
}

os_prf os_seqeval_average(const os_seqeval *ev, os_average avg) {
    if (avg == OS_AVG_MICRO) {
        // Straight from the counts: no allocation, and the overall figure can never fail.
        int64_t c = 0, np = 0, ng = 0;
        for (size_t i = 0; i < ev->n_types; i++) {
            c += ev->types[i].correct;
            np += ev->types[i].n_pred;
            ng += ev->types[i].n_gold;
        }
        return os_prf_from_counts(c, np, ng);
    }
    os_prf *rows = os_calloc(ev->n_types, sizeof *rows);
    if (!rows) return os_prf_from_counts(0, 0, 0);
    for (size_t i = 0; i < ev->n_types; i++) rows[i] = os_seqeval_type_prf(ev, i);
    os_prf r = os_prf_average(rows, NULL, ev->n_types, avg);
    free(rows);
    return r;
}

os_prf os_seqeval_overall(const os_seqeval *ev) { return os_seqeval_average(ev, OS_AVG_MICRO); }

double os_seqeval_token_accuracy(const os_seqeval *ev) {
    return ev->tokens > 0 ? (double)ev->correct_tokens / (double)ev->tokens : 0.0;
}

// Per-type rows and seqeval's three average rows; NULL when out of memory.
static os_report_row *report_rows(const os_seqeval *ev) {
    os_report_row *rows = os_calloc(ev->n_types + 3, sizeof *rows);
    if (!rows) return NULL;
    for (size_t i = 0; i < ev->n_types; i++)
        rows[i] = (os_report_row){.name = ev->types[i].name, .prf = os_seqeval_type_prf(ev, i)};
    rows[ev->n_types] = (os_report_row){.name = "micro avg", .prf = os_seqeval_average(ev, OS_AVG_MICRO)};
    rows[ev->n_types + 1] = (os_report_row){.name = "macro avg", .prf = os_seqeval_average(ev, OS_AVG_MACRO)};
    rows[ev->n_types + 2] =
        (os_report_row){.name = "weighted avg", .prf = os_seqeval_average(ev, OS_AVG_WEIGHTED)};
    return rows;
}

size_t os_seqeval_report(const os_seqeval *ev, int digits, char *buf, size_t cap) {
    os_report_row *rows = report_rows(ev);
    if (!rows) {
        if (cap) buf[0] = '\0';
        return 0;
    }
    size_t len = os_report_format(rows, ev->n_types, rows + ev->n_types, 3, digits, buf, cap);
    free(rows);
    return len;
}

os_status os_seqeval_report_print(const os_seqeval *ev, int digits, FILE *fp) {
    os_report_row *rows = report_rows(ev);
    if (!rows) return OS_ERR_NOMEM;
    os_status st = os_report_print(rows, ev->n_types, rows + ev->n_types, 3, digits, fp);
    free(rows);
    return st;
}

json_t *os_seqeval_json(const os_seqeval *ev) {
    os_report_row *rows = report_rows(ev);
    if (!rows) return NULL;
    json_t *o = os_report_json(rows, ev->n_types, rows + ev->n_types, 3);
    free(rows);
    if (o && json_object_set_new(o, "token_accuracy", json_real(os_seqeval_token_accuracy(ev)))) {
        json_decref(o);
        os_fail(OS_ERR_NOMEM, "out of memory building the entity report JSON");
        return NULL;
    }
    return o;
}
