// Every backward against central finite differences of its forward, for every float input and parameter:
// L = sum(out * R) accumulated in double (R random), dL/dx from backward(dout = R) versus
// (L(x + h) - L(x - h)) / (2h) on sampled coordinates and along one random direction through all of x.
// Then the accumulate contract: backward adds to what the gradients already hold.
#include "ops/ops.h"
#include "ops_testutil.h"

enum { B = 2, T = TU_T, NH = TU_NH, HS = TU_HS, C = TU_C, N = B * T };
static const int LENS[3] = {37, 21, 0};

#define MAX_PARAMS 4

// One op under test. loss() runs the forward at the current inputs and returns L; backward() runs the
// op's backward with dout = R, adding into grad[] (the forward has just run at the same inputs).
typedef struct op_case {
    const char *name;
    double (*loss)(struct op_case *);
    void (*backward)(struct op_case *);
    int n_params;
    const char *pname[MAX_PARAMS];
    float *param[MAX_PARAMS];
    float *grad[MAX_PARAMS];
    size_t size[MAX_PARAMS];
    float h;     // finite-difference step
    double tol;  // on the normalised error
    void *op;    // the op's own buffers
} op_case;

static os_rng rng;

static double weighted_sum(const float *out, const float *R, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)out[i] * R[i];
    return s;
}

// Largest errors seen, per case, for the summary.
static double worst_coord, worst_dir;

// Finite differences on up to 40 sampled coordinates of param p, and along a random +-1 direction.
// Coordinates: |num - ana| / max(|num|, |ana|, 1e-2 * max|grad|). Direction: |num - ana| / sum|g_i dx_i|.
static void fd_check(op_case *oc, int p, const float *ana) {
    float *x = oc->param[p];
    const size_t n = oc->size[p];
    const float h = oc->h;
    double gmax = 0.0;
    for (size_t i = 0; i < n; i++) gmax = fmax(gmax, fabs(ana[i]));
    const size_t samples = n < 40 ? n : 40;
    double e_coord = 0.0;
    for (size_t s = 0; s < samples; s++) {
        const size_t i = n < 40 ? s : (size_t)os_rng_below(&rng, n);
        const float x0 = x[i], xp = x0 + h, xm = x0 - h;
        x[i] = xp;
        const double lp = oc->loss(oc);
        x[i] = xm;
        const double lm = oc->loss(oc);
        x[i] = x0;
        const double num = (lp - lm) / ((double)xp - (double)xm);
        const double denom = fmax(fmax(fabs(num), fabs(ana[i])), 1e-2 * gmax + 1e-12);
        const double e = fabs(num - ana[i]) / denom;
        if (e > e_coord) e_coord = e;
        CHECK_MSG(e <= oc->tol, "%s d/d%s[%zu]: numeric %.6g analytic %.6g", oc->name, oc->pname[p], i, num,
                  (double)ana[i]);
    }
    float *x0 = tu_copy(x, n);
    double ana_dot = 0.0, scale = 0.0;
    uint8_t *sign = tu_alloc(n);
    for (size_t i = 0; i < n; i++) sign[i] = (uint8_t)(os_rng_next(&rng) & 1);
    for (size_t i = 0; i < n; i++) x[i] = x0[i] + (sign[i] ? h : -h);
    const double lp = oc->loss(oc);
    for (size_t i = 0; i < n; i++) {
        const float xp = x[i];
        x[i] = x0[i] - (sign[i] ? h : -h);
        const double dx = (double)xp - (double)x[i];
        ana_dot += ana[i] * dx;
        scale += fabs(ana[i] * dx);
    }
    const double lm = oc->loss(oc);
    memcpy(x, x0, n * sizeof *x);
    const double e_dir = fabs((lp - lm) - ana_dot) / (scale + 1e-30);
    CHECK_MSG(e_dir <= oc->tol, "%s d/d%s along a direction: numeric %.8g analytic %.8g", oc->name,
              oc->pname[p], lp - lm, ana_dot);
    printf("  %-24s d/d%-5s max err %.2e (coords), %.2e (direction)\n", oc->name, oc->pname[p], e_coord, e_dir);
    worst_coord = fmax(worst_coord, e_coord);
    worst_dir = fmax(worst_dir, e_dir);
    free(x0);
    free(sign);
}

