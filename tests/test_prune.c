// Pruning: magnitude pruning reaches exactly the requested sparsity (global and per layer) and removes the
// smallest weights; structured compaction is exact (the compacted model's outputs equal the full model's with
// those heads' and units' weights zeroed) and survives saving; the mask survives a recovery fine-tune;
// PyTorch's global_unstructured L1 pruning selects the same weights; bad options fail with one line.
#include "deploy/deploy.h"
#include "deploy/prune.h"
#include "quant_testutil.h"

#define MAXV 4096

static const char *bin(void) { return getenv("ONESTONE_BIN"); }

// Zeros and magnitudes of the block weights of layer l (all layers when l < 0).
static void group_stats(const os_model *m, int l, size_t *n, size_t *zeros, float *max_pruned_src,
                        const os_model *orig, float *min_kept) {
    *n = *zeros = 0;
    *max_pruned_src = 0;
    *min_kept = INFINITY;
    for (int i = 0; i < m->params.n; i++) {
        const os_param_entry *e = &m->params.entries[i];
        char pre[64];
        snprintf(pre, sizeof pre, "bert.encoder.layer.%d.", l);
        if (e->ndim != 2 || strncmp(e->name, "bert.encoder.layer.", 19) || (l >= 0 && strncmp(e->name, pre, strlen(pre))))
            continue;
        for (size_t j = 0; j < e->numel; j++) {
            const float w = m->params.data[e->offset + j], w0 = fabsf(orig->params.data[e->offset + j]);
            (*n)++;
            if (w == 0) {
                (*zeros)++;
                if (w0 > *max_pruned_src) *max_pruned_src = w0;
            } else if (w0 < *min_kept) {
                *min_kept = w0;
            }
        }
    }
}

static void test_magnitude_exact(void) {
    const double fractions[2] = {0.5, 0.3};
    for (int global = 0; global < 2; global++)
        for (int f = 0; f < 2; f++) {
            os_model m, orig;
            qt_create(&m, 3);
            qt_create(&orig, 3);
            uint8_t *mask = malloc(m.params.total);
            memset(mask, 1, m.params.total);
            CHECK(os_prune_magnitude(&m, fractions[f], global, mask) == OS_OK);
            size_t masked = 0;
            for (size_t i = 0; i < m.params.total; i++) {
                masked += !mask[i];
                if (!mask[i]) CHECK(m.params.data[i] == 0);
            }
            size_t total_zeros = 0;
            for (int l = global ? -1 : 0; l < (global ? 0 : m.cfg.num_hidden_layers); l++) {
                size_t n, zeros;
                float max_pruned, min_kept;
                group_stats(&m, l, &n, &zeros, &max_pruned, &orig, &min_kept);
                CHECK_MSG(zeros == (size_t)floor(fractions[f] * (double)n), "layer %d: %zu zeros of %zu", l, zeros, n);
                CHECK_MSG(max_pruned <= min_kept, "a pruned |w| %g exceeds a kept |w| %g", max_pruned, min_kept);
                total_zeros += zeros;
            }
            CHECK(masked == total_zeros);
            free(mask);
            os_model_free(&m);
            os_model_free(&orig);
        }
    os_model m;
    qt_create(&m, 3);
    uint8_t *mask = calloc(m.params.total, 1);
    CHECK(os_prune_magnitude(&m, 1.0, 1, mask) == OS_ERR_USAGE);
    CHECK(os_prune_magnitude(&m, -0.1, 0, mask) == OS_ERR_USAGE);
    CHECK(os_prune_magnitude(&m, NAN, 1, mask) == OS_ERR_USAGE);
    free(mask);
    os_model_free(&m);
}

static char dir_pruned[600], dir_full[600], batch_json[700];

