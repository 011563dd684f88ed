// Parity with PyTorch: tests/ref/ops_golden.py computes every op's forward and backward with torch
// (attention exactly as HF BertSelfAttention, with its additive finfo.min mask) and writes inputs and
// results as raw float32/int32 files; this test runs the same ops on the same inputs and compares.
// PyTorch is a required test dependency (python3-torch, installed by scripts/setup.sh): without it this
// test fails.
#include <sys/wait.h>
#include <unistd.h>

#include "ops/ops.h"
#include "ops_testutil.h"
#include "util/fileio.h"

// Mirrors the sizes at the top of tests/ref/ops_golden.py (every file's length is checked).
enum { B = TU_B, T = TU_T, NH = TU_NH, HS = TU_HS, C = TU_C, N = B * T };
enum { V = 50, P = 40, TV = 2, OC = 40, SM_C = 37, CE_C = 7 };
static const float DROP_P = 0.1f;
static const float LN_EPS = 1e-12f;

static const double FWD_TOL = 1e-5, GRAD_TOL = 1e-4;
static const char *PYTHON = "/usr/bin/python3";  // Debian's, where python3-torch lives

static char golden_dir[1024];
static double worst_fwd, worst_grad;

// Reads NAME.bin of n 4-byte values; a missing or mis-sized file fails the test (and yields zeros).
static void *load(const char *name, size_t n) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s.bin", golden_dir, name);
    void *buf = tu_alloc(n * 4);
    char *data;
    size_t len;
    if (os_read_file(path, &data, &len) != OS_OK) {
        CHECK_MSG(0, "golden %s: %s", name, os_last_error());
        return buf;
    }
    CHECK_MSG(len == n * 4, "golden %s: %zu bytes, expected %zu (sizes out of sync with ops_golden.py?)", name, len,
              n * 4);
    if (len == n * 4) memcpy(buf, data, len);
    free(data);
    return buf;
}
static float *loadf(const char *name, size_t n) { return load(name, n); }
static int32_t *loadi(const char *name, size_t n) { return load(name, n); }

static void expect_fwd(const char *what, const float *ours, const char *golden, size_t n) {
    float *want = loadf(golden, n);
    worst_fwd = fmax(worst_fwd, tu_expect_close(what, ours, want, n, FWD_TOL));
    free(want);
}
static void expect_grad(const char *what, const float *ours, const char *golden, size_t n) {
    float *want = loadf(golden, n);
    worst_grad = fmax(worst_grad, tu_expect_close(what, ours, want, n, GRAD_TOL));
    free(want);
}

static int generate_goldens(void) {
    const char *src = getenv("ONESTONE_SRC");
    if (!src || !*src) {
        fprintf(stderr, "test_ops_torch: ONESTONE_SRC is not set (run it through ctest)\n");
        return 0;
    }
    if (access(PYTHON, X_OK) != 0) {
        fprintf(stderr, "test_ops_torch: %s not found: PyTorch parity tests need Debian's python3 with "
                        "python3-torch (run scripts/setup.sh)\n", PYTHON);
        return 0;
    }
    snprintf(golden_dir, sizeof golden_dir, "%s/ops_golden_%d", th_tmpdir(), (int)getpid());
    if (os_mkdirs(golden_dir) != OS_OK) {
        fprintf(stderr, "test_ops_torch: %s\n", os_last_error());
        return 0;
    }
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' '%s/tests/ref/ops_golden.py' '%s'", PYTHON, src, golden_dir);
    int st = system(cmd);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "test_ops_torch: the PyTorch golden script failed (%s; status %d): PyTorch is a "
                        "required test dependency, install python3-torch (scripts/setup.sh)\n", cmd, st);
        return 0;
    }
    return 1;
}

static void remove_goldens(void) {
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", golden_dir);
    if (system(cmd) != 0) fprintf(stderr, "test_ops_torch: could not remove %s\n", golden_dir);
}

static void test_embeddings(void) {
    int32_t *ids = loadi("emb_ids", N), *tt = loadi("emb_type_ids", N);
    float *wte = loadf("emb_wte", V * C), *wpe = loadf("emb_wpe", P * C), *wtt = loadf("emb_wtt", TV * C);
    float *dout = loadf("emb_dout", N * C), *out = tu_floats(N * C);
    float *dwte = tu_floats(V * C), *dwpe = tu_floats(P * C), *dwtt = tu_floats(TV * C);
    embeddings_forward(out, ids, tt, wte, wpe, wtt, B, T, C);
    expect_fwd("embeddings out", out, "emb_out", N * C);
    embeddings_backward(dwte, dwpe, dwtt, dout, ids, tt, B, T, C);
    expect_grad("embeddings dwte", dwte, "emb_dwte", V * C);
    expect_grad("embeddings dwpe", dwpe, "emb_dwpe", P * C);
    expect_grad("embeddings dwtt", dwtt, "emb_dwtt", TV * C);
    free(ids), free(tt), free(wte), free(wpe), free(wtt), free(dout), free(out), free(dwte), free(dwpe), free(dwtt);
}

