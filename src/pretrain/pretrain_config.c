#include <stdlib.h>
#include <string.h>

#include "pretrain/pretrain_config.h"

#define TRY(x)                  \
    do {                        \
        os_status st_ = (x);    \
        if (st_) return st_;    \
    } while (0)

// Readers that write the resolved value back into the JSON.
static os_status get_long(const os_cfg_ctx *c, json_t *o, const char *k, long def, long min, long max, long *out) {
    TRY(os_cfg_int(c, o, k, def, min, max, out));
    return json_object_set_new(o, k, json_integer(*out)) ? OS_ERR_NOMEM : OS_OK;
}
static os_status get_double(const os_cfg_ctx *c, json_t *o, const char *k, double def, double min, double max,
                            double *out) {
    TRY(os_cfg_number(c, o, k, def, min, max, out));
    return json_object_set_new(o, k, json_real(*out)) ? OS_ERR_NOMEM : OS_OK;
}

// An object member, created empty when absent; present but not an object: an error.
static os_status section(const os_cfg_ctx *root, json_t *o, const char *k, json_t **out) {
    const json_t *v;
    TRY(os_cfg_object(root, o, k, &v));
    if (!v) {
        json_object_set_new(o, k, json_object());
        v = json_object_get(o, k);
    }
    *out = (json_t *)v;
    return OS_OK;
}

// "train": "file" or ["file", ...]
static os_status file_list(const os_cfg_ctx *ctx, json_t *d, const char *k, int required, char ***out, int *n) {
    json_t *v = json_object_get(d, k);
    *out = NULL;
    *n = 0;
    if (!v || json_is_null(v)) return required ? os_cfg_error(ctx, k, "is required (a text file or a list of them)") : OS_OK;
    if (json_is_string(v)) {
        json_t *a = json_array();
        json_array_append(a, v);
        json_object_set_new(d, k, a);
        v = a;
    }
    if (!json_is_array(v) || (required && json_array_size(v) == 0))
        return os_cfg_error(ctx, k, "must be a text file name or a non-empty list of them");
    *out = calloc(json_array_size(v) + 1, sizeof(char *));
    if (!*out) return OS_ERR_NOMEM;
    for (size_t i = 0; i < json_array_size(v); i++) {
        const char *s = json_string_value(json_array_get(v, i));
        if (!s || !*s) return os_cfg_error(ctx, k, "entry %zu must be a file name", i);
        (*out)[(*n)++] = strdup(s);
    }
    return OS_OK;
}

