// Linear-chain CRF over the labelled positions of each sequence (pytorch-crf's `CRF` semantics), with
// optional transition constraints for the IOB1, BIO (IOB2) and BIOES tagging schemes. See docs/crf.md.
//
// Layout: emissions (B,T,K) row-major float32, tags (B,T) int32, lengths (B) int32 with 0 <= lengths[b] <= T;
// positions t >= lengths[b] are padding and never read. Parameters: start (K), end (K), trans (K,K) with
// trans[i*K+j] the score of moving from tag i to tag j. The score of a path y of length n is
//   start[y0] + sum_t E[t][y_t] + sum_{t>=1} trans[y_{t-1}][y_t] + end[y_{n-1}]
// and NLL = logZ - score(gold), logZ = log-sum-exp of the scores of all ALLOWED paths of length n.
// Like the other ops: outputs first, then inputs, then sizes; the backward ACCUMULATES (+=).
#ifndef ONESTONE_OPS_CRF_H
#define ONESTONE_OPS_CRF_H
#include <stddef.h>
#include <stdint.h>

#include "metrics/tag_scheme.h"
#include "util/error.h"

// How crf_nll_forward reduces the per-sequence NLLs to one loss (sequences of length 0 count for nothing):
//   SUM        sum over sequences
//   MEAN       sum / number of sequences with length > 0 (pytorch-crf "mean", the default)
//   TOKEN_MEAN sum / total labelled positions (sum of lengths) (pytorch-crf "token_mean")
// A batch with nothing to count gives a loss of 0.
typedef enum { CRF_REDUCE_MEAN = 0, CRF_REDUCE_TOKEN_MEAN = 1, CRF_REDUCE_SUM = 2 } crf_reduction;

// Transition constraints: 1 = allowed, 0 = forbidden. A forbidden move is excluded exactly (its score is
// -inf) from the partition function, the gold score and Viterbi; the matching parameter gets no gradient.
typedef struct {
    int K;
    uint8_t *allowed;        // (K,K): allowed[i*K+j] = may tag j follow tag i
    uint8_t *allowed_start;  // (K): may a sequence start with tag k
    uint8_t *allowed_end;    // (K): may a sequence end with tag k
} crf_constraints;

// Allocates K-sized constraints with every move allowed.
os_status crf_constraints_init(crf_constraints *c, int K);
// Builds the constraints of `scheme` (the tagging schemes of metrics/tag_scheme.h; the rules are in
// docs/crf.md) from the K label names ("O", "B-PER", "I-PER", "E-PER", "S-PER"). Each label must be "O" or
// PREFIX-TYPE with a non-empty TYPE and a prefix the scheme uses (IOB1 and BIO: B, I; BIOES: B, I, E, S);
// otherwise OS_ERR_INPUT naming the label, and c is left empty. For no constraints pass NULL to the ops.
os_status crf_constraints_build(crf_constraints *c, os_tag_scheme scheme, const char *const *labels, int K);
// Frees the arrays (safe on a zeroed or already freed struct).
void crf_constraints_free(crf_constraints *c);
// Checks one tag path of length n: -1 when allowed, else the first offending position (0: forbidden start
// tag, t in [1,n): forbidden move into position t, n: forbidden end tag). c may be NULL (always -1).
int crf_path_allowed(const crf_constraints *c, const int32_t *tags, int n);

// Per-sequence NLL and the reduced loss (returned). nll (B) optional (NULL skips); length-0 sequences get 0.
// Saves for the backward: alpha, beta (B,T,K) the forward and backward log-space tables (double; rows
// t >= lengths[b] are set to 0) and logz (B). cons may be NULL (no constraints). A sequence whose gold
// path is forbidden gets NLL +inf (validate labels first with crf_path_allowed); one with no allowed path
// of its length at all gets +inf too. Gold tags must lie in [0,K) (caller bug otherwise).
float crf_nll_forward(float *nll, double *alpha, double *beta, double *logz, const float *emissions,
                      const int32_t *tags, const int32_t *lengths, const float *start, const float *end,
                      const float *trans, const crf_constraints *cons, int B, int T, int K, crf_reduction red);

// Gradients of (scale * reduced loss), from the marginals of the saved alpha/beta/logz:
//   d/dE[t][k]       = P(y_t = k) - [gold_t = k]
//   d/dstart[k]      = P(y_0 = k) - [gold_0 = k]
//   d/dend[k]        = P(y_{n-1} = k) - [gold_{n-1} = k]
//   d/dtrans[i][j]   = sum_{t>=1} P(y_{t-1} = i, y_t = j) - (gold count of i -> j)
// each times the reduction weight and `scale`. Every gradient is optional (NULL skips) and ACCUMULATES.
// Forbidden parameters get no gradient; sequences of length 0 or without an allowed path contribute nothing.
void crf_nll_backward(float *demissions, float *dstart, float *dend, float *dtrans, const double *alpha,
                      const double *beta, const double *logz, const float *emissions, const int32_t *tags,
                      const int32_t *lengths, const float *trans, const crf_constraints *cons, int B, int T,
                      int K, crf_reduction red, float scale);

// Viterbi decoding: tags (B,T) gets the best allowed path of each sequence (ties go to the lower tag index)
// and -1 at padding positions t >= lengths[b]; scores (B) optional gets the best path's score (0 for length
// 0; -inf, with all tags -1, when no allowed path exists).
void crf_viterbi(int32_t *tags, float *scores, const float *emissions, const int32_t *lengths,
                 const float *start, const float *end, const float *trans, const crf_constraints *cons,
                 int B, int T, int K);
#endif
