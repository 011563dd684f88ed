// The PyTorch reference of the training recipe (scripts/reference/mtl_reference.py, docs/reference.md) replays
// onestone's batch trace from the same exported data and initial model: every step's task losses, gradient
// norm and learning rate, and the dev scores of the best evaluation must agree. Three tasks (NER in IOB1 with
// a CRF, relations from entity markers, sentiment with a carved dev set), temperature sampling, dropout 0;
// a static-weights run from scratch, an uncertainty-weighting run from the first run's model with a head
// learning rate, gradient accumulation and a cosine schedule, and a run with softmax NER, [CLS] relations and
// uniform sampling. Skips (exit 77) without /usr/bin/python3 + torch.
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_testutil.h"
#include "harness.h"
#include "util/fileio.h"
#include "util/rng.h"
#include <jansson.h>

#define LOSS_RTOL 2e-5  // float32 forward/backward in different orders (measured: under 1e-6 after 30 steps)
#define NORM_RTOL 2e-5
#define METRIC_TOL 2e-7  // summary.json prints 7 significant digits; one changed prediction moves a score by > 1e-3

static void write_inputs(void) {
    cli_write_vocab();
    os_rng r;
    os_rng_seed(&r, 11);
    cli_write_sentiment("sent.tsv", &r, 120);
    // IOB1 (B- only between adjacent entities of one type), some words split into several pieces ("alicebob"
    // is not in the vocabulary: [UNK] is one piece, so a piece split needs "##" entries; instead the long
    // sentences are truncated at max_seq_length, which exercises words lost to truncation).
    for (int split = 0; split < 2; split++) {
        FILE *f = cli_create(split ? "ner_dev.conll" : "ner_train.conll");
        fprintf(f, "-DOCSTART- -X- -X- O\n\n");
        for (int i = 0; i < (split ? 30 : 100); i++) {
            int n = 3 + (int)os_rng_below(&r, i % 10 == 0 ? 30 : 6), prev = -1;
            for (int k = 0; k < n; k++) {
                int kind = (int)os_rng_below(&r, 4);
                if (kind == 0) fprintf(f, "%s NNP B-NP %s-PER\n", cli_pick(&r, cli_names, 3), prev == 0 ? "B" : "I");
                else if (kind == 1) fprintf(f, "%s NNP B-NP I-LOC\n", cli_pick(&r, cli_places, 3));
                else fprintf(f, "%s DT B-NP O\n", cli_pick(&r, cli_words, 19));
                prev = kind;
            }
            fprintf(f, ". . O O\n\n");
        }
        fclose(f);
    }
    cli_write_semeval("rel.txt", &r, 120);
    FILE *f = cli_create("config.json");
    fprintf(f,
            "{\"seed\": 5,\n"
            " \"model\": {\"vocab\": \"%s/vocab.txt\", \"max_seq_length\": 24,\n"
            "   \"encoder\": {\"hidden_size\": 32, \"num_hidden_layers\": 2, \"num_attention_heads\": 2,\n"
            "                \"intermediate_size\": 64, \"max_position_embeddings\": 32,\n"
            "                \"hidden_dropout_prob\": 0, \"attention_probs_dropout_prob\": 0}},\n"
            " \"tasks\": [\n"
            "  {\"name\": \"ner\", \"type\": \"token_classification\", \"scheme\": \"iob1\", \"crf\": true,\n"
            "   \"data\": {\"format\": \"conll\", \"train\": \"%s/ner_train.conll\", \"dev\": \"%s/ner_dev.conll\",\n"
            "            \"tag_columns\": {\"label\": 3}}},\n"
            "  {\"name\": \"relation\", \"type\": \"relation_classification\",\n"
            "   \"data\": {\"format\": \"semeval\", \"train\": \"%s/rel.txt\", \"dev_fraction\": 0.25}},\n"
            "  {\"name\": \"sentiment\", \"type\": \"sequence_classification\", \"loss_weight\": 0.7,\n"
            "   \"data\": {\"format\": \"tsv\", \"train\": \"%s/sent.tsv\", \"dev_fraction\": 0.25}}\n"
            " ],\n"
            " \"sampling\": {\"strategy\": \"temperature\", \"temperature\": 2},\n"
            " \"training\": {\"batch_size\": 8, \"max_steps\": 30, \"eval_every\": 10, \"log_every\": 1000},\n"
            " \"optimizer\": {\"type\": \"adamw\", \"lr\": 0.003, \"weight_decay\": 0.05},\n"
            " \"schedule\": {\"type\": \"linear\", \"warmup_ratio\": 0.2}}\n",
            cli_dir, cli_dir, cli_dir, cli_dir, cli_dir);
    fclose(f);
}

