// Tables with a header row: TSV as in GLUE (tab-separated, no quoting at all) and CSV (RFC 4180: cells in
// double quotes may hold commas, newlines and doubled quotes ""). Blank lines are skipped.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "data/data_internal.h"
#include "data/readers.h"
#include "util/fileio.h"

typedef struct {
    const char *s;
    size_t len;
} cell;

typedef struct {
    const char *name;
    int csv;
    const char *p, *end;  // the rest of the input
    const char *line_start;
    size_t lineno;         // line of p (1-based)
    char *scratch;         // CSV: unquoted cell text (as large as the input, so it never moves)
    size_t scratch_used;
    cell *cells;
    int n_cells, cap_cells;
} table;

static os_status push_cell(table *t, const char *s, size_t len) {
    if (t->n_cells == t->cap_cells) {
        int cap = t->cap_cells ? t->cap_cells * 2 : 16;
        cell *c = realloc(t->cells, (size_t)cap * sizeof *c);
        if (!c) return os_fail(OS_ERR_NOMEM, "out of memory while reading %s", t->name);
        t->cells = c;
        t->cap_cells = cap;
    }
    t->cells[t->n_cells].s = s;
    t->cells[t->n_cells].len = len;
    t->n_cells++;
    return OS_OK;
}

// Moves past the line end at p (LF or CRLF) if there is one.
static void next_line(table *t) {
    if (t->p < t->end && *t->p == '\r' && t->p + 1 < t->end && t->p[1] == '\n') t->p++;
    if (t->p < t->end && *t->p == '\n') {
        t->p++;
        t->lineno++;
        t->line_start = t->p;
    }
}

static int at_line_end(const table *t) {
    return t->p == t->end || *t->p == '\n' || (*t->p == '\r' && (t->p + 1 == t->end || t->p[1] == '\n'));
}

// One quoted CSV cell starting at the opening quote.
static os_status csv_quoted(table *t) {
    size_t open_line = t->lineno, open_col = (size_t)(t->p - t->line_start) + 1;
    char *out = t->scratch + t->scratch_used;
    size_t n = 0;
    t->p++;
    for (;;) {
        if (t->p == t->end)
            return os_fail(OS_ERR_INPUT, "%s:%zu:%zu: quoted cell is never closed; end it with a double quote, and "
                                         "double any quote inside it (\"\")",
                           t->name, open_line, open_col);
        char ch = *t->p++;
        if (ch == '"') {
            if (t->p < t->end && *t->p == '"') {
                t->p++;
            } else {
                break;
            }
        } else if (ch == '\n') {
            t->lineno++;
            t->line_start = t->p;
        }
        out[n++] = ch;
    }
    if (!at_line_end(t) && *t->p != ',')
        return os_fail(OS_ERR_INPUT, "%s:%zu:%zu: text after a closing quote; quotes inside a quoted cell must be "
                                     "doubled (\"\")",
                       t->name, t->lineno, (size_t)(t->p - t->line_start) + 1);
    t->scratch_used += n;
    return push_cell(t, out, n);
}

// Reads the next non-blank row into t->cells; *row_line gets its first line; returns 0 at the end.
static os_status next_row(table *t, int *got, size_t *row_line) {
    *got = 0;
    t->n_cells = 0;
    for (;;) {
        if (t->p >= t->end) return OS_OK;
        const char *e = memchr(t->p, '\n', (size_t)(t->end - t->p));
        if (!e) e = t->end;
        if (!ds_blank(t->p, (size_t)(e - t->p))) break;
        t->p = e;
        next_line(t);
        if (e == t->end) return OS_OK;
    }
    *row_line = t->lineno;
    char sep = t->csv ? ',' : '\t';
    for (;;) {
        os_status st;
        if (t->csv && t->p < t->end && *t->p == '"') {
            st = csv_quoted(t);
        } else {
            const char *s = t->p;
            while (!at_line_end(t) && *t->p != sep) t->p++;
            st = push_cell(t, s, (size_t)(t->p - s));
        }
        if (st) return st;
        if (t->p < t->end && *t->p == sep) {
            t->p++;
            continue;
        }
        next_line(t);
        *got = 1;
        return OS_OK;
    }
}

// The header column named `want` (trimmed), or an error.
static os_status find_column(const table *t, const cell *header, int n, size_t header_line, const char *want,
                             const char *role, int *col) {
    *col = -1;
    for (int i = 0; i < n; i++) {
        const char *s = header[i].s;
        size_t len = header[i].len;
        ds_trim(&s, &len);
        if (len != strlen(want) || memcmp(s, want, len) != 0) continue;
        if (*col >= 0)
            return os_fail(OS_ERR_INPUT, "%s:%zu: the header names column '%s' twice (columns %d and %d); rename "
                                         "one of them",
                           t->name, header_line, want, *col + 1, i + 1);
        *col = i;
    }
    if (*col >= 0) return OS_OK;
    char list[256];
    size_t used = 0;
    list[0] = '\0';
    for (int i = 0; i < n && used + 1 < sizeof list; i++) {
        int w = snprintf(list + used, sizeof list - used, "%s'%.*s'", i ? ", " : "",
                         (int)(header[i].len < 40 ? header[i].len : 40), header[i].s);
        if (w < 0) break;
        used += (size_t)w < sizeof list - used ? (size_t)w : sizeof list - used - 1;
    }
    return os_fail(OS_ERR_INPUT, "%s:%zu: the header has no %s column '%s' (it has %d: %s); choose one of these "
                                 "names", t->name, header_line, role, want, n, list);
}

