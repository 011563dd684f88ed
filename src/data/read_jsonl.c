// JSON Lines: one JSON object per line (jansson parses each line); blank lines are skipped.
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"
#include "data/readers.h"
#include "util/fileio.h"

typedef struct {
    const char *name;
    size_t line;
    const os_jsonl_opts *o;
    os_dataset *ds;
    int *decided;  // per label spec: the field's kind is known (declared, or seen on line decided_line[i])
    size_t *decided_line;
} jl;

static const char *type_name(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

static os_status nomem(const jl *j) {
    return os_fail(OS_ERR_NOMEM, "out of memory while reading %s", j->name);
}

static os_status bad_value(const jl *j, const char *key, const json_t *v, const char *want) {
    return os_fail(OS_ERR_INPUT, "%s:%zu: key '%s' is %s, expected %s", j->name, j->line, key, type_name(v), want);
}

// A class name from a string, an integer or a boolean (integers and booleans become their JSON text).
static const char *class_name(jl *j, const json_t *v) {
    char buf[32];
    const char *s;
    size_t n;
    if (json_is_string(v)) {
        s = json_string_value(v);
        n = json_string_length(v);
    } else if (json_is_integer(v)) {
        n = (size_t)snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        s = buf;
    } else if (json_is_boolean(v)) {
        s = json_is_true(v) ? "true" : "false";
        n = strlen(s);
    } else {
        return NULL;
    }
    const char *r = os_dataset_intern(j->ds, s, n);
    if (!r) nomem(j);
    return r;
}

static os_label_kind guess_kind(const jl *j, const json_t *v) {
    if (json_is_real(v)) return OS_LABEL_NUMBER;
    if (json_is_array(v)) return j->o->words_key ? OS_LABEL_TAGS : OS_LABEL_MULTI;
    return OS_LABEL_CLASS;
}

static const char *kind_want(os_label_kind k) {
    switch (k) {
    case OS_LABEL_CLASS: return "a class name (string or integer)";
    case OS_LABEL_MULTI: return "an array of class names (multi-label)";
    case OS_LABEL_NUMBER: return "a number (regression)";
    case OS_LABEL_TAGS: return "an array with one tag (string or null) per word";
    case OS_LABEL_MISSING: break;
    }
    return "a label";
}

static os_status set_label(jl *j, os_example *ex, int i, const json_t *v) {
    const os_label_spec *sp = &j->o->labels[i];
    os_field *fd = &j->ds->fields[i];
    if (!j->decided[i]) {
        fd->kind = guess_kind(j, v);
        j->decided[i] = 1;
        j->decided_line[i] = j->line;
    }
    os_label *l = &ex->labels[i];
    int ok = 1;
    if (fd->kind == OS_LABEL_CLASS) {
        ok = json_is_string(v) || json_is_integer(v) || json_is_boolean(v);
        if (ok && !(l->v.name = class_name(j, v))) return OS_ERR_NOMEM;
    } else if (fd->kind == OS_LABEL_NUMBER) {
        ok = json_is_number(v);
        l->v.number = json_number_value(v);
    } else {
        ok = json_is_array(v);
        size_t n = ok ? json_array_size(v) : 0;
        if (ok && fd->kind == OS_LABEL_TAGS && n != ex->n_words)
            return os_fail(OS_ERR_INPUT, "%s:%zu: key '%s' has %zu tags for %" PRIu32 " words; give one tag per "
                                         "word (null masks a word out of the loss)",
                           j->name, j->line, sp->key, n, ex->n_words);
        if (ok && n > UINT32_MAX) return bad_value(j, sp->key, v, "a shorter array");
        if (ok && !(l->v.names = os_dataset_alloc(j->ds, n * sizeof *l->v.names))) return OS_ERR_NOMEM;
        l->n = (uint32_t)n;
        for (size_t k = 0; ok && k < n; k++) {
            const json_t *e = json_array_get(v, k);
            if (fd->kind == OS_LABEL_TAGS && json_is_null(e)) continue;
            if (!json_is_string(e) && !json_is_integer(e))
                return os_fail(OS_ERR_INPUT, "%s:%zu: key '%s', element %zu is %s; expected a class name (string "
                                             "or integer)%s",
                               j->name, j->line, sp->key, k, type_name(e),
                               fd->kind == OS_LABEL_TAGS ? " or null" : "");
            if (!(l->v.names[k] = class_name(j, e))) return OS_ERR_NOMEM;
        }
    }
    if (!ok) {
        if (sp->kind != OS_LABEL_MISSING) return bad_value(j, sp->key, v, kind_want(fd->kind));
        return os_fail(OS_ERR_INPUT, "%s:%zu: key '%s' is %s, but on line %zu it was %s; declare the field's label "
                                     "kind, or make the values agree",
                       j->name, j->line, sp->key, type_name(v), j->decided_line[i], kind_want(fd->kind));
    }
    l->kind = fd->kind;
    return OS_OK;
}

static os_status get_string(jl *j, const json_t *obj, const char *key, int required, const char **out) {
    *out = NULL;
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (!required) return OS_OK;
        return os_fail(OS_ERR_INPUT, "%s:%zu: no key '%s'; every line needs it (a JSON string)", j->name, j->line,
                       key);
    }
    if (!json_is_string(v)) return bad_value(j, key, v, "a string");
    if (!(*out = os_dataset_strndup(j->ds, json_string_value(v), json_string_length(v)))) return OS_ERR_NOMEM;
    return OS_OK;
}

