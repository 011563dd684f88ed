// Linear-chain CRF: forward-backward NLL and gradients, Viterbi decoding, and the tagging-scheme
// transition constraints. The recursions run in double in log space; forbidden moves are -inf terms,
// which the log-sum-exp below skips exactly (exp(-inf - finite) = 0, and an all -inf set gives -inf).
// Work is O(B*T*K^2), negligible next to the encoder, so the loops run on the calling thread.
#include "ops/crf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops_internal.h"

// ---------------------------------------------------------------------------------------------------------
// Scores with constraints applied: the parameter, or -inf when the move is forbidden.

static inline double start_score(const float *start, const crf_constraints *c, int k) {
    return c && !c->allowed_start[k] ? -INFINITY : (double)start[k];
}
static inline double end_score(const float *end, const crf_constraints *c, int k) {
    return c && !c->allowed_end[k] ? -INFINITY : (double)end[k];
}
static inline double trans_score(const float *trans, const crf_constraints *c, int K, int i, int j) {
    const size_t ij = (size_t)i * K + j;
    return c && !c->allowed[ij] ? -INFINITY : (double)trans[ij];
}

// log(sum exp(x[0..n))) with the max subtracted; -inf when every term is -inf.
static double log_sum_exp(const double *x, int n) {
    double m = -INFINITY;
    for (int i = 0; i < n; i++) m = x[i] > m ? x[i] : m;
    if (m == -INFINITY) return -INFINITY;
    double s = 0.0;
    for (int i = 0; i < n; i++) s += exp(x[i] - m);
    return m + log(s);
}

// The count the reduced loss divides by (0 when nothing counts).
static double reduction_count(const int32_t *lengths, int B, crf_reduction red) {
    double n = 0.0;
    for (int b = 0; b < B; b++) {
        if (lengths[b] <= 0) continue;
        n += red == CRF_REDUCE_TOKEN_MEAN ? (double)lengths[b] : 1.0;
    }
    if (red == CRF_REDUCE_SUM) return n > 0 ? 1.0 : 0.0;
    return n;
}

// Score of the gold path of one sequence (-inf when it uses a forbidden move).
static double gold_score(const float *em, const int32_t *y, int n, const float *start, const float *end,
                         const float *trans, const crf_constraints *c, int K) {
    double s = start_score(start, c, y[0]) + end_score(end, c, y[n - 1]);
    for (int t = 0; t < n; t++) {
        s += em[(size_t)t * K + y[t]];
        if (t > 0) s += trans_score(trans, c, K, y[t - 1], y[t]);
    }
    return s;
}

float crf_nll_forward(float *nll, double *alpha, double *beta, double *logz, const float *emissions,
                      const int32_t *tags, const int32_t *lengths, const float *start, const float *end,
                      const float *trans, const crf_constraints *cons, int B, int T, int K, crf_reduction red) {
    double *terms = ops_xmalloc((size_t)K * sizeof *terms);
    double total = 0.0;
    for (int b = 0; b < B; b++) {
        const int n = lengths[b];
        const float *em = emissions + (size_t)b * T * K;
        double *al = alpha + (size_t)b * T * K;
        double *be = beta + (size_t)b * T * K;
        if (n < T) {
            memset(al + (size_t)n * K, 0, (size_t)(T - n) * K * sizeof *al);
            memset(be + (size_t)n * K, 0, (size_t)(T - n) * K * sizeof *be);
        }
        if (n <= 0) {
            logz[b] = 0.0;
            if (nll) nll[b] = 0.0f;
            continue;
        }
        // alpha[t][j] = E[t][j] + lse_i(alpha[t-1][i] + trans[i][j]); alpha[0][j] = start[j] + E[0][j]
        for (int j = 0; j < K; j++) al[j] = start_score(start, cons, j) + em[j];
        for (int t = 1; t < n; t++) {
            const double *prev = al + (size_t)(t - 1) * K;
            for (int j = 0; j < K; j++) {
                for (int i = 0; i < K; i++) terms[i] = prev[i] + trans_score(trans, cons, K, i, j);
                al[(size_t)t * K + j] = em[(size_t)t * K + j] + log_sum_exp(terms, K);
            }
        }
        // beta[n-1][i] = end[i]; beta[t][i] = lse_j(trans[i][j] + E[t+1][j] + beta[t+1][j])
        for (int i = 0; i < K; i++) be[(size_t)(n - 1) * K + i] = end_score(end, cons, i);
        for (int t = n - 2; t >= 0; t--) {
            const double *next = be + (size_t)(t + 1) * K;
            const float *en = em + (size_t)(t + 1) * K;
            for (int i = 0; i < K; i++) {
                for (int j = 0; j < K; j++) terms[j] = trans_score(trans, cons, K, i, j) + en[j] + next[j];
                be[(size_t)t * K + i] = log_sum_exp(terms, K);
            }
        }
        for (int k = 0; k < K; k++) terms[k] = al[(size_t)(n - 1) * K + k] + be[(size_t)(n - 1) * K + k];
        const double lz = log_sum_exp(terms, K);
        logz[b] = lz;
        const double g = gold_score(em, tags + (size_t)b * T, n, start, end, trans, cons, K);
        // No allowed path at all (lz = -inf) or a forbidden gold path (g = -inf): +inf, never NaN.
        const double l = lz == -INFINITY || g == -INFINITY ? INFINITY : lz - g;
        if (nll) nll[b] = (float)l;
        total += l;
    }
    free(terms);
    const double count = reduction_count(lengths, B, red);
    return count > 0 ? (float)(total / count) : 0.0f;
}

