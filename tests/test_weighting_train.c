// Adaptive weighting and gradient balancing inside the trainer (src/train/mtl_step.c, affinity.c):
//  - per-task gradients are isolated and linear: sum_i w_i (task i's backward alone) equals the backward of
//    the weighted joint loss, on a batch with two tasks;
//  - every strategy trains (params and representation gradients) on three datasets, one of them single-input
//    with two tasks, with finite losses and logged weights (MGDA's on the simplex);
//  - resume is bit-exact for strategies with state (UW's Adam moments, DB-MTL's buffer, GradVac's EMA, RLW's
//    RNG, the representation path);
//  - the affinity probe: cosine diagonal 1 and symmetric, `onestone affinity` prints a grouping;
//  - configuration errors name the field.
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cli_testutil.h"
#include "harness.h"
#include "train/trainer_internal.h"
#include "util/fileio.h"
#include "util/rng.h"


static const char *const words[] = {"the", "a", "movie", "film", "is", "was", "very", "and", "of", "in"};
static const char *const names[] = {"alice", "bob", "carol"};
static const char *const places[] = {"paris", "rome", "oslo"};

static const char *pick(os_rng *r, const char *const *a, int n) { return a[os_rng_below(r, (uint64_t)n)]; }

static void write_files(void) {
    char path[1200];
    snprintf(path, sizeof path, "%s/vocab.txt", cli_dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n.\ngood\nbad\n");
    for (size_t i = 0; i < sizeof words / sizeof *words; i++) fprintf(f, "%s\n", words[i]);
    for (int i = 0; i < 3; i++) fprintf(f, "%s\n%s\n", names[i], places[i]);
    fclose(f);
    os_rng r;
    os_rng_seed(&r, 5);
    snprintf(path, sizeof path, "%s/sent.tsv", cli_dir);
    f = fopen(path, "w");
    fprintf(f, "sentence\tlabel\n");
    for (int i = 0; i < 120; i++) {
        int pos = (int)os_rng_below(&r, 2);
        fprintf(f, "%s %s %s %s\t%s\n", pick(&r, words, 4), pick(&r, words + 2, 2), pos ? "good" : "bad",
                pick(&r, words, 10), pos ? "positive" : "negative");
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/ner.conll", cli_dir);
    f = fopen(path, "w");
    for (int i = 0; i < 120; i++) {
        int n = 3 + (int)os_rng_below(&r, 4);
        for (int k = 0; k < n; k++) {
            int kind = (int)os_rng_below(&r, 3);
            if (kind == 0) fprintf(f, "%s NNP B-NP I-PER\n", pick(&r, names, 3));
            else if (kind == 1) fprintf(f, "%s NNP B-NP I-LOC\n", pick(&r, places, 3));
            else fprintf(f, "%s DT B-NP O\n", pick(&r, words, 10));
        }
        fprintf(f, ". . O O\n\n");
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/multi.jsonl", cli_dir);
    f = fopen(path, "w");
    for (int i = 0; i < 120; i++) {
        int n_good = (int)os_rng_below(&r, 3);
        char text[256] = "the movie";
        for (int k = 0; k < n_good; k++) strcat(text, " good");
        strcat(text, os_rng_below(&r, 2) ? " alice ." : " .");
        fprintf(f, "{\"text\": \"%s\", \"score\": %d", text, n_good);
        if (i % 4) fprintf(f, ", \"long\": \"%s\"", n_good >= 1 ? "yes" : "no");  // partial labels
        fprintf(f, "}\n");
    }
    fclose(f);
}

// Three datasets (sentiment, ner, multi = score + long on the same sentences) or just `multi`.
static void write_config(const char *name, int only_multi) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", cli_dir, name);
    FILE *f = fopen(path, "w");
    fprintf(f,
            "{\"seed\": 3,\n"
            " \"model\": {\"vocab\": \"%s/vocab.txt\", \"max_seq_length\": 16,\n"
            "   \"encoder\": {\"hidden_size\": 16, \"num_hidden_layers\": 1, \"num_attention_heads\": 2,\n"
            "                \"intermediate_size\": 32, \"max_position_embeddings\": 16}},\n"
            " \"datasets\": {\"multi\": {\"format\": \"jsonl\", \"train\": \"%s/multi.jsonl\", \"dev_fraction\": 0.2,\n"
            "     \"labels\": {\"score\": {\"kind\": \"number\"}, \"long\": {\"kind\": \"class\"}}}},\n"
            " \"tasks\": [\n",
            cli_dir, cli_dir);
    if (!only_multi)
        fprintf(f,
                "  {\"name\": \"sentiment\", \"type\": \"sequence_classification\",\n"
                "   \"data\": {\"format\": \"tsv\", \"train\": \"%s/sent.tsv\", \"dev_fraction\": 0.2}},\n"
                "  {\"name\": \"ner\", \"type\": \"token_classification\", \"scheme\": \"iob1\", \"crf\": true,\n"
                "   \"data\": {\"format\": \"conll\", \"train\": \"%s/ner.conll\", \"dev_fraction\": 0.2,\n"
                "            \"tag_columns\": {\"label\": 3}}},\n",
                cli_dir, cli_dir);
    fprintf(f,
            "  {\"name\": \"score\", \"type\": \"regression\", \"dataset\": \"multi\", \"field\": \"score\"},\n"
            "  {\"name\": \"long\", \"type\": \"sequence_classification\", \"dataset\": \"multi\", \"field\": \"long\"}\n"
            " ],\n"
            " \"training\": {\"batch_size\": 8, \"max_steps\": 8, \"eval_every\": 4, \"log_every\": 2},\n"
            " \"optimizer\": {\"type\": \"adamw\", \"lr\": 0.003}}\n");
    fclose(f);
}

// The last "train" event of RUN/metrics.jsonl (new reference) or NULL.
static json_t *last_event(const char *run_dir, const char *kind) {
    char name[400];
    snprintf(name, sizeof name, "%s/metrics.jsonl", run_dir);
    char *text = cli_read(name), *save = NULL;
    json_t *last = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_t *ev = json_loads(line, 0, NULL);
        if (ev && !strcmp(json_string_value(json_object_get(ev, "event")) ? json_string_value(json_object_get(ev, "event")) : "", kind)) {
            json_decref(last);
            last = ev;
        } else {
            json_decref(ev);
        }
    }
    free(text);
    return last;
}

// ---- per-task gradients are isolated and linear -----------------------------------------------------------

static void test_task_gradients_are_linear(void) {
    char path[1200];
    snprintf(path, sizeof path, "%s/multi_only.json", cli_dir);
    os_train_config cfg;
    os_runtime rt = {0};
    os_status st = os_train_config_load(&cfg, path, NULL, 0);
    if (!st) st = os_runtime_build(&rt, &cfg, NULL);
    CHECK_MSG(st == OS_OK, "runtime: %s", os_last_error());
    if (st) return;
    trainer t = {0};
    t.rt = &rt;
    t.cfg = &cfg;
    os_params *p = &rt.model.params;
    const size_t D = os_shared_param_count(p), N = p->total;
    CHECK(D > 0 && D < N);
    size_t idx[8];
    for (int i = 0; i < 8; i++) idx[i] = (size_t)i;
    const int ts = 0, tl = 1;  // score, long
    float *G = calloc(2 * N, sizeof(float)), *joint = calloc(N, sizeof(float));
    float losses[OS_MAX_TASKS];
    int counts[OS_MAX_TASKS];
    // Task by task (the same forward, dropout on).
    st = os_trainer_forward_batch(&t, 0, OS_SPLIT_TRAIN, idx, 8, 1, 77);
    CHECK(st == OS_OK);
    os_trainer_task_loss(&t, NULL, rt.groups[0].batch.labels, losses, counts);
    CHECK(counts[rt.tasks[ts].head] > 0 && counts[rt.tasks[tl].head] > 0);
    for (int k = 0; k < 2; k++) {
        os_params_zero_grad(p);
        os_trainer_backward_task(&t, k == 0 ? ts : tl);
        memcpy(G + (size_t)k * N, p->grad, N * sizeof(float));
    }
    // The weighted joint loss on the same forward.
    const float w[2] = {0.3f, 1.7f};
    os_trainer_task_loss(&t, w, rt.groups[0].batch.labels, losses, counts);
    os_params_zero_grad(p);
    os_model_backward(&rt.model, 0);
    memcpy(joint, p->grad, N * sizeof(float));
    double max_err = 0, max_val = 0, head_leak = 0;
    for (size_t j = 0; j < N; j++) {
        double comb = w[0] * (double)G[j] + w[1] * (double)G[N + j];
        if (fabs(comb - joint[j]) > max_err) max_err = fabs(comb - joint[j]);
        if (fabs(joint[j]) > max_val) max_val = fabs(joint[j]);
    }
    // Task "score"'s backward leaves task "long"'s head untouched.
    const char *prefix = rt.model.head_prefixes[rt.tasks[tl].head];
    for (int e = 0; e < p->n; e++)
        if (!strncmp(p->entries[e].name, prefix, strlen(prefix)))
            for (size_t j = 0; j < p->entries[e].numel; j++) head_leak += fabs(G[p->entries[e].offset + j]);
    printf("  sum_i w_i g_i vs joint backward: max |diff| %.3g (max |g| %.3g); other head's gradient %.3g\n",
           max_err, max_val, head_leak);
    CHECK(max_val > 0);
    CHECK(max_err <= 1e-5 * max_val);
    CHECK(head_leak == 0);
    free(G);
    free(joint);
    free(t.word_first);
    os_runtime_free(&rt);
    os_train_config_free(&cfg);
}

// ---- every strategy trains -------------------------------------------------------------------------------

static const char *const strategies[] = {"ew", "uw", "dwa", "gls", "rlw", "gradnorm", "mgda", "pcgrad", "cagrad",
                                         "imtl_g", "aligned_mtl", "upgrad", "gradvac", "nash_mtl", "famo",
                                         "graddrop", "dbmtl"};

static void check_run(const char *run_name, const char *what, const char *strategy) {
    char run_dir[300];
    snprintf(run_dir, sizeof run_dir, "%s", run_name);
    json_t *ev = last_event(run_dir, "train");
    CHECK_MSG(ev != NULL, "%s: no train event", what);
    if (!ev) return;
    json_t *loss = json_object_get(ev, "loss"), *w = json_object_get(ev, "weights");
    const char *k;
    json_t *v;
    int finite = json_object_size(loss) > 0;
    json_object_foreach(loss, k, v) finite &= isfinite(json_number_value(v));
    CHECK_MSG(finite, "%s: losses not finite", what);
    CHECK_MSG(json_object_size(w) > 0, "%s: no weights logged", what);
    double sum = 0;
    json_object_foreach(w, k, v) sum += json_number_value(v);
    if (!strcmp(strategy, "mgda") || !strcmp(strategy, "mgda_ub"))  // the min-norm point lies on the simplex
        CHECK_MSG(fabs(sum - 1) < 1e-4, "%s: MGDA weights sum to %g", what, sum);
    json_decref(ev);
}

static void test_every_strategy_trains(void) {
    char args[4096], run_name[256], what[256];
    for (size_t i = 0; i < sizeof strategies / sizeof *strategies; i++) {
        for (int rep = 0; rep < 2; rep++) {
            const char *s = strategies[i];
            int loss_only = !strcmp(s, "ew") || !strcmp(s, "uw") || !strcmp(s, "dwa") || !strcmp(s, "rlw");
            if (rep && (loss_only || !strcmp(s, "dbmtl"))) continue;
            // graddrop on the representation needs one dataset: the single-input config.
            int only_multi = rep && !strcmp(s, "graddrop");
            snprintf(run_name, sizeof run_name, "runs/%s%s", s, rep ? "_rep" : "");
            snprintf(what, sizeof what, "%s (%s)", s, rep ? "rep" : "params");
            snprintf(args, sizeof args,
                     "train %s/%s --out %s/%s --set weighting.strategy=%s --set weighting.grads=%s --quiet", cli_dir,
                     only_multi ? "multi_only.json" : "config.json", cli_dir, run_name, s, rep ? "rep" : "params");
            int rc = cli_run(args);
            char *err = cli_read("err.txt");
            CHECK_MSG(rc == 0, "%s: exit %d: %s", what, rc, err);
            free(err);
            if (rc == 0) check_run(run_name, what, s);
        }
    }
    // MGDA-UB (representation gradients), on one dataset (full rows) and on three (summed rows, second forward).
    for (int only = 0; only < 2; only++) {
        snprintf(args, sizeof args, "train %s/%s --out %s/runs/mgda_ub%d --set weighting.strategy=mgda_ub --quiet", cli_dir,
                 only ? "multi_only.json" : "config.json", cli_dir, only);
        int rc = cli_run(args);
        char *err = cli_read("err.txt");
        CHECK_MSG(rc == 0, "mgda_ub: exit %d: %s", rc, err);
        free(err);
        snprintf(run_name, sizeof run_name, "runs/mgda_ub%d", only);
        if (rc == 0) check_run(run_name, "mgda_ub", "mgda_ub");
    }
}

// ---- exact resume ---------------------------------------------------------------------------------------

static void test_resume_is_exact(void) {
    static const char *const cases[][2] = {{"uw", "params"}, {"dbmtl", "params"}, {"gradvac", "params"},
                                           {"rlw", "params"}, {"pcgrad", "rep"}, {"dwa", "params"}};
    char args[4096], a[600], b[600];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *s = cases[i][0], *g = cases[i][1];
        const char *steps = !strcmp(s, "dwa") ? "--set training.max_steps=40 --set sampling.epoch_steps=6" : "";
        snprintf(args, sizeof args, "train %s/config.json --out %s/res/%s_full --set weighting.strategy=%s "
                 "--set weighting.grads=%s %s --quiet", cli_dir, cli_dir, s, s, g, steps);
        CHECK(cli_run(args) == 0);
        snprintf(args, sizeof args, "train %s/config.json --out %s/res/%s_part --set weighting.strategy=%s "
                 "--set weighting.grads=%s %s --max-steps 5 --quiet", cli_dir, cli_dir, s, s, g, steps);
        CHECK(cli_run(args) == 0);
        snprintf(args, sizeof args, "train --resume --out %s/res/%s_part --quiet", cli_dir, s);
        CHECK(cli_run(args) == 0);
        snprintf(a, sizeof a, "res/%s_full/checkpoint/model.safetensors", s);
        snprintf(b, sizeof b, "res/%s_part/checkpoint/model.safetensors", s);
        CHECK_MSG(cli_same_file(a, b), "%s: resumed parameters differ from an uninterrupted run", s);
        snprintf(a, sizeof a, "res/%s_full/checkpoint/optimizer.safetensors", s);
        snprintf(b, sizeof b, "res/%s_part/checkpoint/optimizer.safetensors", s);
        CHECK_MSG(cli_same_file(a, b), "%s: resumed optimizer state differs", s);
        if (!strcmp(s, "dbmtl")) {
            snprintf(a, sizeof a, "res/%s_full/checkpoint/weighting.safetensors", s);
            snprintf(b, sizeof b, "res/%s_part/checkpoint/weighting.safetensors", s);
            CHECK_MSG(cli_same_file(a, b), "dbmtl: resumed gradient buffer differs");
        }
    }
}

