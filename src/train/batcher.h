// Batches: which examples go together (a plan per pass over a dataset, seeded, optionally bucketed by length
// so padding stays small), and collation into padded model inputs plus every task's labels.
#ifndef ONESTONE_TRAIN_BATCHER_H
#define ONESTONE_TRAIN_BATCHER_H
#include "model/model.h"
#include "tasks/features.h"
#include "tasks/task_labels.h"
#include "train/sampler.h"

typedef struct {
    size_t *order;        // (n) example indices in batch order
    size_t n;
    size_t *batch_start;  // (n_batches+1) batch b = order[batch_start[b] .. batch_start[b+1])
    size_t n_batches;
} os_batch_plan;

// One pass over f in random order (seeded). With `bucket`, examples are sorted by length inside windows of
// 50 batches and the batches are shuffled again, so each batch holds similar lengths (dynamic padding).
// shuffle 0 keeps file order (evaluation).
os_status os_batch_plan_make(os_batch_plan *p, const os_featset *f, size_t batch_size, int shuffle, int bucket,
                             uint64_t seed);
void os_batch_plan_free(os_batch_plan *p);

typedef struct {
    int B, T;
    int cap_B, cap_T;
    int32_t *ids, *types, *mask, *pair_pos;  // (B,T), (B,T), (B,T), (B,2)
    const size_t *examples;                   // (B) featset indices of the rows
    int n_tasks;
    int32_t *cls[OS_MAX_TASKS];     // (B) per task
    float *vals[OS_MAX_TASKS];      // (B, L) per task
    int32_t *tokens[OS_MAX_TASKS];  // (B, T) per task
    os_head_labels labels[OS_MAX_TASKS];  // per model head (NULLs for tasks without labels here)
    long n_tokens;                  // real (unpadded) pieces
} os_batch;

// The label arrays of the tasks a featset serves: task_head[k] is the model head of task k, labels[k] its
// labels over this featset, num_labels[k] its label count, level[k] its head level.
typedef struct {
    int n;
    int head[OS_MAX_TASKS];
    const os_task_labels *labels[OS_MAX_TASKS];
    int num_labels[OS_MAX_TASKS];
    os_task_type type[OS_MAX_TASKS];
} os_batch_tasks;

// Fills `b` with the examples idx[0..B) of `f` padded to the longest, and the labels of `tasks` (heads not
// listed get no labels). n_heads: the model's head count.
os_status os_batch_collate(os_batch *b, const os_featset *f, const size_t *idx, int B, int32_t pad_id,
                           const os_batch_tasks *tasks, int n_heads);
void os_batch_free(os_batch *b);
#endif
