// Finite-difference gradient checks of the masked-LM head: the head alone (its parameters, the tied
// decoder's word embeddings and the gradient into the encoder's sequence output), and the whole pretraining
// model (encoder + head) with dropout on and off. Central differences, h = 1e-2, relative error <= 2e-2
// (float32 forward passes).
#include "harness.h"
#include "model_testutil.h"
#include "pretrain/mlm_model.h"
#include "util/rng.h"

enum { B = 2, T = 7, M = 5 };
static const int32_t rows[M] = {1, 3, 4, 8, 12};
static const int32_t targets[M] = {7, 30, 5, 12, 7};

static double fd_error(double fd, double an) { return fabs(fd - an) / fmax(1e-2, fmax(fabs(fd), fabs(an))); }

static void perturb_small_tensors(os_params *p, uint64_t seed) {
    os_rng r;
    os_rng_seed(&r, seed);
    for (int i = 0; i < p->n; i++) {
        os_param_entry *e = &p->entries[i];
        if (e->ndim == 1)
            for (size_t j = 0; j < e->numel; j++) p->data[e->offset + j] += 0.2f * os_rng_normal(&r);
    }
}

// The head on a random (N,C) "sequence output": loss as a function of the head's parameters and the input.
static void test_head_alone(void) {
    os_bert_config cfg = tiny_bert_config();
    cfg.initializer_range = 0.3f;
    os_mlm_model m;
    CHECK(os_mlm_model_create(&m, &cfg) == OS_OK);
    os_mlm_model_init_weights(&m, 5);
    os_params *p = &m.base.params;
    perturb_small_tensors(p, 6);
    const int C = cfg.hidden_size, N = B * T;
    float *seq = calloc((size_t)N * C, sizeof(float)), *d_seq = calloc((size_t)N * C, sizeof(float));
    os_rng r;
    os_rng_seed(&r, 7);
    for (int i = 0; i < N * C; i++) seq[i] = os_rng_normal(&r);
    CHECK(os_mlm_head_plan(&m.mlm, M) == OS_OK);
    os_mlm_head_forward(&m.mlm, p, seq, rows, M);
    int correct = -1;
    os_mlm_head_loss(&m.mlm, targets, 1.0f, &correct);
    CHECK(correct >= 0 && correct <= M);
    os_params_zero_grad(p);
    os_mlm_head_backward(&m.mlm, p, rows, d_seq);
    int bad = 0, checked = 0;
    double worst = 0;
    // Parameters: the head's five tensors and the word embeddings (the tied decoder).
    for (int k = 0; k < p->n; k++) {
        const os_param_entry *e = &p->entries[k];
        if (strncmp(e->name, "cls.", 4) && !strstr(e->name, "word_embeddings")) continue;
        for (int s = 0; s < 6; s++) {
            size_t j = (size_t)os_rng_below(&r, e->numel);
            float *w = p->data + e->offset + j, orig = *w;
            *w = orig + 1e-2f;
            os_mlm_head_forward(&m.mlm, p, seq, rows, M);
            double lp = os_mlm_head_loss(&m.mlm, targets, 0, NULL);
            *w = orig - 1e-2f;
            os_mlm_head_forward(&m.mlm, p, seq, rows, M);
            double lm = os_mlm_head_loss(&m.mlm, targets, 0, NULL);
            *w = orig;
            double err = fd_error((lp - lm) / 2e-2, p->grad[e->offset + j]);
            worst = fmax(worst, err);
            checked++;
            if (err > 2e-2) {
                bad++;
                fprintf(stderr, "%s[%zu]: analytic %g fd %g\n", e->name, j, p->grad[e->offset + j], (lp - lm) / 2e-2);
            }
        }
    }
    // The input: selected rows get a gradient, the others none.
    for (int i = 0; i < N * C; i += 3) {
        float orig = seq[i];
        seq[i] = orig + 1e-2f;
        os_mlm_head_forward(&m.mlm, p, seq, rows, M);
        double lp = os_mlm_head_loss(&m.mlm, targets, 0, NULL);
        seq[i] = orig - 1e-2f;
        os_mlm_head_forward(&m.mlm, p, seq, rows, M);
        double lm = os_mlm_head_loss(&m.mlm, targets, 0, NULL);
        seq[i] = orig;
        double err = fd_error((lp - lm) / 2e-2, d_seq[i]);
        worst = fmax(worst, err);
        checked++;
        bad += err > 2e-2;
    }
    CHECK_MSG(bad == 0, "%d of %d coordinates disagree", bad, checked);
    printf("  head alone: %d coordinates, worst relative error %.2e\n", checked, worst);
    free(seq);
    free(d_seq);
    os_mlm_model_free(&m);
}

