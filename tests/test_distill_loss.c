// Distillation losses (src/distill/kd_loss.c, layer_loss.c, the mixing in distiller.c, the projection and
// encoder hook in layers.c): loss values and gradients against PyTorch autograd (tests/ref/distill_ref.py:
// F.kl_div with T^2 scaling, soft-target BCE, MSE, the alpha mix with cross-entropy, projected hidden-state
// MSE, attention-map MSE with equal and different head counts), plus finite differences of every loss, of
// the projection layer, and of the whole student encoder under hidden-state and attention matching (the
// gradients injected into backward). Tolerances: 1e-5 relative to PyTorch (float32 inputs, float64
// reference); 2e-3 absolute for central differences (eps 1e-3 in float32); 2 % relative (+1e-4) through
// the encoder. PyTorch (python3-torch) is a required test dependency.
#include <unistd.h>

#include "distill/distiller.h"
#include "distill/kd_loss.h"
#include "distill/layer_loss.h"
#include "distill/layers.h"
#include "harness.h"
#include "model_testutil.h"

enum { R = 4, K = 3 };
// Must match tests/ref/distill_ref.py.
static const float S[R * K] = {1.0f, -0.5f, 2.0f, 0.3f, 0.2f, -1.0f, -2.0f, 1.5f, 0.0f, 0.7f, 0.7f, 0.1f};
static const float Z1[R * K] = {2.0f, 0.0f, 1.0f, -1.0f, 3.0f, 0.5f, 0.0f, 0.0f, 0.0f, 1.2f, -0.4f, 2.2f};
static const float Z2[R * K] = {0.5f, 1.0f, -1.0f, 2.0f, 0.1f, 0.3f, -3.0f, 2.0f, 1.0f, 0.0f, 0.9f, -0.6f};
static const int32_t Y[R] = {2, 1, 0, 2};
static const float TEMP = 2.0f, ALPHA = 0.3f, LAMBDA = 1.5f;
static const char *PYTHON = "/usr/bin/python3";

enum { MAX_REF = 16, MAX_VALUES = 128 };
static struct {
    char name[64];
    double v[MAX_VALUES];
    int n;
} refs[MAX_REF];
static int n_refs;

static int load_reference(void) {
    const char *src = getenv("ONESTONE_SRC");
    if (!src || !*src || access(PYTHON, X_OK) != 0) {
        fprintf(stderr, "test_distill_loss: needs ONESTONE_SRC (run through ctest) and %s with python3-torch\n", PYTHON);
        return 0;
    }
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' '%s/tests/ref/distill_ref.py'", PYTHON, src);
    FILE *p = popen(cmd, "r");
    if (!p) return 0;
    char line[4096];
    while (n_refs < MAX_REF && fgets(line, sizeof line, p)) {
        char *tok = strtok(line, " \n");
        if (!tok) continue;
        snprintf(refs[n_refs].name, sizeof refs[n_refs].name, "%s", tok);
        refs[n_refs].n = 0;
        while ((tok = strtok(NULL, " \n")) && refs[n_refs].n < MAX_VALUES) refs[n_refs].v[refs[n_refs].n++] = atof(tok);
        n_refs++;
    }
    int st = pclose(p);
    if (st != 0 || n_refs == 0) {
        fprintf(stderr, "test_distill_loss: the PyTorch reference failed (%s, status %d)\n", cmd, st);
        return 0;
    }
    return 1;
}

static const double *reference(const char *name, int n) {
    for (int r = 0; r < n_refs; r++)
        if (!strcmp(refs[r].name, name)) {
            CHECK_MSG(refs[r].n == n, "%s: %d reference values, expected %d", name, refs[r].n, n);
            return refs[r].n == n ? refs[r].v : NULL;
        }
    CHECK_MSG(0, "%s: missing from the reference output", name);
    return NULL;
}

// Compares n values (a loss, then gradients) with the reference line `name`.
static void expect_values(const char *name, const double *ours, int n) {
    const double *ref = reference(name, n);
    for (int i = 0; ref && i < n; i++)
        CHECK_MSG(fabs(ours[i] - ref[i]) <= 1e-5 * fmax(1, fabs(ref[i])), "%s[%d]: %.9g vs %.9g", name, i, ours[i], ref[i]);
}

