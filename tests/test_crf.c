// Linear-chain CRF (src/ops/crf.c): constraint builders per scheme, brute force over every path on tiny
// cases (logZ, marginals, Viterbi, with and without constraints), central finite differences of every
// gradient, edge cases (empty sequences, forbidden gold paths, accumulation), and a PyTorch golden
// (tests/ref/crf_golden.py: per-sequence NLL and loss within 1e-5 relative, gradients within 1e-4 of
// max |torch|, Viterbi paths equal).
#include <jansson.h>
#include <stdint.h>

#include "harness.h"
#include "ops/crf.h"
#include "util/fileio.h"
#include "util/rng.h"

#define NO_SCHEME (-1)  // unconstrained: the ops get NULL constraints

static double worst_fd = 0, worst_brute = 0, worst_golden_nll = 0, worst_golden_grad = 0;

static void fill_normal(float *x, size_t n, float sd, os_rng *r) {
    for (size_t i = 0; i < n; i++) x[i] = sd * os_rng_normal(r);
}

// A batch of CRF inputs with its saved tensors and gradients.
typedef struct {
    int B, T, K;
    float *em, *start, *end, *trans, *nll;
    int32_t *tags, *lengths;
    double *alpha, *beta, *logz;
    float *dem, *dstart, *dend, *dtrans;
} crf_batch;

static void batch_alloc(crf_batch *x, int B, int T, int K) {
    memset(x, 0, sizeof *x);
    x->B = B, x->T = T, x->K = K;
    size_t btk = (size_t)B * T * K;
    x->em = calloc(btk, sizeof(float));
    x->dem = calloc(btk, sizeof(float));
    x->alpha = calloc(btk, sizeof(double));
    x->beta = calloc(btk, sizeof(double));
    x->logz = calloc((size_t)B, sizeof(double));
    x->nll = calloc((size_t)B, sizeof(float));
    x->start = calloc((size_t)K, sizeof(float));
    x->end = calloc((size_t)K, sizeof(float));
    x->dstart = calloc((size_t)K, sizeof(float));
    x->dend = calloc((size_t)K, sizeof(float));
    x->trans = calloc((size_t)K * K, sizeof(float));
    x->dtrans = calloc((size_t)K * K, sizeof(float));
    x->tags = calloc((size_t)B * T, sizeof(int32_t));
    x->lengths = calloc((size_t)B, sizeof(int32_t));
}

static void batch_free(crf_batch *x) {
    void *p[] = {x->em, x->dem, x->alpha, x->beta, x->logz, x->nll, x->start, x->end, x->dstart,
                 x->dend, x->trans, x->dtrans, x->tags, x->lengths};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) free(p[i]);
}

static void batch_zero_grads(crf_batch *x) {
    memset(x->dem, 0, (size_t)x->B * x->T * x->K * sizeof(float));
    memset(x->dstart, 0, (size_t)x->K * sizeof(float));
    memset(x->dend, 0, (size_t)x->K * sizeof(float));
    memset(x->dtrans, 0, (size_t)x->K * x->K * sizeof(float));
}

static float batch_forward(crf_batch *x, const crf_constraints *c, crf_reduction red) {
    return crf_nll_forward(x->nll, x->alpha, x->beta, x->logz, x->em, x->tags, x->lengths, x->start, x->end,
                           x->trans, c, x->B, x->T, x->K, red);
}

static void batch_backward(crf_batch *x, const crf_constraints *c, crf_reduction red, float scale) {
    crf_nll_backward(x->dem, x->dstart, x->dend, x->dtrans, x->alpha, x->beta, x->logz, x->em, x->tags,
                     x->lengths, x->trans, c, x->B, x->T, x->K, red, scale);
}

