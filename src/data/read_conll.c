// CoNLL column files (CoNLL-2003 and kin): one word per line, whitespace-separated columns, blank line = end
// of sentence, "-DOCSTART-" lines = document boundaries (not sentences).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"
#include "data/readers.h"
#include "util/fileio.h"

typedef struct {
    const char *s;
    size_t len;
} span;

typedef struct {
    const os_conll_opts *o;
    const char *name;
    os_dataset *ds;
    int first_field;   // index of the first tag field
    int want;          // columns each row must have (0 until the first row sets it)
    size_t want_line;  // the line that set `want`
    int max_col;       // highest column asked for
    span *rows;        // per row: the word, then the n_tags tags
    size_t n_rows, cap_rows;
    size_t first_line;  // line of the sentence's first row
    uint32_t doc;
    int doc_used;  // the current document has a sentence
} conll;

static os_status flush_sentence(conll *c) {
    if (c->n_rows == 0) return OS_OK;
    int stride = 1 + c->o->n_tags;
    size_t n = c->n_rows;
    c->n_rows = 0;
    if (n > UINT32_MAX)
        return os_fail(OS_ERR_INPUT, "%s:%zu: sentence of %zu words is too long; add blank lines between sentences",
                       c->name, c->first_line, n);
    os_dataset *ds = c->ds;
    os_example *ex = os_dataset_push(ds, c->name, c->first_line);
    if (!ex) return OS_ERR_NOMEM;
    ex->doc = c->doc;
    ex->n_words = (uint32_t)n;
    ex->words = os_dataset_alloc(ds, n * sizeof *ex->words);
    if (!ex->words) return OS_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const span *w = &c->rows[i * (size_t)stride];
        if (!(ex->words[i] = os_dataset_strndup(ds, w->s, w->len))) return OS_ERR_NOMEM;
    }
    for (int t = 0; t < c->o->n_tags; t++) {
        os_label *l = &ex->labels[c->first_field + t];
        l->kind = OS_LABEL_TAGS;
        l->n = (uint32_t)n;
        l->v.names = os_dataset_alloc(ds, n * sizeof *l->v.names);
        if (!l->v.names) return OS_ERR_NOMEM;
        for (size_t i = 0; i < n; i++) {
            const span *g = &c->rows[i * (size_t)stride + 1 + (size_t)t];
            if (!(l->v.names[i] = os_dataset_intern(ds, g->s, g->len))) return OS_ERR_NOMEM;
        }
    }
    c->doc_used = 1;
    return OS_OK;
}

// Splits a non-blank line into columns (runs of spaces/tabs separate them) and stores the wanted ones.
static os_status add_row(conll *c, const char *line, size_t len, size_t lineno) {
    int stride = 1 + c->o->n_tags;
    if (c->n_rows == c->cap_rows) {
        size_t cap = c->cap_rows ? c->cap_rows * 2 : 64;
        span *r = realloc(c->rows, cap * (size_t)stride * sizeof *r);
        if (!r) return os_fail(OS_ERR_NOMEM, "out of memory while reading %s", c->name);
        c->rows = r;
        c->cap_rows = cap;
    }
    span *row = &c->rows[c->n_rows * (size_t)stride];
    int col = 0;
    for (size_t i = 0; i < len;) {
        while (i < len && (line[i] == ' ' || line[i] == '\t')) i++;
        if (i == len) break;
        size_t start = i;
        while (i < len && line[i] != ' ' && line[i] != '\t') i++;
        span sp = {line + start, i - start};
        if (col == c->o->word_column) row[0] = sp;
        for (int t = 0; t < c->o->n_tags; t++)
            if (col == c->o->tag_columns[t]) row[1 + t] = sp;
        if (col < INT32_MAX) col++;
    }
    if (c->want == 0) {
        if (col <= c->max_col)
            return os_fail(OS_ERR_INPUT, "%s:%zu: row has %d column(s) but column %d (0-based) is asked for; check "
                                         "the word and tag column numbers",
                           c->name, lineno, col, c->max_col);
        c->want = col;
        c->want_line = lineno;
    } else if (col != c->want) {
        char why[48];
        if (c->want_line)
            snprintf(why, sizeof why, "as on line %zu", c->want_line);
        else
            snprintf(why, sizeof why, "the column count option");
        return os_fail(OS_ERR_INPUT, "%s:%zu: row has %d column(s), expected %d (%s); every word line needs the "
                                     "same whitespace-separated columns",
                       c->name, lineno, col, c->want, why);
    }
    if (c->n_rows == 0) c->first_line = lineno;
    c->n_rows++;
    return OS_OK;
}

static os_status conll_setup(conll *c, const os_conll_opts *o) {
    if (o->word_column < 0 || o->n_tags < 0 || (o->n_tags > 0 && !o->tag_columns) || o->n_columns < 0)
        return os_fail(OS_ERR_USAGE, "%s: bad CoNLL options (word column %d, %d tag column(s), %d columns); "
                                     "columns are 0-based and must not be negative",
                       c->name, o->word_column, o->n_tags, o->n_columns);
    c->max_col = o->word_column;
    for (int t = 0; t < o->n_tags; t++) {
        if (o->tag_columns[t] < 0)
            return os_fail(OS_ERR_USAGE, "%s: tag column %d is negative; columns are 0-based", c->name,
                           o->tag_columns[t]);
        if (o->tag_columns[t] > c->max_col) c->max_col = o->tag_columns[t];
        char def[32];
        snprintf(def, sizeof def, "tag%d", o->tag_columns[t]);
        const char *nm = o->tag_fields && o->tag_fields[t] ? o->tag_fields[t] : def;
        os_status st = os_dataset_add_field(c->ds, nm, OS_LABEL_TAGS, t == 0 ? &c->first_field : NULL);
        if (st) return st;
    }
    if (o->n_columns > 0) {
        if (o->n_columns <= c->max_col)
            return os_fail(OS_ERR_USAGE, "%s: column %d is asked for but rows have %d columns", c->name,
                           c->max_col, o->n_columns);
        c->want = o->n_columns;
    }
    return OS_OK;
}

os_status os_parse_conll(const char *name, const char *data, size_t len, const os_conll_opts *o,
                         os_dataset **out) {
    conll c = {.o = o, .name = name};
    ds_lines it;
    os_status st = ds_begin_parse(name, data, len, out, &c.ds, &it);
    if (st) return st;
    if ((st = conll_setup(&c, o))) return ds_abandon(&c.ds, st);
    const char *mark = o->docstart ? o->docstart : "-DOCSTART-";
    size_t mark_len = strlen(mark);
    const char *line;
    size_t n;
    while (st == OS_OK && ds_lines_next(&it, &line, &n)) {
        if (ds_blank(line, n)) {
            st = flush_sentence(&c);
            continue;
        }
        if (o->comments && line[0] == '#') continue;
        const char *first = line;
        size_t fl = n;
        ds_trim(&first, &fl);
        size_t w = 0;
        while (w < fl && first[w] != ' ' && first[w] != '\t') w++;
        if (w == mark_len && memcmp(first, mark, mark_len) == 0) {
            // A document boundary ends the sentence; the next sentence starts a new document (a file that
            // starts without a marker, or ends with one, adds no empty document).
            st = flush_sentence(&c);
            if (c.doc_used) c.doc++;
            c.doc_used = 0;
            continue;
        }
        st = add_row(&c, line, n, it.lineno);
    }
    if (st == OS_OK) st = flush_sentence(&c);
    free(c.rows);
    return ds_end_parse(name, st, &c.ds, out);
}

DS_DEFINE_READER(os_read_conll, os_parse_conll, os_conll_opts)
