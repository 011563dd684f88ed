// The encoder's operations, each a forward/backward pair of free functions (outputs first, then inputs,
// then sizes). Forwards save what backwards need. Every backward ACCUMULATES (+=) into every gradient it
// writes (parameter gradients and input gradients alike); callers zero gradient buffers once per step, and
// residual branches simply add. Any gradient pointer documented as optional may be NULL to skip it.
// Rows: N = B*T flattened token rows; C = channels. All tensors are row-major float32.
#ifndef ONESTONE_OPS_H
#define ONESTONE_OPS_H
#include <stddef.h>
#include <stdint.h>

// --- embeddings: out(B,T,C) = wte[ids] + wpe[t] + wtt[type_ids] --------------------------------------
// ids, type_ids (B,T); wte (V,C), wpe (P,C) with P >= T, wtt (TV,C). type_ids may be NULL (all zero).
void embeddings_forward(float *out, const int32_t *ids, const int32_t *type_ids, const float *wte,
                        const float *wpe, const float *wtt, int B, int T, int C);
// dwte, dwpe, dwtt: optional (NULL skips, e.g. frozen embeddings).
void embeddings_backward(float *dwte, float *dwpe, float *dwtt, const float *dout, const int32_t *ids,
                         const int32_t *type_ids, int B, int T, int C);

// --- LayerNorm over the last dim (biased variance, like torch) ---------------------------------------
// inp, out (N,C); w, b (C); mean, rstd (N) saved for backward.
void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w,
                       const float *b, int N, int C, float eps);
// dinp, dw and db accumulate.
void layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                        const float *w, const float *mean, const float *rstd, int N, int C);
// The same with dinp written instead of accumulated (no zeroing pass before it); dw, db accumulate.
void layernorm_backward_set(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                            const float *w, const float *mean, const float *rstd, int N, int C);

// Residual add fused with the LayerNorm that follows it (BERT's "Add & Norm"): res = a + r (saved: it is
// layernorm_backward's input), out = LayerNorm(res). The same bits as residual_forward then
// layernorm_forward. Its backward is layernorm_backward on res, whose input gradient flows to a and r alike.
void residual_layernorm_forward(float *out, float *res, float *mean, float *rstd, const float *a,
                                const float *r, const float *w, const float *b, int N, int C, float eps);

// --- linear: out(N,OC) = inp(N,C) · w(OC,C)^T + b(OC)  (torch.nn.Linear layout; OpenBLAS sgemm) -------
// b may be NULL.
void linear_forward(float *out, const float *inp, const float *w, const float *b, int N, int C, int OC);
// nw linear layers of the same input and shape (attention's query, key and value): out[i] = inp · w[i]^T + b[i],
// each bitwise what linear_forward gives alone; on the packed path they share each row block while it is in
// cache. nw <= 4.
void linear_forward_n(int nw, float *const *out, const float *inp, const float *const *w, const float *const *b,
                      int N, int C, int OC);
// dinp, dw, db optional.
void linear_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                     int N, int C, int OC);

// --- fused linear + bias + GELU (BERT's intermediate dense): pre = inp(N,C)·w(OC,C)^T + b, out = gelu(pre)
// pre (N,OC) is saved for the backward; b may be NULL. Same values as linear_forward then gelu_forward.
void linear_gelu_forward(float *out, float *pre, const float *inp, const float *w, const float *b, int N, int C,
                         int OC);
// dinp, dw, db accumulate (each optional) as in linear_backward; dpre (N,OC) is scratch, overwritten with
// the gradient of pre (it may alias dout, which is then consumed).
void linear_gelu_backward(float *dinp, float *dw, float *db, float *dpre, const float *dout, const float *pre,
                          const float *inp, const float *w, int N, int C, int OC);
// The same pair with Phi(pre) saved: the forward writes cdf (N,OC) when it is not NULL, and the backward reads
// it (when not NULL) instead of recomputing the erf: the same bits, one erf per element less in training.
void linear_gelu_forward_cdf(float *out, float *pre, float *cdf, const float *inp, const float *w, const float *b,
                             int N, int C, int OC);
void linear_gelu_backward_cdf(float *dinp, float *dw, float *db, float *dpre, const float *dout, const float *pre,
                              const float *cdf, const float *inp, const float *w, int N, int C, int OC);