static int close_rel(double a, double b, double rtol) { return fabs(a - b) <= rtol * fmax(fabs(a), fabs(b)) + 1e-7; }

// onestone's trace vs the reference's steps: the same datasets, task losses, gradient norms and learning rates.
static void compare_steps(const char *trace_name, json_t *ref) {
    char path[1200], *text;
    size_t len;
    snprintf(path, sizeof path, "%s/%s", cli_dir, trace_name);
    CHECK(os_read_file(path, &text, &len) == OS_OK);
    json_t *steps = json_object_get(ref, "steps");
    size_t k = 0, n_losses = 0;
    double worst = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"), k++) {
        json_t *os = json_loads(line, 0, NULL), *rs = json_array_get(steps, k);
        CHECK_MSG(os && rs, "step %zu: missing in the %s", k + 1, os ? "reference" : "trace");
        if (!os || !rs) break;
        CHECK(json_integer_value(json_object_get(os, "step")) == json_integer_value(json_object_get(rs, "step")));
        double lo = json_number_value(json_object_get(os, "lr")), lr = json_number_value(json_object_get(rs, "lr"));
        CHECK_MSG(close_rel(lo, lr, 1e-6), "step %zu: lr %.9g vs reference %.9g", k + 1, lo, lr);
        double go = json_number_value(json_object_get(os, "grad_norm"));
        double gr = json_number_value(json_object_get(rs, "grad_norm"));
        CHECK_MSG(close_rel(go, gr, NORM_RTOL), "step %zu: grad norm %.9g vs reference %.9g", k + 1, go, gr);
        json_t *ob = json_object_get(os, "batches"), *rb = json_object_get(rs, "batches");
        CHECK(json_array_size(ob) == json_array_size(rb) && json_array_size(ob) > 0);
        for (size_t b = 0; b < json_array_size(ob) && b < json_array_size(rb); b++) {
            json_t *ol = json_object_get(json_array_get(ob, b), "loss"), *rl = json_object_get(json_array_get(rb, b), "loss");
            CHECK(json_object_size(ol) == json_object_size(rl) && json_object_size(ol) > 0);
            const char *task;
            json_t *v;
            json_object_foreach(ol, task, v) {
                double a = json_number_value(v), r = json_number_value(json_object_get(rl, task));
                CHECK_MSG(close_rel(a, r, LOSS_RTOL), "step %zu: task %s loss %.9g vs reference %.9g", k + 1, task, a, r);
                worst = fmax(worst, fabs(a - r) / fmax(fabs(a), 1e-30));
                n_losses++;
            }
        }
        json_decref(os);
    }
    CHECK_MSG(k == json_array_size(steps), "trace has %zu steps, reference %zu", k, json_array_size(steps));
    printf("  %zu steps, %zu task losses, largest relative difference %.2e\n", k, n_losses, worst);
    free(text);
}