// The batch and the compacted model's "sent" and "tags" logits, for tests/ref/prune_heads_ref.py.
static void write_batch_json(os_model *m, const qt_batch *b) {
    float tmp[MAXV];
    qt_logits(m, b, tmp);
    snprintf(batch_json, sizeof batch_json, "%s/test_prune_batch.json", th_tmpdir());
    FILE *f = fopen(batch_json, "w");
    if (!f) return;
    fprintf(f, "{\"ids\": [");
    for (int i = 0; i < QT_B; i++)
        for (int t = 0; t < QT_T; t++) fprintf(f, "%s%d%s", t ? "" : "[", b->ids[i * QT_T + t], t == QT_T - 1 ? (i == QT_B - 1 ? "]" : "], ") : ", ");
    fprintf(f, "], \"mask\": [");
    for (int i = 0; i < QT_B; i++)
        for (int t = 0; t < QT_T; t++) fprintf(f, "%s%d%s", t ? "" : "[", b->mask[i * QT_T + t], t == QT_T - 1 ? (i == QT_B - 1 ? "]" : "], ") : ", ");
    const os_head *s = &m->heads[0], *g = &m->heads[1];
    fprintf(f, "], \"sent\": [");
    for (int i = 0; i < QT_B; i++) fprintf(f, "%s[%.9g, %.9g]", i ? ", " : "", s->logits[2 * i], s->logits[2 * i + 1]);
    fprintf(f, "], \"tags\": [");
    for (int i = 0; i < QT_B; i++) {
        fprintf(f, "%s[", i ? ", " : "");
        for (int t = 0; t < QT_T; t++) {
            const float *r = g->logits + ((size_t)i * QT_T + t) * 3;
            fprintf(f, "%s[%.9g, %.9g, %.9g]", t ? ", " : "", r[0], r[1], r[2]);
        }
        fprintf(f, "]");
    }
    fprintf(f, "]}\n");
    fclose(f);
}

// Heads and units zeroed in the full model == the compacted model with smaller matrices.
static void test_structured_compaction_exact(void) {
    os_model m;
    qt_create(&m, 9);
    uint8_t *mask = malloc(m.params.total);
    memset(mask, 1, m.params.total);
    os_prune_plan plan;
    CHECK(os_prune_plan_structured(&plan, &m, 0.5, 0.4) == OS_OK);
    CHECK(os_prune_apply_plan(&m, &plan, mask) == OS_OK);
    qt_batch b;
    qt_make_batch(&b, m.cfg.vocab_size);
    float zeroed[MAXV], compact[MAXV], loaded[MAXV];
    const size_t n = qt_logits(&m, &b, zeroed);
    qt_save(&m, "test_prune_full", dir_full, sizeof dir_full);
    CHECK(os_deploy_from_model(&m.deploy, &m) == OS_OK);
    CHECK(os_deploy_compact(m.deploy, plan.keep_head, plan.keep_ffn) == OS_OK);
    for (int l = 0; l < m.deploy->n_layers; l++) {
        const os_dlayer *L = &m.deploy->layers[l];
        CHECK(L->heads == 2 && L->inter == 72 - 29 && L->n_pruned == 2);
        CHECK(L->lin[OS_DL_Q].OC == 24 && L->lin[OS_DL_AO].K == 24 && L->lin[OS_DL_I].OC == 43 && L->lin[OS_DL_O].K == 43);
        for (int j = 0; j < L->n_pruned; j++) CHECK(!plan.keep_head[l][L->pruned[j]]);
    }
    CHECK(qt_logits(&m, &b, compact) == n);
    const double d = qt_max_diff(zeroed, compact, n);
    CHECK_MSG(d <= 1e-5 * qt_max_abs(zeroed, n), "compacted model differs from the zeroed one by %g", d);
    // Saved and loaded: the same smaller shapes and logits; HF's pruned_heads written for transformers.
    qt_save(&m, "test_prune_structured", dir_pruned, sizeof dir_pruned);
    os_model q;
    CHECK_MSG(os_model_load(&q, dir_pruned) == OS_OK, "%s", os_last_error());
    CHECK(q.deploy && !q.deploy->int8 && q.deploy->layers[1].heads == 2);
    CHECK(qt_logits(&q, &b, loaded) == n && !memcmp(loaded, compact, n * sizeof(float)));
    char path[700], out[8192];
    snprintf(path, sizeof path, "cat '%s/config.json'", dir_pruned);
    CHECK(qt_sh(path, out, sizeof out) == 0 && strstr(out, "\"pruned_heads\": {"));
    // Compaction twice keeps original head indices; int8 and all-pruned layers are refused.
    uint8_t keep1[2] = {0, 1}, *kh[3] = {keep1, NULL, NULL};
    int first_kept = -1;
    for (int h = 0; h < 4 && first_kept < 0; h++)
        if (plan.keep_head[0][h]) first_kept = h;
    CHECK(os_deploy_compact(q.deploy, kh, NULL) == OS_OK);
    CHECK(q.deploy->layers[0].heads == 1 && q.deploy->layers[0].n_pruned == 3 && q.deploy->layers[0].pruned[2] == first_kept);
    uint8_t none[1] = {0}, *kn[3] = {none, NULL, NULL};
    CHECK(os_deploy_compact(q.deploy, kn, NULL) == OS_ERR_INPUT);
    os_model_free(&q);
    write_batch_json(&m, &b);
    os_prune_plan_free(&plan);
    CHECK(os_prune_plan_structured(&plan, &m, 1.0, 0) == OS_ERR_USAGE);
    free(mask);
    os_model_free(&m);
}

