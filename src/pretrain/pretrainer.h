// `onestone pretrain`: masked-LM pretraining of the shared encoder on raw text (docs/pretraining.md).
// Files in RUN_DIR:
//   config.json      the resolved configuration       metrics.jsonl  start / train / eval / end events
//   train.blocks     the packed training corpus       dev.blocks     the packed dev corpus (with data.dev)
//   model/           the latest model directory (HF BertForMaskedLM layout + vocab.txt)
//   checkpoint/      state for --resume (bit-identical continuation)
//   summary.json     final figures
// Batches: the blocks of an epoch in a seeded random order (a new order every epoch), batch_size blocks per
// micro-batch; masking is redrawn per epoch from (seed, epoch, block), so resuming is exact.
#ifndef ONESTONE_PRETRAIN_PRETRAINER_H
#define ONESTONE_PRETRAIN_PRETRAINER_H
#include "pretrain/pretrain_config.h"

typedef struct {
    const char *run_dir;
    int resume;      // continue from RUN_DIR/checkpoint
    long max_steps;  // > 0: stop after this many optimizer steps (a budget cut; the schedule is unchanged)
    int quiet;       // no progress line
} os_pretrain_opts;

os_status os_pretrain(os_pretrain_config *c, const os_pretrain_opts *o);
#endif
