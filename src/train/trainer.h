// The joint training loop: one dataset's batch per step (sampled across datasets), the weighted loss
// L = sum_i lambda_i L_i over the tasks that batch has labels for, gradient accumulation and clipping, a
// scheduled optimizer step; periodic dev evaluation with early stopping and a kept best model; crash-safe
// checkpoints for exact resume. Files in RUN_DIR (docs/training.md):
//   config.json      the resolved configuration          metrics.jsonl  one JSON object per log/eval event
//   best/            the best model directory            checkpoint/    state for --resume
//   summary.json     final dev scores of the best model
#ifndef ONESTONE_TRAIN_TRAINER_H
#define ONESTONE_TRAIN_TRAINER_H
#include "train/runtime.h"

typedef struct {
    const char *run_dir;
    int resume;       // continue from RUN_DIR/checkpoint
    long max_steps;   // > 0: stop after this many optimizer steps (a budget cut; the schedule is unchanged)
    int quiet;        // no progress line
    void (*after_step)(os_params *p, void *ctx);  // called after every optimizer step (pruning masks), or NULL
    void *after_step_ctx;
} os_train_opts;

// Trains rt's model; writes RUN_DIR as above. Returns OS_OK when training finished (or stopped early).
os_status os_train(os_runtime *rt, const os_train_opts *o);
#endif