// summary.json's dev block vs the reference's: every score the reference computes, and the best step.
static void compare_dev(json_t *summary, json_t *ref) {
    CHECK_MSG(json_integer_value(json_object_get(summary, "best_step")) == json_integer_value(json_object_get(ref, "best_step")),
              "best step %lld vs reference %lld", (long long)json_integer_value(json_object_get(summary, "best_step")),
              (long long)json_integer_value(json_object_get(ref, "best_step")));
    json_t *od = json_object_get(summary, "dev"), *rd = json_object_get(ref, "dev");
    CHECK(json_object_size(rd) == 3);
    const char *task, *metric;
    json_t *scores, *v;
    size_t n = 0;
    json_object_foreach(rd, task, scores) {
        json_object_foreach(scores, metric, v) {
            json_t *o = json_object_get(json_object_get(od, task), metric);
            CHECK_MSG(o != NULL, "summary.json lacks dev.%s.%s", task, metric);
            double a = json_number_value(o), r = json_number_value(v);
            CHECK_MSG(fabs(a - r) <= METRIC_TOL, "dev %s %s: %.9g vs reference %.9g", task, metric, a, r);
            n++;
        }
    }
    printf("  best step %lld, %zu dev scores equal\n", (long long)json_integer_value(json_object_get(ref, "best_step")), n);
}

// Trains with a trace, exports the data and initial model, replays in the reference and compares.
static void run_case(const char *name, const char *sets) {
    char args[4096], trace[1200];
    snprintf(trace, sizeof trace, "%s/%s_trace.jsonl", cli_dir, name);
    unlink(trace);  // the trace is appended to
    snprintf(args, sizeof args, "train %s/config.json --out %s/%s_run --quiet --set training.trace_file=%s %s", cli_dir,
             cli_dir, name, trace, sets);
    int rc = cli_run(args);
    CHECK_MSG(rc == 0, "train %s failed: %s", name, cli_read("err.txt"));
    snprintf(args, sizeof args, "export-data %s/config.json %s/%s_export --init-model %s/%s_export/init %s", cli_dir,
             cli_dir, name, cli_dir, name, sets);
    CHECK_MSG(cli_run(args) == 0, "export-data %s failed: %s", name, cli_read("err.txt"));
    const char *src = getenv("ONESTONE_SRC");
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 %s/scripts/reference/mtl_reference.py %s/%s_export --model %s/%s_export/init "
             "--replay %s/%s_trace.jsonl --out %s/%s_ref.json --quiet > %s/ref_out.txt 2>&1",
             src ? src : ".", cli_dir, name, cli_dir, name, cli_dir, name, cli_dir, name, cli_dir);
    rc = system(cmd);
    CHECK_MSG(rc == 0, "reference %s failed: %s", name, cli_read("ref_out.txt"));
    if (rc) return;
    char file[600];
    snprintf(file, sizeof file, "%s_ref.json", name);
    json_t *ref = cli_load_json(file);
    snprintf(file, sizeof file, "%s_run/summary.json", name);
    json_t *summary = cli_load_json(file);
    snprintf(file, sizeof file, "%s_trace.jsonl", name);
    printf("%s:\n", name);
    if (ref && summary) {
        compare_steps(file, ref);
        compare_dev(summary, ref);
    }
    json_decref(ref);
    json_decref(summary);
}

static void test_static_from_scratch(void) { run_case("static", ""); }

static void test_uw_from_a_model(void) {
    char sets[1600];
    snprintf(sets, sizeof sets,
             "--set model.init=%s/static_run/best --set weighting.strategy=uw --set optimizer.head_lr=0.006 "
             "--set training.grad_accumulation=2 --set schedule.type=cosine",
             cli_dir);
    run_case("uw", sets);
}

// Softmax NER, relations from the [CLS] vector, uniform sampling without length buckets, constant LR after warmup.
static void test_softmax_cls_uniform(void) {
    run_case("softmax", "--set tasks.ner.crf=false --set tasks.relation.representation=cls --set sampling.strategy=uniform "
                        "--set training.bucket_by_length=false --set schedule.type=constant_with_warmup");
}

