// The public C API (include/onestone.h) over the predictor (src/infer/predictor.c).
//
// Threading: the encoder keeps its activations (and each head its logits) inside the os_model struct, so two
// threads cannot run one os_model. The onestone_model's loaded predictor is never run: it only supplies
// metadata, the parameters and the tokenizer, all read-only after load. A context runs a *view* of it: an
// os_model struct of its own (own activations, head buffers and active flags) whose parameter store, encoder
// layout, head names, labels and CRF constraints point at the model's. The tokenizer is shared too:
// os_tokenizer_encode takes it const and keeps its scratch in the encoding.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onestone.h"
#include "infer/predictor.h"

#define ONESTONE_API __attribute__((visibility("default")))

struct onestone_model {
    os_predictor p;  // loaded model + tokenizer; never run (see the top)
};

struct onestone_context {
    const onestone_model *m;
    os_predictor pv;  // a view of the model's predictor (see the top); run through p
    os_predictor *p;
};

struct onestone_result {
    const onestone_model *m;
    json_t *arr;  // the predictor's JSON array, one object per text
    int n;
};

static _Thread_local int last_code;

// Records a failure of the calling thread's API call: code, and the message in err.
static void set_err(char *err, size_t errlen, const char *what, int code) {
    last_code = code ? code : ONESTONE_ERR_INTERNAL;
    if (!err || !errlen) return;
    const char *msg = os_last_error();
    snprintf(err, errlen, "%s", *msg ? msg : what);
}

ONESTONE_API const char *onestone_version(void) { return "0.1.0"; }

ONESTONE_API int onestone_last_error_code(void) { return last_code; }

ONESTONE_API onestone_model *onestone_model_load(const char *dir, char *err, size_t errlen) {
    os_clear_error();
    last_code = 0;
    if (err && errlen) err[0] = '\0';
    if (!dir) {
        set_err(err, errlen, "failed", os_fail(OS_ERR_USAGE, "onestone_model_load: no directory"));
        return NULL;
    }
    onestone_model *m = calloc(1, sizeof *m);
    if (!m) {
        set_err(err, errlen, "out of memory", ONESTONE_ERR_NOMEM);
        return NULL;
    }
    os_status st = os_predictor_open(&m->p, dir, 0);
    if (st) {
        set_err(err, errlen, "failed to load the model", (int)st);
        free(m);
        return NULL;
    }
    return m;
}

ONESTONE_API void onestone_model_free(onestone_model *m) {
    if (!m) return;
    os_predictor_close(&m->p);
    free(m);
}

ONESTONE_API int onestone_model_num_tasks(const onestone_model *m) { return m ? m->p.model.n_heads : 0; }

static const os_head *head_at(const onestone_model *m, int i) {
    return m && i >= 0 && i < m->p.model.n_heads ? &m->p.model.heads[i] : NULL;
}

ONESTONE_API const char *onestone_model_task_name(const onestone_model *m, int i) {
    const os_head *h = head_at(m, i);
    return h ? h->name : NULL;
}

ONESTONE_API int onestone_model_find_task(const onestone_model *m, const char *name) {
    return m && name ? os_model_find_task(&m->p.model, name) : -1;
}

ONESTONE_API int onestone_model_task_level(const onestone_model *m, int i) {
    const os_head *h = head_at(m, i);
    if (!h) return -1;
    return h->level == OS_TASK_TOKEN ? ONESTONE_TASK_TOKEN
           : h->level == OS_TASK_ENTITY_PAIR ? ONESTONE_TASK_ENTITY_PAIR : ONESTONE_TASK_SEQUENCE;
}

ONESTONE_API int onestone_model_task_problem(const onestone_model *m, int i) {
    const os_head *h = head_at(m, i);
    if (!h) return -1;
    return h->problem == OS_PROBLEM_MULTI_LABEL ? ONESTONE_PROBLEM_MULTI_LABEL
           : h->problem == OS_PROBLEM_REGRESSION ? ONESTONE_PROBLEM_REGRESSION : ONESTONE_PROBLEM_CLASSIFICATION;
}

ONESTONE_API int onestone_model_task_num_labels(const onestone_model *m, int i) {
    const os_head *h = head_at(m, i);
    return h ? h->num_labels : -1;
}

ONESTONE_API const char *onestone_model_task_label(const onestone_model *m, int i, int j) {
    const os_head *h = head_at(m, i);
    return h && h->labels && j >= 0 && j < h->num_labels ? h->labels[j] : NULL;
}

ONESTONE_API int onestone_model_count_tokens(const onestone_model *m, const char *text) {
    if (!m || !text) return -1;
    os_encode_options eo = os_encode_options_default();
    eo.max_length = m->p.max_length;
    os_encoding enc;
    os_encoding_init(&enc);
    int n = os_tokenizer_encode(m->p.tok, text, strlen(text), &eo, &enc) ? -1 : enc.n;
    os_encoding_free(&enc);
    return n;
}