static void zero_grads(op_case *oc) {
    for (int p = 0; p < oc->n_params; p++) memset(oc->grad[p], 0, oc->size[p] * sizeof(float));
}

static void run_case(op_case *oc) {
    float *ana[MAX_PARAMS];
    // Analytic gradients from zero.
    oc->loss(oc);
    zero_grads(oc);
    oc->backward(oc);
    for (int p = 0; p < oc->n_params; p++) ana[p] = tu_copy(oc->grad[p], oc->size[p]);
    for (int p = 0; p < oc->n_params; p++) fd_check(oc, p, ana[p]);
    // Accumulation: backward twice from zero gives 2g; from G0 it gives G0 + g.
    oc->loss(oc);
    zero_grads(oc);
    oc->backward(oc);
    oc->backward(oc);
    for (int p = 0; p < oc->n_params; p++) {
        float *twice = tu_floats(oc->size[p]);
        for (size_t i = 0; i < oc->size[p]; i++) twice[i] = 2.0f * ana[p][i];
        double e = tu_rel_err(oc->grad[p], twice, oc->size[p]);
        CHECK_MSG(e <= 1e-6, "%s: backward twice does not double d%s (err %.3g)", oc->name, oc->pname[p], e);
        tu_fill_normal(&rng, oc->grad[p], oc->size[p], 1.0f);
        for (size_t i = 0; i < oc->size[p]; i++) twice[i] = oc->grad[p][i] + ana[p][i];  // G0 + g
        memcpy(ana[p], twice, oc->size[p] * sizeof(float));
        free(twice);
    }
    oc->backward(oc);
    for (int p = 0; p < oc->n_params; p++) {
        double e = tu_rel_err(oc->grad[p], ana[p], oc->size[p]);
        CHECK_MSG(e <= 1e-6, "%s: backward does not add to d%s (err %.3g)", oc->name, oc->pname[p], e);
        free(ana[p]);
    }
}

// Sets up parameter p of a case: a fresh tensor of n values ~ N(0, sd) and its gradient buffer.
static float *add_param(op_case *oc, const char *name, size_t n, float sd) {
    const int p = oc->n_params++;
    oc->pname[p] = name;
    oc->param[p] = tu_floats(n);
    oc->grad[p] = tu_floats(n);
    oc->size[p] = n;
    tu_fill_normal(&rng, oc->param[p], n, sd);
    return oc->param[p];
}

static void free_case(op_case *oc) {
    for (int p = 0; p < oc->n_params; p++) free(oc->param[p]), free(oc->grad[p]);
}

static float *random_weights(size_t n) {
    float *R = tu_floats(n);
    tu_fill_normal(&rng, R, n, 1.0f);
    return R;
}

// ---- embeddings ----
typedef struct {
    int32_t ids[N], type_ids[N];
    float *out, *R;
} emb_op;

static double emb_loss(op_case *oc) {
    emb_op *o = oc->op;
    embeddings_forward(o->out, o->ids, o->type_ids, oc->param[0], oc->param[1], oc->param[2], B, T, C);
    return weighted_sum(o->out, o->R, (size_t)N * C);
}
static void emb_backward(op_case *oc) {
    emb_op *o = oc->op;
    embeddings_backward(oc->grad[0], oc->grad[1], oc->grad[2], o->R, o->ids, o->type_ids, B, T, C);
}

static void test_embeddings(void) {
    enum { V = 11, P = 40, TV = 2 };
    emb_op o;
    op_case oc = {.name = "embeddings", .loss = emb_loss, .backward = emb_backward, .h = 0.05f, .tol = 1e-3, .op = &o};
    add_param(&oc, "wte", (size_t)V * C, 1.0f);
    add_param(&oc, "wpe", (size_t)P * C, 1.0f);
    add_param(&oc, "wtt", (size_t)TV * C, 1.0f);
    for (int i = 0; i < N; i++) {
        o.ids[i] = (int32_t)os_rng_below(&rng, V);  // 74 tokens over 11 ids: many repeats
        o.type_ids[i] = (int32_t)os_rng_below(&rng, TV);
    }
    o.out = tu_floats((size_t)N * C);
    o.R = random_weights((size_t)N * C);
    run_case(&oc);
    free(o.out), free(o.R);
    free_case(&oc);
}

