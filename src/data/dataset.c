// The in-memory example set: an arena for all strings and arrays, an intern table for labels and file names.
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"
#include "data/dataset.h"

typedef struct arena_block {
    struct arena_block *next;
    size_t used, size;
    _Alignas(8) char data[];
} arena_block;

struct os_dataset_store {
    arena_block *blocks;
    size_t next_block;     // size of the next block
    const char **intern;   // open addressing table of interned strings (NULL = empty slot)
    size_t intern_cap;     // a power of two
    size_t intern_n;
    size_t ex_cap;
    int fields_cap;
};

#define ARENA_FIRST (16u << 10)
#define ARENA_MAX (4u << 20)

static os_status oom(void) { return os_fail(OS_ERR_NOMEM, "out of memory while loading a dataset"); }

const char *os_label_kind_name(os_label_kind kind) {
    switch (kind) {
    case OS_LABEL_CLASS: return "class";
    case OS_LABEL_MULTI: return "multi-label";
    case OS_LABEL_NUMBER: return "number";
    case OS_LABEL_TAGS: return "tags";
    case OS_LABEL_MISSING: break;
    }
    return "missing";
}

os_status os_dataset_new(os_dataset **out) {
    *out = NULL;
    os_dataset *ds = os_calloc(1, sizeof *ds);
    if (!ds) return OS_ERR_NOMEM;
    ds->store = os_calloc(1, sizeof *ds->store);
    if (!ds->store) {
        free(ds);
        return OS_ERR_NOMEM;
    }
    ds->store->next_block = ARENA_FIRST;
    *out = ds;
    return OS_OK;
}

void os_dataset_free(os_dataset *ds) {
    if (!ds) return;
    if (ds->store) {
        for (arena_block *b = ds->store->blocks, *next; b; b = next) {
            next = b->next;
            free(b);
        }
        free(ds->store->intern);
        free(ds->store);
    }
    free(ds->ex);
    free(ds->fields);
    free(ds);
}

