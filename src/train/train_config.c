#include <stdlib.h>
#include <string.h>

#include "train/json_cfg.h"
#include "train/train_config.h"

static const char *const task_type_names[] = {"sequence_classification", "multi_label_classification", "regression",
                                              "token_classification", "relation_classification"};

const char *os_task_type_name(os_task_type t) { return task_type_names[t]; }

// Readers that also write the resolved value back, so the run's saved config shows every default.
static os_status rd_int(const os_cfg_ctx *c, json_t *o, const char *k, long def, long min, long max, long *out) {
    os_status st = os_cfg_int(c, o, k, def, min, max, out);
    if (!st) json_object_set_new(o, k, json_integer(*out));
    return st;
}
static os_status rd_num(const os_cfg_ctx *c, json_t *o, const char *k, double def, double min, double max, double *out) {
    os_status st = os_cfg_number(c, o, k, def, min, max, out);
    if (!st) json_object_set_new(o, k, json_real(*out));
    return st;
}
static os_status rd_bool(const os_cfg_ctx *c, json_t *o, const char *k, int def, int *out) {
    os_status st = os_cfg_bool(c, o, k, def, out);
    if (!st) json_object_set_new(o, k, json_boolean(*out));
    return st;
}
static os_status rd_str(const os_cfg_ctx *c, json_t *o, const char *k, const char *def, char **out) {
    const char *s;
    os_status st = os_cfg_string(c, o, k, def, &s);
    *out = NULL;
    if (st) return st;
    if (s) {
        *out = strdup(s);
        json_object_set_new(o, k, json_string(s));
    } else {
        json_object_set_new(o, k, json_null());
    }
    return OS_OK;
}
// The object at key, created empty when absent.
static os_status sub_object(const os_cfg_ctx *c, json_t *o, const char *k, json_t **out) {
    const json_t *v;
    os_status st = os_cfg_object(c, o, k, &v);
    if (st) return st;
    if (!v) {
        json_object_set_new(o, k, json_object());
        v = json_object_get(o, k);
    }
    *out = (json_t *)v;
    return OS_OK;
}

#define TRY(x)                  \
    do {                        \
        os_status st_ = (x);    \
        if (st_) return st_;    \
    } while (0)

static os_status parse_encoder(os_train_config *c, const os_cfg_ctx *ctx, json_t *e) {
    static const char *const keys[] = {"hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                                       "max_position_embeddings", "type_vocab_size", "hidden_dropout_prob",
                                       "attention_probs_dropout_prob", "initializer_range", "layer_norm_eps", NULL};
    TRY(os_cfg_check_keys(ctx, e, keys));
    os_bert_config *b = &c->encoder;
    os_bert_config_default(b);
    long v;
    double d;
    // BERT-Mini by default: the size this machine trains in minutes (HF's defaults are BERT-Base).
    TRY(rd_int(ctx, e, "hidden_size", 256, 1, 8192, &v));
    b->hidden_size = (int)v;
    TRY(rd_int(ctx, e, "num_hidden_layers", 4, 0, 128, &v));
    b->num_hidden_layers = (int)v;
    TRY(rd_int(ctx, e, "num_attention_heads", 4, 1, 256, &v));
    b->num_attention_heads = (int)v;
    TRY(rd_int(ctx, e, "intermediate_size", 1024, 1, 65536, &v));
    b->intermediate_size = (int)v;
    TRY(rd_int(ctx, e, "max_position_embeddings", 512, 1, 65536, &v));
    b->max_position_embeddings = (int)v;
    TRY(rd_int(ctx, e, "type_vocab_size", 2, 1, 64, &v));
    b->type_vocab_size = (int)v;
    TRY(rd_num(ctx, e, "hidden_dropout_prob", 0.1, 0, 0.99, &d));
    b->hidden_dropout_prob = (float)d;
    TRY(rd_num(ctx, e, "attention_probs_dropout_prob", 0.1, 0, 0.99, &d));
    b->attention_probs_dropout_prob = (float)d;
    TRY(rd_num(ctx, e, "initializer_range", 0.02, 0, 10, &d));
    b->initializer_range = (float)d;
    TRY(rd_num(ctx, e, "layer_norm_eps", 1e-12, 0, 1, &d));
    b->layer_norm_eps = (float)d;
    if (b->hidden_size % b->num_attention_heads)
        return os_cfg_error(ctx, "hidden_size", "(%d) must be divisible by num_attention_heads (%d)", b->hidden_size,
                            b->num_attention_heads);
    return OS_OK;
}