// Frees what a view owns: its activations, head buffers, head array and active flags.
static void view_free(os_model *v) {
    if (v->planned) os_encoder_acts_free(&v->acts);
    for (int i = 0; i < v->n_heads && v->heads; i++) {
        memset(&v->heads[i].cons, 0, sizeof v->heads[i].cons);  // the model's
        os_head_free(&v->heads[i]);
    }
    free(v->heads);
    free(v->active);
    memset(v, 0, sizeof *v);
}

// A model struct that runs src's parameters with buffers of its own. src must never have been planned, so
// that every buffer pointer copied from its heads is NULL.
static os_status view_new(os_model *v, const os_model *src) {
    memset(v, 0, sizeof *v);
    if (src->planned) return os_fail(OS_ERR_INTERNAL, "onestone_context_new: the shared model has activations");
    v->cfg = src->cfg;
    v->params = src->params;
    v->enc = src->enc;
    v->deploy = src->deploy;  // compressed layers: read-only, shared like the parameters
    v->n_heads = src->n_heads;
    v->head_prefixes = src->head_prefixes;
    size_t nh = (size_t)(src->n_heads ? src->n_heads : 1);
    v->heads = os_calloc(nh, sizeof *v->heads);
    v->active = os_calloc(nh, 1);
    if (!v->heads || !v->active) {
        view_free(v);
        return OS_ERR_NOMEM;
    }
    for (int i = 0; i < src->n_heads; i++) v->heads[i] = src->heads[i];
    return OS_OK;
}

ONESTONE_API onestone_context *onestone_context_new(const onestone_model *m, char *err, size_t errlen) {
    os_clear_error();
    last_code = 0;
    if (err && errlen) err[0] = '\0';
    if (!m) {
        set_err(err, errlen, "failed", os_fail(OS_ERR_USAGE, "onestone_context_new: no model"));
        return NULL;
    }
    onestone_context *c = calloc(1, sizeof *c);
    os_status st = c ? view_new(&c->pv.model, &m->p.model) : OS_ERR_NOMEM;
    size_t nh = (size_t)(m->p.model.n_heads ? m->p.model.n_heads : 1);
    if (!st && !(c->pv.active = os_calloc(nh, 1))) st = OS_ERR_NOMEM;
    if (st) {
        if (c) view_free(&c->pv.model);
        free(c);
        set_err(err, errlen, "out of memory", (int)st);
        return NULL;
    }
    c->m = m;
    c->pv.tok = m->p.tok;
    c->pv.max_length = m->p.max_length;
    c->pv.e1_id = m->p.e1_id;
    c->pv.e2_id = m->p.e2_id;
    memset(c->pv.active, 1, (size_t)m->p.model.n_heads);
    c->p = &c->pv;
    return c;
}

ONESTONE_API void onestone_context_free(onestone_context *c) {
    if (!c) return;
    view_free(&c->pv.model);
    free(c->pv.active);
    free(c);
}

ONESTONE_API void onestone_context_set_max_length(onestone_context *c, int max_length) {
    if (!c) return;
    int maxpos = c->p->model.cfg.max_position_embeddings;
    c->p->max_length = max_length > 0 && max_length < maxpos ? max_length : maxpos;
}

ONESTONE_API void onestone_context_set_logits(onestone_context *c, int on) {
    if (c) c->p->with_logits = on != 0;
}

ONESTONE_API int onestone_predict(onestone_context *c, const char *const *texts, int n, const char *tasks,
                                  onestone_result **out, char *err, size_t errlen) {
    os_clear_error();
    last_code = 0;
    if (err && errlen) err[0] = '\0';
    if (out) *out = NULL;
    if (!c || !out || n < 0 || (n > 0 && !texts)) {
        set_err(err, errlen, "failed", os_fail(OS_ERR_USAGE, "onestone_predict: bad arguments"));
        return ONESTONE_ERR_USAGE;
    }
    for (int i = 0; i < n; i++)
        if (!texts[i]) {
            set_err(err, errlen, "failed", os_fail(OS_ERR_USAGE, "onestone_predict: text %d is NULL", i));
            return ONESTONE_ERR_USAGE;
        }
    os_status st = os_predictor_select(c->p, tasks);
    json_t *arr = NULL;
    if (!st) st = os_predictor_run(c->p, texts, n, &arr);
    onestone_result *r = NULL;
    if (!st && !(r = calloc(1, sizeof *r))) st = os_fail(OS_ERR_NOMEM, "out of memory");
    if (st) {
        json_decref(arr);
        set_err(err, errlen, "prediction failed", (int)st);
        return (int)st;
    }
    r->m = c->m;
    r->arr = arr;
    r->n = n;
    *out = r;
    return 0;
}