// A loss and its (R,K) gradient.
static void expect(const char *name, double loss, const float *grad) {
    double v[1 + R * K] = {loss};
    for (int i = 0; i < R * K; i++) v[1 + i] = grad[i];
    expect_values(name, v, 1 + R * K);
}

typedef enum { KD_SOFT, KD_SIGMOID, KD_MSE } kd_kind;

// Soft targets (or regression targets) of the teachers given (1 or 2), row r.
static void targets(kd_kind kind, int n_teachers, int r, float *p) {
    const float *zs[2] = {Z1, Z2};
    memset(p, 0, K * sizeof(float));
    for (int k = 0; k < n_teachers; k++) {
        const float *z = zs[k] + r * K, w = 1.0f / (float)n_teachers;
        if (kind == KD_SOFT) os_kd_soft_targets(z, K, TEMP, w, p);
        else if (kind == KD_SIGMOID) os_kd_sigmoid_targets(z, K, TEMP, w, p);
        else
            for (int j = 0; j < K; j++) p[j] += w * z[j];
    }
}

// Batch loss (mean over rows) of logits s; gradient into d when not NULL.
static double batch_loss(kd_kind kind, int n_teachers, const float *s, float *d) {
    double sum = 0;
    float p[K];
    if (d) memset(d, 0, R * K * sizeof(float));
    for (int r = 0; r < R; r++) {
        targets(kind, n_teachers, r, p);
        float *dr = d ? d + r * K : NULL;
        if (kind == KD_SOFT) sum += os_kd_soft_ce(s + r * K, p, K, TEMP, dr, 1.0f / R);
        else if (kind == KD_SIGMOID) sum += os_kd_sigmoid_bce(s + r * K, p, K, TEMP, dr, 1.0f / R);
        else sum += os_kd_mse(s + r * K, p, K, dr, 1.0f / R);
    }
    return sum / R;
}

static void test_losses_vs_torch(void) {
    float d[R * K];
    expect("soft_ce_one", batch_loss(KD_SOFT, 1, S, d), d);
    expect("soft_ce_ensemble", batch_loss(KD_SOFT, 2, S, d), d);
    expect("sigmoid_bce_ensemble", batch_loss(KD_SIGMOID, 2, S, d), d);
    expect("mse_ensemble", batch_loss(KD_MSE, 2, S, d), d);
}

static void test_finite_differences(void) {
    const kd_kind kinds[] = {KD_SOFT, KD_SIGMOID, KD_MSE};
    const float eps = 1e-3f;
    for (int k = 0; k < 3; k++) {
        float s[R * K], d[R * K];
        memcpy(s, S, sizeof s);
        batch_loss(kinds[k], 2, s, d);
        for (int i = 0; i < R * K; i++) {
            const float keep = s[i];
            s[i] = keep + eps;
            const double up = batch_loss(kinds[k], 2, s, NULL);
            s[i] = keep - eps;
            const double down = batch_loss(kinds[k], 2, s, NULL);
            s[i] = keep;
            CHECK_MSG(fabs((up - down) / (2 * eps) - d[i]) <= 2e-3, "loss %d grad[%d]: fd %.6g vs %.6g", k, i,
                      (up - down) / (2 * eps), (double)d[i]);
        }
    }
}

// A one-task runtime around a tiny model whose head `level` has K labels; the teachers' logits come from a
// cache of two sources holding Z1 and Z2.
typedef struct {
    os_runtime rt;
    os_teacher_set ts;
    os_kd_cache cache;
    os_distill_config dc;
    os_distiller dist;
} fixture;

static void fixture_init(fixture *f, os_task_level level, const float *z1, const float *z2) {
    memset(f, 0, sizeof *f);
    os_bert_config cfg = tiny_bert_config();
    os_task_spec spec = {.name = "t", .level = level, .problem = OS_PROBLEM_SINGLE_LABEL, .num_labels = K,
                         .dropout = 0, .loss_weight = LAMBDA};
    CHECK(os_model_create(&f->rt.model, &cfg, &spec, 1, 1) == OS_OK);
    CHECK(os_model_plan(&f->rt.model, R, 4) == OS_OK);
    f->rt.n_tasks = f->rt.n_groups = 1;
    f->rt.groups[0].n_tasks = 1;
    f->ts.n_src[0] = 2;
    f->cache.data[0][0] = (float *)z1;
    f->cache.data[0][1] = (float *)z2;
    f->dc.alpha[0] = ALPHA;
    f->dc.temperature[0] = TEMP;
    os_distiller_init(&f->dist, &f->dc, &f->rt, &f->ts, &f->cache);
}

