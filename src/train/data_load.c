#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/readers.h"
#include "data/split.h"
#include "train/data_load.h"
#include "train/json_cfg.h"

#define TRY(x)               \
    do {                     \
        os_status st_ = (x); \
        if (st_) return st_; \
    } while (0)

static os_status parse_kind(const os_cfg_ctx *c, const char *key, const char *s, os_label_kind *k) {
    if (!strcmp(s, "class")) *k = OS_LABEL_CLASS;
    else if (!strcmp(s, "multi")) *k = OS_LABEL_MULTI;
    else if (!strcmp(s, "number")) *k = OS_LABEL_NUMBER;
    else if (!strcmp(s, "tags")) *k = OS_LABEL_TAGS;
    else return os_cfg_error(c, key, "kind must be class, multi, number or tags, got '%s'", s);
    return OS_OK;
}

// {FIELD: "column"} or {FIELD: {"column"|"key": NAME, "kind": KIND}} into label specs.
static os_status label_specs(const os_cfg_ctx *c, const json_t *obj, const char *inner_key, os_label_spec **out,
                             int *n_out) {
    *out = NULL;
    *n_out = 0;
    if (!obj) return OS_OK;
    os_label_spec *specs = calloc(json_object_size(obj) + 1, sizeof *specs);
    if (!specs) return os_fail(OS_ERR_NOMEM, "out of memory");
    int n = 0;
    const char *field;
    json_t *v;
    json_object_foreach((json_t *)obj, field, v) {
        os_label_spec *s = &specs[n++];
        s->field = field;
        if (json_is_string(v)) {
            s->key = json_string_value(v);
        } else if (json_is_object(v)) {
            s->key = json_string_value(json_object_get(v, inner_key));
            const char *kind = json_string_value(json_object_get(v, "kind"));
            if (!s->key) s->key = field;
            if (kind) {
                os_status st = parse_kind(c, field, kind, &s->kind);
                if (st) {
                    free(specs);
                    return st;
                }
            }
        } else {
            free(specs);
            return os_cfg_error(c, field, "must be a %s name or {\"%s\": NAME, \"kind\": KIND}", inner_key, inner_key);
        }
    }
    *out = specs;
    *n_out = n;
    return OS_OK;
}

