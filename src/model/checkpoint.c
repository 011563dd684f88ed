#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/deploy.h"
#include "io/safetensors.h"
#include "model/checkpoint.h"
#include "util/fileio.h"

#define ENCODER_PREFIX "bert."

// ---- saving -----------------------------------------------------------------------------------------

static json_t *labels_json(const os_head *h) {
    json_t *a = json_array();
    if (h->labels)
        for (int j = 0; j < h->num_labels; j++) json_array_append_new(a, json_string(h->labels[j]));
    return a;
}

static json_t *config_json(const os_model *m, const json_t *extra) {
    json_t *root = os_bert_config_to_json(&m->cfg);
    if (!root) return NULL;
    // A single task with HF's own tensor names is an HF BertFor*Classification checkpoint as well.
    const char *arch = "BertModel";
    if (m->n_heads == 1 && !strcmp(m->head_prefixes[0], "") && m->heads[0].level != OS_TASK_ENTITY_PAIR) {
        const os_head *h = &m->heads[0];
        arch = h->level == OS_TASK_SEQUENCE ? "BertForSequenceClassification" : "BertForTokenClassification";
        json_t *id2label = json_object(), *label2id = json_object();
        for (int j = 0; h->labels && j < h->num_labels; j++) {
            char key[16];
            snprintf(key, sizeof key, "%d", j);
            json_object_set_new(id2label, key, json_string(h->labels[j]));
            json_object_set_new(label2id, h->labels[j], json_integer(j));
        }
        json_object_set_new(root, "id2label", id2label);
        json_object_set_new(root, "label2id", label2id);
        json_object_set_new(root, "problem_type", json_string(os_problem_name(h->problem)));
        json_object_set_new(root, "num_labels", json_integer(h->num_labels));
    }
    if (os_params_find(&m->params, "cls.predictions.bias") >= 0) arch = "BertForMaskedLM";  // an MLM pretraining model
    json_t *archs = json_array();
    json_array_append_new(archs, json_string(arch));
    json_object_set_new(root, "architectures", archs);

    json_t *os = json_object(), *tasks = json_array();
    json_object_set_new(os, "format_version", json_integer(1));
    json_object_set_new(os, "pooler", json_boolean(m->enc.has_pooler));
    for (int i = 0; i < m->n_heads; i++) {
        const os_head *h = &m->heads[i];
        json_t *t = json_object();
        json_object_set_new(t, "name", json_string(h->name));
        json_object_set_new(t, "level", json_string(os_task_level_name(h->level)));
        json_object_set_new(t, "problem_type", json_string(os_problem_name(h->problem)));
        json_object_set_new(t, "num_labels", json_integer(h->num_labels));
        if (h->labels) json_object_set_new(t, "labels", labels_json(h));
        json_object_set_new(t, "classifier_dropout", json_real(h->dropout));
        json_object_set_new(t, "loss_weight", json_real(h->loss_weight));
        json_object_set_new(t, "param_prefix", json_string(m->head_prefixes[i]));
        if (h->tag_scheme) json_object_set_new(t, "tag_scheme", json_string(h->tag_scheme));
        if (h->crf) json_object_set_new(t, "crf", json_true());
        json_array_append_new(tasks, t);
    }
    json_object_set_new(os, "tasks", tasks);
    if (extra) json_object_update(os, (json_t *)extra);
    json_object_set_new(root, "onestone", os);
    return root;
}

os_status os_model_save(const os_model *m, const char *dir, const json_t *extra) {
    os_status st = os_mkdirs(dir);
    if (st) return st;
    char *cfg_path = os_path_join(dir, "config.json"), *st_path = os_path_join(dir, "model.safetensors");
    const size_t n_deploy = m->deploy ? os_deploy_n_tensors(m->deploy) : 0;  // compressed layers (src/deploy)
    os_st_entry *entries = os_calloc((size_t)m->params.n + n_deploy, sizeof *entries);
    json_t *root = config_json(m, extra);
    if (root && m->deploy) os_deploy_annotate_config(m->deploy, root);
    char *text = root ? json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    if (!cfg_path || !st_path || !entries || !root || !text) {
        st = os_fail(OS_ERR_NOMEM, "out of memory saving model to %s", dir);
        goto done;
    }
    size_t n = 0;
    for (int i = 0; i < m->params.n; i++) {
        const os_param_entry *e = &m->params.entries[i];
        if (m->deploy && os_deploy_owns_param(e->name)) continue;
        entries[n++] = (os_st_entry){e->name, OS_DT_F32, m->params.data + e->offset, e->ndim, e->shape};
    }
    if (m->deploy) os_deploy_tensors(m->deploy, entries + n);
    st = os_st_write(st_path, entries, n + n_deploy, NULL);
    if (!st) {
        size_t len = strlen(text);
        text[len] = '\n';  // json_dumps leaves room: replace the NUL only in the written copy
        st = os_write_file_atomic(cfg_path, text, len + 1);
        text[len] = '\0';
    }
done:
    free(text);
    json_decref(root);
    free(entries);
    free(cfg_path);
    free(st_path);
    return st;
}