// Random parameters and emissions, and a random gold path per sequence that the constraints allow.
static void batch_randomize(crf_batch *x, const crf_constraints *c, os_rng *r) {
    fill_normal(x->em, (size_t)x->B * x->T * x->K, 2.0f, r);
    fill_normal(x->start, (size_t)x->K, 0.5f, r);
    fill_normal(x->end, (size_t)x->K, 0.5f, r);
    fill_normal(x->trans, (size_t)x->K * x->K, 0.5f, r);
    for (int b = 0; b < x->B; b++) {
        int32_t *y = x->tags + (size_t)b * x->T;
        do {
            for (int t = 0; t < x->lengths[b]; t++) y[t] = (int32_t)os_rng_below(r, (uint64_t)x->K);
        } while (crf_path_allowed(c, y, x->lengths[b]) >= 0);
    }
}

// --- brute force ----------------------------------------------------------------------------------------

// Independent of crf_path_allowed: reads the raw masks.
static int brute_allowed(const crf_constraints *c, const int32_t *y, int n) {
    if (!c) return 1;
    if (!c->allowed_start[y[0]] || !c->allowed_end[y[n - 1]]) return 0;
    for (int t = 1; t < n; t++)
        if (!c->allowed[(size_t)y[t - 1] * c->K + y[t]]) return 0;
    return 1;
}

static double path_score(const float *em, const int32_t *y, int n, const float *start, const float *end,
                         const float *trans, int K) {
    double s = (double)start[y[0]] + end[y[n - 1]];
    for (int t = 0; t < n; t++) {
        s += em[(size_t)t * K + y[t]];
        if (t > 0) s += trans[(size_t)y[t - 1] * K + y[t]];
    }
    return s;
}

// Advances y (n digits base K) to the next path; 0 after the last one.
static int next_path(int32_t *y, int n, int K) {
    for (int t = n - 1; t >= 0; t--) {
        if (++y[t] < K) return 1;
        y[t] = 0;
    }
    return 0;
}

// One sequence (batch row 0 of x, length n): logZ and the best path over all allowed paths, enumerated;
// also the expected gradients of the NLL (SUM reduction, scale 1) from the enumerated path probabilities.
static void brute_check(const crf_batch *x, const crf_constraints *c, int n, const char *what) {
    const int K = x->K;
    int32_t y[8] = {0}, best[8] = {0};
    double m = -INFINITY, best_s = -INFINITY;
    int n_allowed = 0, n_paths = 0;
    do {  // pass 1: max for a stable log-sum-exp, best path, consistency of crf_path_allowed
        n_paths++;
        int ok = brute_allowed(c, y, n);
        CHECK_MSG((crf_path_allowed(c, y, n) < 0) == ok, "%s: crf_path_allowed disagrees with the masks", what);
        if (!ok) continue;
        n_allowed++;
        double s = path_score(x->em, y, n, x->start, x->end, x->trans, K);
        if (s > m) m = s;
        if (s > best_s) best_s = s, memcpy(best, y, sizeof y);
    } while (next_path(y, n, K));
    double sum = 0;
    memset(y, 0, sizeof y);
    do {
        if (brute_allowed(c, y, n)) sum += exp(path_score(x->em, y, n, x->start, x->end, x->trans, K) - m);
    } while (next_path(y, n, K));
    const double logz = m + log(sum);
    // expected counts
    size_t KK = (size_t)K * K;
    double *pe = calloc((size_t)n * K, sizeof(double)), *ps = calloc((size_t)K, sizeof(double));
    double *pn = calloc((size_t)K, sizeof(double)), *pt = calloc(KK, sizeof(double));
    memset(y, 0, sizeof y);
    do {
        if (!brute_allowed(c, y, n)) continue;
        double p = exp(path_score(x->em, y, n, x->start, x->end, x->trans, K) - logz);
        ps[y[0]] += p, pn[y[n - 1]] += p;
        for (int t = 0; t < n; t++) pe[(size_t)t * K + y[t]] += p;
        for (int t = 1; t < n; t++) pt[(size_t)y[t - 1] * K + y[t]] += p;
    } while (next_path(y, n, K));
    const int32_t *g = x->tags;
    ps[g[0]] -= 1, pn[g[n - 1]] -= 1;
    for (int t = 0; t < n; t++) pe[(size_t)t * K + g[t]] -= 1;
    for (int t = 1; t < n; t++) pt[(size_t)g[t - 1] * K + g[t]] -= 1;

    crf_batch *xm = (crf_batch *)x;  // the op writes the saved tensors and gradients
    xm->lengths[0] = n;
    batch_zero_grads(xm);
    float loss = batch_forward(xm, c, CRF_REDUCE_SUM);
    batch_backward(xm, c, CRF_REDUCE_SUM, 1.0f);
    const double nll_ref = logz - path_score(x->em, g, n, x->start, x->end, x->trans, K);
    double e = fabs(x->nll[0] - nll_ref) / fmax(1.0, fabs(nll_ref));
    worst_brute = fmax(worst_brute, e);
    CHECK_MSG(e < 1e-6, "%s n=%d: nll %.7g vs enumerated %.7g (%d of %d paths allowed)", what, n, x->nll[0],
              nll_ref, n_allowed, n_paths);
    CHECK_NEAR(loss, x->nll[0], 0);
    CHECK_NEAR(x->logz[0], logz, 1e-9 * fmax(1, fabs(logz)));
    double ge = 0;
    for (int i = 0; i < n * K; i++) ge = fmax(ge, fabs(x->dem[i] - pe[i]));
    for (int k = 0; k < K; k++) ge = fmax(ge, fmax(fabs(x->dstart[k] - ps[k]), fabs(x->dend[k] - pn[k])));
    for (size_t ij = 0; ij < KK; ij++) ge = fmax(ge, fabs(x->dtrans[ij] - pt[ij]));
    worst_brute = fmax(worst_brute, ge);
    CHECK_MSG(ge < 1e-6, "%s n=%d: gradient differs from enumerated marginals by %g", what, n, ge);
    int32_t vit[8];
    float vscore;
    crf_viterbi(vit, &vscore, x->em, x->lengths, x->start, x->end, x->trans, c, 1, x->T, K);
    CHECK_MSG(memcmp(vit, best, (size_t)n * sizeof(int32_t)) == 0, "%s n=%d: Viterbi path differs", what, n);
    CHECK_NEAR(vscore, best_s, 1e-5 * fmax(1, fabs(best_s)));
    for (int t = n; t < x->T; t++) CHECK(vit[t] == -1);
    free(pe), free(ps), free(pn), free(pt);
}