os_status os_train_config_parse_model(os_train_config *c, const os_cfg_ctx *root_ctx, json_t *root) {
    json_t *m, *e;
    os_cfg_ctx ctx = os_cfg_child(root_ctx, "model", 0);
    TRY(sub_object(root_ctx, root, "model", &m));
    static const char *const keys[] = {"init", "vocab", "lowercase", "max_seq_length", "encoder",
                                       "reinit_layers", "keep_init_tasks", NULL};
    TRY(os_cfg_check_keys(&ctx, m, keys));
    TRY(rd_str(&ctx, m, "init", NULL, &c->init));
    TRY(rd_str(&ctx, m, "vocab", NULL, &c->vocab));
    if (!c->init && !c->vocab)
        return os_cfg_error(&ctx, "vocab", "is required when model.init is not set (a vocab.txt, tokenizer.json or "
                                           "model directory)");
    const json_t *lc = json_object_get(m, "lowercase");
    c->lowercase = -1;
    if (lc && !json_is_null(lc)) TRY(rd_bool(&ctx, m, "lowercase", 1, &c->lowercase));
    TRY(rd_int(&ctx, m, "max_seq_length", 128, 8, 65536, &c->max_seq_length));
    TRY(rd_int(&ctx, m, "reinit_layers", 0, 0, 1000, &c->reinit_layers));
    TRY(rd_bool(&ctx, m, "keep_init_tasks", 0, &c->keep_init_tasks));
    if ((c->reinit_layers || c->keep_init_tasks) && !c->init)
        return os_cfg_error(&ctx, c->reinit_layers ? "reinit_layers" : "keep_init_tasks", "needs model.init");
    TRY(sub_object(&ctx, m, "encoder", &e));
    os_cfg_ctx ectx = os_cfg_child(&ctx, "encoder", 0);
    TRY(parse_encoder(c, &ectx, e));
    if (c->max_seq_length > c->encoder.max_position_embeddings)
        return os_cfg_error(&ctx, "max_seq_length", "(%ld) exceeds encoder.max_position_embeddings (%d)",
                            c->max_seq_length, c->encoder.max_position_embeddings);
    return OS_OK;
}

static int parse_type(const char *s, os_task_type *t) {
    for (int i = 0; i < 5; i++)
        if (!strcmp(s, task_type_names[i])) {
            *t = (os_task_type)i;
            return 0;
        }
    return -1;
}

static const char *default_metric(os_task_type t, const char *scheme) {
    switch (t) {
    case OS_TT_CLASSIFICATION: return "accuracy";
    case OS_TT_MULTILABEL: return "micro_f1";
    case OS_TT_REGRESSION: return "pearson";
    case OS_TT_TOKEN: return scheme && strcmp(scheme, "none") ? "entity_f1" : "accuracy";
    case OS_TT_RELATION: return "semeval_f1";
    }
    return "accuracy";
}

static int find_dataset(const os_train_config *c, const char *name) {
    for (int i = 0; i < c->n_datasets; i++)
        if (!strcmp(c->datasets[i].name, name)) return i;
    return -1;
}