// ---- loading ----------------------------------------------------------------------------------------

static os_status parse_level(const char *s, os_task_level *l) {
    if (!strcmp(s, "sequence")) *l = OS_TASK_SEQUENCE;
    else if (!strcmp(s, "token")) *l = OS_TASK_TOKEN;
    else if (!strcmp(s, "entity_pair")) *l = OS_TASK_ENTITY_PAIR;
    else return OS_ERR_INPUT;
    return OS_OK;
}

static os_status parse_problem(const char *s, os_problem *p) {
    if (!strcmp(s, "single_label_classification")) *p = OS_PROBLEM_SINGLE_LABEL;
    else if (!strcmp(s, "multi_label_classification")) *p = OS_PROBLEM_MULTI_LABEL;
    else if (!strcmp(s, "regression")) *p = OS_PROBLEM_REGRESSION;
    else return OS_ERR_INPUT;
    return OS_OK;
}

typedef struct {  // task specs parsed from config.json, with owned strings
    os_task_spec *specs;
    char ***labels;
    int n;
} task_list;

static void task_list_free(task_list *tl) {
    for (int i = 0; i < tl->n; i++) {
        free((char *)tl->specs[i].name);
        free((char *)tl->specs[i].param_prefix);
        free((char *)tl->specs[i].tag_scheme);
        if (tl->labels[i])
            for (int j = 0; j < tl->specs[i].num_labels; j++) free(tl->labels[i][j]);
        free(tl->labels[i]);
    }
    free(tl->specs);
    free(tl->labels);
}

static os_status task_list_alloc(task_list *tl, int n) {
    tl->n = n;
    tl->specs = os_calloc((size_t)(n ? n : 1), sizeof *tl->specs);
    tl->labels = os_calloc((size_t)(n ? n : 1), sizeof *tl->labels);
    return tl->specs && tl->labels ? OS_OK : OS_ERR_NOMEM;
}

// Labels from HF's id2label {"0": "NEG", ...}: every id 0..n-1 must be present exactly once.
static os_status hf_labels(const json_t *id2label, const char *where, int *n_out, char ***out) {
    int n = (int)json_object_size(id2label);
    char **labels = os_calloc((size_t)(n ? n : 1), sizeof(char *));
    if (!labels) return OS_ERR_NOMEM;
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)id2label, key, val) {
        char *end;
        long id = strtol(key, &end, 10);
        if (*end || end == key || id < 0 || id >= n || labels[id] || !json_is_string(val)) {
            for (int j = 0; j < n; j++) free(labels[j]);
            free(labels);
            return os_fail(OS_ERR_INPUT, "%s: field 'id2label' must map the ids 0..%d to label strings (bad key '%s')",
                           where, n - 1, key);
        }
        labels[id] = strdup(json_string_value(val));
    }
    *n_out = n;
    *out = labels;
    return OS_OK;
}

