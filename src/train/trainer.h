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

// An extension of the loss (distillation, src/distill): after_loss is called on every micro-batch after the
// labelled loss and before backward. It may add to the heads' logit gradients (and arm the encoder's
// extra_grad) and rewrite task_losses/task_counts (per model head) for logging; a failure stops training.
typedef struct {
    void *ctx;
    os_status (*after_loss)(void *ctx, int group, const os_batch *batch, const os_batch_input *in,
                            float *task_losses, int *task_counts);
    os_status (*save)(void *ctx, const char *checkpoint_dir);  // extra state written with every checkpoint
    os_status (*load)(void *ctx, const char *checkpoint_dir);  // and read back on --resume (both may be NULL)
} os_train_hook;

typedef struct {
    const char *run_dir;
    int resume;       // continue from RUN_DIR/checkpoint
    long max_steps;   // > 0: stop after this many optimizer steps (a budget cut; the schedule is unchanged)
    int quiet;        // no progress line
    const os_train_hook *hook;  // NULL: plain training
    void (*after_step)(os_params *p, void *ctx);  // called after every optimizer step (pruning masks), or NULL
    void *after_step_ctx;
} os_train_opts;

// The "onestone" metadata of a trained model directory's config.json (the tasks and datasets, for eval).
json_t *os_trainer_model_meta(const os_train_config *c);
// Trains rt's model; writes RUN_DIR as above. Returns OS_OK when training finished (or stopped early).
os_status os_train(os_runtime *rt, const os_train_opts *o);
#endif