void crf_nll_backward(float *demissions, float *dstart, float *dend, float *dtrans, const double *alpha,
                      const double *beta, const double *logz, const float *emissions, const int32_t *tags,
                      const int32_t *lengths, const float *trans, const crf_constraints *cons, int B, int T,
                      int K, crf_reduction red, float scale) {
    const double count = reduction_count(lengths, B, red);
    if (count <= 0) return;
    const double w = (double)scale / count;
    // Transition gradients are summed over the whole batch in double, then added once.
    double *gtrans = dtrans ? ops_xmalloc((size_t)K * K * sizeof *gtrans) : NULL;
    if (gtrans) memset(gtrans, 0, (size_t)K * K * sizeof *gtrans);
    for (int b = 0; b < B; b++) {
        const int n = lengths[b];
        const double lz = logz[b];
        if (n <= 0 || !isfinite(lz)) continue;
        const float *em = emissions + (size_t)b * T * K;
        const double *al = alpha + (size_t)b * T * K;
        const double *be = beta + (size_t)b * T * K;
        const int32_t *y = tags + (size_t)b * T;
        for (int t = 0; t < n; t++) {
            const double *at = al + (size_t)t * K, *bt = be + (size_t)t * K;
            for (int k = 0; k < K; k++) {
                const double p = exp(at[k] + bt[k] - lz);  // P(y_t = k)
                const double gk = w * (p - (y[t] == k ? 1.0 : 0.0));
                if (demissions) demissions[((size_t)b * T + t) * K + k] += (float)gk;
                if (t == 0 && dstart && !(cons && !cons->allowed_start[k])) dstart[k] += (float)gk;
                if (t == n - 1 && dend && !(cons && !cons->allowed_end[k])) dend[k] += (float)gk;
            }
        }
        if (!gtrans) continue;
        for (int t = 1; t < n; t++) {
            const double *ap = al + (size_t)(t - 1) * K, *bt = be + (size_t)t * K;
            const float *et = em + (size_t)t * K;
            for (int i = 0; i < K; i++) {
                if (ap[i] == -INFINITY) continue;
                for (int j = 0; j < K; j++) {
                    const double s = trans_score(trans, cons, K, i, j);
                    if (s == -INFINITY) continue;
                    // P(y_{t-1} = i, y_t = j)
                    gtrans[(size_t)i * K + j] += w * exp(ap[i] + s + et[j] + bt[j] - lz);
                }
            }
            gtrans[(size_t)y[t - 1] * K + y[t]] -= w;
        }
    }
    if (gtrans) {
        for (size_t ij = 0; ij < (size_t)K * K; ij++)
            if (!(cons && !cons->allowed[ij])) dtrans[ij] += (float)gtrans[ij];
        free(gtrans);
    }
}

void crf_viterbi(int32_t *tags, float *scores, const float *emissions, const int32_t *lengths,
                 const float *start, const float *end, const float *trans, const crf_constraints *cons,
                 int B, int T, int K) {
    int32_t *bp = ops_xmalloc((size_t)T * K * sizeof *bp);  // bp[t][j]: best previous tag for j at t
    double *prev = ops_xmalloc((size_t)2 * K * sizeof *prev), *cur = prev + K;
    for (int b = 0; b < B; b++) {
        const int n = lengths[b];
        const float *em = emissions + (size_t)b * T * K;
        int32_t *out = tags + (size_t)b * T;
        for (int t = 0; t < T; t++) out[t] = -1;
        if (n <= 0) {
            if (scores) scores[b] = 0.0f;
            continue;
        }
        for (int j = 0; j < K; j++) prev[j] = start_score(start, cons, j) + em[j];
        for (int t = 1; t < n; t++) {
            for (int j = 0; j < K; j++) {
                double best = -INFINITY;
                int arg = 0;
                for (int i = 0; i < K; i++) {
                    const double s = prev[i] + trans_score(trans, cons, K, i, j);
                    if (s > best) {
                        best = s;
                        arg = i;
                    }
                }
                cur[j] = best + em[(size_t)t * K + j];
                bp[(size_t)t * K + j] = arg;
            }
            memcpy(prev, cur, (size_t)K * sizeof *prev);
        }
        double best = -INFINITY;
        int last = -1;
        for (int k = 0; k < K; k++) {
            const double s = prev[k] + end_score(end, cons, k);
            if (s > best) {
                best = s;
                last = k;
            }
        }
        if (scores) scores[b] = (float)best;
        if (last < 0) continue;  // no allowed path: tags stay -1, score -inf
        out[n - 1] = last;
        for (int t = n - 1; t > 0; t--) out[t - 1] = bp[(size_t)t * K + out[t]];
    }
    free(prev);
    free(bp);
}