static os_status read_one(const os_cfg_ctx *c, const json_t *spec, const char *format, const char *path,
                          os_dataset **out) {
    os_status st = OS_OK;
    if (!strcmp(format, "conll")) {
        static const char *const keys[] = {"format", "train", "dev", "dev_fraction", "stratify", "train_limit",
                                           "dev_limit", "word_column", "tag_columns", "docstart", NULL};
        TRY(os_cfg_check_keys(c, spec, keys));
        long word_col;
        TRY(os_cfg_int(c, spec, "word_column", 0, 0, 1000, &word_col));
        const json_t *tc = json_object_get(spec, "tag_columns");
        if (!json_is_object(tc) || json_object_size(tc) == 0 || json_object_size(tc) > 16)
            return os_cfg_error(c, "tag_columns", "must map field names to column numbers, e.g. {\"ner\": 3}");
        int cols[16];
        const char *fields[16];
        int n = 0;
        const char *field;
        json_t *v;
        json_object_foreach((json_t *)tc, field, v) {
            os_cfg_ctx tctx = os_cfg_child(c, "tag_columns", 0);
            long col;
            TRY(os_cfg_int(&tctx, tc, field, 0, 0, 1000, &col));
            cols[n] = (int)col;
            fields[n++] = field;
        }
        const char *docstart;
        TRY(os_cfg_string(c, spec, "docstart", NULL, &docstart));
        os_conll_opts o = {.word_column = (int)word_col, .tag_columns = cols, .tag_fields = fields, .n_tags = n,
                           .docstart = docstart};
        st = os_read_conll(path, &o, out);
    } else if (!strcmp(format, "tsv") || !strcmp(format, "csv")) {
        static const char *const keys[] = {"format", "train", "dev", "dev_fraction", "stratify", "train_limit",
                                           "dev_limit", "dev_whole_texts", "text_column", "pair_column", "id_column", "label_columns",
                                           NULL};
        TRY(os_cfg_check_keys(c, spec, keys));
        os_delim_opts o = {.format = !strcmp(format, "csv") ? OS_DELIM_CSV : OS_DELIM_TSV};
        TRY(os_cfg_string(c, spec, "text_column", "sentence", &o.text_column));
        TRY(os_cfg_string(c, spec, "pair_column", NULL, &o.pair_column));
        TRY(os_cfg_string(c, spec, "id_column", NULL, &o.id_column));
        const json_t *lc = json_object_get(spec, "label_columns");
        os_label_spec *specs, deflt = {"label", "label", OS_LABEL_MISSING};
        int n;
        os_cfg_ctx lctx = os_cfg_child(c, "label_columns", 0);
        TRY(label_specs(&lctx, lc, "column", &specs, &n));
        o.labels = specs ? specs : &deflt;
        o.n_labels = specs ? n : 1;
        st = os_read_delimited(path, &o, out);
        free(specs);
    } else if (!strcmp(format, "jsonl")) {
        static const char *const keys[] = {"format", "train", "dev", "dev_fraction", "stratify", "train_limit",
                                           "dev_limit", "dev_whole_texts", "text_key", "pair_key", "words_key", "id_key", "labels", NULL};
        TRY(os_cfg_check_keys(c, spec, keys));
        os_jsonl_opts o = {0};
        TRY(os_cfg_string(c, spec, "text_key", NULL, &o.text_key));
        TRY(os_cfg_string(c, spec, "pair_key", NULL, &o.pair_key));
        TRY(os_cfg_string(c, spec, "words_key", NULL, &o.words_key));
        TRY(os_cfg_string(c, spec, "id_key", NULL, &o.id_key));
        os_label_spec *specs;
        int n;
        os_cfg_ctx lctx = os_cfg_child(c, "labels", 0);
        TRY(label_specs(&lctx, json_object_get(spec, "labels"), "key", &specs, &n));
        o.labels = specs;
        o.n_labels = n;
        st = os_read_jsonl(path, &o, out);
        free(specs);
    } else if (!strcmp(format, "semeval")) {
        static const char *const keys[] = {"format", "train", "dev", "dev_fraction", "stratify", "train_limit",
                                           "dev_limit", "field", NULL};
        TRY(os_cfg_check_keys(c, spec, keys));
        os_semeval_opts o = {0};
        TRY(os_cfg_string(c, spec, "field", "label", &o.field));
        st = os_read_semeval(path, &o, out);
    } else if (!strcmp(format, "brown")) {
        static const char *const keys[] = {"format", "train", "dev", "dev_fraction", "stratify", "train_limit",
                                           "dev_limit", "tag_field", "genre_field", "tags", "max_files", NULL};
        TRY(os_cfg_check_keys(c, spec, keys));
        os_brown_opts o = {0};
        const char *tags;
        long max_files;
        TRY(os_cfg_string(c, spec, "tag_field", NULL, &o.tag_field));
        TRY(os_cfg_string(c, spec, "genre_field", NULL, &o.genre_field));
        TRY(os_cfg_string(c, spec, "tags", "base", &tags));
        if (strcmp(tags, "base") && strcmp(tags, "full")) return os_cfg_error(c, "tags", "must be base or full");
        o.full_tags = !strcmp(tags, "full");
        TRY(os_cfg_int(c, spec, "max_files", 0, 0, 100000, &max_files));
        o.max_files = (int)max_files;
        st = os_read_brown(path, &o, out);
    } else {
        return os_cfg_error(c, "format", "must be conll, tsv, csv, jsonl, semeval or brown, got '%s'", format);
    }
    return st;
}

// The first CLASS field: dev carving keeps its class proportions.
static const char *first_class_field(const os_dataset *ds) {
    for (int f = 0; f < ds->n_fields; f++)
        if (ds->fields[f].kind == OS_LABEL_CLASS) return ds->fields[f].name;
    return NULL;
}

