// PyTorch parity of the masked-LM model: tests/ref/mlm_reference.py builds an HF-named BertForMaskedLM in
// plain PyTorch (decoder tied to the word embeddings) and writes its logits on a padded batch, the masked-LM
// loss and every parameter's gradient; onestone loads the directory and must reproduce them. Then an onestone
// pretraining model directory must load strictly as BertForMaskedLM in PyTorch and give our logits.
// Tolerances (max |ours - torch| / max |torch| per tensor): logits and loss 1e-5, gradients 1e-4 (with a floor
// of 1e-3 x the largest gradient for tensors whose exact gradient is zero).
#include <stdint.h>

#include "harness.h"
#include "io/safetensors.h"
#include "model/checkpoint.h"
#include "pretrain/mlm_model.h"
#include "util/fileio.h"

static char ref_dir[1024];

static double rel_err(const float *a, const float *b, size_t n, double floor) {
    double num = 0, den = floor > 1e-30 ? floor : 1e-30;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (!(d <= num)) num = isnan(d) ? INFINITY : d;
        if (fabs(b[i]) > den) den = fabs(b[i]);
    }
    return num / den;
}

static float *golden(const os_safetensors *g, const char *name, size_t *n) {
    const os_st_tensor *t = os_st_find(g, name);
    if (!t) return NULL;
    float *x = malloc(t->numel * sizeof(float));
    if (os_st_tensor_f32(g, t, x, t->numel)) {
        free(x);
        return NULL;
    }
    *n = t->numel;
    return x;
}

static int32_t *golden_ids(const os_safetensors *g, const char *name, const int64_t *shape) {
    int64_t *tmp = malloc((size_t)(shape[0] * shape[1]) * sizeof(int64_t));
    int32_t *out = malloc((size_t)(shape[0] * shape[1]) * sizeof(int32_t));
    if (os_st_read_i64(g, name, tmp, shape, 2)) {
        free(tmp);
        free(out);
        return NULL;
    }
    for (int64_t i = 0; i < shape[0] * shape[1]; i++) out[i] = (int32_t)tmp[i];
    free(tmp);
    return out;
}

// An MLM model with the reference directory's architecture (weights from os_mlm_model_init_weights).
static void create_like_reference(os_mlm_model *m, os_bert_config *cfg) {
    char cfg_path[1200];
    snprintf(cfg_path, sizeof cfg_path, "%s/mlm/config.json", ref_dir);
    CHECK(os_bert_config_load(cfg, cfg_path) == OS_OK);
    CHECK(os_mlm_model_create(m, cfg) == OS_OK);
    os_mlm_model_init_weights(m, 3);
}