static int ends_with_csv(const char *name) {
    size_t n = strlen(name);
    return n >= 4 && strcasecmp(name + n - 4, ".csv") == 0;
}

typedef struct {
    int text, pair, id;
    int *label;  // per label spec
    int width;   // header cells
    size_t header_line;
} columns;

static os_status read_header(table *t, const os_delim_opts *o, os_dataset *ds, columns *c) {
    int got;
    os_status st = next_row(t, &got, &c->header_line);
    if (st) return st;
    if (!got) return os_fail(OS_ERR_INPUT, "%s: no header row (the file is empty); the first line must name the "
                                           "columns", t->name);
    // The header's cells stay valid: they point into the input or into scratch, which never moves.
    cell *header = malloc((size_t)t->n_cells * sizeof *header);
    if (!header) return os_fail(OS_ERR_NOMEM, "out of memory while reading %s", t->name);
    memcpy(header, t->cells, (size_t)t->n_cells * sizeof *header);
    int n = t->n_cells;
    c->width = n;
    c->pair = c->id = -1;
    st = find_column(t, header, n, c->header_line, o->text_column, "text", &c->text);
    if (!st && o->pair_column) st = find_column(t, header, n, c->header_line, o->pair_column, "pair", &c->pair);
    if (!st && o->id_column) st = find_column(t, header, n, c->header_line, o->id_column, "id", &c->id);
    for (int i = 0; !st && i < o->n_labels; i++) {
        const os_label_spec *sp = &o->labels[i];
        os_label_kind kind = sp->kind == OS_LABEL_MISSING ? OS_LABEL_CLASS : sp->kind;
        if (kind == OS_LABEL_TAGS)
            st = os_fail(OS_ERR_USAGE, "%s: label column '%s' cannot hold per-word tags; use CoNLL or JSONL for "
                                       "token-level labels", t->name, sp->key);
        if (!st) st = find_column(t, header, n, c->header_line, sp->key, "label", &c->label[i]);
        if (!st) st = os_dataset_add_field(ds, sp->field ? sp->field : sp->key, kind, NULL);
    }
    free(header);
    return st;
}

static os_status text_cell(table *t, os_dataset *ds, const cell *c, int keep, const char **out) {
    const char *s = c->s;
    size_t len = c->len;
    if (!keep) ds_trim(&s, &len);
    *out = os_dataset_strndup(ds, s, len);
    return *out ? OS_OK : os_fail(OS_ERR_NOMEM, "out of memory while reading %s", t->name);
}

static os_status read_rows(table *t, const os_delim_opts *o, os_dataset *ds, const columns *c) {
    char sep = o->multi_sep ? o->multi_sep : ',';
    for (;;) {
        int got;
        size_t line;
        os_status st = next_row(t, &got, &line);
        if (st || !got) return st;
        if (t->n_cells != c->width)
            return os_fail(OS_ERR_INPUT, "%s:%zu: row has %d cell(s), the header (line %zu) has %d; %s", t->name,
                           line, t->n_cells, c->header_line, c->width,
                           t->csv ? "quote cells that contain commas or newlines"
                                  : "TSV cells are split at every tab, with no quoting (use CSV for quoted cells)");
        os_example *ex = os_dataset_push(ds, t->name, line);
        if (!ex) return OS_ERR_NOMEM;
        st = text_cell(t, ds, &t->cells[c->text], o->keep_spaces, &ex->text);
        if (!st && c->pair >= 0) st = text_cell(t, ds, &t->cells[c->pair], o->keep_spaces, &ex->text_pair);
        if (!st && c->id >= 0) st = text_cell(t, ds, &t->cells[c->id], 0, &ex->id);
        for (int i = 0; !st && i < o->n_labels; i++) {
            const cell *cl = &t->cells[c->label[i]];
            st = ds_label_from_cell(ds, ex, i, cl->s, cl->len, sep, t->name, line, o->labels[i].key);
        }
        if (st) return st;
    }
}

os_status os_parse_delimited(const char *name, const char *data, size_t len, const os_delim_opts *o,
                             os_dataset **out) {
    *out = NULL;  // also on the option errors below
    if (!o->text_column)
        return os_fail(OS_ERR_USAGE, "%s: no text column given; name the header column that holds the text", name);
    if (o->n_labels < 0 || (o->n_labels > 0 && !o->labels))
        return os_fail(OS_ERR_INTERNAL, "%s: bad label column list (%d entries)", name, o->n_labels);
    os_dataset *ds;
    ds_lines it;  // only for the start of the input: rows are cut here, as CSV cells may span lines
    os_status st = ds_begin_parse(name, data, len, out, &ds, &it);
    if (st) return st;
    table t = {.name = name, .p = it.p, .end = it.end, .line_start = it.p, .lineno = 1};
    t.csv = o->format == OS_DELIM_CSV || (o->format == OS_DELIM_AUTO && ends_with_csv(name));
    columns c = {0};
    c.label = malloc((size_t)(o->n_labels ? o->n_labels : 1) * sizeof *c.label);
    if (!c.label || (t.csv && !(t.scratch = malloc(len ? len : 1))))
        st = os_fail(OS_ERR_NOMEM, "out of memory while reading %s", name);
    if (!st) st = read_header(&t, o, ds, &c);
    if (!st) st = read_rows(&t, o, ds, &c);
    free(c.label);
    free(t.cells);
    free(t.scratch);
    return ds_end_parse(name, st, &ds, out);
}

DS_DEFINE_READER(os_read_delimited, os_parse_delimited, os_delim_opts)