static os_status limit(os_dataset **ds, long n, uint64_t seed) {
    if (n <= 0 || (size_t)n >= (*ds)->n) return OS_OK;
    os_dataset *small;
    TRY(os_dataset_sample(*ds, (size_t)n, seed, &small));
    os_dataset_free(*ds);
    *ds = small;
    return OS_OK;
}

os_status os_data_load(const json_t *spec, const char *file, const char *path, uint64_t seed, os_dataset **train,
                       os_dataset **dev) {
    *train = *dev = NULL;
    os_cfg_ctx c = {file, ""};
    snprintf(c.path, sizeof c.path, "%s", path);
    const char *format, *train_path, *dev_path, *stratify;
    double frac;
    long train_limit, dev_limit;
    TRY(os_cfg_string(&c, spec, "format", NULL, &format));
    if (!format) return os_cfg_error(&c, "format", "is required (conll, tsv, csv, jsonl, semeval or brown)");
    TRY(os_cfg_string(&c, spec, "train", NULL, &train_path));
    if (!train_path) return os_cfg_error(&c, "train", "is required (the training file)");
    TRY(os_cfg_string(&c, spec, "dev", NULL, &dev_path));
    TRY(os_cfg_number(&c, spec, "dev_fraction", 0.1, 1e-6, 0.9, &frac));
    TRY(os_cfg_string(&c, spec, "stratify", NULL, &stratify));
    TRY(os_cfg_int(&c, spec, "train_limit", 0, 0, 1L << 40, &train_limit));
    TRY(os_cfg_int(&c, spec, "dev_limit", 0, 0, 1L << 40, &dev_limit));
    int whole_texts;
    TRY(os_cfg_bool(&c, spec, "dev_whole_texts", 0, &whole_texts));
    if (whole_texts && dev_path) return os_cfg_error(&c, "dev_whole_texts", "carves dev from train: leave out \"dev\"");

    os_dataset *all = NULL;
    os_status st = read_one(&c, spec, format, train_path, &all);
    if (st) return st;
    if (all->n == 0) {
        os_dataset_free(all);
        return os_fail(OS_ERR_INPUT, "%s: no examples (%s.train)", train_path, path);
    }
    if (dev_path && !strcmp(dev_path, train_path)) {  // evaluation: one file serves both splits
        *train = all;
        size_t *idx = malloc(all->n * sizeof *idx);
        if (!idx) st = os_fail(OS_ERR_NOMEM, "out of memory");
        for (size_t i = 0; idx && i < all->n; i++) idx[i] = i;
        if (!st) st = os_dataset_subset(all, idx, all->n, dev);
        free(idx);
    } else if (dev_path) {
        *train = all;
        st = read_one(&c, spec, format, dev_path, dev);
    } else {
        if (all->n < 2) {
            os_dataset_free(all);
            return os_fail(OS_ERR_INPUT, "%s: a single example cannot be split into train and dev", train_path);
        }
        if (stratify && os_dataset_field(all, stratify) < 0) {
            os_dataset_free(all);
            return os_cfg_error(&c, "stratify", "names no field of the data ('%s')", stratify);
        }
        os_split_opts so = {frac, seed ^ 0x5eedULL, stratify ? stratify : first_class_field(all)};
        if (whole_texts) {
            size_t *ti = NULL, *di = NULL, nt, nd;
            st = os_split_whole_texts(all, &so, &ti, &nt, &di, &nd);
            if (!st) st = os_dataset_subset(all, ti, nt, train);
            if (!st) st = os_dataset_subset(all, di, nd, dev);
            if (!st) fprintf(stderr, "%s: dev from whole texts: %zu dev, %zu train (%zu spans of dev texts left out)\n",
                             train_path, nd, nt, all->n - nt - nd);
            if (st) {
                os_dataset_free(*train);
                *train = NULL;
            }
            free(ti);
            free(di);
        } else {
            st = os_dataset_split(all, &so, train, dev);
        }
        os_dataset_free(all);
    }
    if (!st) st = limit(train, train_limit, seed + 1);
    if (!st) st = limit(dev, dev_limit, seed + 2);
    if (st) {
        os_dataset_free(*train);
        os_dataset_free(*dev);
        *train = *dev = NULL;
    }
    return st;
}
