#include <stdlib.h>
#include <string.h>

#include "distill/distill_config.h"
#include "train/json_cfg.h"

#define TRY(x)               \
    do {                     \
        os_status st_ = (x); \
        if (st_) return st_; \
    } while (0)

static int task_index(const os_train_config *c, const char *name) {
    for (int i = 0; i < c->n_tasks; i++)
        if (!strcmp(c->tasks[i].name, name)) return i;
    return -1;
}

static os_status parse_teacher(os_teacher_cfg *t, const os_cfg_ctx *ctx, json_t *o, const os_train_config *c) {
    if (!json_is_object(o)) return os_cfg_error(ctx, NULL, "must be an object {\"model\": DIR, \"tasks\": {...}}");
    static const char *const keys[] = {"model", "tasks", NULL};
    TRY(os_cfg_check_keys(ctx, o, keys));
    const char *model;
    TRY(os_cfg_string(ctx, o, "model", NULL, &model));
    if (!model || !*model) return os_cfg_error(ctx, "model", "is required (a trained model directory)");
    t->model = strdup(model);
    const json_t *map;
    TRY(os_cfg_object(ctx, o, "tasks", &map));
    if (!map) return OS_OK;
    os_cfg_ctx mctx = os_cfg_child(ctx, "tasks", 0);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)map, key, v) {
        if (task_index(c, key) < 0) return os_cfg_error(&mctx, key, "is not a task of this config");
        if (!json_is_string(v)) return os_cfg_error(&mctx, key, "must be the name of the teacher's task (a string)");
        t->map_student[t->n_map] = strdup(key);
        t->map_teacher[t->n_map] = strdup(json_string_value(v));
        t->n_map++;
    }
    return OS_OK;
}

// [[student, teacher], ...]: non-negative index pairs (checked against the models when they are loaded).
static os_status parse_pairs(const os_cfg_ctx *ctx, const json_t *o, const char *key, int (*out)[2], int *n) {
    const json_t *a = json_object_get(o, key);
    *n = 0;
    if (!a || json_is_null(a)) return OS_OK;
    if (!json_is_array(a) || json_array_size(a) > OS_KD_MAX_PAIRS)
        return os_cfg_error(ctx, key, "must be an array of at most %d [student, teacher] pairs", OS_KD_MAX_PAIRS);
    for (size_t i = 0; i < json_array_size(a); i++) {
        const json_t *p = json_array_get(a, i);
        const json_t *s = json_array_get(p, 0), *t = json_array_get(p, 1);
        if (!json_is_array(p) || json_array_size(p) != 2 || !json_is_integer(s) || !json_is_integer(t) ||
            json_integer_value(s) < 0 || json_integer_value(t) < 0 || json_integer_value(s) > 1000 ||
            json_integer_value(t) > 1000)
            return os_cfg_error(ctx, key, "entry %zu must be a pair of layer indices [student, teacher]", i);
        out[*n][0] = (int)json_integer_value(s);
        out[*n][1] = (int)json_integer_value(t);
        (*n)++;
    }
    return OS_OK;
}

static os_status parse_layers(os_distill_config *d, const os_cfg_ctx *parent, json_t *o) {
    os_cfg_ctx ctx = os_cfg_child(parent, "layers", 0);
    static const char *const keys[] = {"teacher", "hidden", "attention", "hidden_weight", "attention_weight", NULL};
    TRY(os_cfg_check_keys(&ctx, o, keys));
    long teacher;
    TRY(os_cfg_int(&ctx, o, "teacher", 0, 0, 1000, &teacher));
    d->layer_teacher = (int)teacher;
    TRY(parse_pairs(&ctx, o, "hidden", d->hidden_pairs, &d->n_hidden_pairs));
    TRY(parse_pairs(&ctx, o, "attention", d->attention_pairs, &d->n_attention_pairs));
    for (int i = 0; i < d->n_attention_pairs; i++)
        if (d->attention_pairs[i][0] < 1 || d->attention_pairs[i][1] < 1)
            return os_cfg_error(&ctx, "attention", "layers are numbered from 1 (entry %d)", i);
    TRY(os_cfg_number(&ctx, o, "hidden_weight", 1.0, 0, 1e6, &d->hidden_weight));
    TRY(os_cfg_number(&ctx, o, "attention_weight", 1.0, 0, 1e6, &d->attention_weight));
    json_object_set_new(o, "teacher", json_integer(teacher));
    json_object_set_new(o, "hidden_weight", json_real(d->hidden_weight));
    json_object_set_new(o, "attention_weight", json_real(d->attention_weight));
    return OS_OK;
}