static void fixture_free(fixture *f) {
    os_distiller_free(&f->dist);
    os_model_free(&f->rt.model);
}

// The hook on a sequence task with labels: alpha * CE + (1 - alpha) * KD, times loss_weight, as in torch.
static void test_mix_with_hard_labels(void) {
    fixture f;
    fixture_init(&f, OS_TASK_SEQUENCE, Z1, Z2);
    os_head *h = &f.rt.model.heads[0];
    h->rows = R;
    memcpy(h->logits, S, sizeof S);
    int n = 0;
    os_head_labels lab = {.classes = Y};
    float losses[1] = {os_head_loss(h, &lab, LAMBDA, &n)};
    int counts[1] = {n};
    const size_t ex[R] = {0, 1, 2, 3};
    os_batch b = {.B = R, .T = 4, .examples = ex};
    os_batch_input in = {.B = R, .T = 4};
    CHECK(os_distiller_after_loss(&f.dist, 0, &b, &in, losses, counts) == OS_OK);
    expect("mix_ce_kd", LAMBDA * losses[0], h->d_logits);
    fixture_free(&f);
}

// A token task on unlabeled rows: KD only, on word-first pieces only; the teacher rows come from the cache
// laid out piece by piece (row 0 has 3 pieces, row 1 two; T = 3).
static void test_token_rows_without_labels(void) {
    // Pieces in cache order: example 0 = pieces 0..2, example 1 = pieces 3..4. Word-first pieces: 0, 2, 3, 4
    // carry rows 0..3 of Z/S; piece 1 is a continuation piece (its values must be ignored).
    float z1[5 * K], z2[5 * K];
    const int piece_of_row[R] = {0, 2, 3, 4};
    for (int j = 0; j < K; j++) z1[1 * K + j] = z2[1 * K + j] = 50.0f;
    for (int r = 0; r < R; r++) {
        memcpy(z1 + piece_of_row[r] * K, Z1 + r * K, K * sizeof(float));
        memcpy(z2 + piece_of_row[r] * K, Z2 + r * K, K * sizeof(float));
    }
    fixture f;
    fixture_init(&f, OS_TASK_TOKEN, z1, z2);
    size_t start[3] = {0, 3, 5};
    f.rt.groups[0].feats[OS_SPLIT_TRAIN] = (os_featset){.n = 2, .start = start};
    os_head *h = &f.rt.model.heads[0];
    const int B = 2, T = 3;
    const int pos_of_row[R] = {0, 2, 3, 4};  // batch positions b*T+t: row 1 of the batch starts at 3
    h->rows = B * T;
    for (int i = 0; i < B * T * K; i++) h->logits[i] = 9.0f;
    for (int r = 0; r < R; r++) memcpy(h->logits + pos_of_row[r] * K, S + r * K, K * sizeof(float));
    uint8_t word_first[6] = {1, 0, 1, 1, 1, 0};
    h->has_grad = 0;
    float losses[1] = {0};
    int counts[1] = {0};
    const size_t ex[2] = {0, 1};
    os_batch b = {.B = B, .T = T, .examples = ex};
    os_batch_input in = {.B = B, .T = T, .word_first = word_first};
    CHECK(os_distiller_after_loss(&f.dist, 0, &b, &in, losses, counts) == OS_OK);
    CHECK(counts[0] == R);
    CHECK(h->has_grad);
    float g[R * K];
    for (int r = 0; r < R; r++) memcpy(g + r * K, h->d_logits + pos_of_row[r] * K, K * sizeof(float));
    for (int i = 0; i < R * K; i++) g[i] /= (1 - ALPHA) * LAMBDA;
    expect("soft_ce_ensemble", losses[0] / (1 - ALPHA), g);
    for (int j = 0; j < K; j++) CHECK(h->d_logits[1 * K + j] == 0 && h->d_logits[5 * K + j] == 0);
    fixture_free(&f);
}

// ---- intermediate layers -------------------------------------------------------------------------------