static os_status parse_tasks(os_train_config *c, const os_cfg_ctx *root_ctx, json_t *root) {
    json_t *tasks = json_object_get(root, "tasks");
    if (!json_is_array(tasks) || json_array_size(tasks) == 0)
        return os_cfg_error(root_ctx, "tasks", "must be a non-empty array of task objects");
    if (json_array_size(tasks) > OS_MAX_TASKS) return os_cfg_error(root_ctx, "tasks", "has more than %d tasks", OS_MAX_TASKS);
    c->n_tasks = (int)json_array_size(tasks);
    c->tasks = calloc((size_t)c->n_tasks, sizeof *c->tasks);
    if (!c->tasks) return os_fail(OS_ERR_NOMEM, "out of memory");
    os_cfg_ctx tctx = os_cfg_child(root_ctx, "tasks", 0);
    for (int i = 0; i < c->n_tasks; i++) {
        json_t *t = json_array_get(tasks, (size_t)i);
        os_cfg_ctx ctx = os_cfg_child(&tctx, NULL, i);
        if (!json_is_object(t)) return os_cfg_error(&ctx, NULL, "must be an object");
        static const char *const keys[] = {"name", "type", "dataset", "data", "field", "loss_weight", "dropout",
                                           "metric", "scheme", "crf", "representation", NULL};
        TRY(os_cfg_check_keys(&ctx, t, keys));
        os_task_cfg *tc = &c->tasks[i];
        char *type = NULL, *repr = NULL;
        TRY(rd_str(&ctx, t, "name", NULL, &tc->name));
        if (!tc->name || !*tc->name || strchr(tc->name, '.') || strchr(tc->name, ','))
            return os_cfg_error(&ctx, "name", "must be a non-empty name without '.' or ','");
        for (int j = 0; j < i; j++)
            if (!strcmp(c->tasks[j].name, tc->name)) return os_cfg_error(&ctx, "name", "'%s' is used twice", tc->name);
        TRY(rd_str(&ctx, t, "type", NULL, &type));
        int bad_type = !type || parse_type(type, &tc->type);
        free(type);
        if (bad_type)
            return os_cfg_error(&ctx, "type", "must be one of sequence_classification, multi_label_classification, "
                                              "regression, token_classification, relation_classification");
        const json_t *inline_data;
        TRY(os_cfg_object(&ctx, t, "data", &inline_data));
        TRY(rd_str(&ctx, t, "dataset", NULL, &tc->dataset));
        if (inline_data && tc->dataset) return os_cfg_error(&ctx, "data", "and 'dataset' cannot both be given");
        if (inline_data) {  // the task's own dataset, named after the task
            if (find_dataset(c, tc->name) >= 0)
                return os_cfg_error(&ctx, "name", "'%s' is also the name of a dataset", tc->name);
            c->datasets = realloc(c->datasets, (size_t)(c->n_datasets + 1) * sizeof *c->datasets);
            c->datasets[c->n_datasets++] = (os_dataset_cfg){strdup(tc->name), inline_data};
            tc->dataset = strdup(tc->name);
        } else if (!tc->dataset) {
            return os_cfg_error(&ctx, "data", "is required (or 'dataset' naming an entry of 'datasets')");
        } else if (find_dataset(c, tc->dataset) < 0) {
            return os_cfg_error(&ctx, "dataset", "'%s' is not defined under 'datasets'", tc->dataset);
        }
        TRY(rd_str(&ctx, t, "field", "label", &tc->field));
        TRY(rd_num(&ctx, t, "loss_weight", 1.0, 0, 1e6, &tc->loss_weight));
        TRY(rd_num(&ctx, t, "dropout", -1, -1, 0.99, &tc->dropout));
        TRY(rd_str(&ctx, t, "scheme", tc->type == OS_TT_TOKEN ? "bio" : NULL, &tc->scheme));
        if (tc->type == OS_TT_TOKEN && strcmp(tc->scheme, "iob1") && strcmp(tc->scheme, "bio") &&
            strcmp(tc->scheme, "bioes") && strcmp(tc->scheme, "none"))
            return os_cfg_error(&ctx, "scheme", "must be iob1, bio, bioes or none (plain tags such as POS)");
        TRY(rd_bool(&ctx, t, "crf", 0, &tc->crf));
        if (tc->crf && tc->type != OS_TT_TOKEN) return os_cfg_error(&ctx, "crf", "applies to token_classification only");
        TRY(rd_str(&ctx, t, "representation", tc->type == OS_TT_RELATION ? "entity_start" : NULL, &repr));
        if (repr && strcmp(repr, "entity_start") && strcmp(repr, "cls")) {
            free(repr);
            return os_cfg_error(&ctx, "representation", "must be entity_start or cls");
        }
        tc->use_cls = repr && !strcmp(repr, "cls");
        free(repr);
        TRY(rd_str(&ctx, t, "metric", default_metric(tc->type, tc->scheme), &tc->metric));
    }
    return OS_OK;
}

