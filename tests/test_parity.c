// PyTorch parity: tests/ref/bert_reference.py builds HF-named BERT models in plain PyTorch and writes golden
// logits, losses, every parameter gradient and 10 optimizer steps; onestone must reproduce them.
// Tolerances (max |ours - torch| / max(max |torch|, floor) over each tensor): logits and losses 1e-5,
// gradients 1e-4, optimizer-step losses 1e-4. The floor (gradients only: 1e-3 x the largest gradient of the
// model) covers tensors whose exact gradient is zero, like attention key biases (softmax is shift invariant):
// both sides are then rounding noise.
#include <stdint.h>
#include <unistd.h>

#include "harness.h"
#include "io/safetensors.h"
#include "model/checkpoint.h"
#include "optim/optimizer.h"
#include "util/fileio.h"

static char ref_dir[1024];
static double worst_logit = 0, worst_grad = 0, worst_loss = 0, worst_step = 0;

static int generate_reference(void) {
    const char *src = getenv("ONESTONE_SRC");
    snprintf(ref_dir, sizeof ref_dir, "%s/parity", th_tmpdir());
    os_mkdirs(ref_dir);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/ref/bert_reference.py %s > /dev/null", src ? src : ".", ref_dir);
    int rc = system(cmd);
    if (rc != 0) {
        fprintf(stderr, "reference generation failed (%s): /usr/bin/python3 with torch is required "
                        "(scripts/setup.sh installs python3-torch)\n", cmd);
        return 0;
    }
    return 1;
}

// max |a-b| / max |b| (scale-relative error of a whole tensor)
static double rel_err(const float *a, const float *b, size_t n, double floor) {
    double num = 0, den = floor > 1e-30 ? floor : 1e-30;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (d > num || isnan(d)) num = isnan(d) ? INFINITY : d;
        if (fabs(b[i]) > den) den = fabs(b[i]);
    }
    return num / den;
}

static float *golden_f32(const os_safetensors *g, const char *name, size_t *n_out) {
    const os_st_tensor *t = os_st_find(g, name);
    if (!t) {
        fprintf(stderr, "golden tensor %s missing\n", name);
        return NULL;
    }
    float *x = malloc(t->numel * sizeof(float));
    if (os_st_tensor_f32(g, t, x, t->numel)) {
        free(x);
        return NULL;
    }
    if (n_out) *n_out = t->numel;
    return x;
}

static int32_t *golden_i32(const os_safetensors *g, const char *name, size_t *n_out) {
    const os_st_tensor *t = os_st_find(g, name);
    if (!t) return NULL;
    int64_t *tmp = malloc(t->numel * sizeof(int64_t));
    int32_t *x = malloc(t->numel * sizeof(int32_t));
    os_st_read_i64(g, name, tmp, t->shape, t->ndim);
    for (size_t i = 0; i < t->numel; i++) x[i] = (int32_t)tmp[i];
    free(tmp);
    if (n_out) *n_out = t->numel;
    return x;
}

static double grad_floor = 0;

static double check_tensor(const char *what, const float *ours, const os_safetensors *g, const char *name,
                           size_t n, double tol) {
    const double floor = strncmp(name, "grad.", 5) ? 0.0 : grad_floor;
    size_t gn = 0;
    float *ref = golden_f32(g, name, &gn);
    CHECK_MSG(ref && gn == n, "%s: golden %s missing or size %zu != %zu", what, name, gn, n);
    if (!ref || gn != n) {
        free(ref);
        return INFINITY;
    }
    double e = rel_err(ours, ref, n, floor);
    CHECK_MSG(e <= tol, "%s %s: relative error %.3g > %.1g", what, name, e, tol);
    free(ref);
    return e;
}

typedef struct {
    os_safetensors g;
    int32_t *ids, *types, *mask, *sent, *ner, *rel, *pair_pos;
    float *score, *tags;
    int B, T;
    os_head_labels labels[5];
} mt_case;

