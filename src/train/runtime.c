#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/checkpoint.h"
#include "train/data_load.h"
#include "train/evaluate.h"
#include "train/runtime.h"
#include "util/fileio.h"

static const char *const entity_markers[] = {"<e1>", "</e1>", "<e2>", "</e2>"};

static os_task_level level_of(const os_task_cfg *t) {
    if (t->type == OS_TT_TOKEN) return OS_TASK_TOKEN;
    if (t->type == OS_TT_RELATION && !t->use_cls) return OS_TASK_ENTITY_PAIR;
    return OS_TASK_SEQUENCE;
}

static os_problem problem_of(const os_task_cfg *t) {
    if (t->type == OS_TT_MULTILABEL) return OS_PROBLEM_MULTI_LABEL;
    if (t->type == OS_TT_REGRESSION) return OS_PROBLEM_REGRESSION;
    return OS_PROBLEM_SINGLE_LABEL;
}

static os_label_kind kind_of(os_task_type t) {
    switch (t) {
    case OS_TT_MULTILABEL: return OS_LABEL_MULTI;
    case OS_TT_REGRESSION: return OS_LABEL_NUMBER;
    case OS_TT_TOKEN: return OS_LABEL_TAGS;
    default: return OS_LABEL_CLASS;
    }
}

static const char *kind_name(os_label_kind k) {
    static const char *const names[] = {"missing", "class", "multi", "number", "tags"};
    return names[k];
}

// Copies every tensor of `from` whose name and shape match into `to`; word embeddings are copied row by
// row when the vocabulary grew (added entity markers keep their fresh initialisation).
// With reinit_top > 0 the top reinit_top encoder layers and the pooler keep their fresh initialisation
// ("re-initialising the top layers" for fine-tuning, Zhang et al. 2021).
static int copy_matching(os_model *to, const os_model *from, int reinit_top) {
    int copied = 0;
    const int L = to->cfg.num_hidden_layers;
    for (int i = 0; i < to->params.n; i++) {
        const os_param_entry *e = &to->params.entries[i];
        const char *lp = strstr(e->name, "bert.encoder.layer.");
        int layer = lp ? atoi(lp + strlen("bert.encoder.layer.")) : -1;
        if (reinit_top > 0 && (layer >= L - reinit_top || strstr(e->name, "bert.pooler."))) continue;
        int j = os_params_find(&from->params, e->name);
        if (j < 0) continue;
        const os_param_entry *f = &from->params.entries[j];
        if (f->ndim != e->ndim) continue;
        int same = 1;
        for (int d = 0; d < e->ndim; d++) same &= f->shape[d] == e->shape[d];
        if (!same && strstr(e->name, "word_embeddings") && e->ndim == 2 && f->shape[1] == e->shape[1] &&
            f->shape[0] <= e->shape[0]) {
            memcpy(to->params.data + e->offset, from->params.data + f->offset, f->numel * sizeof(float));
            copied++;
            continue;
        }
        if (!same) continue;
        memcpy(to->params.data + e->offset, from->params.data + f->offset, e->numel * sizeof(float));
        copied++;
    }
    return copied;
}

