// End-to-end finite-difference gradient check: encoder + every head type, on a tiny random model with odd
// sizes, padding, text pairs, and dropout ACTIVE (masks are a pure function of the seed, so repeated forwards
// with one seed see the same masks and central differences are valid).
#include "harness.h"
#include "model_testutil.h"
#include "model/model.h"
#include "util/rng.h"

enum { B = 2, T = 9 };

static const int32_t pair_pos[B * 2] = {1, 4, 2, 5};
static uint8_t word_first[B * T];

static float total_loss(os_model *m, const int32_t *ids, const int32_t *types, const int32_t *mask,
                        const os_head_labels *labels) {
    os_batch_input in = {.ids = ids, .type_ids = types, .mask = mask, .pair_pos = pair_pos, .word_first = word_first, .B = B, .T = T};
    os_model_forward(m, &in, NULL, 1, 99);
    return os_model_loss(m, labels, NULL, NULL);
}

static void run_case(float dropout, int frozen_below) {
    os_bert_config cfg = tiny_bert_config();
    cfg.hidden_dropout_prob = dropout;
    cfg.attention_probs_dropout_prob = dropout;
    cfg.initializer_range = 0.3f;
    const char *cls_labels[] = {"a", "b", "c"};
    const char *bio_labels[] = {"B-X", "I-X", "O"};
    os_task_spec tasks[] = {
        {.name = "cls", .level = OS_TASK_SEQUENCE, .problem = OS_PROBLEM_SINGLE_LABEL, .num_labels = 3,
         .labels = cls_labels, .dropout = dropout, .loss_weight = 1.0f},
        {.name = "tok", .level = OS_TASK_TOKEN, .problem = OS_PROBLEM_SINGLE_LABEL, .num_labels = 4,
         .dropout = dropout, .loss_weight = 0.5f},
        {.name = "reg", .level = OS_TASK_SEQUENCE, .problem = OS_PROBLEM_REGRESSION, .num_labels = 2,
         .dropout = dropout, .loss_weight = 2.0f},
        {.name = "ml", .level = OS_TASK_SEQUENCE, .problem = OS_PROBLEM_MULTI_LABEL, .num_labels = 3,
         .dropout = dropout, .loss_weight = 0.7f},
        {.name = "rel", .level = OS_TASK_ENTITY_PAIR, .problem = OS_PROBLEM_SINGLE_LABEL, .num_labels = 5,
         .dropout = dropout, .loss_weight = 1.3f},
        {.name = "crf", .level = OS_TASK_TOKEN, .problem = OS_PROBLEM_SINGLE_LABEL, .num_labels = 3,
         .labels = bio_labels, .dropout = dropout, .loss_weight = 0.9f, .crf = 1, .tag_scheme = "bio"},
    };
    os_model m;
    CHECK(os_model_create(&m, &cfg, tasks, 6, 1) == OS_OK);
    os_model_init_weights(&m, 5);
    // Non-trivial LayerNorm and bias values so their gradients are exercised.
    os_rng r;
    os_rng_seed(&r, 11);
    for (int i = 0; i < m.params.n; i++) {
        os_param_entry *e = &m.params.entries[i];
        if (e->ndim == 1)
            for (size_t j = 0; j < e->numel; j++) m.params.data[e->offset + j] += 0.2f * os_rng_normal(&r);
    }
    int32_t ids[B * T], types[B * T], mask[B * T], tok[B * T], crf_tags[B * T];
    int lens[B] = {9, 6};
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            int i = b * T + t;
            mask[i] = t < lens[b];
            ids[i] = mask[i] ? 5 + (int)os_rng_below(&r, 26) : 0;
            types[i] = t >= 4 && mask[i];
            tok[i] = mask[i] && t % 3 ? (int)os_rng_below(&r, 4) : -100;
            // Words of two pieces: first pieces at odd positions, tagged O B I O B I ... (valid BIO).
            word_first[i] = mask[i] && t % 2 == 1 && t < lens[b] - 1;
            crf_tags[i] = word_first[i] ? (int32_t[]){2, 0, 1}[(t / 2) % 3] : -100;
        }
    int32_t cls[B] = {2, 0};
    float reg[B * 2] = {0.5f, -1.0f, 1.5f, 0.25f}, ml[B * 3] = {1, 0, 1, 0, 0, 1};
    int32_t rel[B] = {4, 1};
    os_head_labels labels[6] = {{.classes = cls}, {.classes = tok}, {.values = reg}, {.values = ml}, {.classes = rel},
                                {.classes = crf_tags}};

    total_loss(&m, ids, types, mask, labels);
    os_params_zero_grad(&m.params);
    os_model_backward(&m, frozen_below);
    float *analytic = malloc(m.params.total * sizeof(float));
    memcpy(analytic, m.params.grad, m.params.total * sizeof(float));

    int checked = 0, bad = 0;
    double worst = 0;
    for (int k = 0; k < m.params.n; k++) {
        const os_param_entry *e = &m.params.entries[k];
        // A few coordinates of every tensor; for embeddings, rows that are actually used.
        for (int s = 0; s < 4; s++) {
            size_t j = (size_t)os_rng_below(&r, e->numel);
            if (strstr(e->name, "word_embeddings")) j = (size_t)ids[s] * cfg.hidden_size + (size_t)s;
            float *w = m.params.data + e->offset + j;
            const float h = 1e-2f, orig = *w;
            *w = orig + h;
            double lp = total_loss(&m, ids, types, mask, labels);
            *w = orig - h;
            double lm = total_loss(&m, ids, types, mask, labels);
            *w = orig;
            double fd = (lp - lm) / (2 * h), an = analytic[e->offset + j];
            int frozen_param = frozen_below > 0 && (strstr(e->name, "embeddings") ||
                                                    (frozen_below > 1 && strstr(e->name, "layer.0.")));
            if (frozen_param) {
                CHECK_MSG(an == 0, "%s[%zu]: frozen parameter got gradient %g", e->name, j, an);
                continue;
            }
            double err = fabs(fd - an) / fmax(1e-2, fmax(fabs(fd), fabs(an)));
            if (err > worst) worst = err;
            checked++;
            if (err > 2e-2) {
                bad++;
                fprintf(stderr, "%s[%zu]: analytic %.6g finite-difference %.6g\n", e->name, j, an, fd);
            }
        }
    }
    CHECK_MSG(bad == 0, "%d of %d coordinates disagree", bad, checked);
    printf("  dropout %.2f frozen_below %d: %d coordinates, worst relative error %.2e\n", dropout, frozen_below,
           checked, worst);
    free(analytic);
    os_model_free(&m);
}