// ---------------------------------------------------------------------------------------------------------
// Constraints

os_status crf_constraints_init(crf_constraints *c, int K) {
    memset(c, 0, sizeof *c);
    if (K <= 0) return os_fail(OS_ERR_INPUT, "CRF needs at least one tag (got %d)", K);
    c->allowed = os_calloc((size_t)K * K, 1);
    c->allowed_start = os_calloc((size_t)K, 1);
    c->allowed_end = os_calloc((size_t)K, 1);
    if (!c->allowed || !c->allowed_start || !c->allowed_end) {
        crf_constraints_free(c);
        return OS_ERR_NOMEM;
    }
    c->K = K;
    memset(c->allowed, 1, (size_t)K * K);
    memset(c->allowed_start, 1, (size_t)K);
    memset(c->allowed_end, 1, (size_t)K);
    return OS_OK;
}

void crf_constraints_free(crf_constraints *c) {
    if (!c) return;
    free(c->allowed);
    free(c->allowed_start);
    free(c->allowed_end);
    memset(c, 0, sizeof *c);
}

int crf_path_allowed(const crf_constraints *c, const int32_t *tags, int n) {
    if (!c || n <= 0) return -1;
    if (!c->allowed_start[tags[0]]) return 0;
    for (int t = 1; t < n; t++)
        if (!c->allowed[(size_t)tags[t - 1] * c->K + tags[t]]) return t;
    return c->allowed_end[tags[n - 1]] ? -1 : n;
}

// Checks that a parsed label uses a prefix of the scheme (IOB1 and BIO have no E- or S-).
static os_status check_prefix(const os_tag *l, const char *name, int index, os_tag_scheme scheme) {
    if (scheme == OS_SCHEME_BIOES || l->prefix == 'O' || l->prefix == 'B' || l->prefix == 'I') return OS_OK;
    return os_fail(OS_ERR_INPUT,
                   "CRF label %d \"%s\" has no place in the %s scheme: expected \"O\", B-TYPE or I-TYPE "
                   "(fix the task's label list or use the bioes scheme)",
                   index, name, os_tag_scheme_name(scheme));
}

// Whether tag `to` may follow tag `from` (from = NULL: sequence start; to = NULL: sequence end).
static int scheme_allows(os_tag_scheme s, const os_tag *from, const os_tag *to) {
    if (!from && !to) return 1;
    if (s == OS_SCHEME_IOB2 || s == OS_SCHEME_IOB1) {
        // The restricted prefix (BIO: I-, IOB1: B-) only continues an entity of its own type (after B- or
        // I- of that type), so it can never start a sequence; O and the other prefix may follow anything.
        // Any tag may end a sequence.
        const char restricted = s == OS_SCHEME_IOB2 ? 'I' : 'B';
        if (!to || to->prefix != restricted) return 1;
        return from && (from->prefix == 'B' || from->prefix == 'I') && strcmp(from->type, to->type) == 0;
    }
    if (s == OS_SCHEME_BIOES) {
        const int from_inside = from && (from->prefix == 'B' || from->prefix == 'I');
        if (!to) return !from_inside;                 // end with O, E or S
        if (to->prefix == 'I' || to->prefix == 'E')   // continue the open entity of the same type
            return from_inside && strcmp(from->type, to->type) == 0;
        return !from_inside;                          // O, B-*, S-* after start, O, E or S
    }
    return 1;
}

os_status crf_constraints_build(crf_constraints *c, os_tag_scheme scheme, const char *const *labels, int K) {
    os_status st = crf_constraints_init(c, K);
    if (st != OS_OK) return st;
    os_tag *parsed = os_calloc((size_t)K, sizeof *parsed);
    if (!parsed) {
        crf_constraints_free(c);
        return OS_ERR_NOMEM;
    }
    for (int k = 0; k < K && st == OS_OK; k++) {
        if (!labels[k]) {
            st = os_fail(OS_ERR_INPUT, "CRF label %d is missing", k);
        } else if ((st = os_tag_parse(labels[k], &parsed[k])) != OS_OK) {
            char why[512];  // os_tag_parse's message, prefixed with the label's index
            snprintf(why, sizeof why, "%s", os_last_error());
            st = os_fail(st, "CRF label %d: %s", k, why);
        } else {
            st = check_prefix(&parsed[k], labels[k], k, scheme);
        }
    }
    if (st == OS_OK) {
        for (int i = 0; i < K; i++) {
            c->allowed_start[i] = (uint8_t)scheme_allows(scheme, NULL, &parsed[i]);
            c->allowed_end[i] = (uint8_t)scheme_allows(scheme, &parsed[i], NULL);
            for (int j = 0; j < K; j++)
                c->allowed[(size_t)i * K + j] = (uint8_t)scheme_allows(scheme, &parsed[i], &parsed[j]);
        }
    } else {
        crf_constraints_free(c);
    }
    free(parsed);
    return st;
}
