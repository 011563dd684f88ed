// The pretraining model: the shared BERT encoder (no pooler, like HF's BertForMaskedLM) plus the MLM head,
// all in one parameter store. Saved model directories carry HF's names (bert.* and cls.predictions.*,
// architectures ["BertForMaskedLM"]), so they load as transformers' BertForMaskedLM and as the `model.init`
// of an onestone fine-tuning run (which takes the encoder and ignores cls.*).
#ifndef ONESTONE_PRETRAIN_MLM_MODEL_H
#define ONESTONE_PRETRAIN_MLM_MODEL_H
#include "model/model.h"
#include "pretrain/mlm_head.h"

typedef struct {
    os_model base;  // encoder + parameter store, no task heads
    os_mlm_head mlm;
} os_mlm_model;

os_status os_mlm_model_create(os_mlm_model *m, const os_bert_config *cfg);
// HF-style random initialisation of everything.
void os_mlm_model_init_weights(os_mlm_model *m, uint64_t seed);
// Copies the tensors of model directory `dir` (HF BertModel / BertForMaskedLM / BertForPreTraining or an
// onestone model) that exist there with our name and shape; *n_copied gets their number. The word
// embeddings may be smaller there (a vocabulary grown by added tokens): the rows that exist are copied.
os_status os_mlm_model_init_from(os_mlm_model *m, const char *dir, int *n_copied);
void os_mlm_model_free(os_mlm_model *m);

// Forward of the encoder on ids (B,T) (mask may be NULL) and of the MLM head on the `rows` (M indices into
// the B*T positions). Logits in m->mlm.logits.
os_status os_mlm_model_forward(os_mlm_model *m, const int32_t *ids, const int32_t *mask, int B, int T,
                               const int32_t *rows, int M, int training, uint64_t seed);
// Backward of the head's stored loss gradient through the encoder into params.grad (accumulating).
void os_mlm_model_backward(os_mlm_model *m, const int32_t *rows);
#endif