static int mt_open(mt_case *c, os_model *m) {
    char path[1200];
    snprintf(path, sizeof path, "%s/multitask", ref_dir);
    os_status st = os_model_load(m, path);
    CHECK_MSG(st == OS_OK, "load multitask: %s", os_last_error());
    if (st) return 0;
    snprintf(path, sizeof path, "%s/multitask/golden.safetensors", ref_dir);
    CHECK(os_st_open(&c->g, path) == OS_OK);
    const os_st_tensor *t = os_st_find(&c->g, "input_ids");
    c->B = (int)t->shape[0];
    c->T = (int)t->shape[1];
    c->ids = golden_i32(&c->g, "input_ids", NULL);
    c->types = golden_i32(&c->g, "token_type_ids", NULL);
    c->mask = golden_i32(&c->g, "attention_mask", NULL);
    c->sent = golden_i32(&c->g, "labels.sent", NULL);
    c->ner = golden_i32(&c->g, "labels.ner", NULL);
    c->score = golden_f32(&c->g, "labels.score", NULL);
    c->tags = golden_f32(&c->g, "labels.tags", NULL);
    c->rel = golden_i32(&c->g, "labels.rel", NULL);
    c->pair_pos = golden_i32(&c->g, "pair_pos", NULL);
    CHECK(m->n_heads == 5);
    const char *order[5] = {"sent", "ner", "score", "tags", "rel"};
    memset(c->labels, 0, sizeof c->labels);
    for (int i = 0; i < 5; i++) {
        int h = os_model_find_task(m, order[i]);
        CHECK_MSG(h == i, "task %s at %d", order[i], h);
    }
    c->labels[0].classes = c->sent;
    c->labels[1].classes = c->ner;
    c->labels[2].values = c->score;
    c->labels[3].values = c->tags;
    c->labels[4].classes = c->rel;
    return 1;
}

static void mt_close(mt_case *c) {
    os_st_close(&c->g);
    free(c->ids);
    free(c->types);
    free(c->mask);
    free(c->sent);
    free(c->ner);
    free(c->score);
    free(c->tags);
    free(c->rel);
    free(c->pair_pos);
}

static void test_multitask_logits_losses_grads(void) {
    os_model m;
    mt_case c;
    if (!mt_open(&c, &m)) return;
    os_batch_input in = {.ids = c.ids, .type_ids = c.types, .mask = c.mask, .pair_pos = c.pair_pos, .B = c.B, .T = c.T};
    CHECK(os_model_forward(&m, &in, NULL, 1, 7) == OS_OK);
    float task_losses[5];
    float total = os_model_loss(&m, c.labels, task_losses, NULL);
    for (int i = 0; i < 5; i++) {
        os_head *h = &m.heads[i];
        char name[64];
        snprintf(name, sizeof name, "logits.%s", h->name);
        double e = check_tensor("multitask", h->logits, &c.g, name, (size_t)h->rows * h->num_labels, 1e-5);
        if (e > worst_logit) worst_logit = e;
        snprintf(name, sizeof name, "loss.%s", h->name);
        e = check_tensor("multitask", &task_losses[i], &c.g, name, 1, 1e-5);
        if (e > worst_loss) worst_loss = e;
    }
    double e = check_tensor("multitask", &total, &c.g, "loss.total", 1, 1e-5);
    if (e > worst_loss) worst_loss = e;

    os_params_zero_grad(&m.params);
    os_model_backward(&m, 0);
    for (size_t i = 0; i < c.g.n_tensors; i++) {
        const os_st_tensor *t = &c.g.tensors[i];
        if (strncmp(t->name, "grad.", 5)) continue;
        float *x = golden_f32(&c.g, t->name, NULL);
        for (size_t j = 0; x && j < t->numel; j++)
            if (1e-3 * fabs(x[j]) > grad_floor) grad_floor = 1e-3 * fabs(x[j]);
        free(x);
    }
    for (int i = 0; i < m.params.n; i++) {
        const os_param_entry *pe = &m.params.entries[i];
        char name[OS_PARAM_NAME_MAX + 8];
        snprintf(name, sizeof name, "grad.%s", pe->name);
        e = check_tensor("multitask", m.params.grad + pe->offset, &c.g, name, pe->numel, 1e-4);
        if (e > worst_grad) worst_grad = e;
    }
    mt_close(&c);
    os_model_free(&m);
}