// ---- layernorm ----
typedef struct {
    float *out, *R, mean[N], rstd[N];
    float eps;
} ln_op;

static double ln_loss(op_case *oc) {
    ln_op *o = oc->op;
    layernorm_forward(o->out, o->mean, o->rstd, oc->param[0], oc->param[1], oc->param[2], N, C, o->eps);
    return weighted_sum(o->out, o->R, (size_t)N * C);
}
static void ln_backward(op_case *oc) {
    ln_op *o = oc->op;
    layernorm_backward(oc->grad[0], oc->grad[1], oc->grad[2], o->R, oc->param[0], oc->param[1], o->mean, o->rstd,
                       N, C);
}

static void test_layernorm(void) {
    ln_op o = {.eps = 1e-12f};
    op_case oc = {.name = "layernorm", .loss = ln_loss, .backward = ln_backward, .h = 1e-2f, .tol = 5e-3, .op = &o};
    float *x = add_param(&oc, "inp", (size_t)N * C, 1.0f);
    float *w = add_param(&oc, "w", C, 0.3f);
    add_param(&oc, "b", C, 1.0f);
    for (size_t i = 0; i < (size_t)N * C; i++) x[i] += 0.5f;
    for (int c = 0; c < C; c++) w[c] += 1.0f;
    o.out = tu_floats((size_t)N * C);
    o.R = random_weights((size_t)N * C);
    run_case(&oc);
    free(o.out), free(o.R);
    free_case(&oc);
}

// ---- residual + layernorm (fused forward; backward = layernorm_backward, then the residual's fan-out) ----
typedef struct {
    float *out, *res, *R, *dres, mean[N], rstd[N];
} rln_op;

static double rln_loss(op_case *oc) {
    rln_op *o = oc->op;
    residual_layernorm_forward(o->out, o->res, o->mean, o->rstd, oc->param[0], oc->param[1], oc->param[2],
                               oc->param[3], N, C, 1e-12f);
    return weighted_sum(o->out, o->R, (size_t)N * C);
}
static void rln_backward(op_case *oc) {
    rln_op *o = oc->op;
    memset(o->dres, 0, (size_t)N * C * sizeof(float));
    layernorm_backward(o->dres, oc->grad[2], oc->grad[3], o->R, o->res, oc->param[2], o->mean, o->rstd, N, C);
    residual_backward(oc->grad[0], oc->grad[1], o->dres, (size_t)N * C);
}

static void test_residual_layernorm(void) {
    rln_op o;
    op_case oc = {.name = "residual_layernorm", .loss = rln_loss, .backward = rln_backward, .h = 1e-2f, .tol = 5e-3,
                  .op = &o};
    add_param(&oc, "a", (size_t)N * C, 1.0f);
    add_param(&oc, "r", (size_t)N * C, 1.0f);
    float *w = add_param(&oc, "w", C, 0.3f);
    add_param(&oc, "b", C, 1.0f);
    for (int c = 0; c < C; c++) w[c] += 1.0f;
    o.out = tu_floats((size_t)N * C);
    o.res = tu_floats((size_t)N * C);
    o.dres = tu_floats((size_t)N * C);
    o.R = random_weights((size_t)N * C);
    run_case(&oc);
    free(o.out), free(o.res), free(o.dres), free(o.R);
    free_case(&oc);
}

// ---- linear (fast and reference) ----
enum { OC = 40 };
typedef struct {
    float *out, *R;
    int ref;
} lin_op;

