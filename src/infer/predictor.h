// Inference over a model directory: text -> every task's prediction from ONE encoder pass per batch.
// Used by the public C API (src/api), and through it by `onestone predict`.
#ifndef ONESTONE_INFER_PREDICTOR_H
#define ONESTONE_INFER_PREDICTOR_H
#include <jansson.h>

#include "model/model.h"
#include "tokenizer/tokenizer.h"

typedef struct {
    os_model model;
    os_tokenizer *tok;
    int max_length;        // pieces per text including [CLS]/[SEP] (longer texts are truncated)
    int with_logits;       // add raw logits (and word pieces for token tasks) to the results
    uint8_t *active;       // (n_heads) tasks to run
    int32_t e1_id, e2_id;  // entity-marker token ids (-1 when the vocabulary has none)
} os_predictor;

// Loads MODEL_DIR (model + tokenizer). max_length 0 = the model's max_position_embeddings.
os_status os_predictor_open(os_predictor *p, const char *model_dir, int max_length);
// Restricts prediction to the comma-separated task names (NULL or "" = all); unknown name: OS_ERR_USAGE.
os_status os_predictor_select(os_predictor *p, const char *task_list);
void os_predictor_close(os_predictor *p);

// Predicts n texts (one encoder pass for the batch) and returns a JSON array of n objects, one per text:
// {"TASK": prediction, ...}. Prediction shapes (docs/predict.md):
//   sequence / entity-pair single-label: {"label": NAME, "score": softmax probability}
//   multi-label:  {"labels": [NAMES with p >= 0.5], "scores": {NAME: p, ...}}
//   regression:   {"value": x} (num_labels 1) or {"values": [...]}
//   token:        {"words": [{"word": W, "start": S, "end": E, "label": NAME}, ...]}  (first piece labels)
// with_logits adds "logits" (a vector; for token tasks one vector per word piece, [CLS] and [SEP] included)
// and, for token tasks, "pieces" (the word pieces in order). *out is new; the caller json_decref's it.
os_status os_predictor_run(os_predictor *p, const char *const *texts, int n, json_t **out);
#endif
