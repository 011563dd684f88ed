// Run-directory files shared by `onestone train` and `onestone pretrain`: checkpoints (model.safetensors +
// config.json, optimizer.safetensors with the moments as "exp_avg.NAME" / "exp_avg_sq.NAME" (torch's state
// names), state.json), model directories, and metrics.jsonl lines. Directories are replaced as a whole
// (written to DIR.tmp, then swapped in), so a crash leaves the old or the new version, never a mix.
#ifndef ONESTONE_TRAIN_TRAIN_STATE_H
#define ONESTONE_TRAIN_TRAIN_STATE_H
#include <jansson.h>
#include <stdio.h>

#include "model/model.h"
#include "optim/optimizer.h"
#include "tokenizer/tokenizer.h"

// Writes o's moments (those it has: none for plain SGD) for every entry of p to `path` atomically.
os_status os_optimizer_save_moments(const os_optimizer *o, const os_params *p, const char *path);
// Reads every entry of p by name from model_path (a model.safetensors) and o's moments from opt_path.
// A missing tensor or a shape mismatch fails naming the file and tensor.
os_status os_train_state_load_tensors(os_params *p, os_optimizer *o, const char *model_path, const char *opt_path);
// Writes checkpoint directory `dir`: m's weights, o's moments, `state` as state.json, and whatever `extra`
// (may be NULL) writes into the directory being assembled (called with ctx and that directory's path).
os_status os_checkpoint_write(const char *dir, const os_model *m, const os_optimizer *o, const json_t *state,
                              os_status (*extra)(void *ctx, const char *tmp_dir), void *ctx);
// Reads the weights and moments of checkpoint directory `dir` into p and o; *state gets its state.json
// (the caller json_decref's it; NULL on failure).
os_status os_checkpoint_read(const char *dir, os_params *p, os_optimizer *o, json_t **state);
// Writes model directory `dir`: m (with `meta` in config.json's "onestone" object, may be NULL) and tok's
// vocab.txt / tokenizer.json.
os_status os_model_dir_write(const char *dir, const os_model *m, const os_tokenizer *tok, const json_t *meta);
// Appends ev as one compact JSON line to f (flushed, so a killed run keeps whole lines) and releases ev.
void os_metrics_append(FILE *f, json_t *ev);
#endif
