// The batch trace (training.trace_file, docs/reference.md): one JSON line per optimizer step naming the
// dataset and the example indices (into the training split, the order `onestone export-data` writes) of
// every micro-batch, with the task losses onestone computed on it, so a reference implementation can replay
// exactly the same batch stream and compare losses step by step. Writing it changes nothing in training.
#ifndef ONESTONE_TRAIN_TRACE_H
#define ONESTONE_TRAIN_TRACE_H
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "util/error.h"

typedef struct {
    FILE *f;        // NULL: tracing off (every call below is then a no-op)
    json_t *step;   // the step being recorded: {"batches": [...]}
} os_trace;

// Opens PATH for appending (a resumed run appends; a replay keeps the last record of each step).
os_status os_trace_open(os_trace *t, const char *path);
// Records a micro-batch of dataset `name`: its examples idx[0..B).
void os_trace_batch(os_trace *t, const char *name, const size_t *idx, int B);
// Records task `task`'s loss on the latest micro-batch.
void os_trace_loss(os_trace *t, const char *task, double loss);
// Writes the step's line (step number after the update, learning rate, gradient norm before clipping,
// skipped flag) and starts the next step.
os_status os_trace_end_step(os_trace *t, long step, double lr, double grad_norm, int skipped);
void os_trace_close(os_trace *t);
#endif