static double model_loss(os_mlm_model *m, const int32_t *ids, const int32_t *mask) {
    os_mlm_model_forward(m, ids, mask, B, T, rows, M, 1, 99);
    return os_mlm_head_loss(&m->mlm, targets, 1.0f, NULL);
}

// Encoder + head end to end, padding in the second row.
static void run_model_case(float dropout) {
    os_bert_config cfg = tiny_bert_config();
    cfg.hidden_dropout_prob = cfg.attention_probs_dropout_prob = dropout;
    cfg.initializer_range = 0.3f;
    os_mlm_model m;
    CHECK(os_mlm_model_create(&m, &cfg) == OS_OK);
    os_mlm_model_init_weights(&m, 8);
    os_params *p = &m.base.params;
    perturb_small_tensors(p, 9);
    int32_t ids[B * T], mask[B * T];
    os_rng r;
    os_rng_seed(&r, 10);
    for (int i = 0; i < B * T; i++) {
        mask[i] = i < T || i % T < 6;
        ids[i] = mask[i] ? 5 + (int)os_rng_below(&r, 26) : 0;
    }
    model_loss(&m, ids, mask);
    os_params_zero_grad(p);
    os_mlm_model_backward(&m, rows);
    float *an = malloc(p->total * sizeof(float));
    memcpy(an, p->grad, p->total * sizeof(float));
    int bad = 0, checked = 0;
    double worst = 0;
    for (int k = 0; k < p->n; k++) {
        const os_param_entry *e = &p->entries[k];
        for (int s = 0; s < 4; s++) {
            size_t j = (size_t)os_rng_below(&r, e->numel);
            if (strstr(e->name, "word_embeddings")) j = (size_t)ids[s] * cfg.hidden_size + (size_t)s;
            float *w = p->data + e->offset + j, orig = *w;
            *w = orig + 1e-2f;
            double lp = model_loss(&m, ids, mask);
            *w = orig - 1e-2f;
            double lm = model_loss(&m, ids, mask);
            *w = orig;
            double err = fd_error((lp - lm) / 2e-2, an[e->offset + j]);
            worst = fmax(worst, err);
            checked++;
            if (err > 2e-2) {
                bad++;
                fprintf(stderr, "%s[%zu]: analytic %g fd %g\n", e->name, j, an[e->offset + j], (lp - lm) / 2e-2);
            }
        }
    }
    CHECK_MSG(bad == 0, "%d of %d coordinates disagree", bad, checked);
    printf("  encoder + head, dropout %.2f: %d coordinates, worst relative error %.2e\n", dropout, checked, worst);
    free(an);
    os_mlm_model_free(&m);
}

static void test_model_no_dropout(void) { run_model_case(0.0f); }
static void test_model_with_dropout(void) { run_model_case(0.1f); }

// Names: HF BertForMaskedLM's, and no decoder tensor of its own (tied to the word embeddings).
static void test_hf_names(void) {
    os_bert_config cfg = tiny_bert_config();
    os_mlm_model m;
    CHECK(os_mlm_model_create(&m, &cfg) == OS_OK);
    const char *names[] = {"cls.predictions.transform.dense.weight", "cls.predictions.transform.dense.bias",
                           "cls.predictions.transform.LayerNorm.weight", "cls.predictions.transform.LayerNorm.bias",
                           "cls.predictions.bias"};
    for (int i = 0; i < 5; i++) CHECK_MSG(os_params_find(&m.base.params, names[i]) >= 0, "%s", names[i]);
    CHECK(os_params_find(&m.base.params, "cls.predictions.decoder.weight") < 0);
    CHECK(os_params_find(&m.base.params, "bert.pooler.dense.weight") < 0);
    CHECK(m.mlm.wte == m.base.enc.wte);
    os_mlm_model_free(&m);
}

int main(void) {
    RUN(test_hf_names);
    RUN(test_head_alone);
    RUN(test_model_no_dropout);
    RUN(test_model_with_dropout);
    return th_finish();
}
