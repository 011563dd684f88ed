// A multi-task model: one shared encoder, one head per task, all parameters in one store.
// Usage: os_model_create -> (init or load weights) -> os_model_plan(B_max, T_max) -> per batch:
// os_model_forward -> os_model_loss -> os_model_backward -> optimizer step.
#ifndef ONESTONE_MODEL_MODEL_H
#define ONESTONE_MODEL_MODEL_H
#include "model/encoder.h"
#include "model/heads.h"
#include "model/params.h"

typedef struct {
    const char *name;
    os_task_level level;
    os_problem problem;
    int num_labels;
    const char *const *labels;  // (num_labels) names; NULL: "LABEL_i" (classification) / none (regression)
    float dropout;              // classifier dropout; < 0 means the encoder's hidden_dropout_prob (HF default)
    float loss_weight;          // lambda_i; <= 0 means 1
    const char *param_prefix;   // NULL: "heads.<name>."; "" gives HF's single-task "classifier.*" names
    int crf;                    // token tasks: CRF layer over the word-first pieces
    const char *tag_scheme;     // token tasks: "iob1", "bio", "bioes" or "none" (NULL = none); CRF constraints
} os_task_spec;

struct os_deploy;  // src/deploy/deploy.h

typedef struct {
    os_bert_config cfg;
    os_params params;
    os_encoder enc;
    os_head *heads;
    int n_heads;
    char **head_prefixes;  // (n_heads) parameter-name prefixes
    os_encoder_acts acts;
    int planned;
    uint8_t *active;  // (n_heads) heads computed by the last forward
    struct os_deploy *deploy;  // int8 / structurally pruned encoder layers (inference only), or NULL
} os_model;

// Builds the parameter layout for `cfg` and `tasks` and allocates zeroed parameters. The encoder's tensors
// are named "bert.…" (HF's names).
os_status os_model_create(os_model *m, const os_bert_config *cfg, const os_task_spec *tasks, int n_tasks,
                          int with_pooler);
// As os_model_create, but the parameter store gets no transformer layers: a compressed model's layers live
// in m->deploy (src/deploy), which the caller attaches.
os_status os_model_create_for_deploy(os_model *m, const os_bert_config *cfg, const os_task_spec *tasks,
                                     int n_tasks, int with_pooler);
// HF-style random initialisation of every parameter.
void os_model_init_weights(os_model *m, uint64_t seed);
// Plans activations for batches up to (B_max, T_max); can be called again to grow.
os_status os_model_plan(os_model *m, int B_max, int T_max);
void os_model_free(os_model *m);
// Index of the task named `name`, or -1.
int os_model_find_task(const os_model *m, const char *name);

// One batch of encoder input.
typedef struct {
    const int32_t *ids;       // (B,T) token ids
    const int32_t *type_ids;  // (B,T) segment ids, or NULL (all 0)
    const int32_t *mask;      // (B,T) 1 = token, 0 = padding, or NULL (no padding)
    const int32_t *pair_pos;  // (B,2) entity-marker positions for entity-pair heads, or NULL
    const uint8_t *word_first;  // (B,T) 1 on each word's first piece (CRF heads), or NULL
    int B, T;
} os_batch_input;

// Encoder pass plus the logits of the heads flagged in `active` (n_heads flags; NULL = every head).
// Inactive heads keep no logits for this batch and get no loss or gradient.
os_status os_model_forward(os_model *m, const os_batch_input *in, const uint8_t *active, int training,
                           uint64_t seed);
// Per-task losses of the current logits (labels: n_heads entries; a head with no labels contributes 0) and
// the weighted total sum_i lambda_i L_i, which is returned. Also stores each head's logit gradient of the
// total for os_model_backward. task_losses / task_counts (n_heads) may be NULL.
float os_model_loss(os_model *m, const os_head_labels *labels, float *task_losses, int *task_counts);
// Backward of the total loss into params.grad (accumulating); frozen_below as in os_encoder_backward.
void os_model_backward(os_model *m, int frozen_below);
#endif