static double lin_loss(op_case *oc) {
    lin_op *o = oc->op;
    (o->ref ? linear_forward_ref : linear_forward)(o->out, oc->param[0], oc->param[1], oc->param[2], N, C, OC);
    return weighted_sum(o->out, o->R, (size_t)N * OC);
}
static void lin_backward(op_case *oc) {
    lin_op *o = oc->op;
    (o->ref ? linear_backward_ref : linear_backward)(oc->grad[0], oc->grad[1], oc->grad[2], o->R, oc->param[0],
                                                     oc->param[1], N, C, OC);
}

static void test_linear(void) {
    for (int ref = 0; ref < 2; ref++) {
        lin_op o = {.ref = ref};
        op_case oc = {.name = ref ? "linear_ref" : "linear", .loss = lin_loss, .backward = lin_backward,
                      .h = 0.05f, .tol = 1e-3, .op = &o};
        add_param(&oc, "inp", (size_t)N * C, 1.0f);
        add_param(&oc, "w", (size_t)OC * C, 0.3f);
        add_param(&oc, "b", OC, 1.0f);
        o.out = tu_floats((size_t)N * OC);
        o.R = random_weights((size_t)N * OC);
        run_case(&oc);
        free(o.out), free(o.R);
        free_case(&oc);
    }
}

// ---- fused dense + bias + GELU ----
typedef struct {
    float *out, *pre, *dpre, *R;
} lg_op;

static double lg_loss(op_case *oc) {
    lg_op *o = oc->op;
    linear_gelu_forward(o->out, o->pre, oc->param[0], oc->param[1], oc->param[2], N, C, OC);
    return weighted_sum(o->out, o->R, (size_t)N * OC);
}
static void lg_backward(op_case *oc) {
    lg_op *o = oc->op;
    linear_gelu_backward(oc->grad[0], oc->grad[1], oc->grad[2], o->dpre, o->R, o->pre, oc->param[0], oc->param[1],
                         N, C, OC);
}

static void test_linear_gelu(void) {
    lg_op o;
    op_case oc = {.name = "linear_gelu", .loss = lg_loss, .backward = lg_backward, .h = 1e-2f, .tol = 5e-3, .op = &o};
    add_param(&oc, "inp", (size_t)N * C, 1.0f);
    add_param(&oc, "w", (size_t)OC * C, 0.1f);
    add_param(&oc, "b", OC, 0.5f);
    o.out = tu_floats((size_t)N * OC);
    o.pre = tu_floats((size_t)N * OC);
    o.dpre = tu_floats((size_t)N * OC);
    o.R = random_weights((size_t)N * OC);
    run_case(&oc);
    free(o.out), free(o.pre), free(o.dpre), free(o.R);
    free_case(&oc);
}

// ---- elementwise: gelu, tanh, dropout, residual ----
typedef struct {
    float *out, *R;
    size_t n;
    int kind;  // 0 gelu, 1 tanh, 2 dropout, 3 residual
    uint8_t *keep;
} ew_op;

static double ew_loss(op_case *oc) {
    ew_op *o = oc->op;
    switch (o->kind) {
    case 0: gelu_forward(o->out, oc->param[0], o->n); break;
    case 1: tanh_forward(o->out, oc->param[0], o->n); break;
    case 2: dropout_forward(o->out, o->keep, oc->param[0], o->n, 0.25f, 42); break;
    default: residual_forward(o->out, oc->param[0], oc->param[1], o->n); break;
    }
    return weighted_sum(o->out, o->R, o->n);
}
static void ew_backward(op_case *oc) {
    ew_op *o = oc->op;
    switch (o->kind) {
    case 0: gelu_backward(oc->grad[0], oc->param[0], o->R, o->n); break;
    case 1: tanh_backward(oc->grad[0], o->out, o->R, o->n); break;
    case 2: dropout_backward(oc->grad[0], o->R, o->keep, o->n, 0.25f); break;
    default: residual_backward(oc->grad[0], oc->grad[1], o->R, o->n); break;
    }
}