ONESTONE_API void onestone_result_free(onestone_result *r) {
    if (!r) return;
    json_decref(r->arr);
    free(r);
}

ONESTONE_API int onestone_result_num_texts(const onestone_result *r) { return r ? r->n : 0; }

// Text i's prediction object for the task (NULL when absent or null).
static json_t *pred_of(const onestone_result *r, int i, int task) {
    if (!r || i < 0 || i >= r->n) return NULL;
    const os_head *h = head_at(r->m, task);
    if (!h) return NULL;
    json_t *p = json_object_get(json_array_get(r->arr, (size_t)i), h->name);
    return json_is_object(p) ? p : NULL;
}

static int label_index(const os_head *h, const char *name) {
    for (int j = 0; h->labels && name && j < h->num_labels; j++)
        if (!strcmp(h->labels[j], name)) return j;
    return -1;
}

ONESTONE_API int onestone_result_has(const onestone_result *r, int i, int task) {
    return pred_of(r, i, task) != NULL;
}

ONESTONE_API const char *onestone_result_label(const onestone_result *r, int i, int task, int *index,
                                               double *score) {
    json_t *p = pred_of(r, i, task);
    const char *name = p ? json_string_value(json_object_get(p, "label")) : NULL;
    if (!name) return NULL;
    if (index) *index = label_index(head_at(r->m, task), name);
    if (score) *score = json_number_value(json_object_get(p, "score"));
    return name;
}

static int copy_numbers(json_t *a, double *out, int cap) {
    if (!json_is_array(a)) return -1;
    int n = (int)json_array_size(a);
    for (int k = 0; k < n && k < cap && out; k++) out[k] = json_number_value(json_array_get(a, (size_t)k));
    return n;
}

ONESTONE_API int onestone_result_values(const onestone_result *r, int i, int task, double *out, int cap) {
    json_t *p = pred_of(r, i, task);
    if (!p) return -1;
    const os_head *h = head_at(r->m, task);
    json_t *v = json_object_get(p, "value"), *scores = json_object_get(p, "scores");
    if (v) {
        if (out && cap > 0) out[0] = json_number_value(v);
        return 1;
    }
    if (json_is_object(scores)) {
        for (int j = 0; j < h->num_labels && j < cap && out; j++)
            out[j] = json_number_value(json_object_get(scores, h->labels[j]));
        return h->num_labels;
    }
    return copy_numbers(json_object_get(p, "values"), out, cap);
}

ONESTONE_API int onestone_result_num_active(const onestone_result *r, int i, int task) {
    json_t *a = json_object_get(pred_of(r, i, task), "labels");
    return json_is_array(a) ? (int)json_array_size(a) : -1;
}

ONESTONE_API const char *onestone_result_active_label(const onestone_result *r, int i, int task, int k) {
    json_t *a = json_object_get(pred_of(r, i, task), "labels");
    if (!json_is_array(a) || k < 0) return NULL;
    int j = label_index(head_at(r->m, task), json_string_value(json_array_get(a, (size_t)k)));
    return j >= 0 ? head_at(r->m, task)->labels[j] : NULL;
}

ONESTONE_API int onestone_result_num_words(const onestone_result *r, int i, int task) {
    json_t *a = json_object_get(pred_of(r, i, task), "words");
    return json_is_array(a) ? (int)json_array_size(a) : -1;
}

ONESTONE_API const char *onestone_result_word(const onestone_result *r, int i, int task, int w, int *start,
                                              int *end) {
    json_t *a = json_object_get(pred_of(r, i, task), "words");
    json_t *wo = json_is_array(a) && w >= 0 ? json_array_get(a, (size_t)w) : NULL;
    if (!wo) return NULL;
    if (start) *start = (int)json_integer_value(json_object_get(wo, "start"));
    if (end) *end = (int)json_integer_value(json_object_get(wo, "end"));
    int j = label_index(head_at(r->m, task), json_string_value(json_object_get(wo, "label")));
    return j >= 0 ? head_at(r->m, task)->labels[j] : NULL;
}

ONESTONE_API int onestone_result_logits(const onestone_result *r, int i, int task, double *out, int cap) {
    json_t *p = pred_of(r, i, task);
    const os_head *h = head_at(r ? r->m : NULL, task);
    if (!p || !h || h->level == OS_TASK_TOKEN) return -1;
    return copy_numbers(json_object_get(p, "logits"), out, cap);
}

ONESTONE_API char *onestone_result_json(const onestone_result *r, int i) {
    if (!r || i < 0 || i >= r->n) return NULL;
    return json_dumps(json_array_get(r->arr, (size_t)i), JSON_COMPACT | JSON_REAL_PRECISION(9));
}