static os_status build_model(os_runtime *rt, FILE *log) {
    os_train_config *cfg = rt->cfg;
    os_bert_config enc = cfg->encoder;
    const os_model *init = rt->init_model;
    int have_init = init != NULL;
    if (have_init) {
        enc = init->cfg;  // the encoder's shape comes from the checkpoint
        enc.hidden_dropout_prob = cfg->encoder.hidden_dropout_prob;
        enc.attention_probs_dropout_prob = cfg->encoder.attention_probs_dropout_prob;
    }
    int vs = os_tokenizer_vocab_size(rt->tok);
    if (vs > enc.vocab_size || !have_init) enc.vocab_size = vs;
    os_special_ids sp = os_tokenizer_special_ids(rt->tok);
    enc.pad_token_id = sp.pad >= 0 ? sp.pad : 0;
    os_task_spec specs[OS_MAX_TASKS];
    memset(specs, 0, sizeof specs);
    for (int i = 0; i < rt->n_tasks; i++) {
        const os_task_rt *t = &rt->tasks[i];
        const os_task_cfg *tc = t->cfg;
        specs[i] = (os_task_spec){.name = tc->name, .level = level_of(tc), .problem = problem_of(tc),
                                  .num_labels = t->vocab.num_labels, .labels = (const char *const *)t->vocab.names,
                                  .dropout = (float)tc->dropout, .loss_weight = (float)tc->loss_weight,
                                  .crf = tc->crf};
        if (tc->type == OS_TT_TOKEN)
            specs[i].tag_scheme = t->vocab.convert_iob1 ? "bio" : tc->scheme;
        if (tc->type == OS_TT_REGRESSION) specs[i].labels = NULL;
    }
    // model.keep_init_tasks: the init model's other tasks stay, as heads without data (never trained here).
    int n_heads = rt->n_tasks;
    for (int h = 0; cfg->keep_init_tasks && h < init->n_heads; h++) {
        const os_head *ih = &init->heads[h];
        int listed = 0;
        for (int i = 0; i < rt->n_tasks; i++) listed |= !strcmp(rt->tasks[i].cfg->name, ih->name);
        if (listed) continue;
        if (n_heads == OS_MAX_TASKS) return os_fail(OS_ERR_INPUT, "%s: more than %d tasks with the kept ones", cfg->file, OS_MAX_TASKS);
        specs[n_heads++] = (os_task_spec){.name = ih->name, .level = ih->level, .problem = ih->problem,
                                          .num_labels = ih->num_labels, .labels = (const char *const *)ih->labels,
                                          .dropout = ih->dropout, .loss_weight = ih->loss_weight,
                                          .param_prefix = init->head_prefixes[h], .crf = ih->crf,
                                          .tag_scheme = ih->tag_scheme};
        if (log) fprintf(log, "init: keeping task '%s' of %s (not trained here)\n", ih->name, cfg->init);
    }
    if (cfg->reinit_layers > enc.num_hidden_layers)
        return os_fail(OS_ERR_INPUT, "%s: field 'model.reinit_layers' (%ld) exceeds the encoder's %d layers", cfg->file,
                       cfg->reinit_layers, enc.num_hidden_layers);
    // A compressed init (int8 / pruned layers, src/deploy) hands its layers over: evaluation only.
    const int compressed = have_init && init->deploy;
    os_status st = compressed ? os_model_create_for_deploy(&rt->model, &enc, specs, n_heads, 1)
                              : os_model_create(&rt->model, &enc, specs, n_heads, 1);
    if (!st) {
        os_model_init_weights(&rt->model, (uint64_t)cfg->seed);
        if (have_init) {
            int n = copy_matching(&rt->model, init, (int)cfg->reinit_layers);
            if (log) fprintf(log, "init: %d of %d tensors loaded from %s\n", n, rt->model.params.n, cfg->init);
        }
        if (compressed) rt->model.deploy = rt->init_model->deploy, rt->init_model->deploy = NULL;
    }
    return st;
}

static int find_group(const os_runtime *rt, const char *name) {
    for (int g = 0; g < rt->n_groups; g++)
        if (!strcmp(rt->groups[g].name, name)) return g;
    return -1;
}