// The constraints of `scheme` over `labels`, built in c; NULL for NO_SCHEME.
static crf_constraints *scheme_constraints(crf_constraints *c, int scheme, const char *const *labels, int K) {
    if (scheme == NO_SCHEME) return NULL;
    CHECK(crf_constraints_build(c, (os_tag_scheme)scheme, labels, K) == OS_OK);
    return c;
}

static void brute_scheme(int scheme, const char *const *labels, int K, int max_n, uint64_t seed) {
    crf_constraints c;
    crf_constraints *cp = scheme_constraints(&c, scheme, labels, K);
    os_rng r;
    os_rng_seed(&r, seed);
    crf_batch x;
    batch_alloc(&x, 1, max_n + 2, K);
    for (int n = 1; n <= max_n; n++) {
        for (int rep = 0; rep < 2; rep++) {
            x.lengths[0] = n;
            batch_randomize(&x, cp, &r);
            const char *what = scheme == NO_SCHEME ? "none" : os_tag_scheme_name((os_tag_scheme)scheme);
            brute_check(&x, cp, n, what);
        }
    }
    batch_free(&x);
    crf_constraints_free(cp);
}

static void test_brute_force(void) {
    static const char *const plain[] = {"A", "B", "C"};
    static const char *const bio[] = {"O", "B-PER", "I-PER", "B-LOC", "I-LOC"};
    static const char *const iob1[] = {"O", "I-PER", "B-PER", "I-LOC", "B-LOC"};
    static const char *const bioes[] = {"O", "B-X", "I-X", "E-X", "S-X", "B-Y", "E-Y"};
    brute_scheme(NO_SCHEME, plain, 3, 6, 1);
    brute_scheme(OS_SCHEME_IOB2, bio, 5, 5, 2);
    brute_scheme(OS_SCHEME_IOB1, iob1, 5, 5, 3);
    brute_scheme(OS_SCHEME_BIOES, bioes, 7, 4, 4);
}