static void test_elementwise(void) {
    const char *names[4] = {"gelu", "tanh", "dropout(p=0.25)", "residual"};
    for (int kind = 0; kind < 4; kind++) {
        ew_op o = {.n = (size_t)N * C, .kind = kind};
        op_case oc = {.name = names[kind], .loss = ew_loss, .backward = ew_backward,
                      .h = kind >= 2 ? 0.05f : 1e-2f, .tol = kind >= 2 ? 1e-3 : 5e-3, .op = &o};
        add_param(&oc, kind == 3 ? "a" : "inp", o.n, 2.0f);
        if (kind == 3) add_param(&oc, "b", o.n, 2.0f);
        o.out = tu_floats(o.n);
        o.R = random_weights(o.n);
        o.keep = tu_alloc(o.n);
        run_case(&oc);
        free(o.out), free(o.R), free(o.keep);
        free_case(&oc);
    }
}

// ---- softmax ----
enum { SM_C = 37 };
typedef struct {
    float *out, *R;
} sm_op;

static double sm_loss(op_case *oc) {
    sm_op *o = oc->op;
    softmax_forward(o->out, oc->param[0], N, SM_C);
    return weighted_sum(o->out, o->R, (size_t)N * SM_C);
}
static void sm_backward(op_case *oc) {
    sm_op *o = oc->op;
    softmax_backward(oc->grad[0], o->out, o->R, N, SM_C);
}

static void test_softmax(void) {
    sm_op o;
    op_case oc = {.name = "softmax", .loss = sm_loss, .backward = sm_backward, .h = 1e-2f, .tol = 5e-3, .op = &o};
    add_param(&oc, "inp", (size_t)N * SM_C, 2.0f);
    o.out = tu_floats((size_t)N * SM_C);
    o.R = random_weights((size_t)N * SM_C);
    run_case(&oc);
    free(o.out), free(o.R);
    free_case(&oc);
}

// ---- attention: fast (with and without dropout) and reference ----
typedef struct {
    int32_t mask[3 * T];
    int nb;  // batch size
    float *out, *R, *probs, *used, *scratch;
    uint8_t *keep;  // NULL: no dropout
    float p;
    int ref;
} att_op;

static double att_loss(op_case *oc) {
    att_op *o = oc->op;
    const float *q = oc->param[0], *k = oc->param[1], *v = oc->param[2];
    const size_t np = (size_t)o->nb * NH * T * T;
    if (o->ref) {
        attention_forward_ref(o->out, o->probs, q, k, v, o->mask, o->nb, T, NH, HS);
    } else if (o->keep) {  // a fixed dropout mask between the halves
        attention_probs_forward(o->probs, q, k, o->mask, o->nb, T, NH, HS);
        for (size_t i = 0; i < np; i++) o->used[i] = o->keep[i] ? o->probs[i] * (1.0f / (1.0f - o->p)) : 0.0f;
        attention_weighted_sum(o->out, o->used, v, o->nb, T, NH, HS);
    } else {
        attention_forward(o->out, o->probs, q, k, v, o->mask, o->nb, T, NH, HS);
    }
    return weighted_sum(o->out, o->R, (size_t)o->nb * T * C);
}
static void att_backward(op_case *oc) {
    att_op *o = oc->op;
    const float *q = oc->param[0], *k = oc->param[1], *v = oc->param[2];
    if (o->ref)
        attention_backward_ref(oc->grad[0], oc->grad[1], oc->grad[2], o->R, q, k, v, o->probs, o->mask, o->nb, T, NH,
                               HS);
    else
        attention_backward(oc->grad[0], oc->grad[1], oc->grad[2], o->scratch, o->R, q, k, v, o->probs,
                           o->keep ? o->used : o->probs, o->keep, o->p, o->nb, T, NH, HS);
}

static void attention_case(const char *name, int nb, int dropout, int ref) {
    att_op o = {.nb = nb, .ref = ref, .p = dropout ? 0.2f : 0.0f};
    tu_mask(o.mask, LENS, nb, T);
    const size_t nx = (size_t)nb * T * C, np = (size_t)nb * NH * T * T;
    op_case oc = {.name = name, .loss = att_loss, .backward = att_backward, .h = 2e-2f, .tol = 5e-3, .op = &o};
    add_param(&oc, "q", nx, 1.0f);
    add_param(&oc, "k", nx, 1.0f);
    add_param(&oc, "v", nx, 1.0f);
    o.out = tu_floats(nx);
    o.R = random_weights(nx);
    o.probs = tu_floats(np);
    o.used = tu_floats(np);
    o.scratch = tu_floats(np);
    o.keep = NULL;
    if (dropout) {
        o.keep = tu_alloc(np);
        float *tmp = tu_floats(np);
        dropout_forward(tmp, o.keep, o.probs, np, o.p, 99);
        free(tmp);
    }
    run_case(&oc);
    free(o.out), free(o.R), free(o.probs), free(o.used), free(o.scratch), free(o.keep);
    free_case(&oc);
}