static void run_steps(os_opt_kind kind, const char *golden_name, float lr) {
    os_model m;
    mt_case c;
    if (!mt_open(&c, &m)) return;
    os_opt_config oc = os_opt_defaults(kind);
    oc.lr = lr;
    if (kind == OS_OPT_SGD) {
        oc.momentum = 0.9f;
        oc.nesterov = 1;
        oc.weight_decay = 0.01f;
    }
    os_optimizer opt;
    CHECK(os_optimizer_init(&opt, &oc, &m.params) == OS_OK);
    float losses[10];
    for (int s = 0; s < 10; s++) {
        os_batch_input in = {.ids = c.ids, .type_ids = c.types, .mask = c.mask, .pair_pos = c.pair_pos, .B = c.B, .T = c.T};
        os_model_forward(&m, &in, NULL, 1, (uint64_t)s);
        losses[s] = os_model_loss(&m, c.labels, NULL, NULL);
        os_params_zero_grad(&m.params);
        os_model_backward(&m, 0);
        os_optimizer_step(&opt, &m.params, lr);
    }
    double e = check_tensor(golden_name, losses, &c.g, golden_name, 10, 1e-4);
    if (e > worst_step) worst_step = e;
    os_optimizer_free(&opt);
    mt_close(&c);
    os_model_free(&m);
}

static void test_adamw_steps(void) { run_steps(OS_OPT_ADAMW, "steps.adamw", 1e-3f); }
static void test_sgd_nesterov_steps(void) { run_steps(OS_OPT_SGD, "steps.sgd", 0.005f); }

// An HF-format directory: load it, run the encoder (eval mode), compare logits or the sequence output.
static void check_hf_dir(const char *name, const char *golden_key) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", ref_dir, name);
    os_model m;
    os_status st = os_model_load(&m, path);
    CHECK_MSG(st == OS_OK, "load %s: %s", name, os_last_error());
    if (st) return;
    os_safetensors g;
    snprintf(path, sizeof path, "%s/%s/golden.safetensors", ref_dir, name);
    CHECK(os_st_open(&g, path) == OS_OK);
    const os_st_tensor *t = os_st_find(&g, "input_ids");
    int B = (int)t->shape[0], T = (int)t->shape[1];
    int32_t *ids = golden_i32(&g, "input_ids", NULL), *types = golden_i32(&g, "token_type_ids", NULL);
    int32_t *mask = golden_i32(&g, "attention_mask", NULL);
    os_batch_input in = {.ids = ids, .type_ids = types, .mask = mask, .B = B, .T = T};
    CHECK(os_model_forward(&m, &in, NULL, 0, 0) == OS_OK);
    double e;
    if (!strcmp(golden_key, "logits")) {
        CHECK(m.n_heads == 1);
        os_head *h = &m.heads[0];
        e = check_tensor(name, h->logits, &g, "logits", (size_t)h->rows * h->num_labels, 1e-5);
        CHECK(h->labels && !strcmp(h->labels[1], "L1"));
    } else {
        e = check_tensor(name, os_encoder_output(&m.enc, &m.acts), &g, golden_key, (size_t)B * T * m.cfg.hidden_size,
                         1e-5);
    }
    if (e > worst_logit) worst_logit = e;
    free(ids);
    free(types);
    free(mask);
    os_st_close(&g);
    os_model_free(&m);
}

static void test_hf_sequence_classification(void) { check_hf_dir("hf_seqcls", "logits"); }
static void test_hf_token_classification_gamma_beta(void) { check_hf_dir("hf_tokcls", "logits"); }
static void test_hf_bare_encoder_without_prefix(void) { check_hf_dir("hf_bare", "sequence_output"); }