// --- finite differences ---------------------------------------------------------------------------------

// Central differences of the returned loss for every entry of v (n floats), compared with the analytic
// gradient g (already scaled by `scale`).
static double fd_compare(crf_batch *x, const crf_constraints *c, crf_reduction red, float scale, float *v,
                         const float *g, size_t n, const char *what) {
    const float h = 1e-2f;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        const float orig = v[i];
        v[i] = orig + h;
        const float hp = v[i] - orig;
        const double lp = batch_forward(x, c, red);
        v[i] = orig - h;
        const float hm = orig - v[i];
        const double lm = batch_forward(x, c, red);
        v[i] = orig;
        const double fd = scale * (lp - lm) / ((double)hp + hm);
        const double e = fabs(fd - g[i]);
        worst = fmax(worst, e);
        CHECK_MSG(e < 5e-4, "%s[%zu]: analytic %.6g vs finite difference %.6g", what, i, g[i], fd);
    }
    return worst;
}

static void fd_case(int scheme, crf_reduction red, float scale, uint64_t seed) {
    static const char *const labels[] = {"O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"};
    const int K = 7, T = 9, B = 3;
    crf_constraints c;
    crf_constraints *cp = scheme_constraints(&c, scheme, labels, K);
    os_rng r;
    os_rng_seed(&r, seed);
    crf_batch x;
    batch_alloc(&x, B, T, K);
    x.lengths[0] = 1, x.lengths[1] = 5, x.lengths[2] = 9;
    batch_randomize(&x, cp, &r);
    batch_forward(&x, cp, red);
    batch_backward(&x, cp, red, scale);
    double w = 0;
    w = fmax(w, fd_compare(&x, cp, red, scale, x.em, x.dem, (size_t)B * T * K, "demissions"));
    w = fmax(w, fd_compare(&x, cp, red, scale, x.start, x.dstart, (size_t)K, "dstart"));
    w = fmax(w, fd_compare(&x, cp, red, scale, x.end, x.dend, (size_t)K, "dend"));
    w = fmax(w, fd_compare(&x, cp, red, scale, x.trans, x.dtrans, (size_t)K * K, "dtrans"));
    // padding emissions get no gradient
    for (int b = 0; b < B; b++)
        for (int i = x.lengths[b] * K; i < T * K; i++) CHECK(x.dem[(size_t)b * T * K + i] == 0);
    worst_fd = fmax(worst_fd, w);
    batch_free(&x);
    crf_constraints_free(cp);
}

static void test_finite_differences(void) {
    fd_case(NO_SCHEME, CRF_REDUCE_MEAN, 0.7f, 11);
    fd_case(NO_SCHEME, CRF_REDUCE_TOKEN_MEAN, 1.0f, 12);
    fd_case(OS_SCHEME_IOB2, CRF_REDUCE_SUM, 1.0f, 13);
    fd_case(OS_SCHEME_IOB1, CRF_REDUCE_MEAN, 1.0f, 14);
}

// --- edge cases -----------------------------------------------------------------------------------------