// A dataset and config for a 6-step recovery fine-tune of the "sent" task.
static void write_finetune_files(const char *dir, char *cfg, size_t len) {
    char tsv[700];
    snprintf(tsv, sizeof tsv, "%s/ft_train.tsv", dir);
    FILE *f = fopen(tsv, "w");
    if (!f) return;
    fputs("sentence\tlabel\n", f);
    for (int i = 0; i < 40; i++) fprintf(f, "%s the cat sat\t%s\n", i % 2 ? "good" : "bad", i % 2 ? "pos" : "neg");
    fclose(f);
    snprintf(cfg, len, "%s/ft_config.json", dir);
    f = fopen(cfg, "w");
    if (!f) return;
    fprintf(f, "{\"seed\": 1, \"model\": {\"max_seq_length\": 12},\n"
               " \"tasks\": [{\"name\": \"sent\", \"type\": \"sequence_classification\",\n"
               "   \"data\": {\"format\": \"tsv\", \"train\": \"%s\", \"text_column\": \"sentence\", \"dev_fraction\": 0.25}}],\n"
               " \"training\": {\"batch_size\": 4, \"epochs\": 1}, \"optimizer\": {\"type\": \"adamw\", \"lr\": 0.01}}\n", tsv);
    fclose(f);
}

static void test_mask_survives_finetune(void) {
    if (!bin()) return;
    os_model m;
    qt_create(&m, 4);
    char src[600], cfg[700], cmd[8192], out[8192], plain[700], tuned[700], heads[700];
    qt_save(&m, "test_prune_src", src, sizeof src);
    os_model_free(&m);
    write_finetune_files(th_tmpdir(), cfg, sizeof cfg);
    snprintf(plain, sizeof plain, "%s/test_prune_plain", th_tmpdir());
    snprintf(tuned, sizeof tuned, "%s/test_prune_tuned", th_tmpdir());
    snprintf(heads, sizeof heads, "%s/test_prune_heads_tuned", th_tmpdir());
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s' '%s'* '%s'* && '%s' prune '%s' '%s' --sparsity 0.5", plain, tuned, tuned,
             heads, bin(), src, plain);
    CHECK_MSG(qt_sh(cmd, out, sizeof out) == 0, "%s", out);
    snprintf(cmd, sizeof cmd, "'%s' prune '%s' '%s' --sparsity 0.5 --finetune '%s' --steps 6", bin(), src, tuned, cfg);
    CHECK_MSG(qt_sh(cmd, out, sizeof out) == 0, "%s", out);
    os_model a, b;
    CHECK_MSG(os_model_load(&a, plain) == OS_OK, "%s", os_last_error());
    CHECK_MSG(os_model_load(&b, tuned) == OS_OK, "%s", os_last_error());
    size_t still_zero = 0, pruned = 0, changed = 0;
    for (int i = 0; i < a.params.n; i++) {
        const os_param_entry *e = &a.params.entries[i];
        int j = os_params_find(&b.params, e->name);
        if (j < 0) continue;
        for (size_t k = 0; k < e->numel; k++) {
            const float x = a.params.data[e->offset + k], y = b.params.data[b.params.entries[j].offset + k];
            if (e->ndim == 2 && !strncmp(e->name, "bert.encoder.layer.", 19) && x == 0) pruned++, still_zero += y == 0;
            changed += x != y;
        }
    }
    CHECK_MSG(pruned > 0 && still_zero == pruned, "%zu of %zu pruned weights still zero after fine-tuning", still_zero, pruned);
    CHECK_MSG(changed > 1000, "the fine-tune changed only %zu values", changed);
    os_model_free(&a);
    os_model_free(&b);
    // Structured with a fine-tune: compacted after training.
    snprintf(cmd, sizeof cmd, "'%s' prune '%s' '%s' --heads 0.5 --ffn 0.5 --finetune '%s' --steps 4", bin(), src, heads, cfg);
    CHECK_MSG(qt_sh(cmd, out, sizeof out) == 0, "%s", out);
    CHECK_MSG(os_model_load(&a, heads) == OS_OK, "%s", os_last_error());
    CHECK(a.deploy && a.deploy->layers[0].heads == 2 && a.deploy->layers[2].inter == 36);
    os_model_free(&a);
}