// Save -> load round trip keeps every parameter bit for bit and the task metadata.
static void test_save_load_roundtrip(void) {
    os_model m, m2;
    mt_case c;
    if (!mt_open(&c, &m)) return;
    char path[1200];
    snprintf(path, sizeof path, "%s/roundtrip", ref_dir);
    CHECK_MSG(os_model_save(&m, path, NULL) == OS_OK, "%s", os_last_error());
    CHECK_MSG(os_model_load(&m2, path) == OS_OK, "%s", os_last_error());
    CHECK(m2.params.total == m.params.total && m2.n_heads == m.n_heads);
    CHECK(memcmp(m.params.data, m2.params.data, m.params.total * sizeof(float)) == 0);
    for (int i = 0; i < m.n_heads && i < m2.n_heads; i++) {
        CHECK(!strcmp(m.heads[i].name, m2.heads[i].name));
        CHECK(m.heads[i].level == m2.heads[i].level && m.heads[i].problem == m2.heads[i].problem);
        CHECK(m.heads[i].loss_weight == m2.heads[i].loss_weight);
    }
    // The saved encoder loads in an HF-named PyTorch BertModel with every tensor matched, and computes the
    // same [CLS] vector.
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/ref/bert_reference.py --check-load %s",
             getenv("ONESTONE_SRC") ? getenv("ONESTONE_SRC") : ".", path);
    FILE *fp = popen(cmd, "r");
    float torch_cls[64];
    int n = 0;
    while (fp && n < 64 && fscanf(fp, "%f", &torch_cls[n]) == 1) n++;
    CHECK(fp && pclose(fp) == 0);
    CHECK_MSG(n == m2.cfg.hidden_size, "python printed %d values", n);
    int32_t ids[5] = {2, 7, 8, 9, 3}, types[5] = {0}, mask[5] = {1, 1, 1, 1, 1};
    os_batch_input in = {.ids = ids, .type_ids = types, .mask = mask, .B = 1, .T = 5};
    uint8_t no_heads[8] = {0};  // the encoder alone
    CHECK(os_model_forward(&m2, &in, no_heads, 0, 0) == OS_OK);
    if (n == m2.cfg.hidden_size) {
        double e = rel_err(os_encoder_output(&m2.enc, &m2.acts), torch_cls, (size_t)n, 0);
        CHECK_MSG(e < 1e-5, "[CLS] vector differs from PyTorch loading our checkpoint: %g", e);
    }
    mt_close(&c);
    os_model_free(&m);
    os_model_free(&m2);
}

// `onestone predict --logits` on an HF BertForTokenClassification directory reproduces PyTorch's logits.
static void test_cli_predict_logits(void) {
    const char *bin = getenv("ONESTONE_BIN");
    CHECK_MSG(bin != NULL, "ONESTONE_BIN not set");
    if (!bin) return;
    char cmd[4096], path[1200];
    snprintf(cmd, sizeof cmd, "%s predict %s/predict_tok --logits < %s/predict_tok/texts.txt", bin, ref_dir, ref_dir);
    FILE *fp = popen(cmd, "r");
    snprintf(path, sizeof path, "%s/predict_tok/golden.safetensors", ref_dir);
    os_safetensors g;
    CHECK(os_st_open(&g, path) == OS_OK);
    char line[1 << 16];
    int n = 0;
    while (fp && fgets(line, sizeof line, fp)) {
        json_error_t err;
        json_t *o = json_loads(line, 0, &err);
        CHECK_MSG(o != NULL, "predict output is not JSON: %s", line);
        json_t *task = json_object_get(o, "token_classification");
        json_t *logits = json_object_get(task, "logits");
        char name[32];
        snprintf(name, sizeof name, "logits.%d", n);
        const os_st_tensor *t = os_st_find(&g, name);
        CHECK_MSG(t && json_array_size(logits) == (size_t)t->shape[0], "line %d: %zu logit rows", n,
                  json_array_size(logits));
        if (t && json_array_size(logits) == (size_t)t->shape[0]) {
            float *ours = malloc(t->numel * sizeof(float));
            for (size_t r = 0; r < (size_t)t->shape[0]; r++)
                for (size_t k = 0; k < (size_t)t->shape[1]; k++)
                    ours[r * t->shape[1] + k] = (float)json_number_value(json_array_get(json_array_get(logits, r), k));
            double e = check_tensor("predict", ours, &g, name, t->numel, 1e-5);
            if (e > worst_logit) worst_logit = e;
            free(ours);
        }
        CHECK(json_array_size(json_object_get(task, "words")) > 0);
        json_decref(o);
        n++;
    }
    CHECK(fp && pclose(fp) == 0);
    CHECK_MSG(n == 4, "predict printed %d lines, expected 4", n);
    os_st_close(&g);
}

int main(void) {
    if (!generate_reference()) return 1;
    RUN(test_multitask_logits_losses_grads);
    RUN(test_adamw_steps);
    RUN(test_sgd_nesterov_steps);
    RUN(test_hf_sequence_classification);
    RUN(test_hf_token_classification_gamma_beta);
    RUN(test_hf_bare_encoder_without_prefix);
    RUN(test_save_load_roundtrip);
    RUN(test_cli_predict_logits);
    printf("max relative error vs PyTorch: logits %.2e, losses %.2e, gradients %.2e, optimizer steps %.2e\n",
           worst_logit, worst_loss, worst_grad, worst_step);
    printf("(gradient error floor %.2e = 1e-3 x the largest gradient)\n", grad_floor);
    return th_finish();
}