static void test_layernorm(void) {
    float *x = loadf("ln_x", N * C), *w = loadf("ln_w", C), *b = loadf("ln_b", C), *dout = loadf("ln_dout", N * C);
    float *out = tu_floats(N * C), mean[N], rstd[N];
    float *dx = tu_floats(N * C), *dw = tu_floats(C), *db = tu_floats(C);
    layernorm_forward(out, mean, rstd, x, w, b, N, C, LN_EPS);
    expect_fwd("layernorm out", out, "ln_out", N * C);
    expect_fwd("layernorm mean", mean, "ln_mean", N);
    expect_fwd("layernorm rstd", rstd, "ln_rstd", N);
    layernorm_backward(dx, dw, db, dout, x, w, mean, rstd, N, C);
    expect_grad("layernorm dinp", dx, "ln_dx", N * C);
    expect_grad("layernorm dw", dw, "ln_dw", C);
    expect_grad("layernorm db", db, "ln_db", C);
    free(x), free(w), free(b), free(dout), free(out), free(dx), free(dw), free(db);
}

static void test_linear(void) {
    float *x = loadf("lin_x", N * C), *w = loadf("lin_w", OC * C), *b = loadf("lin_b", OC);
    float *dout = loadf("lin_dout", N * OC), *out = tu_floats(N * OC);
    float *dx = tu_floats(N * C), *dw = tu_floats(OC * C), *db = tu_floats(OC);
    linear_forward(out, x, w, b, N, C, OC);
    expect_fwd("linear out", out, "lin_out", N * OC);
    linear_backward(dx, dw, db, dout, x, w, N, C, OC);
    expect_grad("linear dinp", dx, "lin_dx", N * C);
    expect_grad("linear dw", dw, "lin_dw", OC * C);
    expect_grad("linear db", db, "lin_db", OC);
    free(x), free(w), free(b), free(dout), free(out), free(dx), free(dw), free(db);
}

static void test_activations(void) {
    const size_t n = N * C;
    float *x = loadf("gelu_x", n), *dout = loadf("gelu_dout", n), *out = tu_floats(n), *dx = tu_floats(n);
    gelu_forward(out, x, n);
    expect_fwd("gelu out", out, "gelu_out", n);
    gelu_backward(dx, x, dout, n);
    expect_grad("gelu dinp", dx, "gelu_dx", n);
    free(x), free(dout);
    x = loadf("tanh_x", n), dout = loadf("tanh_dout", n);
    memset(dx, 0, n * sizeof *dx);
    tanh_forward(out, x, n);
    expect_fwd("tanh out", out, "tanh_out", n);
    tanh_backward(dx, out, dout, n);
    expect_grad("tanh dinp", dx, "tanh_dx", n);
    free(x), free(dout), free(out), free(dx);
}

static void test_softmax(void) {
    float *x = loadf("sm_x", N * SM_C), *dout = loadf("sm_dout", N * SM_C);
    float *out = tu_floats(N * SM_C), *dx = tu_floats(N * SM_C);
    softmax_forward(out, x, N, SM_C);
    expect_fwd("softmax out", out, "sm_out", N * SM_C);
    softmax_backward(dx, out, dout, N, SM_C);
    expect_grad("softmax dinp", dx, "sm_dx", N * SM_C);
    free(x), free(dout), free(out), free(dx);
}