static void test_edge_cases(void) {
    static const char *const labels[] = {"O", "B-PER", "I-PER"};
    const int K = 3, T = 4, B = 3;
    crf_constraints c;
    CHECK(crf_constraints_build(&c, OS_SCHEME_IOB2, labels, K) == OS_OK);
    os_rng r;
    os_rng_seed(&r, 21);
    crf_batch x;
    batch_alloc(&x, B, T, K);
    x.lengths[0] = 4, x.lengths[1] = 0, x.lengths[2] = 2;
    batch_randomize(&x, &c, &r);

    // Length 0 contributes 0 and is left out of the mean; sum / token_mean are consistent.
    float mean = batch_forward(&x, &c, CRF_REDUCE_MEAN);
    CHECK(x.nll[1] == 0.0f);
    CHECK_NEAR(mean, (x.nll[0] + x.nll[2]) / 2, 1e-6);
    CHECK_NEAR(batch_forward(&x, &c, CRF_REDUCE_SUM), x.nll[0] + x.nll[2], 1e-5);
    CHECK_NEAR(batch_forward(&x, &c, CRF_REDUCE_TOKEN_MEAN), (x.nll[0] + x.nll[2]) / 6, 1e-6);
    CHECK(x.nll[0] > 0 && x.nll[2] > 0);

    // Backward accumulates: twice = 2x once; the empty sequence gets no gradient.
    batch_forward(&x, &c, CRF_REDUCE_MEAN);
    batch_zero_grads(&x);
    batch_backward(&x, &c, CRF_REDUCE_MEAN, 1.0f);
    float once[3 * 4 * 3], once_t[9];
    memcpy(once, x.dem, sizeof once);
    memcpy(once_t, x.dtrans, sizeof once_t);
    batch_backward(&x, &c, CRF_REDUCE_MEAN, 1.0f);
    int twice = 1;
    for (int i = 0; i < B * T * K; i++) twice &= fabsf(x.dem[i] - 2 * once[i]) <= 1e-6f;
    for (int i = 0; i < K * K; i++) twice &= fabsf(x.dtrans[i] - 2 * once_t[i]) <= 1e-6f;
    CHECK(twice);
    for (int i = T * K; i < 2 * T * K; i++) CHECK(x.dem[i] == 0);
    // forbidden parameters (O->I, start I) get no gradient
    CHECK(x.dtrans[0 * K + 2] == 0 && x.dstart[2] == 0);

    // A gold path with a forbidden move: NLL +inf, never NaN, gradients stay finite.
    x.tags[2 * T + 0] = 0, x.tags[2 * T + 1] = 2;  // O -> I-PER
    CHECK(crf_path_allowed(&c, x.tags + 2 * T, 2) == 1);
    float l = batch_forward(&x, &c, CRF_REDUCE_MEAN);
    CHECK(isinf(x.nll[2]) && x.nll[2] > 0 && isinf(l));
    CHECK(isfinite(x.nll[0]));
    batch_zero_grads(&x);
    batch_backward(&x, &c, CRF_REDUCE_MEAN, 1.0f);
    int finite = 1;
    for (int i = 0; i < B * T * K; i++) finite &= isfinite(x.dem[i]);
    for (int i = 0; i < K * K; i++) finite &= isfinite(x.dtrans[i]);
    CHECK(finite);

    // No allowed path at all (every end forbidden): NLL +inf, Viterbi -1s and score -inf.
    crf_constraints none;
    CHECK(crf_constraints_init(&none, K) == OS_OK);
    memset(none.allowed_end, 0, (size_t)K);
    batch_forward(&x, &none, CRF_REDUCE_SUM);
    CHECK(isinf(x.nll[0]) && x.nll[0] > 0);
    batch_zero_grads(&x);
    batch_backward(&x, &none, CRF_REDUCE_SUM, 1.0f);
    for (int i = 0; i < T * K; i++) CHECK(x.dem[i] == 0);
    int32_t vit[3 * 4];
    float vs[3];
    crf_viterbi(vit, vs, x.em, x.lengths, x.start, x.end, x.trans, &none, B, T, K);
    CHECK(isinf(vs[0]) && vs[0] < 0 && vit[0] == -1 && vit[3] == -1);
    CHECK(vs[1] == 0 && vit[4] == -1);  // empty sequence
    crf_constraints_free(&none);
    crf_constraints_free(&none);  // double free is safe

    // A batch with nothing to count: loss 0, no gradient.
    memset(x.lengths, 0, sizeof(int32_t) * B);
    CHECK(batch_forward(&x, &c, CRF_REDUCE_MEAN) == 0.0f);
    batch_zero_grads(&x);
    batch_backward(&x, &c, CRF_REDUCE_TOKEN_MEAN, 1.0f);
    CHECK(x.dstart[0] == 0 && x.dend[0] == 0);
    batch_free(&x);
    crf_constraints_free(&c);
}

// --- constraint builders --------------------------------------------------------------------------------

