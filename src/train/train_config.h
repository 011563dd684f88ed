// The training configuration (docs/config.md): typed, validated, with every default resolved, so the run
// directory's config.json records exactly what ran.
#ifndef ONESTONE_TRAIN_TRAIN_CONFIG_H
#define ONESTONE_TRAIN_TRAIN_CONFIG_H
#include <jansson.h>

#include "model/bert_config.h"
#include "optim/optimizer.h"
#include "train/json_cfg.h"
#include "train/sampler.h"
#include "train/schedule.h"
#include "weighting/weighting.h"

typedef enum {
    OS_TT_CLASSIFICATION,   // one label per text or text pair
    OS_TT_MULTILABEL,       // a set of labels per text
    OS_TT_REGRESSION,       // one (or more) numbers per text
    OS_TT_TOKEN,            // one tag per word (NER, POS, chunking)
    OS_TT_RELATION,         // one directed relation per entity-marked text (<e1>..</e1> <e2>..</e2>)
} os_task_type;

typedef struct {
    char *name;
    os_task_type type;
    char *dataset;       // dataset name (a task's inline "data" gets the task's name)
    char *field;         // label field of that dataset
    double loss_weight;  // lambda_i
    double dropout;      // classifier dropout (< 0: the encoder's hidden dropout)
    char *metric;        // main metric used for selection (per-type default)
    // token tasks
    char *scheme;        // tag scheme of the data: "iob1", "bio", "bioes" or "none" (plain tags: POS)
    int crf;             // CRF layer on top of the emissions
    // relation tasks
    int use_cls;         // representation: [CLS] pooled vector instead of the entity-start markers
} os_task_cfg;

typedef struct {
    char *name;
    const json_t *spec;  // format, train, dev, dev_fraction, limits and reader options (see data_load.h)
} os_dataset_cfg;

typedef struct {
    char *file;   // config file name for messages
    json_t *root; // the resolved configuration (defaults filled in)
    long seed;
    // model
    char *init;           // HF or onestone model directory to start from (NULL: random init)
    char *vocab;          // vocab.txt / tokenizer.json / directory (ignored when init has one)
    int lowercase;        // -1: the tokenizer's default
    long max_seq_length;
    long reinit_layers;   // re-initialise the top k encoder layers (and the pooler) instead of copying them
    int keep_init_tasks;  // keep the init model's tasks that the config does not list (heads without data)
    os_bert_config encoder;
    // data and tasks
    os_dataset_cfg *datasets;
    int n_datasets;
    os_task_cfg *tasks;
    int n_tasks;
    // sampling
    os_sample_kind sampling;
    double temperature, cap;
    double fixed[OS_MAX_TASKS];  // per dataset (group), in dataset order
    long epoch_steps;             // 0 = "sum": sum over datasets of their batches per pass
    // multi-objective optimisation (docs/weighting.md)
    char *weighting;              // strategy name; "static" = lambda_i from the tasks (the plain weighted sum)
    int weighting_rep;            // per-task gradients w.r.t. the shared representation instead of the parameters
    os_weighting_options wopt;    // strategy options (paper defaults)
    long affinity_every;          // record task affinity every N steps (0 = off)
    // training
    long batch_size, epochs, max_steps, eval_every, save_every, grad_accumulation, log_every;
    double max_grad_norm;  // 0 = no clipping
    int bucket_by_length;
    int skip_nonfinite;    // on_nonfinite "skip": a step with a non-finite loss or gradient is skipped and counted
    double spike_factor;   // log a "spike" event when a task's loss exceeds factor x its running average (0 = off)
    char *trace_file;      // batch trace for reference replays (train/trace.h), or NULL
    char *early_metric;    // "mean", a task name, or "delta_m"
    long patience;         // evaluations without improvement before stopping; 0 = never stop early
    json_t *baselines;     // {"task": score} single-task baselines of the main metrics (for delta_m)
    // optimisation
    os_opt_config opt;
    double head_lr;        // 0 = same as lr
    double layer_lr_decay; // 1 = none
    int freeze_embeddings;
    long freeze_layers;
    int freeze_encoder;   // embeddings, every layer and the pooler frozen: only task heads train
    long unfreeze_every_steps, unfreeze_every_epochs;  // gradual unfreezing (0 = off), see param_groups.h
    os_schedule schedule;  // total_steps filled in by the trainer
    double warmup_ratio;
} os_train_config;

// Loads FILE, applies the --set overrides (n_sets of "path=value"), expands ${VAR}s and validates.
os_status os_train_config_load(os_train_config *c, const char *file, char *const *sets, int n_sets);
// The same from a JSON object (ownership passes to c); `name` labels messages.
os_status os_train_config_from_json(os_train_config *c, json_t *root, const char *name, char *const *sets,
                                    int n_sets);
void os_train_config_free(os_train_config *c);
// The "model" and the "optimizer" + "schedule" sections alone (shared with the pretraining config).
os_status os_train_config_parse_model(os_train_config *c, const os_cfg_ctx *root_ctx, json_t *root);
os_status os_train_config_parse_optimizer(os_train_config *c, const os_cfg_ctx *root_ctx, json_t *root);

// The task type's config name ("sequence_classification", ...).
const char *os_task_type_name(os_task_type t);
#endif