// ---- sampling "all": every dataset each step, for any strategy -----------------------------------------------

static void test_sampling_all(void) {
    char args[4096];
    const char *const strategies_all[] = {"static", "ew", "uw"};
    for (int i = 0; i < 3; i++) {
        snprintf(args, sizeof args, "train %s/config.json --out %s/all_%s --set sampling.strategy=all "
                 "--set weighting.strategy=%s --quiet", cli_dir, cli_dir, strategies_all[i], strategies_all[i]);
        CHECK(cli_run(args) == 0);
    }
    // 8 steps, one batch of each of the three datasets per step.
    char *sum = cli_read("all_static/summary.json");
    json_t *s = json_loads(sum, 0, NULL);
    json_t *b = json_object_get(s, "batches_per_dataset");
    CHECK(json_object_size(b) == 3);
    const char *k;
    json_t *v;
    json_object_foreach(b, k, v) CHECK_MSG(json_integer_value(v) == 8, "%s: %lld batches", k, (long long)json_integer_value(v));
    json_decref(s);
    free(sum);
    // static (lambda = 1) and ew (w = 1) take the same path with the same numbers: identical models.
    CHECK(cli_same_file("all_static/checkpoint/model.safetensors", "all_ew/checkpoint/model.safetensors"));
    CHECK(!cli_same_file("all_static/checkpoint/model.safetensors", "all_uw/checkpoint/model.safetensors"));
    // Exact resume in this mode too.
    snprintf(args, sizeof args, "train %s/config.json --out %s/all_uw_part --set sampling.strategy=all "
             "--set weighting.strategy=uw --max-steps 3 --quiet", cli_dir, cli_dir);
    CHECK(cli_run(args) == 0);
    snprintf(args, sizeof args, "train --resume --out %s/all_uw_part --quiet", cli_dir);
    CHECK(cli_run(args) == 0);
    CHECK(cli_same_file("all_uw/checkpoint/model.safetensors", "all_uw_part/checkpoint/model.safetensors"));
}

