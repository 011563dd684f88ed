#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/deploy.h"
#include "model/model.h"

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static os_status model_create(os_model *m, const os_bert_config *cfg, const os_task_spec *tasks, int n_tasks,
                              int with_pooler, int encoder_layers) {
    memset(m, 0, sizeof *m);
    os_status st = os_bert_config_validate(cfg, "model config");
    if (st) return st;
    m->cfg = *cfg;
    for (int i = 0; i < n_tasks; i++)
        if (tasks[i].level == OS_TASK_SEQUENCE && !with_pooler)
            return os_fail(OS_ERR_INPUT, "task '%s': sequence-level tasks need the encoder's pooler", tasks[i].name);
    os_bert_config enc_cfg = *cfg;
    enc_cfg.num_hidden_layers = encoder_layers;
    os_encoder_register(&m->enc, &m->params, &enc_cfg, "bert.", with_pooler);
    m->heads = os_calloc((size_t)(n_tasks ? n_tasks : 1), sizeof *m->heads);
    m->head_prefixes = os_calloc((size_t)(n_tasks ? n_tasks : 1), sizeof *m->head_prefixes);
    if (!m->heads || !m->head_prefixes) return OS_ERR_NOMEM;
    m->n_heads = n_tasks;
    m->active = os_calloc((size_t)(n_tasks ? n_tasks : 1), 1);
    if (!m->active) return OS_ERR_NOMEM;
    for (int i = 0; i < n_tasks; i++) {
        const os_task_spec *t = &tasks[i];
        os_head *h = &m->heads[i];
        if (!t->name || !*t->name) return os_fail(OS_ERR_INPUT, "task %d has no name", i);
        if (os_model_find_task(m, t->name) >= 0 && os_model_find_task(m, t->name) < i)
            return os_fail(OS_ERR_INPUT, "task name '%s' is used twice", t->name);
        if (t->num_labels < 1) return os_fail(OS_ERR_INPUT, "task '%s': num_labels must be >= 1", t->name);
        h->name = strdup(t->name);
        h->level = t->level;
        h->problem = t->problem;
        h->num_labels = t->num_labels;
        h->dropout = t->dropout < 0 ? cfg->hidden_dropout_prob : t->dropout;
        h->loss_weight = t->loss_weight > 0 ? t->loss_weight : 1.0f;
        if (t->crf && t->level != OS_TASK_TOKEN) return os_fail(OS_ERR_INPUT, "task '%s': a CRF needs a token-level task", t->name);
        h->crf = t->crf;
        h->tag_scheme = t->tag_scheme ? strdup(t->tag_scheme) : NULL;
        if (t->problem != OS_PROBLEM_REGRESSION) {
            h->labels = os_calloc((size_t)t->num_labels, sizeof(char *));
            if (!h->labels) return OS_ERR_NOMEM;
            for (int j = 0; j < t->num_labels; j++) {
                char buf[32];
                snprintf(buf, sizeof buf, "LABEL_%d", j);
                h->labels[j] = strdup(t->labels && t->labels[j] ? t->labels[j] : buf);
            }
        }
        if (h->crf && (st = os_head_crf_setup(h))) return st;
        char prefix[OS_PARAM_NAME_MAX];
        if (t->param_prefix)
            snprintf(prefix, sizeof prefix, "%s", t->param_prefix);
        else
            snprintf(prefix, sizeof prefix, "heads.%s.", t->name);
        m->head_prefixes[i] = dup_or_null(prefix);
        os_head_register(h, &m->params, prefix, cfg->hidden_size);
    }
    return os_params_alloc(&m->params);
}

os_status os_model_create(os_model *m, const os_bert_config *cfg, const os_task_spec *tasks, int n_tasks,
                          int with_pooler) {
    return model_create(m, cfg, tasks, n_tasks, with_pooler, cfg->num_hidden_layers);
}

os_status os_model_create_for_deploy(os_model *m, const os_bert_config *cfg, const os_task_spec *tasks,
                                     int n_tasks, int with_pooler) {
    return model_create(m, cfg, tasks, n_tasks, with_pooler, 0);
}

void os_model_init_weights(os_model *m, uint64_t seed) {
    os_encoder_init(&m->enc, &m->params, seed);
    for (int i = 0; i < m->n_heads; i++)
        os_head_init(&m->heads[i], &m->params, m->cfg.hidden_size, m->cfg.initializer_range,
                     seed + 1000003ULL * (uint64_t)(i + 1));
}