// Compares a built constraint set with expected rows written as strings of '0'/'1'.
static void expect_constraints(const crf_constraints *c, const char *start, const char *end,
                               const char *const *rows, const char *what) {
    const int K = c->K;
    for (int k = 0; k < K; k++) {
        CHECK_MSG(c->allowed_start[k] == (start[k] == '1'), "%s: start of tag %d", what, k);
        CHECK_MSG(c->allowed_end[k] == (end[k] == '1'), "%s: end of tag %d", what, k);
        for (int j = 0; j < K; j++)
            CHECK_MSG(c->allowed[(size_t)k * K + j] == (rows[k][j] == '1'), "%s: %d -> %d", what, k, j);
    }
}

// Builds the constraints of `scheme` and compares them with the expected tables.
static void expect_scheme(os_tag_scheme scheme, const char *const *labels, int K, const char *start,
                          const char *end, const char *const *rows) {
    crf_constraints c;
    CHECK(crf_constraints_build(&c, scheme, labels, K) == OS_OK);
    if (c.K == K) expect_constraints(&c, start, end, rows, os_tag_scheme_name(scheme));
    crf_constraints_free(&c);
}

static void test_constraint_builders(void) {
    static const char *const bio_labels[] = {"O", "B-PER", "I-PER", "B-LOC", "I-LOC"};
    // BIO: I-X only after B-X or I-X; I-X cannot start; anything may end.
    static const char *const bio_rows[] = {
        // to: O BP IP BL IL
        "11010",  // O
        "11110",  // B-PER
        "11110",  // I-PER
        "11011",  // B-LOC
        "11011",  // I-LOC
    };
    expect_scheme(OS_SCHEME_IOB2, bio_labels, 5, "11010", "11111", bio_rows);

    // IOB1: B-X only after B-X or I-X (between adjacent same-type entities); B-X cannot start.
    static const char *const iob1_rows[] = {
        "10101",  // O:     O, I-PER, I-LOC
        "11101",  // B-PER: also B-PER
        "11101",  // I-PER: also B-PER
        "10111",  // B-LOC: also B-LOC
        "10111",  // I-LOC: also B-LOC
    };
    expect_scheme(OS_SCHEME_IOB1, bio_labels, 5, "10101", "11111", iob1_rows);

    // BIOES: B/I-X -> I-X|E-X; E/S/O -> O|B-*|S-*; start O,B,S; end O,E,S.
    static const char *const bioes_labels[] = {"O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "E-LOC"};
    static const char *const bioes_rows[] = {
        // to: O BP IP EP SP BL EL
        "1100110",  // O
        "0011000",  // B-PER
        "0011000",  // I-PER
        "1100110",  // E-PER
        "1100110",  // S-PER
        "0000001",  // B-LOC
        "1100110",  // E-LOC
    };
    expect_scheme(OS_SCHEME_BIOES, bioes_labels, 7, "1100110", "1001101", bioes_rows);

    // init: everything allowed (the start for hand-made masks)
    crf_constraints c;
    CHECK(crf_constraints_init(&c, 2) == OS_OK);
    static const char *const all_rows[] = {"11", "11"};
    expect_constraints(&c, "11", "11", all_rows, "none");
    crf_constraints_free(&c);

    // Invalid labels name the offending label and leave nothing allocated.
    static const char *const bad1[] = {"O", "E-PER"};     // E is not a BIO prefix
    static const char *const bad2[] = {"O", "B-"};        // empty type
    static const char *const bad3[] = {"PER", "O"};       // no prefix
    static const char *const bad4[] = {"O", "B_PER"};     // wrong separator
    CHECK(crf_constraints_build(&c, OS_SCHEME_IOB2, bad1, 2) == OS_ERR_INPUT);
    CHECK(strstr(os_last_error(), "\"E-PER\"") && strstr(os_last_error(), "iob2"));
    CHECK(c.allowed == NULL && c.K == 0);
    CHECK(crf_constraints_build(&c, OS_SCHEME_BIOES, bad2, 2) == OS_ERR_INPUT);
    CHECK(crf_constraints_build(&c, OS_SCHEME_IOB1, bad3, 2) == OS_ERR_INPUT);
    CHECK(strstr(os_last_error(), "label 0"));
    CHECK(crf_constraints_build(&c, OS_SCHEME_IOB2, bad4, 2) == OS_ERR_INPUT);
    CHECK(crf_constraints_build(&c, OS_SCHEME_IOB2, bio_labels, 0) == OS_ERR_INPUT);

    // crf_path_allowed reports the first offending position.
    CHECK(crf_constraints_build(&c, OS_SCHEME_BIOES, bioes_labels, 7) == OS_OK);
    const int32_t ok[] = {0, 1, 2, 3, 4, 0}, bad_start[] = {2, 3}, bad_move[] = {0, 1, 0}, bad_end[] = {1, 2};
    CHECK(crf_path_allowed(&c, ok, 6) == -1);
    CHECK(crf_path_allowed(&c, bad_start, 2) == 0);
    CHECK(crf_path_allowed(&c, bad_move, 3) == 2);
    CHECK(crf_path_allowed(&c, bad_end, 2) == 2);
    CHECK(crf_path_allowed(NULL, bad_move, 3) == -1);
    crf_constraints_free(&c);
}

// --- PyTorch golden -------------------------------------------------------------------------------------

// Reads dir/NAME.SUFFIX, which must hold exactly n 4-byte values, into dst; 0 on failure (a failed check).
static int read_raw(void *dst, const char *dir, const char *name, const char *suffix, size_t n) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s.%s", dir, name, suffix);
    char *data = NULL;
    size_t len = 0;
    int ok = os_read_file(path, &data, &len) == OS_OK && len == n * 4;
    CHECK_MSG(ok, "golden file %s missing or %zu bytes, expected %zu", path, len, n * 4);
    if (ok) memcpy(dst, data, n * 4);
    free(data);
    return ok;
}