void *os_dataset_alloc(os_dataset *ds, size_t size) {
    struct os_dataset_store *st = ds->store;
    size = (size + 7) & ~(size_t)7;
    if (size == 0) size = 8;
    arena_block *b = st->blocks;
    if (!b || b->size - b->used < size) {
        size_t bs = st->next_block;
        if (bs < size) bs = size;
        if (size > SIZE_MAX / 2 - sizeof *b) {
            oom();
            return NULL;
        }
        arena_block *nb = malloc(sizeof *nb + bs);
        if (!nb) {
            oom();
            return NULL;
        }
        nb->size = bs;
        nb->used = 0;
        // A big one-off block goes behind the current one so the current one's free space stays usable.
        if (b && size > st->next_block / 4 && bs == size) {
            nb->next = b->next;
            b->next = nb;
        } else {
            nb->next = b;
            st->blocks = nb;
            if (st->next_block < ARENA_MAX) st->next_block *= 2;
        }
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += size;
    memset(p, 0, size);
    return p;
}

char *os_dataset_strndup(os_dataset *ds, const char *s, size_t len) {
    if (len >= SIZE_MAX - 8) {
        oom();
        return NULL;
    }
    char *p = os_dataset_alloc(ds, len + 1);
    if (!p) return NULL;
    if (len) memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

static uint64_t hash_bytes(const char *s, size_t len) {
    uint64_t h = 1469598103934665603ull;  // FNV-1a
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static int intern_grow(struct os_dataset_store *st) {
    size_t cap = st->intern_cap ? st->intern_cap * 2 : 256;
    const char **t = calloc(cap, sizeof *t);
    if (!t) return 0;
    for (size_t i = 0; i < st->intern_cap; i++) {
        const char *s = st->intern[i];
        if (!s) continue;
        size_t j = hash_bytes(s, strlen(s)) & (cap - 1);
        while (t[j]) j = (j + 1) & (cap - 1);
        t[j] = s;
    }
    free(st->intern);
    st->intern = t;
    st->intern_cap = cap;
    return 1;
}

const char *os_dataset_intern(os_dataset *ds, const char *s, size_t len) {
    struct os_dataset_store *st = ds->store;
    if ((st->intern_n + 1) * 2 > st->intern_cap && !intern_grow(st)) {
        oom();
        return NULL;
    }
    size_t j = hash_bytes(s, len) & (st->intern_cap - 1);
    for (const char *t; (t = st->intern[j]) != NULL; j = (j + 1) & (st->intern_cap - 1))
        if (strncmp(t, s, len) == 0 && t[len] == '\0') return t;
    char *p = os_dataset_strndup(ds, s, len);
    if (!p) return NULL;
    st->intern[j] = p;
    st->intern_n++;
    return p;
}

os_status os_dataset_add_field(os_dataset *ds, const char *name, os_label_kind kind, int *index) {
    if ((int)kind < (int)OS_LABEL_CLASS || (int)kind > (int)OS_LABEL_TAGS)
        return os_fail(OS_ERR_INTERNAL, "os_dataset_add_field: bad label kind %d", (int)kind);
    if (os_dataset_field(ds, name) >= 0)
        return os_fail(OS_ERR_USAGE, "label field '%s' is given twice; give each task's field a distinct name",
                       name);
    struct os_dataset_store *st = ds->store;
    if (ds->n_fields == st->fields_cap) {
        int cap = st->fields_cap ? st->fields_cap * 2 : 4;
        os_field *f = realloc(ds->fields, (size_t)cap * sizeof *f);
        if (!f) return oom();
        ds->fields = f;
        st->fields_cap = cap;
    }
    const char *nm = os_dataset_intern(ds, name, strlen(name));
    if (!nm) return OS_ERR_NOMEM;
    // Existing examples get a longer (zeroed = MISSING) slot array.
    for (size_t i = 0; i < ds->n; i++) {
        os_label *l = os_dataset_alloc(ds, (size_t)(ds->n_fields + 1) * sizeof *l);
        if (!l) return OS_ERR_NOMEM;
        if (ds->n_fields) memcpy(l, ds->ex[i].labels, (size_t)ds->n_fields * sizeof *l);
        ds->ex[i].labels = l;
    }
    ds->fields[ds->n_fields].name = nm;
    ds->fields[ds->n_fields].kind = kind;
    if (index) *index = ds->n_fields;
    ds->n_fields++;
    return OS_OK;
}

int os_dataset_field(const os_dataset *ds, const char *name) {
    for (int f = 0; f < ds->n_fields; f++)
        if (strcmp(ds->fields[f].name, name) == 0) return f;
    return -1;
}

os_example *os_dataset_push(os_dataset *ds, const char *file, size_t line) {
    struct os_dataset_store *st = ds->store;
    if (ds->n == st->ex_cap) {
        size_t cap = st->ex_cap ? st->ex_cap * 2 : 64;
        os_example *e = realloc(ds->ex, cap * sizeof *e);
        if (!e) {
            oom();
            return NULL;
        }
        ds->ex = e;
        st->ex_cap = cap;
    }
    os_example *ex = &ds->ex[ds->n];
    memset(ex, 0, sizeof *ex);
    ex->file = os_dataset_intern(ds, file, strlen(file));
    ex->labels = os_dataset_alloc(ds, (size_t)(ds->n_fields ? ds->n_fields : 1) * sizeof *ex->labels);
    if (!ex->file || !ex->labels) return NULL;
    ex->line = line;
    ds->n++;
    return ex;
}

// ---- labels ----

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_ptr(const void *a, const void *b) {
    uintptr_t x = (uintptr_t) * (const char *const *)a, y = (uintptr_t) * (const char *const *)b;
    return x < y ? -1 : x > y;
}

// Sorts interned pointers and keeps one of each; returns the new count.
static size_t unique_ptrs(const char **p, size_t n) {
    if (n == 0) return 0;
    qsort(p, n, sizeof *p, cmp_ptr);
    size_t k = 1;
    for (size_t i = 1; i < n; i++)
        if (p[i] != p[k - 1]) p[k++] = p[i];
    return k;
}

// The label names of one slot (CLASS: one; MULTI/TAGS: n, TAGS entries may be NULL).
static size_t slot_names(const os_label *l, const char *const **names) {
    if (l->kind == OS_LABEL_CLASS) {
        *names = &l->v.name;
        return 1;
    }
    if (l->kind == OS_LABEL_MULTI || l->kind == OS_LABEL_TAGS) {
        *names = (const char *const *)l->v.names;
        return l->n;
    }
    return 0;
}

static os_status check_field(const os_dataset *ds, int field, const char *what) {
    if (field < 0 || field >= ds->n_fields)
        return os_fail(OS_ERR_USAGE, "%s: no label field #%d (the dataset has %d)", what, field, ds->n_fields);
    if (ds->fields[field].kind == OS_LABEL_NUMBER)
        return os_fail(OS_ERR_USAGE, "%s: field '%s' holds numbers (regression); it has no label set", what,
                       ds->fields[field].name);
    return OS_OK;
}

os_status os_dataset_labels(const os_dataset *ds, int field, os_labelset *out) {
    out->names = NULL;
    out->n = 0;
    os_status st = check_field(ds, field, "label set");
    if (st) return st;
    size_t total = 0;
    for (size_t i = 0; i < ds->n; i++) {
        const char *const *nm;
        total += slot_names(&ds->ex[i].labels[field], &nm);
    }
    const char **all = malloc((total ? total : 1) * sizeof *all);
    if (!all) return oom();
    size_t k = 0;
    for (size_t i = 0; i < ds->n; i++) {
        const char *const *nm;
        size_t c = slot_names(&ds->ex[i].labels[field], &nm);
        for (size_t j = 0; j < c; j++)
            if (nm[j]) all[k++] = nm[j];
    }
    k = unique_ptrs(all, k);
    if (k > INT32_MAX) {
        free(all);
        return os_fail(OS_ERR_INPUT, "field '%s' has %zu distinct labels; at most %d are supported",
                       ds->fields[field].name, k, INT32_MAX);
    }
    qsort(all, k, sizeof *all, cmp_str);
    out->names = calloc(k ? k : 1, sizeof *out->names);
    if (!out->names) {
        free(all);
        return oom();
    }
    for (size_t i = 0; i < k; i++) {
        out->names[i] = strdup(all[i]);
        if (!out->names[i]) {
            out->n = (int)i;
            os_labelset_free(out);
            free(all);
            return oom();
        }
    }
    out->n = (int)k;
    free(all);
    return OS_OK;
}

int os_labelset_find(const os_labelset *ls, const char *label) {
    int lo = 0, hi = ls->n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(ls->names[mid], label);
        if (c == 0) return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

void os_labelset_free(os_labelset *ls) {
    if (!ls) return;
    for (int i = 0; i < ls->n; i++) free(ls->names[i]);
    free(ls->names);
    ls->names = NULL;
    ls->n = 0;
}

// Masks the unknown names of one slot in place; returns how many it masked.
static size_t mask_unknown(os_label *l, const os_labelset *known) {
    size_t masked = 0;
    if (l->kind == OS_LABEL_CLASS) {
        if (os_labelset_find(known, l->v.name) < 0) {
            memset(l, 0, sizeof *l);
            masked = 1;
        }
    } else if (l->kind == OS_LABEL_TAGS) {
        for (uint32_t j = 0; j < l->n; j++)
            if (l->v.names[j] && os_labelset_find(known, l->v.names[j]) < 0) {
                l->v.names[j] = NULL;
                masked++;
            }
    } else if (l->kind == OS_LABEL_MULTI) {
        uint32_t k = 0;
        for (uint32_t j = 0; j < l->n; j++)
            if (os_labelset_find(known, l->v.names[j]) >= 0)
                l->v.names[k++] = l->v.names[j];
            else
                masked++;
        l->n = k;
    }
    return masked;
}

os_status os_dataset_check_labels(os_dataset *ds, int field, const os_labelset *known,
                                  os_unknown_policy policy, os_unknown_report *report) {
    os_unknown_report r = {0};
    if (report) *report = r;
    os_status st = check_field(ds, field, "unknown-label check");
    if (st) return st;
    const char **unknown = NULL;
    size_t n_cap = 0;
    for (size_t i = 0; i < ds->n; i++) {
        const char *const *nm;
        size_t c = slot_names(&ds->ex[i].labels[field], &nm);
        size_t before = r.n_unknown;
        for (size_t j = 0; j < c; j++) {
            if (!nm[j] || os_labelset_find(known, nm[j]) >= 0) continue;
            if (r.n_unknown == n_cap) {
                n_cap = n_cap ? n_cap * 2 : 16;
                const char **u = realloc(unknown, n_cap * sizeof *u);
                if (!u) {
                    free(unknown);
                    return oom();
                }
                unknown = u;
            }
            unknown[r.n_unknown++] = nm[j];
            if (!r.first_label) {
                r.first_label = nm[j];
                r.first_file = ds->ex[i].file;
                r.first_line = ds->ex[i].line;
                r.first_word = ds->fields[field].kind == OS_LABEL_TAGS ? (uint32_t)j : 0;
            }
        }
        if (r.n_unknown > before) r.n_examples++;
    }
    size_t distinct = unique_ptrs(unknown, r.n_unknown);
    r.n_distinct = distinct > INT32_MAX ? INT32_MAX : (int)distinct;
    free(unknown);
    if (report) *report = r;
    if (r.n_unknown == 0) return OS_OK;
    if (policy == OS_UNKNOWN_LABEL_IGNORE) {
        for (size_t i = 0; i < ds->n; i++) mask_unknown(&ds->ex[i].labels[field], known);
        return OS_OK;
    }
    char list[320];
    size_t used = 0;
    list[0] = '\0';
    for (int i = 0; i < known->n && i <= 8; i++) {
        int w = i < 8 ? snprintf(list + used, sizeof list - used, "%s%.30s", i ? ", " : "", known->names[i])
                      : snprintf(list + used, sizeof list - used, ", ...");
        if (w < 0 || (size_t)w >= sizeof list - used) break;
        used += (size_t)w;
    }
    char word[40] = "";
    if (ds->fields[field].kind == OS_LABEL_TAGS)
        snprintf(word, sizeof word, " (word %" PRIu32 " of the sentence)", r.first_word + 1);
    return os_fail(OS_ERR_INPUT,
                   "%s:%zu: label '%.*s'%s of field '%s' is not in the training label set (%d known: %s); %zu "
                   "unknown label(s) (%d distinct) in %zu example(s); fix the data, or choose to ignore unknown "
                   "labels to mask them out of the loss",
                   r.first_file, r.first_line, DS_SHOW, r.first_label, word, ds->fields[field].name, known->n,
                   list, r.n_unknown, r.n_distinct, r.n_examples);
}

void os_unknown_report_format(const os_unknown_report *r, const char *field, char *buf, size_t size) {
    if (!size) return;
    if (!r->n_unknown) {
        snprintf(buf, size, "field '%s': every label is in the training label set", field);
        return;
    }
    snprintf(buf, size,
             "field '%s': %zu label(s) (%d distinct) in %zu example(s) are not in the training label set and "
             "were masked out; the first is '%.*s' at %s:%zu",
             field, r->n_unknown, r->n_distinct, r->n_examples, DS_SHOW, r->first_label, r->first_file,
             r->first_line);
}

size_t os_dataset_count_labeled(const os_dataset *ds, int field) {
    if (field < 0 || field >= ds->n_fields) return 0;
    size_t c = 0;
    for (size_t i = 0; i < ds->n; i++) c += ds->ex[i].labels[field].kind != OS_LABEL_MISSING;
    return c;
}

// ---- copying ----

static const char *copy_str(os_dataset *dst, const char *s) {
    return s ? os_dataset_strndup(dst, s, strlen(s)) : NULL;
}

static os_status copy_label(os_dataset *dst, os_label *to, const os_label *from) {
    *to = *from;
    if (from->kind == OS_LABEL_CLASS) {
        to->v.name = os_dataset_intern(dst, from->v.name, strlen(from->v.name));
        return to->v.name ? OS_OK : OS_ERR_NOMEM;
    }
    if (from->kind != OS_LABEL_MULTI && from->kind != OS_LABEL_TAGS) return OS_OK;
    to->v.names = os_dataset_alloc(dst, (size_t)from->n * sizeof *to->v.names);
    if (!to->v.names) return OS_ERR_NOMEM;
    for (uint32_t j = 0; j < from->n; j++) {
        const char *s = from->v.names[j];
        if (s && !(to->v.names[j] = os_dataset_intern(dst, s, strlen(s)))) return OS_ERR_NOMEM;
    }
    return OS_OK;
}

// Appends a copy of `src` (from a dataset whose field f maps to dst field map[f]).
static os_status copy_example(os_dataset *dst, const os_example *src, int src_fields, const int *map) {
    os_example *ex = os_dataset_push(dst, src->file, src->line);
    if (!ex) return OS_ERR_NOMEM;
    ex->doc = src->doc;
    ex->n_words = src->n_words;
    if ((src->text && !(ex->text = copy_str(dst, src->text))) ||
        (src->text_pair && !(ex->text_pair = copy_str(dst, src->text_pair))) ||
        (src->id && !(ex->id = copy_str(dst, src->id))))
        return OS_ERR_NOMEM;
    if (src->words) {
        ex->words = os_dataset_alloc(dst, (size_t)src->n_words * sizeof *ex->words);
        if (!ex->words) return OS_ERR_NOMEM;
        for (uint32_t j = 0; j < src->n_words; j++)
            if (!(ex->words[j] = copy_str(dst, src->words[j]))) return OS_ERR_NOMEM;
    }
    for (int f = 0; f < src_fields; f++) {
        os_status st = copy_label(dst, &ex->labels[map[f]], &src->labels[f]);
        if (st) return st;
    }
    return OS_OK;
}

os_status os_dataset_subset(const os_dataset *ds, const size_t *idx, size_t n, os_dataset **out) {
    *out = NULL;
    for (size_t i = 0; i < n; i++)
        if (idx[i] >= ds->n)
            return os_fail(OS_ERR_INTERNAL, "dataset subset: index %zu is past the %zu examples", idx[i], ds->n);
    os_dataset *o;
    os_status st = os_dataset_new(&o);
    if (st) return st;
    for (int f = 0; st == OS_OK && f < ds->n_fields; f++)
        st = os_dataset_add_field(o, ds->fields[f].name, ds->fields[f].kind, NULL);
    int *map = st ? NULL : malloc((size_t)(ds->n_fields ? ds->n_fields : 1) * sizeof *map);
    if (!st && !map) st = oom();
    for (int f = 0; map && f < ds->n_fields; f++) map[f] = f;
    for (size_t i = 0; st == OS_OK && i < n; i++) st = copy_example(o, &ds->ex[idx[i]], ds->n_fields, map);
    free(map);
    if (st) return ds_abandon(&o, st);
    *out = o;
    return OS_OK;
}

os_status os_dataset_concat(os_dataset *const *parts, int n_parts, os_dataset **out) {
    os_dataset *o;
    os_status st = os_dataset_new(&o);
    if (st) return st;
    *out = NULL;
    for (int p = 0; p < n_parts; p++) {
        for (int f = 0; f < parts[p]->n_fields; f++) {
            const os_field *fd = &parts[p]->fields[f];
            int g = os_dataset_field(o, fd->name);
            if (g < 0) {
                st = os_dataset_add_field(o, fd->name, fd->kind, NULL);
                if (st) return ds_abandon(&o, st);
            } else if (o->fields[g].kind != fd->kind) {
                const char *src = parts[p]->n ? parts[p]->ex[0].file : "(empty dataset)";
                return ds_abandon(&o, os_fail(OS_ERR_INPUT,
                                              "%s: field '%s' holds %s labels here but %s labels in an earlier "
                                              "dataset; rename one of the two fields",
                                              src, fd->name, os_label_kind_name(fd->kind),
                                              os_label_kind_name(o->fields[g].kind)));
            }
        }
    }
    for (int p = 0; p < n_parts; p++) {
        const os_dataset *d = parts[p];
        int *map = malloc((size_t)(d->n_fields ? d->n_fields : 1) * sizeof *map);
        if (!map) return ds_abandon(&o, oom());
        for (int f = 0; f < d->n_fields; f++) map[f] = os_dataset_field(o, d->fields[f].name);
        for (size_t i = 0; st == OS_OK && i < d->n; i++) st = copy_example(o, &d->ex[i], d->n_fields, map);
        free(map);
        if (st) return ds_abandon(&o, st);
    }
    *out = o;
    return OS_OK;
}

// ---- reader helpers ----

os_status ds_abandon(os_dataset **ds, os_status st) {
    os_dataset_free(*ds);
    *ds = NULL;
    return st;
}

os_status ds_end_parse(const char *name, os_status st, os_dataset **ds, os_dataset **out) {
    return st ? ds_abandon(ds, st) : ds_finish(name, ds, out);
}

os_status ds_finish(const char *name, os_dataset **ds, os_dataset **out) {
    if ((*ds)->n == 0)
        return ds_abandon(ds, os_fail(OS_ERR_INPUT, "%s: no examples found (empty file, or only headers, comments "
                                                    "or blank lines); check the file and its format",
                                      name));
    *out = *ds;
    *ds = NULL;
    return OS_OK;
}

os_status ds_check_input(const char *name, const char *data, size_t len, size_t *start) {
    *start = 0;
    const char *nul = memchr(data, '\0', len);
    if (nul) {
        size_t line = 1;
        for (const char *p = data; p < nul; p++) line += *p == '\n';
        return os_fail(OS_ERR_INPUT, "%s:%zu: NUL byte in the text (a binary or UTF-16 file?); convert the file "
                                     "to UTF-8 text", name, line);
    }
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) *start = 3;
    return OS_OK;
}

os_status ds_begin_parse(const char *name, const char *data, size_t len, os_dataset **out, os_dataset **ds,
                         ds_lines *it) {
    *out = *ds = NULL;
    size_t start;
    os_status st = ds_check_input(name, data, len, &start);
    if (st) return st;
    ds_lines_init(it, data, len, start);
    return os_dataset_new(ds);
}

void ds_lines_init(ds_lines *it, const char *data, size_t len, size_t start) {
    it->p = data + start;
    it->end = data + len;
    it->lineno = 0;
}

int ds_lines_next(ds_lines *it, const char **line, size_t *len) {
    if (it->p >= it->end) return 0;
    const char *s = it->p;
    const char *nl = memchr(s, '\n', (size_t)(it->end - s));
    const char *e = nl ? nl : it->end;
    it->p = nl ? nl + 1 : it->end;
    if (e > s && e[-1] == '\r') e--;
    *line = s;
    *len = (size_t)(e - s);
    it->lineno++;
    return 1;
}

int ds_blank(const char *s, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') return 0;
    return 1;
}

void ds_trim(const char **s, size_t *len) {
    const char *p = *s;
    size_t n = *len;
    while (n && (*p == ' ' || *p == '\t')) p++, n--;
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t')) n--;
    *s = p;
    *len = n;
}

os_status ds_label_from_cell(os_dataset *ds, os_example *ex, int field, const char *s, size_t len, char sep,
                             const char *name, size_t line, const char *col) {
    os_label *l = &ex->labels[field];
    ds_trim(&s, &len);
    memset(l, 0, sizeof *l);
    if (len == 0) return OS_OK;
    os_label_kind kind = ds->fields[field].kind;
    if (kind == OS_LABEL_CLASS) {
        if (!(l->v.name = os_dataset_intern(ds, s, len))) return OS_ERR_NOMEM;
    } else if (kind == OS_LABEL_NUMBER) {
        char buf[64];
        char *end = NULL;
        double v = NAN;
        if (len < sizeof buf) {
            memcpy(buf, s, len);
            buf[len] = '\0';
            v = strtod(buf, &end);
        }
        if (!end || *end || end == buf || !isfinite(v))
            return os_fail(OS_ERR_INPUT, "%s:%zu: column '%s' holds '%.*s', not a finite number; regression "
                                         "labels must be numbers (leave the cell empty for a missing label)",
                           name, line, col, (int)(len < DS_SHOW ? len : DS_SHOW), s);
        l->v.number = v;
    } else if (kind == OS_LABEL_MULTI) {
        uint32_t n = 1;
        for (size_t i = 0; i < len; i++) n += s[i] == sep;
        l->v.names = os_dataset_alloc(ds, (size_t)n * sizeof *l->v.names);
        if (!l->v.names) return OS_ERR_NOMEM;
        uint32_t k = 0;
        for (size_t a = 0; a <= len;) {
            size_t b = a;
            while (b < len && s[b] != sep) b++;
            const char *t = s + a;
            size_t tl = b - a;
            ds_trim(&t, &tl);
            if (tl && !(l->v.names[k++] = os_dataset_intern(ds, t, tl))) return OS_ERR_NOMEM;
            a = b + 1;
        }
        l->n = k;  // an empty list (only separators) is a present label with no classes
    } else {
        return os_fail(OS_ERR_INTERNAL, "%s:%zu: column '%s': label kind %d cannot come from a table cell", name,
                       line, col, (int)kind);
    }
    l->kind = kind;
    return OS_OK;
}