// --- linear forward with a pre-packed weight (src/ops/gemm_packed.c): the same product as linear_forward
// without OpenBLAS's per-call packing of the activations and zeroing of the output. Pack w (OC,C) once into
// gemm_packed_floats(OC, C) floats (32-byte aligned), then out = inp·w^T + bias (bias may be NULL); with
// act = GEMM_ACT_GELU, pre receives the pre-activation and out = gelu(pre) (linear_gelu_forward's values).
// Equal to sgemm's results to float rounding (a different summation order); independent of the thread count.
// linear_forward, linear_forward_n, linear_gelu_forward and linear_backward's gradients take this path by
// themselves when gemm_packed_use(N, C, OC) says so: an AVX2+FMA CPU, at least GEMM_PACKED_MIN_ROWS rows, and
// at least C or OC rows (a weight larger than the batch both ways stays with OpenBLAS), and
// ONESTONE_PACKED_GEMM not set to 0 (set it to 0 to measure or compare against OpenBLAS alone).
// linear_backward's weight gradient takes it from GEMM_PACKED_DW_MIN_ROWS rows.
enum { GEMM_ACT_NONE = 0, GEMM_ACT_GELU = 1, GEMM_PACKED_MIN_ROWS = 256, GEMM_PACKED_DW_MIN_ROWS = 1024 };
int gemm_packed_use(int N, int C, int OC);
int gemm_packed_cpu(void);  // the CPU has AVX2 and FMA and ONESTONE_PACKED_GEMM is not 0
size_t gemm_packed_floats(int OC, int C);
// w: (OC, C) with row stride ldw (a torch.nn.Linear weight: ldw = C).
void gemm_pack_weight(float *packed, const float *w, int OC, int C, int ldw);
// b: (C, OC) with row stride ldb, the right operand as it is (not transposed); split over the threads when
// large and called outside a parallel region.
void gemm_pack_kn(float *packed, const float *b, int C, int OC, int ldb);
// With GEMM_ACT_GELU, cdf (optional) receives Phi(pre), as linear_gelu_forward_cdf.
void gemm_packed_forward(float *out, float *pre, float *cdf, const float *inp, const float *packed,
                         const float *bias, int N, int C, int OC, int act);
// nw products of the same input: out[i] = inp · packed[i] + bias[i] (bias[i] may be NULL), each bitwise what
// gemm_packed_forward gives alone, computed row block by row block (the block stays in cache for all nw).
void gemm_packed_forward_n(int nw, float *const *out, const float *inp, const float *const *packed,
                           const float *const *bias, int N, int C, int OC);
// out(N,OC) += inp(N,C) · packed, threaded like gemm_packed_forward (linear_backward's input gradient).
void gemm_packed_accumulate(float *out, const float *inp, const float *packed, int N, int C, int OC);
// dw(OC,C) += dout(N,OC)^T · inp(N,C), a linear layer's weight gradient, and db(OC) += dout's column sums when
// db is not NULL (linear_backward's path when gemm_packed_use(N, C, OC) and N >= GEMM_PACKED_DW_MIN_ROWS).
// Independent of the thread count; equal to sgemm's sums to float rounding.
void gemm_packed_weight_grad(float *dw, float *db, const float *dout, const float *inp, int N, int C, int OC);
// out(N,OC; row stride ldo) = inp(N,C; row stride lda) · packed, on the calling thread (attention's per-head
// products, already spread over the threads). No bias.
// With accumulate, out += the product instead.
void gemm_packed_serial(float *out, int ldo, const float *inp, int lda, const float *packed, int N, int C, int OC,
                        int accumulate);
// The same with the left operand stored transposed: inp_t is (C, N) with row stride lda (attention's U^T and
// dS^T read in place). Bitwise equal to transposing it and calling gemm_packed_serial.
void gemm_packed_serial_at(float *out, int ldo, const float *inp_t, int lda, const float *packed, int N, int C,
                           int OC, int accumulate);


// --- exact GELU (erf form, HF "gelu") and tanh, elementwise ------------------------------------------
void gelu_forward(float *out, const float *inp, size_t n);
void gelu_backward(float *dinp, const float *inp, const float *dout, size_t n);
void tanh_forward(float *out, const float *inp, size_t n);
// Uses the forward's output.
void tanh_backward(float *dinp, const float *out, const float *dout, size_t n);

// --- row softmax (N rows of C) ----------------------------------------------------------------------
void softmax_forward(float *out, const float *inp, int N, int C);
void softmax_backward(float *dinp, const float *out, const float *dout, int N, int C);

// --- multi-head self-attention core (projections are separate linears) -------------------------------
// q, k, v, out (B,T,NH*HS) with head h in columns [h*HS, (h+1)*HS); mask (B,T): 1 = real token, 0 = pad
// (a key with mask 0 gets probability exactly 0, as HF's finfo.min additive mask yields); mask may be NULL.
// A sequence with no real token gets uniform rows (1/T over all keys), again as in HF, and its backward is
// HF autograd's (the gradient flows through the equal scores).
// probs (B,NH,T,T) saved: softmax(q·k^T / sqrt(HS) + mask). Attention dropout is applied by the caller
// between probs and the weighted sum through `probs_dropped` (pass probs itself when no dropout).
void attention_forward(float *out, float *probs, const float *q, const float *k, const float *v,
                       const int32_t *mask, int B, int T, int NH, int HS);
