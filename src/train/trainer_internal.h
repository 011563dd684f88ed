// The trainer's state, shared by the files of the training loop (trainer.c: loop, checkpoints, evaluation;
// mtl_step.c: adaptive weighting and gradient balancing; affinity.c: the task-affinity probe).
#ifndef ONESTONE_TRAIN_TRAINER_INTERNAL_H
#define ONESTONE_TRAIN_TRAINER_INTERNAL_H
#include <jansson.h>
#include <stdio.h>

#include "optim/optimizer.h"
#include "train/runtime.h"
#include "train/sampler.h"
#include "train/trace.h"
#include "train/trainer.h"

typedef struct os_balancer os_balancer;

typedef struct {
    os_runtime *rt;
    const os_train_config *cfg;
    const os_train_opts *opts;
    char *dir_best, *dir_ckpt, *metrics_path;
    FILE *metrics;
    os_optimizer opt;
    os_sampler sampler;
    long step, total_steps, epoch_steps, eval_every, save_every;
    int frozen_below;
    long released;  // layers released by gradual unfreezing (-1: off)
    double best_score;
    long best_step, bad_evals;
    json_t *best_eval;  // dev metrics of the best evaluation
    // logging window
    double loss_sum[OS_MAX_TASKS];
    long loss_n[OS_MAX_TASKS], window_tokens, window_steps;
    double window_start, run_start;
    long skipped_steps;
    long group_batches[OS_MAX_TASKS];  // micro-batches drawn from each dataset
    double best_delta_m;               // delta_m of the best evaluation (NaN without baselines)
    const char *bad_task;              // task whose loss was non-finite in the current step (NULL: none)
    double loss_ema[OS_MAX_TASKS];     // running average of each task's loss (spike detection)
    long loss_obs[OS_MAX_TASKS], spikes;
    os_balancer *bal;                  // adaptive weighting state (NULL: static lambda_i, the plain weighted sum)
    double weight_sum[OS_MAX_TASKS];   // logging window: sum of each task's effective weight
    long weight_n[OS_MAX_TASKS];
    uint8_t *word_first;               // (B*T) word-first flags of the current batch (CRF heads read them)
    size_t word_first_cap;
    os_trace trace;                    // training.trace_file (off: every trace call is a no-op)
} trainer;

uint64_t os_trainer_mix(uint64_t a, uint64_t b);
// Appends one JSON object (consumed) as a line of metrics.jsonl.
void os_trainer_log_event(trainer *t, json_t *ev);
// Draws group gi's next training batch, collates it and runs the forward pass (training mode).
// *idx / *B receive the batch's example indices (valid until the group's next plan).
os_status os_trainer_forward_next(trainer *t, int gi, uint64_t seed, const size_t **idx, int *B);
// Collates examples idx[0..B) of group gi's split and runs the forward pass.
os_status os_trainer_forward_batch(trainer *t, int gi, int split, const size_t *idx, int B, int training,
                                   uint64_t seed);
// Checks and records task ti's loss of this micro-step (window sums, spike detection). Returns an error for
// a non-finite loss unless training.on_nonfinite is skip (then t->bad_task is set).
os_status os_trainer_record_loss(trainer *t, int ti, float loss);

// ---- mtl_step.c ----
// Floats of the shared (encoder, "bert.*") parameters: they come first in the store, [0, D).
size_t os_shared_param_count(const os_params *p);
// os_model_loss with per-task weights w (n_tasks; NULL = 1 each) instead of the static lambda_i.
float os_trainer_task_loss(trainer *t, const float *w, const os_head_labels *labels, float *losses, int *counts);
// Backward of task ti's loss alone (its head active, the others off) into params.grad (accumulating).
void os_trainer_backward_task(trainer *t, int ti);
// Creates the balancer for cfg->weighting (NULL for "static": the plain weighted sum, unchanged).
os_status os_balancer_create(trainer *t, os_balancer **out);
void os_balancer_free(os_balancer *b);
// 1 when every optimizer step takes one batch of every dataset and combines per-task gradients.
int os_balancer_all_tasks(const os_balancer *b);
// Epoch length in steps for a balanced run (all-task steps see one batch of every dataset per step).
long os_balancer_epoch_steps(const os_balancer *b, long sum_of_batches, int n_groups);
// Loss weights of this step's tasks, before the micro-steps (loss-weighting strategies).
os_status os_balancer_begin_step(trainer *t);
// The weighted loss of the current forward (loss-weighting path); fills losses/counts per head.
float os_balancer_loss(trainer *t, const os_head_labels *labels, float *losses, int *counts);
// One all-tasks step: a batch of every dataset per micro-step, per-task gradients, the strategy's combination
// written into params.grad.
os_status os_balancer_all_tasks_step(trainer *t, uint64_t seed);
// After the optimizer update: UW's log-variances, DWA's epoch history.
os_status os_balancer_end_step(trainer *t, float lr);
json_t *os_balancer_state(const trainer *t);
os_status os_balancer_load_state(trainer *t, const json_t *s, const char *where);
// DB-MTL's gradient buffer travels in the checkpoint directory.
os_status os_balancer_save_buffers(const trainer *t, const char *dir);
os_status os_balancer_load_buffers(trainer *t, const char *dir);

// ---- affinity.c ----
// Records task affinity (gradient cosine and Fifty et al.'s lookahead) on probe batches; logged as an
// "affinity" event. Call between optimizer steps (it overwrites params.grad).
os_status os_affinity_probe(trainer *t, float lr);
// Writes RUN_DIR/affinity.json from the run's metrics.jsonl (also what `onestone affinity` prints).
os_status os_affinity_report(const char *run_dir, FILE *out);
#endif
