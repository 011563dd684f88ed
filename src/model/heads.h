// Task heads on top of the shared encoder. A head reads the pooled [CLS] vector (sequence-level tasks),
// every token's vector (token-level tasks) or the concatenated vectors at two marked positions per sequence
// (entity-pair tasks: relation classification from entity-start markers), applies dropout and a linear
// classifier, and owns its loss:
//   single-label classification -> cross-entropy (ignore index OS_IGNORE_LABEL)
//   multi-label classification  -> binary cross-entropy with logits per label
//   regression                  -> mean squared error (num_labels outputs)
// Classifier tensors are registered as "<prefix>classifier.weight" / ".bias" (HF's names when the prefix is
// empty, "heads.<task>." in onestone's multi-task checkpoints).
#ifndef ONESTONE_MODEL_HEADS_H
#define ONESTONE_MODEL_HEADS_H
#include <stdint.h>

#include "model/encoder.h"
#include "model/params.h"
#include "ops/crf.h"

#define OS_IGNORE_LABEL (-100)  // same as torch's default ignore_index

typedef enum { OS_TASK_SEQUENCE, OS_TASK_TOKEN, OS_TASK_ENTITY_PAIR } os_task_level;
typedef enum { OS_PROBLEM_SINGLE_LABEL, OS_PROBLEM_MULTI_LABEL, OS_PROBLEM_REGRESSION } os_problem;

typedef struct {
    char *name;           // task name (owned)
    os_task_level level;
    os_problem problem;
    int num_labels;       // classes, labels (multi-label) or outputs (regression)
    char **labels;        // (num_labels) label names, owned; NULL for regression
    float dropout;        // classifier dropout probability
    float loss_weight;    // lambda_i in L = sum_i lambda_i L_i
    int in_dim;           // C, or 2C for entity-pair heads
    size_t w, b;          // classifier (num_labels, in_dim), (num_labels)
    // planned activations: rows = B_max (sequence) or B_max*T_max (token)
    float *x;             // (rows, in_dim) classifier input after dropout
    float *gathered;      // (rows, 2C) entity-pair input before dropout
    const int32_t *pair_pos;  // (rows, 2) entity positions of the current batch (entity-pair heads)
    uint8_t *keep;        // (rows*C) dropout mask
    float *logits;        // (rows, num_labels)
    float *probs;         // (rows, num_labels) softmax / sigmoid
    float *d_logits;      // (rows, num_labels)
    float *d_x;           // (rows, in_dim)
    int rows;             // rows of the current batch
    int has_grad;         // d_logits holds a gradient for the current batch
    // Token heads with a CRF (crf = 1): the logits are emissions; the sequence of a row is its word-first
    // pieces (word_first mask); loss = token-mean CRF NLL; decoding = Viterbi under the scheme's constraints.
    int crf;
    char *tag_scheme;         // "iob1", "bio", "bioes" or "none" (owned; NULL = none)
    crf_constraints cons;     // built from labels + tag_scheme (K = 0 when unconstrained)
    size_t crf_start, crf_end, crf_trans;  // (K), (K), (K,K) "<prefix>crf.{start_transitions,...}"
    const uint8_t *word_first;  // (B,T) of the current batch
    int cur_B, cur_T;           // shape of the current batch
    const os_params *params;    // parameters of the current forward (the CRF loss reads its transitions)
    float *em;                // (B,T,K) gathered emissions
    int32_t *em_pos, *em_tags, *em_len;  // (B,T) source positions, (B,T) gold tags, (B) lengths
    double *alpha, *beta, *logz;
    float *d_em, *d_start, *d_end, *d_trans;  // gradient of the last loss
} os_head;

// Labels of one batch for one head (NULL pointers = this batch has no labels for the task).
typedef struct {
    const int32_t *classes;  // single-label: (B) sequence or (B,T) token ids, OS_IGNORE_LABEL = none
    const float *values;     // multi-label 0/1 targets or regression targets: (rows, num_labels); a NaN
                             // first value of a row marks the row unlabelled
} os_head_labels;

// Sets in_dim from the level and registers the classifier tensors under `prefix`.
void os_head_register(os_head *h, os_params *p, const char *prefix, int hidden);
// HF init: weight normal(0, std), bias 0.
void os_head_init(const os_head *h, os_params *p, int hidden, float std, uint64_t seed);
os_status os_head_plan(os_head *h, int B_max, int T_max, int hidden);
void os_head_free(os_head *h);

// Computes logits for the current encoder batch. `seed` seeds the classifier dropout when training.
// pair_pos (B,2): per sequence, the two token positions an entity-pair head reads (ignored by other heads).
// word_first (B,T): 1 on the first piece of every word (CRF heads read only those positions).
void os_head_forward(os_head *h, const os_params *p, const os_encoder *e, const os_encoder_acts *a,
                     const int32_t *pair_pos, const uint8_t *word_first, int training, uint64_t seed);
// Builds the CRF constraints from the labels and tag_scheme (call after labels are set; no-op without CRF).
os_status os_head_crf_setup(os_head *h);
// Predicted label per position of row b (token heads): Viterbi over the word-first pieces for CRF heads
// (other positions get -1), argmax per position otherwise. out has T entries.
void os_head_decode_row(os_head *h, const os_params *p, int b, int T, int32_t *out);
// Loss of the current logits against `labels` (mean over labelled rows; 0 when none are labelled); when
// `grad_scale` != 0 also stores d(grad_scale * loss)/d logits for os_head_backward. *n_labelled gets the
// number of labelled rows (tokens for token tasks).
float os_head_loss(os_head *h, const os_head_labels *labels, float grad_scale,
                   int *n_labelled);
// Backpropagates the stored logit gradient into the classifier's gradients and the encoder's d_pool/d_seq.
void os_head_backward(os_head *h, os_params *p, const os_encoder *e, os_encoder_acts *a);

// Predicted class of row r (argmax of logits) for single-label tasks.
int os_head_argmax(const os_head *h, int r);
const char *os_task_level_name(os_task_level l);
const char *os_problem_name(os_problem pr);
#endif