static os_status bind_task(os_runtime *rt, int i, FILE *log) {
    os_task_rt *t = &rt->tasks[i];
    os_group_rt *g = &rt->groups[t->group];
    const os_dataset *train = g->data[OS_SPLIT_TRAIN];
    t->field = os_dataset_field(train, t->cfg->field);
    if (t->field < 0) {
        char fields[300] = "";
        for (int f = 0; f < train->n_fields; f++) {
            if (strlen(fields) + strlen(train->fields[f].name) + 3 >= sizeof fields) break;
            strcat(fields, f ? ", " : "");
            strcat(fields, train->fields[f].name);
        }
        return os_fail(OS_ERR_INPUT, "%s: task '%s': dataset '%s' has no field '%s' (its fields: %s); set the task's "
                                     "\"field\"", rt->cfg->file, t->cfg->name, g->name, t->cfg->field, fields);
    }
    os_label_kind want = kind_of(t->cfg->type), have = train->fields[t->field].kind;
    if (want != have)
        return os_fail(OS_ERR_INPUT, "%s: task '%s' (%s) needs %s labels but field '%s' of dataset '%s' holds %s labels",
                       rt->cfg->file, t->cfg->name, os_task_type_name(t->cfg->type), kind_name(want), t->cfg->field,
                       g->name, kind_name(have));
    if (t->cfg->type == OS_TT_TOKEN && !train->ex[0].words)
        return os_fail(OS_ERR_INPUT, "%s: task '%s' is token-level but dataset '%s' is not word-split", rt->cfg->file,
                       t->cfg->name, g->name);
    // Starting from a model that has this task: keep its labels (and their order), so its head stays valid.
    int init_head = rt->init_model ? os_model_find_task(rt->init_model, t->cfg->name) : -1;
    const os_head *ih = init_head >= 0 ? &rt->init_model->heads[init_head] : NULL;
    os_status st = os_label_vocab_build(&t->vocab, t->cfg, train, t->field,
                                        ih && ih->labels ? (const char *const *)ih->labels : NULL,
                                        ih ? ih->num_labels : 0);
    if (st) return st;
    const char *avail;
    if (!os_metric_available(t->cfg->type, t->vocab.entity_tags, t->cfg->metric, &avail))
        return os_fail(OS_ERR_INPUT, "%s: task '%s': metric '%s' is not computed for this task (available: %s)",
                       rt->cfg->file, t->cfg->name, t->cfg->metric, avail);
    for (int s = 0; s < 2; s++) {
        const os_dataset *ds = g->data[s];
        int field = os_dataset_field(ds, t->cfg->field);
        if (field < 0) return os_fail(OS_ERR_INPUT, "task '%s': the dev data of '%s' lacks field '%s'", t->cfg->name, g->name, t->cfg->field);
        st = os_task_labels_build(&t->labels[s], t->cfg, &t->vocab, ds, field, &g->feats[s]);
        if (st) return st;
        const os_task_labels *l = &t->labels[s];
        if (l->n_unknown && log)
            fprintf(log, "warning: task '%s': %zu %s label(s) not seen in training were masked out (first: '%s' at "
                         "%s:%zu)\n", t->cfg->name, l->n_unknown, s ? "dev" : "train", l->first_unknown,
                    l->first_unknown_file, l->first_unknown_line);
    }
    if (t->labels[OS_SPLIT_TRAIN].n_labeled == 0)
        return os_fail(OS_ERR_INPUT, "task '%s': dataset '%s' has no training example labelled in field '%s'",
                       t->cfg->name, g->name, t->cfg->field);
    return OS_OK;
}