static void test_logits_loss_grads(void) {
    char dir[1100], gpath[1200];
    snprintf(dir, sizeof dir, "%s/mlm", ref_dir);
    snprintf(gpath, sizeof gpath, "%s/golden.safetensors", dir);
    os_bert_config cfg;
    os_mlm_model m;
    create_like_reference(&m, &cfg);
    int copied = 0;
    CHECK(os_mlm_model_init_from(&m, dir, &copied) == OS_OK);
    CHECK_MSG(copied == m.base.params.n, "copied %d of %d tensors", copied, m.base.params.n);
    os_safetensors g;
    if (os_st_open(&g, gpath) != OS_OK) {
        CHECK_MSG(0, "%s", os_last_error());
        return;
    }
    const os_st_tensor *it = os_st_find(&g, "input_ids");
    const int B = (int)it->shape[0], T = (int)it->shape[1], V = cfg.vocab_size, N = B * T;
    int32_t *ids = golden_ids(&g, "input_ids", it->shape), *mask = golden_ids(&g, "attention_mask", it->shape);
    int32_t *labels = golden_ids(&g, "labels", it->shape);
    CHECK(ids && mask && labels);

    // Logits of every position.
    int32_t *rows = malloc((size_t)N * sizeof(int32_t)), *targets = malloc((size_t)N * sizeof(int32_t));
    for (int i = 0; i < N; i++) rows[i] = i;
    CHECK(os_mlm_model_forward(&m, ids, mask, B, T, rows, N, 0, 0) == OS_OK);
    size_t n;
    float *want = golden(&g, "logits", &n);
    CHECK(want && n == (size_t)N * V);
    double e_logits = 0;
    for (int i = 0; i < N; i++)
        if (mask[i]) {  // padded positions are not compared: HF computes them from a fully masked row too,
                        // but they carry no meaning and no loss
            double e = rel_err(m.mlm.logits + (size_t)i * V, want + (size_t)i * V, (size_t)V, 0);
            if (e > e_logits) e_logits = e;
        }
    printf("  logits: max rel err %.2e\n", e_logits);
    CHECK(e_logits < 1e-5);
    free(want);

    // Loss and gradients on the labelled positions.
    int M = 0;
    for (int i = 0; i < N; i++)
        if (labels[i] != -100) {
            rows[M] = i;
            targets[M++] = labels[i];
        }
    CHECK(os_mlm_model_forward(&m, ids, mask, B, T, rows, M, 0, 0) == OS_OK);
    os_params_zero_grad(&m.base.params);
    float loss = os_mlm_head_loss(&m.mlm, targets, 1.0f, NULL);
    os_mlm_model_backward(&m, rows);
    float *want_loss = golden(&g, "loss", &n);
    double e_loss = fabs(loss - want_loss[0]) / fabs(want_loss[0]);
    printf("  loss %.7f vs torch %.7f: rel err %.2e\n", loss, want_loss[0], e_loss);
    CHECK(e_loss < 1e-5);
    free(want_loss);
    // The floor (1e-3 x the model's largest gradient, as in test_parity) covers tensors whose exact gradient
    // is zero, like attention key biases (softmax is shift invariant): both sides are rounding noise there.
    double floor = 0;
    for (size_t i = 0; i < m.base.params.total; i++)
        if (fabs(m.base.params.grad[i]) > floor) floor = fabs(m.base.params.grad[i]);
    floor *= 1e-3;
    double e_grad = 0;
    const char *worst = "";
    for (int i = 0; i < m.base.params.n; i++) {
        const os_param_entry *e = &m.base.params.entries[i];
        char name[OS_PARAM_NAME_MAX + 8];
        snprintf(name, sizeof name, "grad.%s", e->name);
        float *gw = golden(&g, name, &n);
        CHECK_MSG(gw && n == e->numel, "%s", name);
        if (!gw) continue;
        double err = rel_err(m.base.params.grad + e->offset, gw, n, floor);
        if (err > e_grad) {
            e_grad = err;
            worst = e->name;
        }
        free(gw);
    }
    printf("  gradients (%d tensors, incl. the tied decoder's share of the word embeddings): max rel err %.2e (%s)\n",
           m.base.params.n, e_grad, worst);
    CHECK(e_grad < 1e-4);
    free(rows);
    free(targets);
    free(ids);
    free(mask);
    free(labels);
    os_st_close(&g);
    os_mlm_model_free(&m);
}

// An onestone pretraining model directory loads strictly as PyTorch's HF-named BertForMaskedLM (no missing,
// no unexpected tensor) and gives our logits.
static void test_saved_dir_loads_in_torch(void) {
    char out[1200];
    snprintf(out, sizeof out, "%s/onestone_mlm", ref_dir);
    os_bert_config cfg;
    os_mlm_model m;
    create_like_reference(&m, &cfg);
    // Non-trivial head values, so a head that failed to load would show.
    for (int i = 0; i < m.base.params.n; i++) {
        const os_param_entry *e = &m.base.params.entries[i];
        if (!strncmp(e->name, "cls.", 4))
            for (size_t j = 0; j < e->numel; j++) m.base.params.data[e->offset + j] += 0.05f * (float)((j * 7919) % 13) - 0.3f;
    }
    CHECK(os_model_save(&m.base, out, NULL) == OS_OK);
    const int32_t ids[6] = {2, 7, 8, 9, 4, 3};
    int32_t row = 4;
    CHECK(os_mlm_model_forward(&m, ids, NULL, 1, 6, &row, 1, 0, 0) == OS_OK);
    char cmd[4096];
    const char *src = getenv("ONESTONE_SRC");
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/ref/mlm_reference.py --check-load %s", src ? src : ".", out);
    FILE *fp = popen(cmd, "r");
    float theirs[8];
    int got = 0;
    while (fp && got < 8 && fscanf(fp, "%f", &theirs[got]) == 1) got++;
    CHECK(fp && pclose(fp) == 0);
    CHECK_MSG(got == 8, "python printed %d values", got);
    double e = rel_err(m.mlm.logits, theirs, (size_t)got, 0);
    printf("  onestone MLM directory in PyTorch BertForMaskedLM: logits max rel err %.2e\n", e);
    CHECK(e < 1e-5);
    os_mlm_model_free(&m);
}

int main(void) {
    const char *src = getenv("ONESTONE_SRC");
    snprintf(ref_dir, sizeof ref_dir, "%s/mlm_parity", th_tmpdir());
    os_mkdirs(ref_dir);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/ref/mlm_reference.py %s > /dev/null", src ? src : ".", ref_dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "reference generation failed (%s): /usr/bin/python3 with torch is required\n", cmd);
        return 1;
    }
    RUN(test_logits_loss_grads);
    RUN(test_saved_dir_loads_in_torch);
    return th_finish();
}