static os_status onestone_tasks(const json_t *tasks, const char *where, task_list *tl) {
    if (!json_is_array(tasks)) return os_fail(OS_ERR_INPUT, "%s: field 'onestone.tasks' must be an array", where);
    os_status st = task_list_alloc(tl, (int)json_array_size(tasks));
    if (st) return st;
    for (int i = 0; i < tl->n; i++) {
        const json_t *t = json_array_get(tasks, (size_t)i);
        os_task_spec *s = &tl->specs[i];
        const char *name = json_string_value(json_object_get(t, "name"));
        const char *level = json_string_value(json_object_get(t, "level"));
        const char *problem = json_string_value(json_object_get(t, "problem_type"));
        const char *prefix = json_string_value(json_object_get(t, "param_prefix"));
        json_t *nl = json_object_get(t, "num_labels"), *labels = json_object_get(t, "labels");
        if (!name || !level || !problem || !json_is_integer(nl) || json_integer_value(nl) < 1 ||
            json_integer_value(nl) > 1000000)
            return os_fail(OS_ERR_INPUT,
                           "%s: onestone.tasks[%d] needs 'name', 'level', 'problem_type' and a positive 'num_labels'",
                           where, i);
        s->name = strdup(name);
        s->param_prefix = prefix ? strdup(prefix) : NULL;
        const char *scheme = json_string_value(json_object_get(t, "tag_scheme"));
        s->tag_scheme = scheme ? strdup(scheme) : NULL;
        s->crf = json_is_true(json_object_get(t, "crf"));
        s->num_labels = (int)json_integer_value(nl);
        if (parse_level(level, &s->level))
            return os_fail(OS_ERR_INPUT, "%s: onestone.tasks[%d].level must be 'sequence', 'token' or 'entity_pair', got '%s'",
                           where, i, level);
        if (parse_problem(problem, &s->problem))
            return os_fail(OS_ERR_INPUT, "%s: onestone.tasks[%d].problem_type '%s' is unknown", where, i, problem);
        s->dropout = (float)json_number_value(json_object_get(t, "classifier_dropout"));
        s->loss_weight = json_is_number(json_object_get(t, "loss_weight"))
                             ? (float)json_number_value(json_object_get(t, "loss_weight")) : 1.0f;
        if (labels) {
            if (!json_is_array(labels) || (int)json_array_size(labels) != s->num_labels)
                return os_fail(OS_ERR_INPUT, "%s: onestone.tasks[%d].labels must be an array of %d strings", where,
                               i, s->num_labels);
            tl->labels[i] = os_calloc((size_t)s->num_labels, sizeof(char *));
            if (!tl->labels[i]) return OS_ERR_NOMEM;
            for (int j = 0; j < s->num_labels; j++) {
                const char *lab = json_string_value(json_array_get(labels, (size_t)j));
                if (!lab) return os_fail(OS_ERR_INPUT, "%s: onestone.tasks[%d].labels[%d] must be a string", where, i, j);
                tl->labels[i][j] = strdup(lab);
            }
            s->labels = (const char *const *)tl->labels[i];
        }
    }
    return OS_OK;
}

// An HF BertFor{Sequence,Token}Classification config becomes one task with HF's tensor names.
static os_status hf_task(const json_t *root, const char *arch, const char *where, task_list *tl) {
    os_status st = task_list_alloc(tl, 1);
    if (st) return st;
    os_task_spec *s = &tl->specs[0];
    s->level = !strcmp(arch, "BertForTokenClassification") ? OS_TASK_TOKEN : OS_TASK_SEQUENCE;
    const char *ft = json_string_value(json_object_get(root, "finetuning_task"));
    s->name = strdup(ft && *ft ? ft : s->level == OS_TASK_TOKEN ? "token_classification" : "classification");
    s->param_prefix = strdup("");
    const json_t *id2label = json_object_get(root, "id2label");
    if (id2label) {
        if (!json_is_object(id2label)) return os_fail(OS_ERR_INPUT, "%s: field 'id2label' must be an object", where);
        st = hf_labels(id2label, where, &s->num_labels, &tl->labels[0]);
        if (st) return st;
        s->labels = (const char *const *)tl->labels[0];
    } else {
        json_t *nl = json_object_get(root, "num_labels");
        s->num_labels = json_is_integer(nl) ? (int)json_integer_value(nl) : 2;  // HF's default
        if (s->num_labels < 1) return os_fail(OS_ERR_INPUT, "%s: field 'num_labels' must be positive", where);
    }
    const char *problem = json_string_value(json_object_get(root, "problem_type"));
    if (problem) {
        if (parse_problem(problem, &s->problem))
            return os_fail(OS_ERR_INPUT, "%s: field 'problem_type' '%s' is unknown", where, problem);
    } else {
        s->problem = s->num_labels == 1 && s->level == OS_TASK_SEQUENCE ? OS_PROBLEM_REGRESSION : OS_PROBLEM_SINGLE_LABEL;
    }
    if (s->problem == OS_PROBLEM_REGRESSION && tl->labels[0]) {
        for (int j = 0; j < s->num_labels; j++) free(tl->labels[0][j]);
        free(tl->labels[0]);
        tl->labels[0] = NULL;
        s->labels = NULL;
    }
    json_t *cd = json_object_get(root, "classifier_dropout");
    s->dropout = json_is_number(cd) ? (float)json_number_value(cd) : -1.0f;
    s->loss_weight = 1.0f;
    return OS_OK;
}