enum { HN = 5, HCS = 3, HCT = 4 };
static const float HS0[HN * HCS] = {0.5f, -1.0f, 0.2f, 1.5f, 0.3f, -0.7f, 0.0f, 0.4f, 0.9f, -0.6f, -0.2f, 0.1f, 3, 3, 3};
static const float HT0[HN * HCT] = {0.1f, 0.2f, -0.3f, 0.4f, 1.0f, -1.0f, 0.5f, 0.0f, 0.3f, 0.3f,
                                    0.3f, -0.9f, -0.5f, 0.8f, 0.0f, 0.2f, 9, 9, 9, 9};
static const float W0[HCT * HCS] = {0.2f, -0.1f, 0.4f, 0.3f, 0.5f, -0.2f, -0.4f, 0.1f, 0.1f, 0.0f, 0.6f, -0.3f};
static const float B0[HCT] = {0.05f, -0.1f, 0.0f, 0.2f};
static const int32_t HMASK[HN] = {1, 1, 1, 1, 0};

// Hidden loss with all its gradients: d[0..15) hs, d[15..27) W, d[27..31) b.
static double hidden(const float *v, float *d) {
    float proj[HN * HCT], dproj[HN * HCT];
    if (d) memset(d, 0, 31 * sizeof(float));
    return os_kd_hidden_loss(v, HT0, HMASK, HN, HCS, HCT, v + 15, v + 27, proj, dproj, d ? d : NULL, d ? d + 15 : NULL,
                             d ? d + 27 : NULL, 1.0f);
}

static void test_hidden_and_projection(void) {
    float v[31], d[31];
    memcpy(v, HS0, sizeof HS0);
    memcpy(v + 15, W0, sizeof W0);
    memcpy(v + 27, B0, sizeof B0);
    double ours[32] = {hidden(v, d)};
    for (int i = 0; i < 31; i++) ours[1 + i] = d[i];
    expect_values("hidden", ours, 32);
    const float eps = 1e-3f;  // finite differences w.r.t. the student states and the projection
    for (int i = 0; i < 31; i++) {
        const float keep = v[i];
        v[i] = keep + eps;
        const double up = hidden(v, NULL);
        v[i] = keep - eps;
        const double down = hidden(v, NULL);
        v[i] = keep;
        CHECK_MSG(fabs((up - down) / (2 * eps) - d[i]) <= 2e-3, "hidden grad[%d]: fd %.6g vs %.6g", i, (up - down) / (2 * eps),
                  (double)d[i]);
    }
}

static void test_attention_maps(void) {
    const double *in = reference("attn_inputs", 18 + 18 + 27);
    if (!in) return;
    float as[18], at2[18], at3[27], d[18];
    for (int i = 0; i < 18; i++) as[i] = (float)in[i];
    for (int i = 0; i < 18; i++) at2[i] = (float)in[18 + i];
    for (int i = 0; i < 27; i++) at3[i] = (float)in[36 + i];
    const int32_t mask[3] = {1, 1, 0};
    const char *names[2] = {"attn_same", "attn_avg"};
    const float *teachers[2] = {at2, at3};
    const int heads[2] = {2, 3};
    for (int c = 0; c < 2; c++) {
        memset(d, 0, sizeof d);
        double ours[19] = {os_kd_attention_loss(as, teachers[c], mask, 1, 3, 2, heads[c], d, 1.0f)};
        for (int i = 0; i < 18; i++) ours[1 + i] = d[i];
        expect_values(names[c], ours, 19);
        const float eps = 1e-3f;
        for (int i = 0; i < 18; i++) {
            const float keep = as[i];
            as[i] = keep + eps;
            const double up = os_kd_attention_loss(as, teachers[c], mask, 1, 3, 2, heads[c], NULL, 1.0f);
            as[i] = keep - eps;
            const double down = os_kd_attention_loss(as, teachers[c], mask, 1, 3, 2, heads[c], NULL, 1.0f);
            as[i] = keep;
            CHECK_MSG(fabs((up - down) / (2 * eps) - d[i]) <= 2e-3, "%s grad[%d]: fd %.6g vs %.6g", names[c], i,
                      (up - down) / (2 * eps), (double)d[i]);
        }
    }
}

// The whole path: a tiny student and a wider teacher (another head count), hidden-state pairs (embeddings
// and the last layer, through projections) and an attention pair; the gradient the encoder's backward
// produces with the injected terms must match finite differences of the layer loss for encoder weights.
static double layer_loss_at(os_kd_layers *L, os_model *s, os_model *t, const os_batch_input *in) {
    CHECK(os_model_forward(s, in, NULL, 1, 5) == OS_OK);
    float loss = 0;
    CHECK(os_kd_layers_step(L, &loss) == OS_OK);
    (void)t;
    return loss;
}