static void test_attention(void) {
    // Sequences of 37 and 21 real tokens. (A sequence with no real token is left out here: its rows are
    // the constant 1/T, so finite differences see no q/k dependence, while the backward follows HF's
    // autograd through the equal scores; test_ops_forward and test_ops_torch cover that case.)
    attention_case("attention", B, 0, 0);
    attention_case("attention+dropout", B, 1, 0);
    attention_case("attention_ref", B, 0, 1);
}

// ---- losses ----
// Few rows: a mean over many rows makes each element's gradient small next to the float rounding of L.
enum { CE_C = 7, NL = 13 };
typedef struct {
    int kind;  // 0 cross entropy, 1 mse, 2 bce
    float *probs, *target;
    int32_t targets[NL];
    int n_valid;
    size_t n;
} loss_op;

static const float LOSS_SCALE = 0.7f;

static double loss_loss(op_case *oc) {
    loss_op *o = oc->op;
    float l;
    switch (o->kind) {
    case 0: l = cross_entropy_forward(o->probs, oc->param[0], o->targets, NL, CE_C, -100, &o->n_valid); break;
    case 1: l = mse_forward(oc->param[0], o->target, o->n); break;
    default: l = bce_logits_forward(oc->param[0], o->target, o->n); break;
    }
    return (double)LOSS_SCALE * l;
}
static void loss_backward(op_case *oc) {
    loss_op *o = oc->op;
    switch (o->kind) {
    case 0: cross_entropy_backward(oc->grad[0], o->probs, o->targets, NL, CE_C, -100, o->n_valid, LOSS_SCALE); break;
    case 1: mse_backward(oc->grad[0], oc->param[0], o->target, o->n, LOSS_SCALE); break;
    default: bce_logits_backward(oc->grad[0], oc->param[0], o->target, o->n, LOSS_SCALE); break;
    }
}

static void test_losses(void) {
    const char *names[3] = {"cross_entropy", "mse", "bce_logits"};
    for (int kind = 0; kind < 3; kind++) {
        loss_op o = {.kind = kind, .n = kind == 0 ? (size_t)NL * CE_C : (size_t)NL * 3};
        // The loss comes back as a float: its rounding bounds how well small coordinates can be resolved.
        op_case oc = {.name = names[kind], .loss = loss_loss, .backward = loss_backward, .h = 2e-2f, .tol = 1e-2,
                      .op = &o};
        add_param(&oc, kind == 1 ? "pred" : "logits", o.n, 2.0f);
        o.probs = tu_floats(o.n);
        o.target = tu_floats(o.n);
        if (kind == 1) tu_fill_normal(&rng, o.target, o.n, 1.0f);
        if (kind == 2) tu_fill_uniform(&rng, o.target, o.n, 0.0f, 1.0f);
        for (int i = 0; i < NL; i++) o.targets[i] = i % 5 == 0 ? -100 : (int32_t)os_rng_below(&rng, CE_C);
        run_case(&oc);
        free(o.probs), free(o.target);
        free_case(&oc);
    }
}

int main(void) {
    os_rng_seed(&rng, 20240607);
    RUN(test_embeddings);
    RUN(test_layernorm);
    RUN(test_linear);
    RUN(test_linear_gelu);
    RUN(test_residual_layernorm);
    RUN(test_elementwise);
    RUN(test_softmax);
    RUN(test_attention);
    RUN(test_losses);
    printf("largest finite-difference error: %.2e (coords), %.2e (directions)\n", worst_coord, worst_dir);
    return th_finish();
}
