#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/request.h"

static const char *const known_keys[] = {"text", "texts", "tasks"};

static int fail(char *err, size_t errlen, int status, const char *fmt, const char *arg) {
    snprintf(err, errlen, fmt, arg);
    return status;
}

static int parse_tasks(sv_predict_request *r, const onestone_model *m, json_t *tasks, char *err, size_t errlen) {
    int nt = onestone_model_num_tasks(m);
    memset(r->want, tasks ? 0 : 1, (size_t)(nt ? nt : 1));
    if (!tasks) return 0;
    if (!json_is_array(tasks) || json_array_size(tasks) == 0)
        return fail(err, errlen, 400, "\"tasks\" must be a non-empty array of task names%s", "");
    size_t i;
    json_t *v;
    json_array_foreach(tasks, i, v) {
        if (!json_is_string(v)) {
            snprintf(err, errlen, "\"tasks\"[%zu] must be a string", i);
            return 400;
        }
        int t = onestone_model_find_task(m, json_string_value(v));
        if (t < 0) return fail(err, errlen, 400, "\"tasks\": the model has no task '%s'", json_string_value(v));
        r->want[t] = 1;
    }
    return 0;
}

int sv_request_parse(sv_predict_request *r, const onestone_model *m, const char *body, size_t len,
                     size_t max_text_bytes, int max_texts, char *err, size_t errlen) {
    memset(r, 0, sizeof *r);
    json_error_t je;
    r->root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!r->root) {
        snprintf(err, errlen, "malformed JSON at line %d column %d: %s", je.line, je.column, je.text);
        return 400;
    }
    if (!json_is_object(r->root)) return fail(err, errlen, 400, "the body must be a JSON object%s", "");
    const char *key;
    json_t *v;
    json_object_foreach(r->root, key, v) {
        int known = 0;
        for (size_t k = 0; k < sizeof known_keys / sizeof known_keys[0]; k++) known |= !strcmp(key, known_keys[k]);
        if (!known) return fail(err, errlen, 400, "unknown field \"%s\" (expected text or texts, and tasks)", key);
    }
    json_t *text = json_object_get(r->root, "text"), *texts = json_object_get(r->root, "texts");
    if (!!text == !!texts) return fail(err, errlen, 400, "give exactly one of \"text\" and \"texts\"%s", "");
    if (text && !json_is_string(text)) return fail(err, errlen, 400, "\"text\" must be a string%s", "");
    if (texts && (!json_is_array(texts) || json_array_size(texts) == 0))
        return fail(err, errlen, 400, "\"texts\" must be a non-empty array of strings%s", "");
    r->single = text != NULL;
    size_t n = text ? 1 : json_array_size(texts);
    if (n > (size_t)max_texts) {
        snprintf(err, errlen, "\"texts\" holds %zu texts; the limit is %d", n, max_texts);
        return 413;
    }
    r->n = (int)n;
    int nt = onestone_model_num_tasks(m);
    r->texts = calloc(n, sizeof *r->texts);
    r->want = calloc((size_t)(nt ? nt : 1), 1);
    if (!r->texts || !r->want) return fail(err, errlen, 500, "out of memory%s", "");
    for (size_t i = 0; i < n; i++) {
        json_t *s = text ? text : json_array_get(texts, i);
        if (!json_is_string(s)) {
            snprintf(err, errlen, "\"texts\"[%zu] must be a string", i);
            return 400;
        }
        if (json_string_length(s) > max_text_bytes) {
            if (text) snprintf(err, errlen, "\"text\" is %zu bytes long; the limit is %zu", json_string_length(s),
                               max_text_bytes);
            else snprintf(err, errlen, "\"texts\"[%zu] is %zu bytes long; the limit is %zu", i,
                          json_string_length(s), max_text_bytes);
            return 413;
        }
        r->texts[i] = json_string_value(s);
    }
    return parse_tasks(r, m, json_object_get(r->root, "tasks"), err, errlen);
}

void sv_request_free(sv_predict_request *r) {
    json_decref(r->root);
    free(r->texts);
    free(r->want);
    memset(r, 0, sizeof *r);
}

char *sv_response_body(const sv_predict_request *r, char *const *objects) {
    size_t len = 32;
    for (int i = 0; i < r->n; i++) len += strlen(objects[i]) + 1;
    char *s = malloc(len), *p = s;
    if (!s) return NULL;
    p += sprintf(p, r->single ? "{\"prediction\":" : "{\"predictions\":[");
    for (int i = 0; i < r->n; i++) p += sprintf(p, "%s%s", i ? "," : "", objects[i]);
    sprintf(p, r->single ? "}" : "]}");
    return s;
}

static const char *level_name(int level) {
    return level == ONESTONE_TASK_TOKEN ? "token" : level == ONESTONE_TASK_ENTITY_PAIR ? "entity_pair" : "sequence";
}

static const char *problem_name(int problem) {
    return problem == ONESTONE_PROBLEM_MULTI_LABEL ? "multi_label"
           : problem == ONESTONE_PROBLEM_REGRESSION ? "regression" : "classification";
}

char *sv_model_body(const onestone_model *m, int max_batch, size_t max_text_bytes) {
    json_t *tasks = json_array();
    for (int t = 0; t < onestone_model_num_tasks(m); t++) {
        json_t *labels = json_array();
        for (int j = 0; j < onestone_model_task_num_labels(m, t); j++) {
            const char *l = onestone_model_task_label(m, t, j);
            if (l) json_array_append_new(labels, json_string(l));
        }
        json_array_append_new(tasks, json_pack("{s:s, s:s, s:s, s:o}", "name", onestone_model_task_name(m, t),
                                               "level", level_name(onestone_model_task_level(m, t)), "problem",
                                               problem_name(onestone_model_task_problem(m, t)), "labels", labels));
    }
    json_t *o = json_pack("{s:s, s:o, s:i, s:I}", "version", onestone_version(), "tasks", tasks, "max_batch",
                          max_batch, "max_text_bytes", (json_int_t)max_text_bytes);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

char *sv_error_body(const char *msg) {
    json_t *o = json_pack("{s:s}", "error", msg);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}