static os_status parse_datasets(os_train_config *c, const os_cfg_ctx *root_ctx, json_t *root) {
    const json_t *ds;
    TRY(os_cfg_object(root_ctx, root, "datasets", &ds));
    if (!ds) return OS_OK;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)ds, key, v) {
        os_cfg_ctx ctx = os_cfg_child(root_ctx, "datasets", 0);
        if (!json_is_object(v)) return os_cfg_error(&ctx, key, "must be an object (format, train, ...)");
        c->datasets = realloc(c->datasets, (size_t)(c->n_datasets + 1) * sizeof *c->datasets);
        c->datasets[c->n_datasets++] = (os_dataset_cfg){strdup(key), v};
    }
    return OS_OK;
}

// "weighting": {"strategy", "grads": "params" | "rep", "affinity_every", and the strategy options}.
static os_status parse_weighting(os_train_config *c, const os_cfg_ctx *root_ctx, json_t *root) {
    json_t *w;
    os_cfg_ctx ctx = os_cfg_child(root_ctx, "weighting", 0);
    TRY(sub_object(root_ctx, root, "weighting", &w));
    static const char *const keys[] = {"strategy", "grads", "affinity_every", "dwa_T", "gradnorm_alpha",
                                       "gradnorm_lr", "cagrad_c", "cagrad_rescale", "mgda_normalize",
                                       "upgrad_norm_eps", "upgrad_reg_eps", "gradvac_beta", "famo_lr", "famo_gamma",
                                       "graddrop_leak", "dbmtl_beta", "dbmtl_beta_sigma", NULL};
    TRY(os_cfg_check_keys(&ctx, w, keys));
    TRY(rd_str(&ctx, w, "strategy", "static", &c->weighting));
    os_weighting *probe;
    if (os_weighting_create(c->weighting, 2, NULL, 0, &probe) != OS_OK)
        return os_cfg_error(&ctx, "strategy", "must be one of: %s", os_weighting_names());
    os_weighting_free(probe);
    char *grads;
    TRY(rd_str(&ctx, w, "grads", !strcmp(c->weighting, "mgda_ub") ? "rep" : "params", &grads));
    int bad = strcmp(grads, "params") && strcmp(grads, "rep");
    c->weighting_rep = !strcmp(grads, "rep");
    free(grads);
    if (bad) return os_cfg_error(&ctx, "grads", "must be \"params\" (shared parameters) or \"rep\" (shared representation)");
    if (!strcmp(c->weighting, "mgda_ub") && !c->weighting_rep)
        return os_cfg_error(&ctx, "grads", "mgda_ub works on the representation's gradients: use \"rep\"");
    TRY(rd_int(&ctx, w, "affinity_every", 0, 0, 1L << 40, &c->affinity_every));
    os_weighting_options *o = &c->wopt;
    os_weighting_default_options(o);
    double v;
#define OPT(key, field, lo, hi)                                   \
    TRY(rd_num(&ctx, w, key, (double)o->field, lo, hi, &v));      \
    o->field = (float)v;
    OPT("dwa_T", dwa_T, 1e-6, 1e6)
    OPT("gradnorm_alpha", gradnorm_alpha, 0, 1e3)
    OPT("gradnorm_lr", gradnorm_lr, 0, 1e3)
    OPT("cagrad_c", cagrad_c, 0, 1e3)
    OPT("upgrad_norm_eps", upgrad_norm_eps, 0, 1)
    OPT("upgrad_reg_eps", upgrad_reg_eps, 0, 1)
    OPT("gradvac_beta", gradvac_beta, 0, 1)
    OPT("famo_lr", famo_lr, 0, 1e3)
    OPT("famo_gamma", famo_gamma, 0, 1e3)
    OPT("graddrop_leak", graddrop_leak, 0, 1)
    OPT("dbmtl_beta", dbmtl_beta, 0, 1)
    OPT("dbmtl_beta_sigma", dbmtl_beta_sigma, 0, 10)
#undef OPT
    long r;
    TRY(rd_int(&ctx, w, "cagrad_rescale", o->cagrad_rescale, 0, 2, &r));
    o->cagrad_rescale = (int)r;
    static const char *const norms[] = {"none", "l2", "loss", "loss+"};
    char *norm;
    TRY(rd_str(&ctx, w, "mgda_normalize", norms[o->mgda_normalize], &norm));
    o->mgda_normalize = -1;
    for (int i = 0; i < 4; i++)
        if (!strcmp(norm, norms[i])) o->mgda_normalize = i;
    free(norm);
    if (o->mgda_normalize < 0) return os_cfg_error(&ctx, "mgda_normalize", "must be none, l2, loss or loss+");
    return OS_OK;
}