static void test_grad_no_dropout(void) { run_case(0.0f, 0); }
static void test_grad_with_dropout(void) { run_case(0.1f, 0); }
static void test_grad_frozen_embeddings_and_first_layer(void) { run_case(0.0f, 2); }

// Gradient accumulation invariant: two half batches, gradients summed and halved, equal one whole batch
// (sequence classification, every row labelled, no dropout: both are means over the same rows).
static void test_accumulation_equals_big_batch(void) {
    os_bert_config cfg = tiny_bert_config();
    cfg.hidden_dropout_prob = cfg.attention_probs_dropout_prob = 0;
    os_task_spec task = {.name = "cls", .level = OS_TASK_SEQUENCE, .problem = OS_PROBLEM_SINGLE_LABEL, .num_labels = 3};
    os_model m;
    CHECK(os_model_create(&m, &cfg, &task, 1, 1) == OS_OK);
    os_model_init_weights(&m, 2);
    enum { R = 4, L = 6 };
    int32_t ids[R * L], mask[R * L], cls[R] = {0, 2, 1, 2};
    os_rng r;
    os_rng_seed(&r, 4);
    for (int i = 0; i < R * L; i++) {
        ids[i] = 5 + (int)os_rng_below(&r, 26);
        mask[i] = 1;
    }
    os_params_zero_grad(&m.params);
    os_batch_input whole = {.ids = ids, .mask = mask, .B = R, .T = L};
    os_head_labels lw = {.classes = cls};
    os_model_forward(&m, &whole, NULL, 1, 0);
    os_model_loss(&m, &lw, NULL, NULL);
    os_model_backward(&m, 0);
    float *big = malloc(m.params.total * sizeof(float));
    memcpy(big, m.params.grad, m.params.total * sizeof(float));
    os_params_zero_grad(&m.params);
    for (int h = 0; h < 2; h++) {
        os_batch_input half = {.ids = ids + h * 2 * L, .mask = mask + h * 2 * L, .B = 2, .T = L};
        os_head_labels lh = {.classes = cls + 2 * h};
        os_model_forward(&m, &half, NULL, 1, 0);
        os_model_loss(&m, &lh, NULL, NULL);
        os_model_backward(&m, 0);
    }
    double worst = 0, scale = 0;
    for (size_t i = 0; i < m.params.total; i++) {
        worst = fmax(worst, fabs(0.5 * m.params.grad[i] - big[i]));
        scale = fmax(scale, fabs(big[i]));
    }
    CHECK_MSG(worst <= 1e-5 * scale, "accumulated vs whole-batch gradient: %g (scale %g)", worst, scale);
    free(big);
    os_model_free(&m);
}

int main(void) {
    RUN(test_accumulation_equals_big_batch);
    RUN(test_grad_no_dropout);
    RUN(test_grad_with_dropout);
    RUN(test_grad_frozen_embeddings_and_first_layer);
    return th_finish();
}