// Finds the file tensor for one of our parameter names, trying HF's historical spellings.
static const os_st_tensor *find_tensor(const os_safetensors *st, const char *name, const char *file_enc_prefix) {
    char buf[OS_PARAM_NAME_MAX + 16];
    const char *base = name;
    int encoder = !strncmp(name, ENCODER_PREFIX, strlen(ENCODER_PREFIX));
    if (encoder) base = name + strlen(ENCODER_PREFIX);
    snprintf(buf, sizeof buf, "%s%s", encoder ? file_enc_prefix : "", base);
    const os_st_tensor *t = os_st_find(st, buf);
    if (t) return t;
    // TF-era checkpoints call LayerNorm parameters gamma and beta.
    size_t n = strlen(buf);
    if (n > 16 && !strcmp(buf + n - 16, "LayerNorm.weight")) {
        strcpy(buf + n - 6, "gamma");
        return os_st_find(st, buf);
    }
    if (n > 14 && !strcmp(buf + n - 14, "LayerNorm.bias")) {
        strcpy(buf + n - 4, "beta");
        return os_st_find(st, buf);
    }
    return NULL;
}

os_status os_model_load(os_model *m, const char *dir) {
    memset(m, 0, sizeof *m);
    char *cfg_path = os_path_join(dir, "config.json"), *st_path = os_path_join(dir, "model.safetensors");
    json_t *root = NULL;
    os_safetensors st = {0};
    task_list tl = {0};
    os_bert_config cfg;
    os_status rc;
    if (!cfg_path || !st_path) {
        rc = os_fail(OS_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (!os_path_exists(st_path)) {
        char *bin = os_path_join(dir, "pytorch_model.bin");
        int has_bin = bin && os_path_exists(bin);
        free(bin);
        rc = os_fail(OS_ERR_IO, has_bin ? "%s: missing; only safetensors weights are supported (re-save the model "
                                           "with save_pretrained(..., safe_serialization=True))"
                                         : "%s: missing (a model directory needs config.json and model.safetensors)",
                     st_path);
        goto done;
    }
    rc = os_bert_config_load_json(&cfg, cfg_path, &root);
    if (rc) goto done;
    rc = os_st_open(&st, st_path);
    if (rc) goto done;

    const json_t *os = json_object_get(root, "onestone");
    const json_t *archs = json_object_get(root, "architectures");
    const char *arch = json_string_value(json_array_get(archs, 0));
    if (os && json_object_get(os, "tasks")) {
        rc = onestone_tasks(json_object_get(os, "tasks"), cfg_path, &tl);
    } else if (arch && (!strcmp(arch, "BertForSequenceClassification") || !strcmp(arch, "BertForTokenClassification"))) {
        rc = hf_task(root, arch, cfg_path, &tl);
    }
    if (rc) goto done;

    const char *file_prefix = os_st_find(&st, "bert.embeddings.word_embeddings.weight") ? ENCODER_PREFIX : "";
    char pool_name[64];
    snprintf(pool_name, sizeof pool_name, "%spooler.dense.weight", file_prefix);
    int with_pooler = os_st_find(&st, pool_name) != NULL;
    for (int i = 0; i < tl.n; i++)
        if (tl.specs[i].level == OS_TASK_SEQUENCE && !with_pooler) {
            rc = os_fail(OS_ERR_INPUT, "%s: tensor '%s' missing (task '%s' is sequence-level and needs the pooler)",
                         st_path, pool_name, tl.specs[i].name);
            goto done;
        }
    const json_t *deploy = os ? json_object_get(os, "deploy") : NULL;  // int8 / pruned layers (src/deploy)
    rc = deploy ? os_model_create_for_deploy(m, &cfg, tl.specs, tl.n, with_pooler)
                : os_model_create(m, &cfg, tl.specs, tl.n, with_pooler);
    if (rc) goto done;
    for (int i = 0; i < m->params.n; i++) {
        const os_param_entry *e = &m->params.entries[i];
        const os_st_tensor *t = find_tensor(&st, e->name, file_prefix);
        if (!t) {
            rc = os_fail(OS_ERR_INPUT, "%s: tensor '%s%s' missing (config.json expects it)", st_path,
                         strncmp(e->name, ENCODER_PREFIX, 5) ? "" : file_prefix,
                         strncmp(e->name, ENCODER_PREFIX, 5) ? e->name : e->name + 5);
            goto done;
        }
        rc = os_st_check_shape(&st, t, e->shape, e->ndim);
        if (!rc) rc = os_st_tensor_f32(&st, t, m->params.data + e->offset, e->numel);
        if (rc) goto done;
    }
    if (deploy) rc = os_deploy_load(&m->deploy, &st, deploy, &m->cfg, file_prefix, cfg_path);
done:
    if (rc) os_model_free(m);
    task_list_free(&tl);
    os_st_close(&st);
    json_decref(root);
    free(cfg_path);
    free(st_path);
    return rc;
}