static os_status parse_sampling(os_train_config *c, const os_cfg_ctx *root_ctx, json_t *root) {
    json_t *s;
    os_cfg_ctx ctx = os_cfg_child(root_ctx, "sampling", 0);
    TRY(sub_object(root_ctx, root, "sampling", &s));
    static const char *const keys[] = {"strategy", "temperature", "cap", "probabilities", "epoch_steps", NULL};
    TRY(os_cfg_check_keys(&ctx, s, keys));
    char *strategy;
    TRY(rd_str(&ctx, s, "strategy", "proportional", &strategy));
    int bad = os_sample_kind_parse(strategy, &c->sampling);
    free(strategy);
    if (bad) return os_cfg_error(&ctx, "strategy", "must be proportional, uniform, temperature, fixed, annealed or all");
    TRY(rd_num(&ctx, s, "temperature", 1.0, 1e-6, 1e6, &c->temperature));
    TRY(rd_num(&ctx, s, "cap", 0, 0, 1e12, &c->cap));
    const json_t *probs;
    TRY(os_cfg_object(&ctx, s, "probabilities", &probs));
    if (c->sampling == OS_SAMPLE_FIXED && !probs)
        return os_cfg_error(&ctx, "probabilities", "is required for strategy 'fixed' ({\"DATASET\": weight, ...})");
    if (probs) {
        os_cfg_ctx pctx = os_cfg_child(&ctx, "probabilities", 0);
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)probs, key, v) {
            int d = find_dataset(c, key);
            if (d < 0) return os_cfg_error(&pctx, key, "names no dataset (task data sets are named after their task)");
            TRY(os_cfg_number(&pctx, probs, key, 0, 0, 1e12, &c->fixed[d]));
        }
    }
    // "sum" (default): an epoch is one pass over every dataset's batches, i.e. sum_i ceil(n_i / batch).
    const json_t *es = json_object_get(s, "epoch_steps");
    if (!es || json_is_null(es) || (json_is_string(es) && !strcmp(json_string_value(es), "sum"))) {
        c->epoch_steps = 0;
        json_object_set_new(s, "epoch_steps", json_string("sum"));
    } else {
        TRY(os_cfg_int(&ctx, s, "epoch_steps", 0, 1, 1L << 40, &c->epoch_steps));
    }
    return OS_OK;
}

