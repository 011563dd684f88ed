// The live state of a training (or evaluation) run: datasets tokenized once, tasks bound to model heads,
// and per-dataset batch iteration. Built from a training config by os_runtime_build.
#ifndef ONESTONE_TRAIN_RUNTIME_H
#define ONESTONE_TRAIN_RUNTIME_H
#include "model/model.h"
#include "tasks/features.h"
#include "tasks/task_labels.h"
#include "tokenizer/tokenizer.h"
#include "train/batcher.h"
#include "train/train_config.h"

enum { OS_SPLIT_TRAIN = 0, OS_SPLIT_DEV = 1 };

typedef struct {
    const os_task_cfg *cfg;
    int head;    // model head index
    int group;   // dataset (group) index
    int field;   // label field index in the group's datasets
    os_label_vocab vocab;
    os_task_labels labels[2];  // per split
} os_task_rt;

typedef struct {
    const char *name;
    os_dataset *data[2];
    os_featset feats[2];
    int n_tasks;
    int tasks[OS_MAX_TASKS];      // task indices served by this dataset
    os_batch_tasks bt[2];         // label views per split
    uint8_t active[OS_MAX_TASKS]; // model heads active for this group's batches (n_heads entries)
    os_batch batch;
    // iteration over the training split
    long pass;                    // passes started (the plan belongs to pass - 1)
    size_t next;                  // next batch of the current plan
    os_batch_plan plan;
} os_group_rt;

typedef struct {
    os_train_config *cfg;
    os_tokenizer *tok;
    os_model model;
    os_model *init_model;  // the model of cfg->init (NULL without one), kept for its weights and labels
    int n_tasks, n_groups;
    os_task_rt tasks[OS_MAX_TASKS];
    os_group_rt groups[OS_MAX_TASKS];
    int32_t pad_id;
} os_runtime;

// Loads the data, builds the tokenizer (adding <e1>...</e2> markers for relation tasks) and the model
// (from cfg->init or randomly initialised), tokenizes everything and aligns labels. Prints a one-line
// summary per dataset and warnings (unknown dev labels, truncation) to `log` (may be NULL).
os_status os_runtime_build(os_runtime *rt, os_train_config *cfg, void *log);
void os_runtime_free(os_runtime *rt);
// Word-first flags for the rows of the group's current batch (split s): needed by CRF heads.
void os_runtime_word_first(const os_group_rt *g, int split, const os_batch *b, uint8_t *out);
#endif