// max |a-b| / max |b| over a tensor
static double rel_err(const float *a, const float *b, size_t n) {
    double num = 0, den = 1e-30;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        num = isnan(d) ? INFINITY : fmax(num, d);
        den = fmax(den, fabs(b[i]));
    }
    return num / den;
}

static void golden_case(const char *dir, json_t *meta) {
    const char *name = json_string_value(json_object_get(meta, "name"));
    const char *red_name = json_string_value(json_object_get(meta, "reduction"));
    const char *scheme_name = json_string_value(json_object_get(meta, "scheme"));
    const int B = (int)json_integer_value(json_object_get(meta, "B"));
    const int T = (int)json_integer_value(json_object_get(meta, "T"));
    const int K = (int)json_integer_value(json_object_get(meta, "K"));
    json_t *jl = json_object_get(meta, "labels");
    const int meta_ok = name && red_name && scheme_name && B > 0 && T > 0 && K > 0 &&
                        json_array_size(jl) == (size_t)K;
    CHECK_MSG(meta_ok, "bad golden meta.json entry");
    if (!meta_ok) return;
    crf_reduction red = strcmp(red_name, "mean") == 0         ? CRF_REDUCE_MEAN
                        : strcmp(red_name, "token_mean") == 0 ? CRF_REDUCE_TOKEN_MEAN
                                                              : CRF_REDUCE_SUM;
    CHECK(strcmp(red_name, "sum") == 0 || red != CRF_REDUCE_SUM);
    crf_constraints c = {0}, *cp = NULL;
    if (strcmp(scheme_name, "none") != 0) {
        os_tag_scheme scheme = OS_SCHEME_IOB2;
        CHECK(os_tag_scheme_parse(scheme_name, &scheme) == 0);
        const char **labels = calloc((size_t)K, sizeof *labels);
        for (int k = 0; k < K; k++) labels[k] = json_string_value(json_array_get(jl, (size_t)k));
        CHECK(crf_constraints_build(&c, scheme, labels, K) == OS_OK);
        free(labels);
        cp = &c;
    }

    const size_t btk = (size_t)B * T * K, kk = (size_t)K * K, bt = (size_t)B * T;
    crf_batch x, ref;  // ref: torch's outputs and gradients in the same layout
    batch_alloc(&x, B, T, K);
    batch_alloc(&ref, B, T, K);
    float ref_loss = 0;
    int32_t *ref_vit = calloc(bt, sizeof(int32_t)), *vit = calloc(bt, sizeof(int32_t));
    int ok = read_raw(x.em, dir, name, "emissions.f32", btk) & read_raw(x.start, dir, name, "start.f32", K) &
             read_raw(x.end, dir, name, "end.f32", K) & read_raw(x.trans, dir, name, "trans.f32", kk) &
             read_raw(x.tags, dir, name, "tags.i32", bt) & read_raw(x.lengths, dir, name, "lengths.i32", B) &
             read_raw(ref.nll, dir, name, "nll.f32", B) & read_raw(&ref_loss, dir, name, "loss.f32", 1) &
             read_raw(ref.dem, dir, name, "demissions.f32", btk) &
             read_raw(ref.dstart, dir, name, "dstart.f32", K) & read_raw(ref.dend, dir, name, "dend.f32", K) &
             read_raw(ref.dtrans, dir, name, "dtrans.f32", kk) & read_raw(ref_vit, dir, name, "viterbi.i32", bt);
    if (ok) {
        float loss = batch_forward(&x, cp, red);
        batch_backward(&x, cp, red, 1.0f);
        double e_nll = fmax(rel_err(x.nll, ref.nll, (size_t)B), fabs(loss - ref_loss) / fabs(ref_loss));
        for (int b = 0; b < B; b++)  // each sequence on its own too
            if (ref.nll[b] != 0) e_nll = fmax(e_nll, fabs(x.nll[b] - ref.nll[b]) / fabs(ref.nll[b]));
        CHECK_MSG(e_nll <= 1e-5, "golden %s: NLL relative error %.3g > 1e-5 (loss %.8g vs %.8g)", name, e_nll,
                  loss, ref_loss);
        double e_grad = fmax(fmax(rel_err(x.dem, ref.dem, btk), rel_err(x.dstart, ref.dstart, (size_t)K)),
                             fmax(rel_err(x.dend, ref.dend, (size_t)K), rel_err(x.dtrans, ref.dtrans, kk)));
        CHECK_MSG(e_grad <= 1e-4, "golden %s: gradient relative error %.3g > 1e-4", name, e_grad);
        crf_viterbi(vit, NULL, x.em, x.lengths, x.start, x.end, x.trans, cp, B, T, K);
        CHECK_MSG(memcmp(vit, ref_vit, bt * 4) == 0, "golden %s: Viterbi paths differ from torch", name);
        worst_golden_nll = fmax(worst_golden_nll, e_nll);
        worst_golden_grad = fmax(worst_golden_grad, e_grad);
    }
    free(vit);
    free(ref_vit);
    batch_free(&x);
    batch_free(&ref);
    crf_constraints_free(cp);
}