static os_status parse_training(os_train_config *c, const os_cfg_ctx *root_ctx, json_t *root) {
    json_t *t, *es;
    os_cfg_ctx ctx = os_cfg_child(root_ctx, "training", 0);
    TRY(sub_object(root_ctx, root, "training", &t));
    static const char *const keys[] = {"batch_size", "epochs", "max_steps", "eval_every", "save_every",
                                       "grad_accumulation", "log_every", "max_grad_norm", "bucket_by_length",
                                       "on_nonfinite", "spike_factor",
                                       "early_stopping", "baselines", "trace_file", NULL};
    TRY(os_cfg_check_keys(&ctx, t, keys));
    TRY(rd_int(&ctx, t, "batch_size", 32, 1, 65536, &c->batch_size));
    TRY(rd_int(&ctx, t, "epochs", 3, 0, 1000000, &c->epochs));
    TRY(rd_int(&ctx, t, "max_steps", 0, 0, 1L << 40, &c->max_steps));
    TRY(rd_int(&ctx, t, "eval_every", 0, 0, 1L << 40, &c->eval_every));
    TRY(rd_int(&ctx, t, "save_every", 0, 0, 1L << 40, &c->save_every));
    TRY(rd_int(&ctx, t, "grad_accumulation", 1, 1, 65536, &c->grad_accumulation));
    TRY(rd_int(&ctx, t, "log_every", 50, 1, 1L << 40, &c->log_every));
    TRY(rd_num(&ctx, t, "max_grad_norm", 1.0, 0, 1e12, &c->max_grad_norm));
    TRY(rd_bool(&ctx, t, "bucket_by_length", 1, &c->bucket_by_length));
    char *nonfinite;
    TRY(rd_str(&ctx, t, "on_nonfinite", "stop", &nonfinite));
    int bad_nf = strcmp(nonfinite, "stop") && strcmp(nonfinite, "skip");
    c->skip_nonfinite = !strcmp(nonfinite, "skip");
    free(nonfinite);
    if (bad_nf) return os_cfg_error(&ctx, "on_nonfinite", "must be stop or skip");
    TRY(rd_num(&ctx, t, "spike_factor", 5.0, 0, 1e6, &c->spike_factor));
    TRY(rd_str(&ctx, t, "trace_file", NULL, &c->trace_file));
    if (c->epochs == 0 && c->max_steps == 0) return os_cfg_error(&ctx, "max_steps", "or 'epochs' must be positive");
    os_cfg_ctx ectx = os_cfg_child(&ctx, "early_stopping", 0);
    TRY(sub_object(&ctx, t, "early_stopping", &es));
    static const char *const ekeys[] = {"metric", "patience", NULL};
    TRY(os_cfg_check_keys(&ectx, es, ekeys));
    TRY(rd_str(&ectx, es, "metric", "mean", &c->early_metric));
    TRY(rd_int(&ectx, es, "patience", 0, 0, 1000000, &c->patience));
    int ok = !strcmp(c->early_metric, "mean") || !strcmp(c->early_metric, "delta_m");
    for (int i = 0; i < c->n_tasks; i++) ok |= !strcmp(c->early_metric, c->tasks[i].name);
    if (!ok) return os_cfg_error(&ectx, "metric", "must be 'mean', 'delta_m' or a task name, got '%s'", c->early_metric);
    const json_t *bl;
    TRY(os_cfg_object(&ctx, t, "baselines", &bl));
    if (bl) {
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)bl, key, v) {
            int found = 0;
            for (int i = 0; i < c->n_tasks; i++) found |= !strcmp(key, c->tasks[i].name);
            os_cfg_ctx bctx = os_cfg_child(&ctx, "baselines", 0);
            if (!found || !json_is_number(v))
                return os_cfg_error(&bctx, key, "must name a task and give its single-task score (a number)");
        }
        c->baselines = json_incref((json_t *)bl);
    }
    if (!strcmp(c->early_metric, "delta_m"))
        for (int i = 0; i < c->n_tasks; i++)
            if (!bl || !json_object_get(bl, c->tasks[i].name))
                return os_cfg_error(&ctx, "baselines", "needs a score for task '%s' when early_stopping.metric is delta_m",
                                    c->tasks[i].name);
    return OS_OK;
}