// The trace is an observer: training with and without it gives the same model.
static void test_trace_changes_nothing(void) {
    char args[2048];
    snprintf(args, sizeof args, "train %s/config.json --out %s/plain_run --quiet", cli_dir, cli_dir);
    CHECK(cli_run(args) == 0);
    CHECK(cli_same_file("plain_run/best/model.safetensors", "static_run/best/model.safetensors"));
}

// Without a trace the reference draws its own batches (seeded): it runs the recipe end to end, and the
// same seed gives the same run.
static void test_own_sampler(void) {
    const char *src = getenv("ONESTONE_SRC");
    char cmd[4096];
    for (int k = 0; k < 2; k++) {
        snprintf(cmd, sizeof cmd,
                 "/usr/bin/python3 %s/scripts/reference/mtl_reference.py %s/static_export --model %s/static_export/init "
                 "--max-steps 12 --seed 3 --out %s/own_%d.json --quiet > %s/ref_out.txt 2>&1",
                 src ? src : ".", cli_dir, cli_dir, cli_dir, k, cli_dir);
        CHECK_MSG(system(cmd) == 0, "reference without a trace failed: %s", cli_read("ref_out.txt"));
    }
    json_t *a = cli_load_json("own_0.json"), *b = cli_load_json("own_1.json");
    if (!a || !b) return;
    CHECK(json_array_size(json_object_get(a, "steps")) == 12);
    CHECK(json_object_size(json_object_get(a, "dev")) == 3);
    CHECK(json_equal(json_object_get(a, "steps"), json_object_get(b, "steps")));
    json_decref(a);
    json_decref(b);
}

static void test_refusals(void) {
    const char *src = getenv("ONESTONE_SRC");
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "cd %s && sed 's/\"temperature\", \"temperature\": 2/\"annealed\"/' config.json > annealed.json && "
             "%s export-data annealed.json annealed_export > /dev/null 2>&1 && /usr/bin/python3 "
             "%s/scripts/reference/mtl_reference.py annealed_export --model static_export/init > ref_out.txt 2>&1",
             cli_dir, getenv("ONESTONE_BIN"), src ? src : ".");
    int rc = system(cmd);
    char *out = cli_read("ref_out.txt");
    CHECK_MSG(rc != 0 && strstr(out, "sampling.strategy"), "annealed sampling not refused: %s", out);
    free(out);
}

static void test_bad_usage(void) {
    char args[2048];
    cli_expect_error("export-data", "export-data", 2, "needs CONFIG.json and OUT_DIR");
    snprintf(args, sizeof args, "export-data %s/missing.json %s/x", cli_dir, cli_dir);
    cli_expect_error(args, "export-data", 4, "missing.json");
    snprintf(args, sizeof args, "train %s/config.json --out %s/bad_trace_run --quiet --set training.trace_file=%s/no/such/dir/t",
             cli_dir, cli_dir, cli_dir);
    cli_expect_error(args, "train", 4, "training.trace_file");
}

int main(void) {
    if (system("/usr/bin/python3 -c 'import torch, numpy' > /dev/null 2>&1") != 0) {
        printf("skipped: /usr/bin/python3 with torch and numpy is needed (scripts/setup.sh installs them)\n");
        return 77;
    }
    snprintf(cli_dir, sizeof cli_dir, "%s/reference", th_tmpdir());
    os_mkdirs(cli_dir);
    if (!getenv("ONESTONE_BIN")) {
        fprintf(stderr, "ONESTONE_BIN not set\n");
        return 1;
    }
    write_inputs();
    RUN(test_static_from_scratch);
    RUN(test_uw_from_a_model);
    RUN(test_softmax_cls_uniform);
    RUN(test_trace_changes_nothing);
    RUN(test_own_sampler);
    RUN(test_refusals);
    RUN(test_bad_usage);
    return th_finish();
}