static void test_pytorch_golden(void) {
    const char *src = getenv("ONESTONE_SRC");
    char dir[1024], cmd[4096];
    snprintf(dir, sizeof dir, "%s/crf", th_tmpdir());
    CHECK(os_mkdirs(dir) == OS_OK);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/ref/crf_golden.py %s", src ? src : ".", dir);
    int rc = system(cmd);
    CHECK_MSG(rc == 0, "PyTorch golden generation failed (%s): /usr/bin/python3 with torch is required "
                       "(scripts/setup.sh installs python3-torch)", cmd);
    if (rc != 0) return;
    char *path = os_path_join(dir, "meta.json");
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    CHECK_MSG(root != NULL, "%s: %s", path, err.text);
    free(path);
    json_t *cases = json_object_get(root, "cases");
    CHECK(json_array_size(cases) >= 4);
    for (size_t i = 0; i < json_array_size(cases); i++) golden_case(dir, json_array_get(cases, i));
    json_decref(root);
}

int main(void) {
    RUN(test_constraint_builders);
    RUN(test_brute_force);
    RUN(test_finite_differences);
    RUN(test_edge_cases);
    RUN(test_pytorch_golden);
    printf("max errors: brute force %.3g, finite differences %.3g (abs), torch NLL %.3g (rel), torch grads %.3g "
           "(rel)\n", worst_brute, worst_fd, worst_golden_nll, worst_golden_grad);
    return th_finish();
}