os_status os_train_config_parse_optimizer(os_train_config *c, const os_cfg_ctx *root_ctx, json_t *root) {
    json_t *o, *s;
    os_cfg_ctx ctx = os_cfg_child(root_ctx, "optimizer", 0);
    TRY(sub_object(root_ctx, root, "optimizer", &o));
    static const char *const keys[] = {"type", "lr", "weight_decay", "beta1", "beta2", "eps", "momentum", "nesterov",
                                       "head_lr", "layer_lr_decay", "freeze_embeddings", "freeze_layers",
                                       "freeze_encoder", "gradual_unfreezing", NULL};
    TRY(os_cfg_check_keys(&ctx, o, keys));
    char *type;
    TRY(rd_str(&ctx, o, "type", "adamw", &type));
    os_opt_kind kind;
    int bad = os_opt_kind_parse(type, &kind);
    free(type);
    if (bad) return os_cfg_error(&ctx, "type", "must be adamw, adam or sgd");
    c->opt = os_opt_defaults(kind);
    double d;
    TRY(rd_num(&ctx, o, "lr", 1e-4, 0, 100, &d));
    c->opt.lr = (float)d;
    TRY(rd_num(&ctx, o, "weight_decay", kind == OS_OPT_ADAMW ? 0.01 : 0.0, 0, 100, &d));
    c->opt.weight_decay = (float)d;
    TRY(rd_num(&ctx, o, "beta1", 0.9, 0, 0.999999, &d));
    c->opt.beta1 = (float)d;
    TRY(rd_num(&ctx, o, "beta2", 0.999, 0, 0.999999999, &d));
    c->opt.beta2 = (float)d;
    TRY(rd_num(&ctx, o, "eps", 1e-8, 0, 1, &d));
    c->opt.eps = (float)d;
    TRY(rd_num(&ctx, o, "momentum", 0, 0, 0.999999, &d));
    c->opt.momentum = (float)d;
    TRY(rd_bool(&ctx, o, "nesterov", 0, &c->opt.nesterov));
    if (c->opt.nesterov && c->opt.momentum <= 0) return os_cfg_error(&ctx, "nesterov", "needs momentum > 0");
    TRY(rd_num(&ctx, o, "head_lr", 0, 0, 100, &c->head_lr));
    TRY(rd_num(&ctx, o, "layer_lr_decay", 1, 1e-6, 1, &c->layer_lr_decay));
    TRY(rd_bool(&ctx, o, "freeze_embeddings", 0, &c->freeze_embeddings));
    TRY(rd_int(&ctx, o, "freeze_layers", 0, 0, 1000, &c->freeze_layers));
    TRY(rd_bool(&ctx, o, "freeze_encoder", 0, &c->freeze_encoder));
    json_t *gu;
    os_cfg_ctx gctx = os_cfg_child(&ctx, "gradual_unfreezing", 0);
    TRY(sub_object(&ctx, o, "gradual_unfreezing", &gu));
    static const char *const gkeys[] = {"every_steps", "every_epochs", NULL};
    TRY(os_cfg_check_keys(&gctx, gu, gkeys));
    TRY(rd_int(&gctx, gu, "every_steps", 0, 0, 1L << 40, &c->unfreeze_every_steps));
    TRY(rd_int(&gctx, gu, "every_epochs", 0, 0, 1000000, &c->unfreeze_every_epochs));
    if (c->unfreeze_every_steps && c->unfreeze_every_epochs)
        return os_cfg_error(&gctx, "every_epochs", "and 'every_steps' cannot both be set");

    os_cfg_ctx sctx = os_cfg_child(root_ctx, "schedule", 0);
    TRY(sub_object(root_ctx, root, "schedule", &s));
    static const char *const skeys[] = {"type", "warmup_steps", "warmup_ratio", NULL};
    TRY(os_cfg_check_keys(&sctx, s, skeys));
    char *stype;
    TRY(rd_str(&sctx, s, "type", "linear", &stype));
    bad = os_schedule_parse(stype, &c->schedule.kind);
    free(stype);
    if (bad) return os_cfg_error(&sctx, "type", "must be constant, constant_with_warmup, linear or cosine");
    TRY(rd_int(&sctx, s, "warmup_steps", 0, 0, 1L << 40, &c->schedule.warmup_steps));
    TRY(rd_num(&sctx, s, "warmup_ratio", 0, 0, 1, &c->warmup_ratio));
    return OS_OK;
}

