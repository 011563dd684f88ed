// The shared BERT encoder: embeddings -> L transformer layers -> (optional) tanh pooler.
// Parameters are registered under HF names with the "bert." prefix, so a saved encoder loads unchanged in
// transformers' BertModel. Activations are planned once for a maximum batch shape (B_max, T_max) and reused
// for any smaller batch (variable sequence length, key-padding mask).
#ifndef ONESTONE_MODEL_ENCODER_H
#define ONESTONE_MODEL_ENCODER_H
#include <stdint.h>

#include "model/bert_config.h"
#include "model/params.h"

typedef struct {  // offsets into the parameter store
    size_t q_w, q_b, k_w, k_b, v_w, v_b;  // attention.self.{query,key,value}: (C,C), (C)
    size_t ao_w, ao_b, ln1_w, ln1_b;      // attention.output.{dense,LayerNorm}
    size_t i_w, i_b;                      // intermediate.dense: (I,C), (I)
    size_t o_w, o_b, ln2_w, ln2_b;        // output.{dense,LayerNorm}: (C,I), (C)
} os_layer_params;

typedef struct {
    os_bert_config cfg;
    size_t wte, wpe, wtt, emb_ln_w, emb_ln_b;  // embeddings.*: (V,C), (P,C), (TV,C), (C), (C)
    os_layer_params *layers;                   // (L)
    int has_pooler;
    size_t pool_w, pool_b;  // pooler.dense: (C,C), (C)
} os_encoder;

typedef struct {  // one layer's saved activations, each (N,C) unless noted; N = B*T
    float *q, *k, *v;
    float *probs;       // (B,NH,T,T) softmax output
    float *probs_drop;  // (B,NH,T,T) after attention dropout (NULL when p = 0)
    uint8_t *probs_keep;
    float *ctx;
    float *ao;  // attention output dense, dropout applied in place
    uint8_t *ao_keep;
    float *res1, *ln1, *ln1_mean, *ln1_rstd;  // mean/rstd (N)
    float *inter_pre, *inter;                 // (N,I)
    float *inter_cdf;                         // (N,I) Phi(inter_pre), saved by a training forward for the backward
    float *o;
    uint8_t *o_keep;
    float *res2, *ln2, *ln2_mean, *ln2_rstd;  // ln2 is the layer output
} os_layer_acts;

typedef struct {
    int B_max, T_max;
    int B, T;        // shape of the current batch
    int training;    // dropout active
    uint64_t seed;   // dropout seed of the current forward
    const int32_t *ids, *type_ids, *mask;  // current batch (B,T), not owned
    float *emb_sum, *emb_ln, *emb_mean, *emb_rstd;
    uint8_t *emb_keep;
    os_layer_acts *layers;
    void *block;  // the one allocation every buffer here is carved from
    float *pool_in, *pool_pre, *pool;  // (B,C): [CLS] rows, dense output, tanh output
    // backward scratch
    float *d_a, *d_b, *d_res, *d_ln1, *d_ctx, *d_q, *d_k, *d_v;  // (N,C)
    float *d_inter;                                                // (N,I)
    float *d_probs;                                                // (B,NH,T,T)
    float *d_pool;                                                 // (B,C): heads add into it
    float *d_seq;  // (N,C): heads add the gradient of the sequence output here
    // Distillation (src/distill/layers.c): when set, backward calls extra_grad(ctx, l, d_hidden, NULL, NULL)
    // with the gradient of hidden state l (0 = embeddings output, l = layer l's output) and
    // extra_grad(ctx, l, NULL, d_q, d_k) with layer l's query/key gradients, to add to them. Reset by planning.
    void (*extra_grad)(void *ctx, int l, float *d_hidden, float *d_q, float *d_k);
    void *extra_grad_ctx;
} os_encoder_acts;

// Registers the encoder's tensors (with `prefix`, normally "bert.") into `p` (before os_params_alloc).
void os_encoder_register(os_encoder *e, os_params *p, const os_bert_config *cfg, const char *prefix,
                         int with_pooler);
// Fills the encoder's parameters like HF's _init_weights: normal(0, initializer_range) weights, zero biases,
// LayerNorm weight 1 / bias 0, padding_idx row of word embeddings zero.
void os_encoder_init(const os_encoder *e, os_params *p, uint64_t seed);
void os_encoder_free(os_encoder *e);

// Plans activations for batches up to (B_max, T_max); T_max <= max_position_embeddings.
os_status os_encoder_acts_alloc(os_encoder_acts *a, const os_encoder *e, int B_max, int T_max);
void os_encoder_acts_free(os_encoder_acts *a);

// Forward pass on ids/type_ids/mask (B,T) (type_ids, mask may be NULL). `training` enables dropout with
// masks derived from `seed`. Output: os_encoder_output(); pooled output in a->pool when has_pooler.
os_status os_encoder_forward(const os_encoder *e, const os_params *p, os_encoder_acts *a, const int32_t *ids,
                             const int32_t *type_ids, const int32_t *mask, int B, int T, int training,
                             uint64_t seed);
// The last layer's output (B,T,C) (the embeddings' output when there are no layers).
float *os_encoder_output(const os_encoder *e, const os_encoder_acts *a);
// Zeroes d_seq and d_pool before heads add their gradients.
void os_encoder_zero_output_grads(const os_encoder *e, os_encoder_acts *a);
// Backward from a->d_seq and a->d_pool into p->grad (accumulating). `frozen_below` skips parameter
// gradients of the embeddings and layers < frozen_below-1 (0 = train all; 1 = embeddings frozen; k+1 =
// embeddings and first k layers frozen) and stops back-propagation where nothing below needs it.
void os_encoder_backward(const os_encoder *e, os_params *p, os_encoder_acts *a, int frozen_below);
#endif