os_status os_model_plan(os_model *m, int B_max, int T_max) {
    if (m->planned && B_max <= m->acts.B_max && T_max <= m->acts.T_max) return OS_OK;
    if (m->planned) os_encoder_acts_free(&m->acts);
    m->planned = 0;
    os_status st = os_encoder_acts_alloc(&m->acts, &m->enc, B_max, T_max);
    if (st) return st;
    for (int i = 0; i < m->n_heads; i++) {
        st = os_head_plan(&m->heads[i], B_max, T_max, m->cfg.hidden_size);
        if (st) return st;
    }
    m->planned = 1;
    return OS_OK;
}

void os_model_free(os_model *m) {
    if (m->planned) os_encoder_acts_free(&m->acts);
    for (int i = 0; i < m->n_heads; i++) {
        os_head *h = &m->heads[i];
        os_head_free(h);
        if (h->labels)
            for (int j = 0; j < h->num_labels; j++) free(h->labels[j]);
        free(h->labels);
        free(h->name);
        free(h->tag_scheme);
        if (m->head_prefixes) free(m->head_prefixes[i]);
    }
    free(m->heads);
    free(m->head_prefixes);
    free(m->active);
    os_deploy_free(m->deploy);
    os_encoder_free(&m->enc);
    os_params_free(&m->params);
    memset(m, 0, sizeof *m);
}

int os_model_find_task(const os_model *m, const char *name) {
    for (int i = 0; i < m->n_heads; i++)
        if (m->heads[i].name && !strcmp(m->heads[i].name, name)) return i;
    return -1;
}

os_status os_model_forward(os_model *m, const os_batch_input *in, const uint8_t *active, int training,
                           uint64_t seed) {
    const int B = in->B, T = in->T;
    for (int i = 0; i < m->n_heads; i++) {
        m->active[i] = active ? active[i] : 1;
        if (m->active[i] && m->heads[i].level == OS_TASK_ENTITY_PAIR) {
            if (!in->pair_pos) return os_fail(OS_ERR_INPUT, "task '%s' needs entity positions", m->heads[i].name);
            for (int j = 0; j < 2 * B; j++)
                if (in->pair_pos[j] < 0 || in->pair_pos[j] >= T)
                    return os_fail(OS_ERR_INPUT, "task '%s': entity position %d outside the sequence (length %d)",
                                   m->heads[i].name, in->pair_pos[j], T);
        }
    }
    os_status st = os_model_plan(m, B, T);
    if (st) return st;
    if (m->deploy) st = os_deploy_forward(m->deploy, m, in, training);  // compressed models (src/deploy)
    else st = os_encoder_forward(&m->enc, &m->params, &m->acts, in->ids, in->type_ids, in->mask, B, T, training, seed);
    if (st) return st;
    for (int i = 0; i < m->n_heads; i++)
        if (m->active[i])
            os_head_forward(&m->heads[i], &m->params, &m->enc, &m->acts, in->pair_pos, in->word_first, training,
                            seed ^ (0xa0761d6478bd642fULL * (uint64_t)(i + 1)));
    return OS_OK;
}

float os_model_loss(os_model *m, const os_head_labels *labels, float *task_losses, int *task_counts) {
    float total = 0;
    for (int i = 0; i < m->n_heads; i++) {
        os_head *h = &m->heads[i];
        int n = 0;
        if (!m->active[i]) {
            if (task_losses) task_losses[i] = 0;
            if (task_counts) task_counts[i] = 0;
            continue;
        }
        float l = os_head_loss(h, labels ? &labels[i] : NULL, h->loss_weight, &n);
        if (n > 0) total += h->loss_weight * l;
        if (task_losses) task_losses[i] = l;
        if (task_counts) task_counts[i] = n;
    }
    return total;
}

void os_model_backward(os_model *m, int frozen_below) {
    os_encoder_zero_output_grads(&m->enc, &m->acts);
    for (int i = 0; i < m->n_heads; i++)
        if (m->active[i]) os_head_backward(&m->heads[i], &m->params, &m->enc, &m->acts);
    os_encoder_backward(&m->enc, &m->params, &m->acts, frozen_below);
}