// ---- UW: the log-variances follow the losses -------------------------------------------

static void test_uw_weights_follow_losses(void) {
    char args[4096];
    snprintf(args, sizeof args, "train %s/config.json --out %s/uw_long --set weighting.strategy=uw "
             "--set training.max_steps=60 --set training.log_every=60 --set optimizer.lr=0.02 --quiet", cli_dir, cli_dir);
    CHECK(cli_run(args) == 0);
    char run_dir[300];
    snprintf(run_dir, sizeof run_dir, "uw_long");
    json_t *ev = last_event(run_dir, "train");
    CHECK(ev != NULL);
    if (!ev) return;
    json_t *loss = json_object_get(ev, "loss"), *w = json_object_get(ev, "weights");
    // lambda_i = 1 / (2 exp(s_i)) with s_i = 0 at the start and dL/ds_i = (1 - L_i e^{-s_i}) / 2: s_i climbs
    // towards log L_i, so a task whose loss stays above 1 ends with a weight below 1/2 and one below 1 above it.
    const char *k;
    json_t *v;
    int pairs = 0, agree = 0;
    json_object_foreach(loss, k, v) {
        double l = json_number_value(v), wt = json_number_value(json_object_get(w, k));
        printf("  uw: %s loss %.3f weight %.4f\n", k, l, wt);
        if (fabs(log(l)) < 0.15) continue;  // too close to 1 to tell
        pairs++;
        agree += (l > 1) == (wt < 0.5);
    }
    CHECK(pairs > 0);
    CHECK(agree == pairs);
    json_decref(ev);
}