os_status os_distill_config_parse(os_distill_config *d, const os_train_config *c) {
    memset(d, 0, sizeof *d);
    os_cfg_ctx root = {c->file, ""};
    const json_t *dj;
    TRY(os_cfg_object(&root, c->root, "distill", &dj));
    if (!dj) return os_cfg_error(&root, "distill", "is required: the teachers and how to distil them (docs/distill.md)");
    json_t *o = (json_t *)dj;
    os_cfg_ctx ctx = os_cfg_child(&root, "distill", 0);
    // The distillation terms join the weighted-sum step (the trainer's loss hook); the balancers' own paths
    // would leave them out.
    if (c->weighting && strcmp(c->weighting, "static")) {
        os_cfg_ctx wctx = os_cfg_child(&root, "weighting", 0);
        return os_cfg_error(&wctx, "strategy", "must be 'static' with distillation (got '%s')", c->weighting);
    }
    static const char *const keys[] = {"teachers", "temperature", "alpha", "tasks", "cache", "teacher_batch_size",
                                       "unlabeled", "layers", NULL};
    TRY(os_cfg_check_keys(&ctx, o, keys));
    double T, alpha;
    TRY(os_cfg_number(&ctx, o, "temperature", 2.0, 1e-3, 1e3, &T));
    TRY(os_cfg_number(&ctx, o, "alpha", 0.5, 0, 1, &alpha));
    json_object_set_new(o, "temperature", json_real(T));
    json_object_set_new(o, "alpha", json_real(alpha));
    TRY(os_cfg_int(&ctx, o, "teacher_batch_size", 64, 1, 4096, &d->teacher_batch_size));
    json_object_set_new(o, "teacher_batch_size", json_integer(d->teacher_batch_size));
    for (int i = 0; i < c->n_tasks; i++) {
        d->temperature[i] = T;
        d->alpha[i] = alpha;
    }
    const json_t *per;
    TRY(os_cfg_object(&ctx, o, "tasks", &per));
    if (per) {
        os_cfg_ctx pctx = os_cfg_child(&ctx, "tasks", 0);
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)per, key, v) {
            int i = task_index(c, key);
            if (i < 0) return os_cfg_error(&pctx, key, "is not a task of this config");
            os_cfg_ctx tctx = os_cfg_child(&pctx, key, 0);
            if (!json_is_object(v)) return os_cfg_error(&pctx, key, "must be an object {\"temperature\", \"alpha\"}");
            static const char *const tkeys[] = {"temperature", "alpha", NULL};
            TRY(os_cfg_check_keys(&tctx, v, tkeys));
            TRY(os_cfg_number(&tctx, v, "temperature", T, 1e-3, 1e3, &d->temperature[i]));
            TRY(os_cfg_number(&tctx, v, "alpha", alpha, 0, 1, &d->alpha[i]));
            json_object_set_new(v, "temperature", json_real(d->temperature[i]));
            json_object_set_new(v, "alpha", json_real(d->alpha[i]));
        }
    }
    // cache: "run" (default: RUN_DIR/teacher_outputs.safetensors), a file path, or "online".
    const char *cache;
    TRY(os_cfg_string(&ctx, o, "cache", "run", &cache));
    if (!strcmp(cache, "run")) d->cache_in_run = 1;
    else if (strcmp(cache, "online")) d->cache = strdup(cache);
    json_object_set_new(o, "cache", json_string(d->cache_in_run ? "run" : d->cache ? d->cache : "online"));

    const json_t *unl;
    TRY(os_cfg_object(&ctx, o, "unlabeled", &unl));
    if (unl) {
        os_cfg_ctx uctx = os_cfg_child(&ctx, "unlabeled", 0);
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)unl, key, v) {
            int i = task_index(c, key);
            if (i < 0) return os_cfg_error(&uctx, key, "is not a task of this config");
            os_cfg_ctx tctx = os_cfg_child(&uctx, key, 0);
            if (!json_is_object(v)) return os_cfg_error(&uctx, key, "must be an object {\"file\": PATH, \"limit\": N}");
            static const char *const ukeys[] = {"file", "limit", NULL};
            TRY(os_cfg_check_keys(&tctx, v, ukeys));
            const char *file;
            TRY(os_cfg_string(&tctx, v, "file", NULL, &file));
            if (!file) return os_cfg_error(&tctx, "file", "is required (raw text, one example per line)");
            for (int j = 0; j < c->n_tasks; j++)
                if (j != i && d->unlabeled[j] && !strcmp(c->tasks[j].dataset, c->tasks[i].dataset))
                    return os_cfg_error(&uctx, key, "shares dataset '%s' with task '%s', which already has unlabeled "
                                                    "text (one source per dataset)", c->tasks[i].dataset, c->tasks[j].name);
            d->unlabeled[i] = strdup(file);
            TRY(os_cfg_int(&tctx, v, "limit", 0, 0, 1L << 40, &d->unlabeled_limit[i]));
        }
    }

    const json_t *layers;
    TRY(os_cfg_object(&ctx, o, "layers", &layers));
    if (layers) TRY(parse_layers(d, &ctx, (json_t *)layers));

    json_t *teachers = json_object_get(o, "teachers");
    if (!json_is_array(teachers) || json_array_size(teachers) == 0)
        return os_cfg_error(&ctx, "teachers", "must be a non-empty array of {\"model\": DIR}");
    d->n_teachers = (int)json_array_size(teachers);
    d->teachers = calloc((size_t)d->n_teachers, sizeof *d->teachers);
    if (!d->teachers) return os_fail(OS_ERR_NOMEM, "out of memory");
    os_cfg_ctx tctx = os_cfg_child(&ctx, "teachers", 0);
    for (int k = 0; k < d->n_teachers; k++) {
        os_cfg_ctx kctx = os_cfg_child(&tctx, NULL, k);
        TRY(parse_teacher(&d->teachers[k], &kctx, json_array_get(teachers, (size_t)k), c));
    }
    return OS_OK;
}

void os_distill_config_free(os_distill_config *d) {
    for (int k = 0; k < d->n_teachers; k++) {
        os_teacher_cfg *t = &d->teachers[k];
        free(t->model);
        for (int j = 0; j < t->n_map; j++) {
            free(t->map_student[j]);
            free(t->map_teacher[j]);
        }
    }
    free(d->teachers);
    free(d->cache);
    for (int i = 0; i < OS_MAX_TASKS; i++) free(d->unlabeled[i]);
    memset(d, 0, sizeof *d);
}

int os_distill_uses_teachers(const os_distill_config *d, int n_tasks) {
    for (int i = 0; i < n_tasks; i++)
        if (d->alpha[i] < 1) return 1;
    return d->n_hidden_pairs + d->n_attention_pairs > 0;
}
