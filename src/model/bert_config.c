// BERT config.json: HF BertConfig defaults, typed field parsing with one-line errors, validation, writing.
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/bert_config.h"
#include "util/fileio.h"

// The numeric fields: JSON key, place in the struct, and the accepted range (for ints: [lo, hi]; for floats
// lo and hi are open or closed as flagged). `what` is how messages describe the range.
typedef struct {
    const char *key;
    size_t off;
    int is_float;
    double lo, hi;
    int lo_open, hi_open;
    const char *what;
} field_spec;

#define INT_FIELD(k, lo, what) {#k, offsetof(os_bert_config, k), 0, lo, INT_MAX, 0, 0, what}
#define FLOAT_FIELD(k, lo, hi, lo_open, hi_open, what) \
    {#k, offsetof(os_bert_config, k), 1, lo, hi, lo_open, hi_open, what}

static const field_spec fields[] = {
    INT_FIELD(vocab_size, 1, "a positive integer"),
    INT_FIELD(hidden_size, 1, "a positive integer"),
    INT_FIELD(num_hidden_layers, 1, "a positive integer"),
    INT_FIELD(num_attention_heads, 1, "a positive integer"),
    INT_FIELD(intermediate_size, 1, "a positive integer"),
    INT_FIELD(max_position_embeddings, 1, "a positive integer"),
    INT_FIELD(type_vocab_size, 1, "a positive integer"),
    INT_FIELD(pad_token_id, 0, "a non-negative integer"),
    FLOAT_FIELD(layer_norm_eps, 0, FLT_MAX, 1, 0, "a positive number"),
    FLOAT_FIELD(hidden_dropout_prob, 0, 1, 0, 1, "a number in [0, 1)"),
    FLOAT_FIELD(attention_probs_dropout_prob, 0, 1, 0, 1, "a number in [0, 1)"),
    FLOAT_FIELD(initializer_range, 0, FLT_MAX, 0, 0, "a non-negative number"),
};
#define N_FIELDS (sizeof fields / sizeof fields[0])

void os_bert_config_default(os_bert_config *c) {
    c->vocab_size = 30522;
    c->hidden_size = 768;
    c->num_hidden_layers = 12;
    c->num_attention_heads = 12;
    c->intermediate_size = 3072;
    c->max_position_embeddings = 512;
    c->type_vocab_size = 2;
    c->pad_token_id = 0;
    c->layer_norm_eps = 1e-12f;
    c->hidden_dropout_prob = 0.1f;
    c->attention_probs_dropout_prob = 0.1f;
    c->initializer_range = 0.02f;
}

static double get_field(const os_bert_config *c, const field_spec *f) {
    const char *p = (const char *)c + f->off;
    return f->is_float ? (double)*(const float *)p : (double)*(const int *)p;
}

// `v` is in range for the field's type (checked by the caller).
static void set_field(os_bert_config *c, const field_spec *f, double v) {
    char *p = (char *)c + f->off;
    if (f->is_float)
        *(float *)p = (float)v;
    else
        *(int *)p = (int)v;
}

static int in_range(const field_spec *f, double v) {
    if (isnan(v)) return 0;
    if (f->lo_open ? v <= f->lo : v < f->lo) return 0;
    return f->hi_open ? v < f->hi : v <= f->hi;
}

// The largest weight matrix must be indexable with int (the ops take int sizes).
static os_status check_matrix(const char *where, const char *what, long long rows, long long cols) {
    if (rows * cols <= INT_MAX) return OS_OK;
    return os_fail(OS_ERR_INPUT, "%s: %s of %lld x %lld exceeds %d elements; use smaller sizes", where, what,
                   rows, cols, INT_MAX);
}

os_status os_bert_config_validate(const os_bert_config *c, const char *where) {
    for (size_t i = 0; i < N_FIELDS; i++) {
        const field_spec *f = &fields[i];
        double v = get_field(c, f);
        if (!in_range(f, v))
            return os_fail(OS_ERR_INPUT, "%s: field '%s' must be %s, got %g", where, f->key, f->what, v);
    }
    if (c->hidden_size % c->num_attention_heads != 0)
        return os_fail(OS_ERR_INPUT, "%s: hidden_size %d is not divisible by num_attention_heads %d (each head "
                       "gets hidden_size / num_attention_heads channels)", where, c->hidden_size,
                       c->num_attention_heads);
    if (c->pad_token_id >= c->vocab_size)
        return os_fail(OS_ERR_INPUT, "%s: pad_token_id %d is outside the vocabulary (vocab_size %d)", where,
                       c->pad_token_id, c->vocab_size);
    long long h = c->hidden_size;
    os_status rc;
    if ((rc = check_matrix(where, "the word embedding (vocab_size x hidden_size)", c->vocab_size, h)) ||
        (rc = check_matrix(where, "the position embedding (max_position_embeddings x hidden_size)",
                           c->max_position_embeddings, h)) ||
        (rc = check_matrix(where, "the token type embedding (type_vocab_size x hidden_size)",
                           c->type_vocab_size, h)) ||
        (rc = check_matrix(where, "the feed-forward weight (intermediate_size x hidden_size)",
                           c->intermediate_size, h)) ||
        (rc = check_matrix(where, "an attention weight (hidden_size x hidden_size)", h, h)))
        return rc;
    return OS_OK;
}

// A short rendering of a JSON value for messages.
static void brief(const json_t *v, char *buf, size_t size) {
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!s) {
        snprintf(buf, size, "?");
        return;
    }
    snprintf(buf, size, "%s", s);
    if (strlen(s) >= size && size > 4) memcpy(buf + size - 4, "...", 4);
    free(s);
}