static os_status get_words(jl *j, const json_t *obj, os_example *ex) {
    const char *key = j->o->words_key;
    const json_t *v = json_object_get(obj, key);
    if (!v || !json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > UINT32_MAX)
        return os_fail(OS_ERR_INPUT, "%s:%zu: key '%s' is %s; every line needs a non-empty array of words (strings)",
                       j->name, j->line, key, !v ? "absent" : json_is_array(v) ? "an empty array" : type_name(v));
    size_t n = json_array_size(v);
    ex->n_words = (uint32_t)n;
    if (!(ex->words = os_dataset_alloc(j->ds, n * sizeof *ex->words))) return OS_ERR_NOMEM;
    for (size_t k = 0; k < n; k++) {
        const json_t *w = json_array_get(v, k);
        if (!json_is_string(w))
            return os_fail(OS_ERR_INPUT, "%s:%zu: key '%s', word %zu is %s; words must be strings", j->name,
                           j->line, key, k, type_name(w));
        if (!(ex->words[k] = os_dataset_strndup(j->ds, json_string_value(w), json_string_length(w))))
            return OS_ERR_NOMEM;
    }
    return OS_OK;
}

static os_status get_id(jl *j, const json_t *obj, os_example *ex) {
    const json_t *v = json_object_get(obj, j->o->id_key);
    if (!v || json_is_null(v)) return OS_OK;
    if (!json_is_string(v) && !json_is_integer(v)) return bad_value(j, j->o->id_key, v, "a string or integer");
    const char *s = class_name(j, v);  // interned: ids are short and this gives integer ids their text
    if (!s) return OS_ERR_NOMEM;
    ex->id = s;
    return OS_OK;
}

static os_status one_line(jl *j, const char *line, size_t len) {
    json_error_t err;
    json_t *obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err);
    if (!obj)
        return os_fail(OS_ERR_INPUT, "%s:%zu:%d: invalid JSON: %s; each line must hold one JSON object", j->name,
                       j->line, err.column, err.text);
    os_status st = OS_OK;
    if (!json_is_object(obj)) {
        st = os_fail(OS_ERR_INPUT, "%s:%zu: the line holds %s, not a JSON object; each line must be one object like "
                                   "{\"text\": ..., \"label\": ...}",
                     j->name, j->line, type_name(obj));
        json_decref(obj);
        return st;
    }
    const os_jsonl_opts *o = j->o;
    os_example *ex = os_dataset_push(j->ds, j->name, j->line);
    if (!ex) st = OS_ERR_NOMEM;
    const char *text_key = o->text_key ? o->text_key : o->words_key ? NULL : "text";
    if (!st && o->words_key) st = get_words(j, obj, ex);
    if (!st && text_key) st = get_string(j, obj, text_key, !o->words_key, &ex->text);
    if (!st && o->pair_key) st = get_string(j, obj, o->pair_key, 0, &ex->text_pair);
    if (!st && o->id_key) st = get_id(j, obj, ex);
    for (int i = 0; !st && i < o->n_labels; i++) {
        const json_t *v = json_object_get(obj, o->labels[i].key);
        if (v && !json_is_null(v)) st = set_label(j, ex, i, v);
    }
    json_decref(obj);
    return st;
}

static os_status jsonl_setup(jl *j) {
    const os_jsonl_opts *o = j->o;
    if (o->n_labels < 0 || (o->n_labels > 0 && !o->labels))
        return os_fail(OS_ERR_INTERNAL, "%s: bad label key list (%d entries)", j->name, o->n_labels);
    j->decided = calloc((size_t)(o->n_labels ? o->n_labels : 1), sizeof *j->decided);
    j->decided_line = calloc((size_t)(o->n_labels ? o->n_labels : 1), sizeof *j->decided_line);
    if (!j->decided || !j->decided_line) return nomem(j);
    for (int i = 0; i < o->n_labels; i++) {
        const os_label_spec *sp = &o->labels[i];
        if (sp->kind == OS_LABEL_TAGS && !o->words_key)
            return os_fail(OS_ERR_USAGE, "%s: label key '%s' holds per-word tags but no words key is set; name the "
                                         "key of the word arrays", j->name, sp->key);
        j->decided[i] = sp->kind != OS_LABEL_MISSING;
        os_label_kind k = j->decided[i] ? sp->kind : OS_LABEL_CLASS;  // an undecided field ends up CLASS
        os_status st = os_dataset_add_field(j->ds, sp->field ? sp->field : sp->key, k, NULL);
        if (st) return st;
    }
    return OS_OK;
}

os_status os_parse_jsonl(const char *name, const char *data, size_t len, const os_jsonl_opts *o,
                         os_dataset **out) {
    jl j = {.name = name, .o = o};
    ds_lines it;
    os_status st = ds_begin_parse(name, data, len, out, &j.ds, &it);
    if (st) return st;
    st = jsonl_setup(&j);
    const char *line;
    size_t n;
    while (!st && ds_lines_next(&it, &line, &n)) {
        if (ds_blank(line, n)) continue;
        j.line = it.lineno;
        st = one_line(&j, line, n);
    }
    free(j.decided);
    free(j.decided_line);
    return ds_end_parse(name, st, &j.ds, out);
}

DS_DEFINE_READER(os_read_jsonl, os_parse_jsonl, os_jsonl_opts)