// The two halves of attention_forward, so a caller can drop out probabilities in between:
// probs only, then out(B,T,NH*HS) = probs_used · v (out is overwritten, not accumulated).
void attention_probs_forward(float *probs, const float *q, const float *k, const int32_t *mask, int B, int T,
                             int NH, int HS);
void attention_weighted_sum(float *out, const float *probs_used, const float *v, int B, int T, int NH, int HS);
// Full backward given the probabilities used in the weighted sum (dropped or not) and the pre-dropout probs.
// dprobs_scratch: (B,NH,T,T) work space. dq, dk, dv accumulate. drop_keep/drop_p describe attention dropout
// (drop_keep NULL when none): dP_pre = dP_used * keep / (1 - p).
void attention_backward(float *dq, float *dk, float *dv, float *dprobs_scratch, const float *dout,
                        const float *q, const float *k, const float *v, const float *probs,
                        const float *probs_used, const uint8_t *drop_keep, float drop_p,
                        int B, int T, int NH, int HS);
// The same with dq, dk, dv written instead of accumulated (no zeroing pass before it).
void attention_backward_set(float *dq, float *dk, float *dv, float *dprobs_scratch, const float *dout,
                            const float *q, const float *k, const float *v, const float *probs,
                            const float *probs_used, const uint8_t *drop_keep, float drop_p, int B, int T, int NH,
                            int HS);

// --- dropout (inverted: kept values scaled by 1/(1-p)) ------------------------------------------------
// Reproducible and thread-count independent: keep[i] is a pure function of (seed, i).
// p == 0 copies and sets keep to all 1. out may alias inp.
void dropout_forward(float *out, uint8_t *keep, const float *inp, size_t n, float p, uint64_t seed);
void dropout_backward(float *dinp, const float *dout, const uint8_t *keep, size_t n, float p);

// --- residual add: out = a + b -----------------------------------------------------------------------
void residual_forward(float *out, const float *a, const float *b, size_t n);
// da += dout; db += dout.
void residual_backward(float *da, float *db, const float *dout, size_t n);

// --- losses (each returns the mean loss; backward scales by `scale` = dL/d(mean loss)) --------------
// Cross-entropy with ignore index over N rows of C logits. probs (N,C) saved. *n_valid gets the number of
// non-ignored rows; loss is 0 when there are none (torch gives NaN; we define 0 so batches without a label
// for a task contribute nothing). A target outside [0,C) other than ignore_index is a caller bug.
float cross_entropy_forward(float *probs, const float *logits, const int32_t *targets, int N, int C,
                            int ignore_index, int *n_valid);
void cross_entropy_backward(float *dlogits, const float *probs, const int32_t *targets, int N, int C,
                            int ignore_index, int n_valid, float scale);
// Mean squared error over n values.
float mse_forward(const float *pred, const float *target, size_t n);
void mse_backward(float *dpred, const float *pred, const float *target, size_t n, float scale);
// Numerically stable binary cross-entropy with logits, mean over n values.
float bce_logits_forward(const float *logits, const float *target, size_t n);
void bce_logits_backward(float *dlogits, const float *logits, const float *target, size_t n, float scale);

// --- threads ---------------------------------------------------------------------------------------
// Sets the threads used by the kernels (OpenMP loops and OpenBLAS sgemm); n < 1 means 1. Our own loops give
// the same bits for any thread count (each row, column block or (batch, head) pair is reduced by one
// thread); the linears' sgemm results are OpenBLAS's.
void ops_set_num_threads(int n);
int ops_num_threads(void);

// --- scalar reference implementations: the test oracle for the fast kernels ---------------------------
void linear_forward_ref(float *out, const float *inp, const float *w, const float *b, int N, int C, int OC);
void linear_backward_ref(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                         const float *w, int N, int C, int OC);
void layernorm_forward_ref(float *out, float *mean, float *rstd, const float *inp, const float *w,
                           const float *b, int N, int C, float eps);
void attention_forward_ref(float *out, float *probs, const float *q, const float *k, const float *v,
                           const int32_t *mask, int B, int T, int NH, int HS);
void attention_backward_ref(float *dq, float *dk, float *dv, const float *dout, const float *q,
                            const float *k, const float *v, const float *probs, const int32_t *mask,
                            int B, int T, int NH, int HS);
void gelu_forward_ref(float *out, const float *inp, size_t n);
void softmax_forward_ref(float *out, const float *inp, int N, int C);
#endif