// transformers' prune_heads on the full model gives the stored tensors, and PyTorch runs the compacted shapes to
// the same logits.
static void test_torch_heads_reference(void) {
    char out[8192], cmd[4096];
    const char *root = getenv("ONESTONE_SRC");
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/tests/ref/prune_heads_ref.py' '%s' '%s' '%s'", root ? root : ".",
             dir_full, dir_pruned, batch_json);
    int rc = qt_sh(cmd, out, sizeof out);
    CHECK_MSG(rc == 0 && strstr(out, "pruned model matches"), "prune_heads_ref.py (needs /usr/bin/python3 with torch): %s", out);
    printf("%s", out);
}

// torch.nn.utils.prune.global_unstructured (L1) over the same weights selects the same ones.
static void test_torch_reference(void) {
    if (!bin()) return;
    char src[600], out[8192], cmd[4096], pruned[700];
    snprintf(src, sizeof src, "%s/test_prune_src", th_tmpdir());
    snprintf(pruned, sizeof pruned, "%s/test_prune_plain", th_tmpdir());
    const char *root = getenv("ONESTONE_SRC");
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/tests/ref/prune_ref.py' '%s' '%s' 0.5", root ? root : ".", src, pruned);
    int rc = qt_sh(cmd, out, sizeof out);
    CHECK_MSG(rc == 0 && strstr(out, "same mask"), "prune_ref.py (needs /usr/bin/python3 with torch): %s", out);
}

static void expect_fail(const char *args, int code, const char *needle) {
    char cmd[5000], out[4096];
    snprintf(cmd, sizeof cmd, "'%s' %s", bin(), args);
    int rc = qt_sh(cmd, out, sizeof out);
    const char *nl = strchr(out, '\n');
    CHECK_MSG(rc == code && strstr(out, needle) && (!nl || !nl[1]), "'%s': exit %d, output: %s", args, rc, out);
}

static void test_bad_options(void) {
    if (!bin()) return;
    char a[8192], src[600], x[600];
    snprintf(src, sizeof src, "%s/test_prune_src", th_tmpdir());
    snprintf(x, sizeof x, "%s/test_prune_x", th_tmpdir());
    snprintf(a, sizeof a, "prune '%s' '%s' --sparsity 1.5", src, x);
    expect_fail(a, 2, "--sparsity needs a fraction in [0, 1), got '1.5'");
    snprintf(a, sizeof a, "prune '%s' '%s' --heads abc", src, x);
    expect_fail(a, 2, "--heads needs a fraction");
    snprintf(a, sizeof a, "prune '%s' '%s'", src, x);
    expect_fail(a, 2, "needs --sparsity, --heads or --ffn");
    snprintf(a, sizeof a, "prune '%s' '%s' --sparsity 0.5 --heads 0.5", src, x);
    expect_fail(a, 2, "cannot be combined");
    snprintf(a, sizeof a, "prune '%s' '%s' --sparsity 0.5 --finetune cfg.json", src, x);
    expect_fail(a, 2, "go together");
    snprintf(a, sizeof a, "prune '%s' '%s' --sparsity 0.5 --scope row", src, x);
    expect_fail(a, 2, "--scope must be");
    snprintf(a, sizeof a, "prune '%s' '%s' --heads 0.5", dir_pruned, x);
    expect_fail(a, 3, "already compressed");
    snprintf(a, sizeof a, "prune '%s' '%s' --heads 0.5", th_tmpdir(), x);
    expect_fail(a, 4, "missing");
    // Training from a compressed model: refused at the first step (after train's data summary lines).
    snprintf(a, sizeof a, "'%s' train '%s/ft_config.json' --set model.init='%s' --out '%s' --max-steps 1 --quiet 2>&1 | tail -1",
             bin(), th_tmpdir(), dir_pruned, x);
    char out[4096];
    qt_sh(a, out, sizeof out);
    CHECK_MSG(!strcmp(out, "onestone train: an int8 or pruned model is for inference only; train the fp32 model\n"), "%s", out);
    snprintf(a, sizeof a, "'%s' train '%s/ft_config.json' --set model.init='%s' --out '%s' --max-steps 1 --quiet",
             bin(), th_tmpdir(), dir_pruned, x);
    CHECK(qt_sh(a, NULL, 0) == 3);
}

int main(void) {
    RUN(test_magnitude_exact);
    RUN(test_structured_compaction_exact);
    RUN(test_mask_survives_finetune);
    RUN(test_torch_reference);
    RUN(test_torch_heads_reference);
    RUN(test_bad_options);
    return th_finish();
}