// ---- affinity -------------------------------------------------------------------------------------------

static void test_affinity(void) {
    char args[4096];
    snprintf(args, sizeof args, "train %s/config.json --out %s/aff --set weighting.affinity_every=3 --quiet", cli_dir, cli_dir);
    CHECK(cli_run(args) == 0);
    json_t *ev = last_event("aff", "affinity");
    CHECK(ev != NULL);
    if (ev) {
        json_t *C = json_object_get(ev, "cosine"), *Z = json_object_get(ev, "lookahead");
        size_t n = json_array_size(C);
        CHECK(n == 4 && json_array_size(Z) == 4);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) {
                double cij = json_number_value(json_array_get(json_array_get(C, i), j));
                double cji = json_number_value(json_array_get(json_array_get(C, j), i));
                if (i == j) CHECK_NEAR(cij, 1.0, 1e-6);
                CHECK_NEAR(cij, cji, 1e-9);
                CHECK(cij >= -1 - 1e-9 && cij <= 1 + 1e-9);
                // A step on a task lowers (or barely changes) its own loss.
                if (i == j) CHECK(json_number_value(json_array_get(json_array_get(Z, i), j)) > -0.01);
            }
        json_decref(ev);
    }
    snprintf(args, sizeof args, "affinity %s/aff", cli_dir);
    CHECK(cli_run(args) == 0);
    char *out = cli_read("out.txt");
    CHECK(strstr(out, "gradient cosine") && strstr(out, "suggested grouping") && strstr(out, "sentiment"));
    free(out);
    char *rep = cli_read("aff/affinity.json");
    CHECK(strstr(rep, "\"suggested\"") && strstr(rep, "\"lookahead\""));
    free(rep);
    // A run without probes: a one-line error.
    snprintf(args, sizeof args, "affinity %s/runs/ew", cli_dir);
    CHECK(cli_run(args) == 3);
    char *err = cli_read("err.txt");
    CHECK(strstr(err, "no affinity events") != NULL);
    free(err);
}