os_status os_runtime_build(os_runtime *rt, os_train_config *cfg, void *logp) {
    FILE *log = logp;
    memset(rt, 0, sizeof *rt);
    rt->cfg = cfg;
    os_tokenizer_options to = os_tokenizer_options_default();
    to.lowercase = cfg->lowercase;
    // An onestone pretraining run directory stands for its model (RUN_DIR/model).
    char *run_model = cfg->init ? os_path_join(cfg->init, "model") : NULL;
    char *run_weights = run_model ? os_path_join(run_model, "model.safetensors") : NULL;
    char *init_weights = cfg->init ? os_path_join(cfg->init, "model.safetensors") : NULL;
    if (init_weights && !os_path_exists(init_weights) && os_path_exists(run_weights)) {
        free(cfg->init);
        cfg->init = run_model;
        run_model = NULL;
    }
    free(run_model);
    free(run_weights);
    free(init_weights);
    os_status st = os_tokenizer_load(cfg->init ? cfg->init : cfg->vocab, &to, &rt->tok);
    if (st) return st;
    if (cfg->init) {
        rt->init_model = calloc(1, sizeof *rt->init_model);
        if (!rt->init_model) return os_fail(OS_ERR_NOMEM, "out of memory");
        if ((st = os_model_load(rt->init_model, cfg->init))) {
            free(rt->init_model);
            rt->init_model = NULL;
            return st;
        }
    }
    int need_markers = 0;
    for (int i = 0; i < cfg->n_tasks; i++) need_markers |= cfg->tasks[i].type == OS_TT_RELATION;
    for (int k = 0; need_markers && k < 4 && !st; k++) st = os_tokenizer_add_special_token(rt->tok, entity_markers[k], NULL);
    if (st) return st;
    os_special_ids sp = os_tokenizer_special_ids(rt->tok);
    rt->pad_id = sp.pad >= 0 ? sp.pad : 0;

    // Datasets that some task uses, in config order.
    for (int d = 0; d < cfg->n_datasets; d++) {
        int used = 0;
        for (int i = 0; i < cfg->n_tasks; i++) used |= !strcmp(cfg->tasks[i].dataset, cfg->datasets[d].name);
        if (!used) continue;
        os_group_rt *g = &rt->groups[rt->n_groups++];
        g->name = cfg->datasets[d].name;
        char path[200];
        snprintf(path, sizeof path, "datasets.%s", g->name);
        st = os_data_load(cfg->datasets[d].spec, cfg->file, path, (uint64_t)cfg->seed, &g->data[0], &g->data[1]);
        if (st) return st;
    }
    rt->n_tasks = cfg->n_tasks;
    for (int i = 0; i < cfg->n_tasks; i++) {
        os_task_rt *t = &rt->tasks[i];
        t->cfg = &cfg->tasks[i];
        t->head = i;
        t->group = find_group(rt, t->cfg->dataset);
        os_group_rt *g = &rt->groups[t->group];
        g->tasks[g->n_tasks++] = i;
    }
    for (int gi = 0; gi < rt->n_groups; gi++) {
        os_group_rt *g = &rt->groups[gi];
        int markers = 0;
        for (int k = 0; k < g->n_tasks; k++) markers |= cfg->tasks[g->tasks[k]].type == OS_TT_RELATION;
        for (int s = 0; s < 2 && !st; s++)
            st = os_featurize(g->data[s], rt->tok, (int)cfg->max_seq_length, markers, &g->feats[s]);
        if (st) return st;
        if (log)
            fprintf(log, "data %s: %zu train / %zu dev examples (%zu / %zu truncated to %ld pieces), tasks:", g->name,
                    g->feats[0].n, g->feats[1].n, g->feats[0].n_truncated, g->feats[1].n_truncated, cfg->max_seq_length);
        for (int k = 0; k < g->n_tasks && log; k++) fprintf(log, " %s", cfg->tasks[g->tasks[k]].name);
        if (log) fprintf(log, "\n");
    }
    for (int i = 0; i < rt->n_tasks && !st; i++) st = bind_task(rt, i, log);
    if (st) return st;
    st = build_model(rt, log);
    if (st) return st;
    for (int gi = 0; gi < rt->n_groups; gi++) {
        os_group_rt *g = &rt->groups[gi];
        for (int s = 0; s < 2; s++) {
            os_batch_tasks *bt = &g->bt[s];
            bt->n = g->n_tasks;
            for (int k = 0; k < g->n_tasks; k++) {
                const os_task_rt *t = &rt->tasks[g->tasks[k]];
                bt->head[k] = t->head;
                bt->labels[k] = &t->labels[s];
                bt->num_labels[k] = t->vocab.num_labels;
                bt->type[k] = t->cfg->type;
            }
        }
        for (int k = 0; k < g->n_tasks; k++) g->active[rt->tasks[g->tasks[k]].head] = 1;
    }
    return OS_OK;
}

void os_runtime_word_first(const os_group_rt *g, int split, const os_batch *b, uint8_t *out) {
    const os_featset *f = &g->feats[split];
    memset(out, 0, (size_t)b->B * b->T);
    if (!f->first_piece) return;
    for (int r = 0; r < b->B; r++) {
        size_t e = b->examples[r];
        for (size_t w = f->word_start[e]; w < f->word_start[e + 1]; w++)
            if (f->first_piece[w] >= 0) out[(size_t)r * b->T + f->first_piece[w]] = 1;
    }
}

void os_runtime_free(os_runtime *rt) {
    for (int i = 0; i < rt->n_tasks; i++) {
        os_label_vocab_free(&rt->tasks[i].vocab);
        for (int s = 0; s < 2; s++) os_task_labels_free(&rt->tasks[i].labels[s]);
    }
    for (int g = 0; g < rt->n_groups; g++) {
        for (int s = 0; s < 2; s++) {
            os_featset_free(&rt->groups[g].feats[s]);
            os_dataset_free(rt->groups[g].data[s]);
        }
        os_batch_free(&rt->groups[g].batch);
        os_batch_plan_free(&rt->groups[g].plan);
    }
    os_model_free(&rt->model);
    if (rt->init_model) os_model_free(rt->init_model);
    free(rt->init_model);
    os_tokenizer_free(rt->tok);
    memset(rt, 0, sizeof *rt);
}