// Sequences of 37, 21 and 0 real tokens, without and with attention dropout (torch's mask given).
static void test_attention(void) {
    const size_t nx = (size_t)N * C, np = (size_t)B * NH * T * T;
    float *q = loadf("att_q", nx), *k = loadf("att_k", nx), *v = loadf("att_v", nx), *dout = loadf("att_dout", nx);
    int32_t *mask = loadi("att_mask", (size_t)B * T), *keep32 = loadi("att_keep", np);
    float *out = tu_floats(nx), *probs = tu_floats(np), *scratch = tu_floats(np), *used = tu_floats(np);
    float *dq = tu_floats(nx), *dk = tu_floats(nx), *dv = tu_floats(nx);
    attention_forward(out, probs, q, k, v, mask, B, T, NH, HS);
    expect_fwd("attention probs", probs, "att_probs", np);
    expect_fwd("attention out", out, "att_out", nx);
    float *want = loadf("att_probs", np);
    int zeros_match = 1;  // torch's masked probabilities are exactly 0 too
    for (size_t i = 0; i < np; i++) zeros_match &= (probs[i] == 0.0f) == (want[i] == 0.0f);
    CHECK(zeros_match);
    free(want);
    attention_backward(dq, dk, dv, scratch, dout, q, k, v, probs, probs, NULL, 0.0f, B, T, NH, HS);
    expect_grad("attention dq", dq, "att_dq", nx);
    expect_grad("attention dk", dk, "att_dk", nx);
    expect_grad("attention dv", dv, "att_dv", nx);
    // Dropout between the halves, with torch's keep mask.
    uint8_t *keep = tu_alloc(np);
    for (size_t i = 0; i < np; i++) {
        keep[i] = (uint8_t)keep32[i];
        used[i] = keep[i] ? probs[i] * (1.0f / (1.0f - DROP_P)) : 0.0f;
    }
    attention_weighted_sum(out, used, v, B, T, NH, HS);
    expect_fwd("attention+dropout out", out, "attd_out", nx);
    memset(dq, 0, nx * sizeof *dq), memset(dk, 0, nx * sizeof *dk), memset(dv, 0, nx * sizeof *dv);
    attention_backward(dq, dk, dv, scratch, dout, q, k, v, probs, used, keep, DROP_P, B, T, NH, HS);
    expect_grad("attention+dropout dq", dq, "attd_dq", nx);
    expect_grad("attention+dropout dk", dk, "attd_dk", nx);
    expect_grad("attention+dropout dv", dv, "attd_dv", nx);
    free(q), free(k), free(v), free(dout), free(mask), free(keep32), free(keep);
    free(out), free(probs), free(scratch), free(used), free(dq), free(dk), free(dv);
}

// Dropout's forward draws its own mask (torch's RNG is not ours): its backward is compared with torch's
// mask given; the forward formula is checked in test_ops_forward.
static void test_dropout_residual(void) {
    const size_t n = N * C;
    int32_t *keep32 = loadi("drop_keep", n);
    float *dout = loadf("drop_dout", n), *dx = tu_floats(n);
    uint8_t *keep = tu_alloc(n);
    for (size_t i = 0; i < n; i++) keep[i] = (uint8_t)keep32[i];
    dropout_backward(dx, dout, keep, n, DROP_P);
    expect_grad("dropout dinp", dx, "drop_dx", n);
    free(keep32), free(dout), free(keep);
    float *a = loadf("res_a", n), *b = loadf("res_b", n), *out = tu_floats(n), *da = tu_floats(n);
    dout = loadf("res_dout", n);
    memset(dx, 0, n * sizeof *dx);
    residual_forward(out, a, b, n);
    expect_fwd("residual out", out, "res_out", n);
    residual_backward(da, dx, dout, n);
    expect_grad("residual da", da, "res_da", n);
    expect_grad("residual db", dx, "res_db", n);
    free(a), free(b), free(out), free(da), free(dout), free(dx);
}

static void expect_loss(const char *what, float ours, const char *golden) {
    expect_fwd(what, &ours, golden, 1);
}

static void test_losses(void) {
    float *logits = loadf("ce_logits", N * CE_C), *probs = tu_floats(N * CE_C), *d = tu_floats(N * CE_C);
    int32_t *targets = loadi("ce_targets", N);
    int nv;
    expect_loss("cross_entropy loss", cross_entropy_forward(probs, logits, targets, N, CE_C, -100, &nv), "ce_loss");
    cross_entropy_backward(d, probs, targets, N, CE_C, -100, nv, 1.0f);
    expect_grad("cross_entropy dlogits", d, "ce_dlogits", N * CE_C);
    free(logits), free(probs), free(d), free(targets);
    float *pred = loadf("mse_pred", N), *target = loadf("mse_target", N), *dp = tu_floats(N);
    expect_loss("mse loss", mse_forward(pred, target, N), "mse_loss");
    mse_backward(dp, pred, target, N, 1.0f);
    expect_grad("mse dpred", dp, "mse_dpred", N);
    free(pred), free(target), free(dp);
    float *x = loadf("bce_logits", 3 * N), *t = loadf("bce_target", 3 * N), *dx = tu_floats(3 * N);
    expect_loss("bce_logits loss", bce_logits_forward(x, t, 3 * N), "bce_loss");
    bce_logits_backward(dx, x, t, 3 * N, 1.0f);
    expect_grad("bce_logits dlogits", dx, "bce_dlogits", 3 * N);
    free(x), free(t), free(dx);
}

int main(void) {
    if (!generate_goldens()) {
        CHECK_MSG(0, "no PyTorch goldens: see the message above");
        return th_finish();
    }
    RUN(test_embeddings);
    RUN(test_layernorm);
    RUN(test_linear);
    RUN(test_activations);
    RUN(test_softmax);
    RUN(test_attention);
    RUN(test_dropout_residual);
    RUN(test_losses);
    printf("largest error vs PyTorch: forward %.2e, backward %.2e\n", worst_fwd, worst_grad);
    remove_goldens();
    return th_finish();
}
