// Intermediate-layer distillation losses (TinyBERT style; docs/distill.md), on one batch:
//   hidden:    mean over real tokens and teacher dimensions of (h_s W^T + b - h_t)^2, W (Ct, Cs) a learned
//              projection from the student's hidden size to the teacher's
//   attention: per attention row (a real query token), the sum over keys of (a_s - a_t)^2, averaged over
//              rows and heads; with different head counts the head-averaged maps are compared
// Gradients are added, times `scale`, into the given buffers (student hidden states / attention
// probabilities and the projection's weight and bias).
#ifndef ONESTONE_DISTILL_LAYER_LOSS_H
#define ONESTONE_DISTILL_LAYER_LOSS_H
#include <stdint.h>

// hs (N,Cs), ht (N,Ct), mask (N) or NULL (all real). proj (N,Ct) and dproj (N,Ct) are scratch. Returns the
// loss; d_hs (N,Cs), dW (Ct,Cs), db (Ct) may each be NULL.
float os_kd_hidden_loss(const float *hs, const float *ht, const int32_t *mask, int N, int Cs, int Ct, const float *W,
                        const float *b, float *proj, float *dproj, float *d_hs, float *dW, float *db, float scale);
// ps (B,NHs,T,T), pt (B,NHt,T,T), mask (B,T) or NULL. d_ps (B,NHs,T,T) may be NULL.
float os_kd_attention_loss(const float *ps, const float *pt, const int32_t *mask, int B, int T, int NHs, int NHt,
                           float *d_ps, float scale);
// Back-propagates a gradient on attention probabilities (d_probs, (B,NH,T,T)) through the softmax and the
// scaled scores q k^T / sqrt(HS) into d_q and d_k (N,C) (added).
void os_kd_attention_backprop(const float *d_probs, const float *probs, const float *q, const float *k, int B, int T,
                              int NH, int HS, float *d_q, float *d_k);
#endif