// A string field that must, when present, equal `only`.
static os_status check_fixed_string(const json_t *root, const char *where, const char *key, const char *only,
                                    const char *why) {
    const json_t *v = json_object_get(root, key);
    if (!v || (json_is_string(v) && !strcmp(json_string_value(v), only))) return OS_OK;
    char got[64];
    brief(v, got, sizeof got);
    return os_fail(OS_ERR_INPUT, "%s: field '%s' is %s; only \"%s\" is supported (%s)", where, key, got, only,
                   why);
}

os_status os_bert_config_from_json(os_bert_config *c, const json_t *root, const char *where) {
    os_bert_config_default(c);
    if (!json_is_object(root)) {
        char got[64];
        brief(root, got, sizeof got);
        return os_fail(OS_ERR_INPUT, "%s: config must be a JSON object, got %s", where, got);
    }
    for (size_t i = 0; i < N_FIELDS; i++) {
        const field_spec *f = &fields[i];
        const json_t *v = json_object_get(root, f->key);
        if (!v) continue;
        int ok;
        if (f->is_float) {
            double d = json_number_value(v);
            // Convert only in float range (an out-of-range cast is undefined), then range-check the float.
            ok = json_is_number(v) && fabs(d) <= FLT_MAX && in_range(f, (double)(float)d);
            if (ok) set_field(c, f, d);
        } else {
            json_int_t n = json_integer_value(v);
            ok = json_is_integer(v) && in_range(f, (double)n);
            if (ok) set_field(c, f, (double)n);
        }
        if (!ok) {
            char got[64];
            brief(v, got, sizeof got);
            return os_fail(OS_ERR_INPUT, "%s: field '%s' must be %s, got %s", where, f->key, f->what, got);
        }
    }
    os_status rc;
    if ((rc = check_fixed_string(root, where, "hidden_act", "gelu", "the exact erf GELU")) ||
        (rc = check_fixed_string(root, where, "position_embedding_type", "absolute", "learned absolute "
                                 "position embeddings")) ||
        (rc = check_fixed_string(root, where, "model_type", "bert", "the BERT encoder layout")))
        return rc;
    return os_bert_config_validate(c, where);
}

os_status os_bert_config_load_json(os_bert_config *c, const char *config_json_path, json_t **root_out) {
    if (root_out) *root_out = NULL;
    char *text;
    size_t len;
    os_status rc = os_read_file(config_json_path, &text, &len);
    if (rc) return rc;
    json_error_t err;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    free(text);
    if (!root)
        return os_fail(OS_ERR_INPUT, "%s:%d:%d: invalid JSON: %s", config_json_path, err.line, err.column,
                       err.text);
    rc = os_bert_config_from_json(c, root, config_json_path);
    if (rc || !root_out)
        json_decref(root);
    else
        *root_out = root;
    return rc;
}

os_status os_bert_config_load(os_bert_config *c, const char *config_json_path) {
    return os_bert_config_load_json(c, config_json_path, NULL);
}

// The shortest decimal that reads back as `f`, as a double (so 0.1f is written 0.1, not 0.100000001).
// Checked the way readers convert it (decimal -> double -> float); 9 digits always suffice.
static double short_double(float f) {
    char buf[32];
    double d = (double)f;
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)f);
        d = strtod(buf, NULL);
        if ((float)d == f) break;
    }
    return d;
}

json_t *os_bert_config_to_json(const os_bert_config *c) {
    json_t *o = json_object();
    if (!o) return NULL;
    int bad = json_object_set_new(o, "model_type", json_string("bert"));
    for (size_t i = 0; i < N_FIELDS; i++) {
        const field_spec *f = &fields[i];
        double v0 = get_field(c, f);
        json_t *v = f->is_float ? json_real(short_double((float)v0)) : json_integer((json_int_t)v0);
        bad |= json_object_set_new(o, f->key, v);
    }
    bad |= json_object_set_new(o, "hidden_act", json_string("gelu"));
    bad |= json_object_set_new(o, "position_embedding_type", json_string("absolute"));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}