static os_status parse_all(os_pretrain_config *pc) {
    os_train_config *c = &pc->base;
    os_cfg_ctx root_ctx = {c->file, ""};
    json_t *root = c->root;
    if (!json_is_object(root)) return os_fail(OS_ERR_INPUT, "%s: the configuration must be a JSON object", c->file);
    static const char *const keys[] = {"seed", "model", "data", "masking", "training", "optimizer", "schedule",
                                       "description", NULL};
    TRY(os_cfg_check_keys(&root_ctx, root, keys));
    TRY(get_long(&root_ctx, root, "seed", 42, 0, 1L << 62, &c->seed));
    TRY(os_train_config_parse_model(c, &root_ctx, root));
    if (c->reinit_layers || c->keep_init_tasks)
        return os_cfg_error(&root_ctx, "model", "reinit_layers / keep_init_tasks apply to fine-tuning only");

    json_t *d, *m, *t;
    TRY(section(&root_ctx, root, "data", &d));
    os_cfg_ctx dctx = os_cfg_child(&root_ctx, "data", 0);
    static const char *const dkeys[] = {"train", "dev", "chunk_bytes", "dev_max_blocks", NULL};
    TRY(os_cfg_check_keys(&dctx, d, dkeys));
    TRY(file_list(&dctx, d, "train", 1, &pc->train_files, &pc->n_train));
    TRY(file_list(&dctx, d, "dev", 0, &pc->dev_files, &pc->n_dev));
    TRY(get_long(&dctx, d, "chunk_bytes", 1L << 20, 1, 1L << 32, &pc->chunk_bytes));
    TRY(get_long(&dctx, d, "dev_max_blocks", 500, 1, 1L << 40, &pc->dev_max_blocks));

    TRY(section(&root_ctx, root, "masking", &m));
    os_cfg_ctx mctx = os_cfg_child(&root_ctx, "masking", 0);
    static const char *const mkeys[] = {"probability", "mask", "random", "whole_word", NULL};
    TRY(os_cfg_check_keys(&mctx, m, mkeys));
    TRY(get_double(&mctx, m, "probability", 0.15, 1e-6, 1, &pc->mask_prob));
    TRY(get_double(&mctx, m, "mask", 0.8, 0, 1, &pc->mask_frac));
    TRY(get_double(&mctx, m, "random", 0.1, 0, 1, &pc->random_frac));
    if (pc->mask_frac + pc->random_frac > 1 + 1e-9)
        return os_cfg_error(&mctx, "random", "+ 'mask' must not exceed 1 (the rest keeps the original token)");
    TRY(os_cfg_bool(&mctx, m, "whole_word", 0, &pc->whole_word));
    json_object_set_new(m, "whole_word", json_boolean(pc->whole_word));

    TRY(section(&root_ctx, root, "training", &t));
    os_cfg_ctx tctx = os_cfg_child(&root_ctx, "training", 0);
    static const char *const tkeys[] = {"batch_size", "epochs", "max_steps", "eval_every", "save_every",
                                        "grad_accumulation", "log_every", "max_grad_norm", NULL};
    TRY(os_cfg_check_keys(&tctx, t, tkeys));
    TRY(get_long(&tctx, t, "batch_size", 32, 1, 65536, &c->batch_size));
    TRY(get_long(&tctx, t, "epochs", 1, 0, 1000000, &c->epochs));
    TRY(get_long(&tctx, t, "max_steps", 0, 0, 1L << 40, &c->max_steps));
    TRY(get_long(&tctx, t, "eval_every", 0, 0, 1L << 40, &c->eval_every));
    TRY(get_long(&tctx, t, "save_every", 0, 0, 1L << 40, &c->save_every));
    TRY(get_long(&tctx, t, "grad_accumulation", 1, 1, 65536, &c->grad_accumulation));
    TRY(get_long(&tctx, t, "log_every", 50, 1, 1L << 40, &c->log_every));
    TRY(get_double(&tctx, t, "max_grad_norm", 1.0, 0, 1e12, &c->max_grad_norm));
    if (c->epochs == 0 && c->max_steps == 0) return os_cfg_error(&tctx, "max_steps", "or 'epochs' must be positive");

    TRY(os_train_config_parse_optimizer(c, &root_ctx, root));
    if (c->freeze_embeddings || c->freeze_layers || c->freeze_encoder || c->unfreeze_every_steps ||
        c->unfreeze_every_epochs || c->head_lr > 0)
        return os_cfg_error(&root_ctx, "optimizer", "freezing, gradual unfreezing and head_lr apply to fine-tuning only");
    return OS_OK;
}

os_status os_pretrain_config_load(os_pretrain_config *pc, const char *file, char *const *sets, int n_sets) {
    memset(pc, 0, sizeof *pc);
    os_train_config *c = &pc->base;
    c->file = strdup(file);
    json_error_t err;
    c->root = json_load_file(file, JSON_REJECT_DUPLICATES, &err);
    if (!c->root) {
        int missing = err.line < 0 || strstr(err.text, "unable to open");
        if (err.line < 0) return os_fail(missing ? OS_ERR_IO : OS_ERR_INPUT, "%s: %s", file, err.text);
        return os_fail(missing ? OS_ERR_IO : OS_ERR_INPUT, "%s:%d:%d: %s", file, err.line, err.column, err.text);
    }
    for (int i = 0; i < n_sets; i++) TRY(os_cfg_set(c->root, sets[i]));
    TRY(os_cfg_expand_env(c->root, file));
    return parse_all(pc);
}

void os_pretrain_config_free(os_pretrain_config *pc) {
    for (int i = 0; i < pc->n_train; i++) free(pc->train_files[i]);
    for (int i = 0; i < pc->n_dev; i++) free(pc->dev_files[i]);
    free(pc->train_files);
    free(pc->dev_files);
    os_train_config_free(&pc->base);
    memset(pc, 0, sizeof *pc);
}
