// The masked-language-model head of HF's BertForMaskedLM, under HF's tensor names:
//   x      = encoder output rows at the masked positions             (M,C)
//   t      = cls.predictions.transform.dense(x)                       (M,C)
//   g      = gelu(t)                                                  (exact erf GELU, HF "gelu")
//   h      = cls.predictions.transform.LayerNorm(g)
//   logits = h . word_embeddings^T + cls.predictions.bias             (M,V): the decoder is TIED to the
//            encoder's word embeddings (HF's tie_word_embeddings), so it has no tensor of its own
// Logits are computed only for the M selected rows (HF computes every position and lets the loss ignore
// the unmasked ones; the masked rows' values are the same). Loss: mean cross-entropy over the M rows.
#ifndef ONESTONE_PRETRAIN_MLM_HEAD_H
#define ONESTONE_PRETRAIN_MLM_HEAD_H
#include <stdint.h>

#include "model/encoder.h"
#include "model/params.h"

typedef struct {
    size_t dense_w, dense_b, ln_w, ln_b, bias;  // offsets: (C,C), (C), (C), (C), (V)
    size_t wte;                                 // the tied decoder: bert.embeddings.word_embeddings (V,C)
    int C, V;
    float eps;
    int M_max, M;  // planned rows, rows of the current forward
    float *x, *t, *g, *h, *mean, *rstd;  // (M_max,C) saved activations; mean/rstd (M_max)
    float *logits, *probs, *d_logits;    // (M_max,V)
    float *d_h, *d_g, *d_t, *d_x;        // (M_max,C) backward scratch
} os_mlm_head;

// Registers cls.predictions.{transform.dense.weight,transform.dense.bias,transform.LayerNorm.weight,
// transform.LayerNorm.bias,bias} into p (before os_params_alloc); the decoder reuses e's word embeddings.
void os_mlm_head_register(os_mlm_head *h, os_params *p, const os_encoder *e);
// HF init: dense weight normal(0, std), biases 0, LayerNorm 1 / 0.
void os_mlm_head_init(const os_mlm_head *h, os_params *p, float std, uint64_t seed);
os_status os_mlm_head_plan(os_mlm_head *h, int M_max);
void os_mlm_head_free(os_mlm_head *h);

// Logits (into h->logits) for the M rows `rows` (indices into the (N,C) sequence output `seq`); M <= M_max.
void os_mlm_head_forward(os_mlm_head *h, const os_params *p, const float *seq, const int32_t *rows, int M);
// Mean cross-entropy of the current logits against targets (M ids); stores d(scale * loss)/d logits for the
// backward. *correct (may be NULL) gets the number of rows whose argmax is the target.
float os_mlm_head_loss(os_mlm_head *h, const int32_t *targets, float scale, int *correct);
// Backpropagates the stored logit gradient into p->grad (head tensors and the tied word embeddings,
// accumulating) and adds the gradient of the selected rows into d_seq (N,C).
void os_mlm_head_backward(os_mlm_head *h, os_params *p, const int32_t *rows, float *d_seq);
#endif
