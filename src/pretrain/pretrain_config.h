// The pretraining configuration (docs/pretraining.md): "model", "optimizer" and "schedule" as in a training
// config (docs/config.md), plus "data" (raw text files), "masking" and "training". Defaults are written back
// into the resolved JSON, so RUN_DIR/config.json records exactly what ran.
#ifndef ONESTONE_PRETRAIN_PRETRAIN_CONFIG_H
#define ONESTONE_PRETRAIN_PRETRAIN_CONFIG_H
#include "train/train_config.h"

typedef struct {
    os_train_config base;  // seed, model, optimizer, schedule and the training numbers (batch_size, epochs,
                           // max_steps, eval_every, save_every, grad_accumulation, log_every, max_grad_norm)
    char **train_files, **dev_files;
    int n_train, n_dev;
    long chunk_bytes;     // bytes read at a time
    long dev_max_blocks;  // dev blocks evaluated (the first ones)
    double mask_prob, mask_frac, random_frac;
    int whole_word;
} os_pretrain_config;

// Loads FILE, applies --set overrides ("path=value"), expands ${VAR}s and validates.
os_status os_pretrain_config_load(os_pretrain_config *c, const char *file, char *const *sets, int n_sets);
void os_pretrain_config_free(os_pretrain_config *c);
#endif