static void test_encoder_gradients_under_layer_matching(void) {
    os_bert_config sc = tiny_bert_config(), tc = tiny_bert_config();
    sc.hidden_dropout_prob = sc.attention_probs_dropout_prob = 0;  // deterministic for finite differences
    tc.hidden_size = 8;
    tc.num_attention_heads = 2;
    tc.num_hidden_layers = 3;
    os_model s, t;
    CHECK(os_model_create(&s, &sc, NULL, 0, 0) == OS_OK);
    CHECK(os_model_create(&t, &tc, NULL, 0, 0) == OS_OK);
    os_model_init_weights(&s, 3);
    os_model_init_weights(&t, 4);
    os_model *both[2] = {&s, &t};  // larger query/key weights: attention away from uniform
    for (int m = 0; m < 2; m++)
        for (int i = 0; i < both[m]->params.n; i++) {
            const os_param_entry *e = &both[m]->params.entries[i];
            if (strstr(e->name, "query") || strstr(e->name, "key"))
                for (size_t j = 0; j < e->numel; j++) both[m]->params.data[e->offset + j] *= 20;
        }
    os_distill_config dc;
    memset(&dc, 0, sizeof dc);
    dc.n_hidden_pairs = 2;
    dc.hidden_pairs[0][0] = 0;
    dc.hidden_pairs[1][0] = 2;
    dc.hidden_pairs[1][1] = 3;
    dc.n_attention_pairs = 1;
    dc.attention_pairs[0][0] = 1;
    dc.attention_pairs[0][1] = 2;
    dc.hidden_weight = 0.7;
    dc.attention_weight = 3.0;
    os_opt_config oc = os_opt_defaults(OS_OPT_ADAMW);
    os_kd_layers L;
    CHECK(os_kd_layers_init(&L, &dc, &s, &t, &oc, "teacher", 9) == OS_OK);
    L.lr = 0;  // the projections stay fixed, so the loss is a function of the student's weights only
    const int32_t ids[8] = {2, 5, 9, 11, 3, 2, 7, 3}, mask[8] = {1, 1, 1, 1, 1, 1, 1, 0};
    os_batch_input in = {.ids = ids, .mask = mask, .B = 2, .T = 4};
    CHECK(os_model_forward(&t, &in, NULL, 0, 0) == OS_OK);
    const double base = layer_loss_at(&L, &s, &t, &in);
    printf("  layer loss %.6g (hidden %.6g, attention %.6g)\n", base, (double)L.hidden_loss, (double)L.attention_loss);
    os_params_zero_grad(&s.params);
    os_model_backward(&s, 0);
    os_rng r;
    os_rng_seed(&r, 17);
    int checked = 0, bad = 0;
    for (int k = 0; k < 60; k++) {
        const size_t i = (size_t)os_rng_below(&r, (uint64_t)s.params.total);
        const float keep = s.params.data[i], eps = 2e-3f;
        s.params.data[i] = keep + eps;
        const double up = layer_loss_at(&L, &s, &t, &in);
        s.params.data[i] = keep - eps;
        const double down = layer_loss_at(&L, &s, &t, &in);
        s.params.data[i] = keep;
        const double fd = (up - down) / (2 * eps), g = s.params.grad[i];
        checked++;
        if (fabs(fd - g) > 0.02 * fmax(fabs(fd), fabs(g)) + 1e-4) {
            bad++;
            fprintf(stderr, "  param %zu: fd %.6g vs backward %.6g\n", i, fd, g);
        }
    }
    CHECK_MSG(bad == 0, "%d of %d encoder gradients differ from finite differences", bad, checked);
    os_kd_layers_free(&L);
    os_model_free(&s);
    os_model_free(&t);
}

int main(void) {
    if (!load_reference()) return 1;
    RUN(test_losses_vs_torch);
    RUN(test_finite_differences);
    RUN(test_mix_with_hard_labels);
    RUN(test_token_rows_without_labels);
    RUN(test_hidden_and_projection);
    RUN(test_attention_maps);
    RUN(test_encoder_gradients_under_layer_matching);
    return th_finish();
}
