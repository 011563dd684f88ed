// Distillation losses (src/distill/kd_loss.c, the mixing in src/distill/distiller.c): loss values and
// gradients w.r.t. the student's logits against PyTorch autograd (tests/ref/distill_ref.py: F.kl_div with
// T^2 scaling, soft-target BCE, MSE, the alpha mix with cross-entropy), plus finite differences of every
// loss. Tolerances: 1e-5 relative to PyTorch (float32 inputs, float64 reference); 2e-3 absolute for the
// central differences (eps 1e-3 in float32). PyTorch (python3-torch) is a required test dependency.
#include <unistd.h>

#include "distill/distiller.h"
#include "distill/kd_loss.h"
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

enum { MAX_REF = 16 };
static struct {
    char name[64];
    double v[1 + R * K];
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
        while ((tok = strtok(NULL, " \n")) && refs[n_refs].n < 1 + R * K) refs[n_refs].v[refs[n_refs].n++] = atof(tok);
        n_refs++;
    }
    int st = pclose(p);
    if (st != 0 || n_refs == 0) {
        fprintf(stderr, "test_distill_loss: the PyTorch reference failed (%s, status %d)\n", cmd, st);
        return 0;
    }
    return 1;
}

// Compares a loss and its (R,K) gradient with the reference line `name`.
static void expect(const char *name, double loss, const float *grad) {
    for (int r = 0; r < n_refs; r++) {
        if (strcmp(refs[r].name, name)) continue;
        CHECK_MSG(refs[r].n == 1 + R * K, "%s: %d reference values", name, refs[r].n);
        CHECK_MSG(fabs(loss - refs[r].v[0]) <= 1e-5 * fmax(1, fabs(refs[r].v[0])), "%s loss: %.9g vs %.9g", name, loss,
                  refs[r].v[0]);
        for (int i = 0; i < R * K; i++)
            CHECK_MSG(fabs(grad[i] - refs[r].v[1 + i]) <= 1e-5 * fmax(1, fabs(refs[r].v[1 + i])), "%s grad[%d]: %.9g vs %.9g",
                      name, i, (double)grad[i], refs[r].v[1 + i]);
        return;
    }
    CHECK_MSG(0, "%s: missing from the reference output", name);
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

int main(void) {
    if (!load_reference()) return 1;
    RUN(test_losses_vs_torch);
    RUN(test_finite_differences);
    RUN(test_mix_with_hard_labels);
    RUN(test_token_rows_without_labels);
    return th_finish();
}