static os_status parse_all(os_train_config *c) {
    os_cfg_ctx root_ctx = {c->file, ""};
    json_t *root = c->root;
    if (!json_is_object(root)) return os_fail(OS_ERR_INPUT, "%s: the configuration must be a JSON object", c->file);
    static const char *const keys[] = {"seed", "model", "datasets", "tasks", "sampling", "training", "optimizer",
                                       "schedule", "weighting", "description", "distill", NULL};
    TRY(os_cfg_check_keys(&root_ctx, root, keys));
    TRY(rd_int(&root_ctx, root, "seed", 42, 0, 1L << 62, &c->seed));
    TRY(os_train_config_parse_model(c, &root_ctx, root));
    TRY(parse_datasets(c, &root_ctx, root));
    TRY(parse_tasks(c, &root_ctx, root));
    TRY(parse_sampling(c, &root_ctx, root));
    TRY(parse_training(c, &root_ctx, root));
    TRY(os_train_config_parse_optimizer(c, &root_ctx, root));
    TRY(parse_weighting(c, &root_ctx, root));
    return OS_OK;
}

os_status os_train_config_load(os_train_config *c, const char *file, char *const *sets, int n_sets) {
    memset(c, 0, sizeof *c);
    json_error_t err;
    json_t *root = json_load_file(file, JSON_REJECT_DUPLICATES, &err);
    if (!root) {
        c->file = strdup(file);
        int missing = err.line < 0 || strstr(err.text, "unable to open");
        if (err.line < 0) return os_fail(missing ? OS_ERR_IO : OS_ERR_INPUT, "%s: %s", file, err.text);  // no position
        return os_fail(missing ? OS_ERR_IO : OS_ERR_INPUT, "%s:%d:%d: %s", file, err.line, err.column, err.text);
    }
    return os_train_config_from_json(c, root, file, sets, n_sets);
}

os_status os_train_config_from_json(os_train_config *c, json_t *root, const char *name, char *const *sets,
                                    int n_sets) {
    memset(c, 0, sizeof *c);
    c->file = strdup(name);
    c->root = root;
    const char *file = name;
    for (int i = 0; i < n_sets; i++) {
        os_status st = os_cfg_set(c->root, sets[i]);
        if (st) return st;
    }
    os_status st = os_cfg_expand_env(c->root, file);
    if (st) return st;
    return parse_all(c);
}

void os_train_config_free(os_train_config *c) {
    for (int i = 0; i < c->n_tasks; i++) {
        os_task_cfg *t = &c->tasks[i];
        free(t->name);
        free(t->dataset);
        free(t->field);
        free(t->metric);
        free(t->scheme);
    }
    free(c->tasks);
    for (int i = 0; i < c->n_datasets; i++) free(c->datasets[i].name);
    free(c->datasets);
    free(c->init);
    free(c->vocab);
    free(c->early_metric);
    free(c->trace_file);
    free(c->weighting);
    json_decref(c->baselines);
    json_decref(c->root);
    free(c->file);
    memset(c, 0, sizeof *c);
}