// ---- configuration errors -------------------------------------------------------------------------------

static void test_bad_configs(void) {
    static const char *const cases[][2] = {
        {"--set weighting.strategy=nope", "weighting.strategy"},
        {"--set weighting.grads=both", "weighting.grads"},
        {"--set weighting.strategy=mgda_ub --set weighting.grads=params", "weighting.grads"},
        {"--set weighting.strategy=uw --set weighting.grads=rep", "weighting.grads"},
        {"--set weighting.strategy=dbmtl --set weighting.grads=rep", "dbmtl"},
        {"--set weighting.strategy=graddrop --set weighting.grads=rep", "graddrop"},
        {"--set weighting.strategy=mgda --set weighting.grads=rep --set training.grad_accumulation=2", "grad_accumulation"},
        {"--set weighting.mgda_normalize=l3", "weighting.mgda_normalize"},
        {"--set weighting.dwa_T=0", "weighting.dwa_T"},
        {"--set weighting.colour=1", "colour"},
    };
    char args[4096];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(args, sizeof args, "train %s/config.json --out %s/bad %s --quiet", cli_dir, cli_dir, cases[i][0]);
        int rc = cli_run(args);
        char *err = cli_read("err.txt");
        CHECK_MSG(rc == 3 && strstr(err, cases[i][1]) != NULL, "%s: exit %d: %s", cases[i][0], rc, err);
        free(err);
    }
}

int main(void) {
    if (!getenv("ONESTONE_BIN")) {
        fprintf(stderr, "ONESTONE_BIN not set\n");
        return 1;
    }
    snprintf(cli_dir, sizeof cli_dir, "%s/weighting_train", th_tmpdir());
    os_mkdirs(cli_dir);
    write_files();
    write_config("config.json", 0);
    write_config("multi_only.json", 1);
    RUN(test_task_gradients_are_linear);
    RUN(test_every_strategy_trains);
    RUN(test_resume_is_exact);
    RUN(test_sampling_all);
    RUN(test_uw_weights_follow_losses);
    RUN(test_affinity);
    RUN(test_bad_configs);
    return th_finish();
}
