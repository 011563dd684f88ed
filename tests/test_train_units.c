// Unit tests of the training machinery: LR schedules (HF's formulas), task samplers, batch plans, config
// parsing and --set overrides.
#include <unistd.h>

#include "harness.h"
#include "train/batcher.h"
#include "train/json_cfg.h"
#include "train/sampler.h"
#include "train/schedule.h"
#include "train/train_config.h"
#include "util/fileio.h"

static void test_schedules(void) {
    os_schedule s = {OS_SCHED_LINEAR, 10, 110};
    CHECK_NEAR(os_schedule_factor(&s, 0), 0.0, 1e-7);   // HF: step 0 of warmup has lr 0
    CHECK_NEAR(os_schedule_factor(&s, 5), 0.5, 1e-7);
    CHECK_NEAR(os_schedule_factor(&s, 10), 1.0, 1e-7);
    CHECK_NEAR(os_schedule_factor(&s, 60), 0.5, 1e-7);  // (110-60)/(110-10)
    CHECK_NEAR(os_schedule_factor(&s, 110), 0.0, 1e-7);
    s.kind = OS_SCHED_COSINE;
    CHECK_NEAR(os_schedule_factor(&s, 60), 0.5, 1e-6);  // 0.5*(1+cos(pi/2))
    CHECK_NEAR(os_schedule_factor(&s, 35), 0.5 * (1 + cos(M_PI * 0.25)), 1e-6);
    s.kind = OS_SCHED_CONSTANT_WARMUP;
    CHECK_NEAR(os_schedule_factor(&s, 3), 0.3, 1e-7);
    CHECK_NEAR(os_schedule_factor(&s, 100), 1.0, 1e-7);
    s.kind = OS_SCHED_CONSTANT;
    CHECK_NEAR(os_schedule_factor(&s, 0), 1.0, 1e-7);
}

static void test_samplers(void) {
    os_sampler s = {.kind = OS_SAMPLE_TEMPERATURE, .n_tasks = 3, .sizes = {100, 400, 1600}, .temperature = 2};
    double p[OS_MAX_TASKS];
    os_sampler_probs(&s, 0, p);
    CHECK_NEAR(p[0], 10.0 / 70, 1e-9);  // sqrt: 10, 20, 40
    CHECK_NEAR(p[2], 40.0 / 70, 1e-9);
    s.cap = 400;  // 1600 counts as 400
    os_sampler_probs(&s, 0, p);
    CHECK_NEAR(p[1], p[2], 1e-12);
    s.kind = OS_SAMPLE_PROPORTIONAL;
    os_sampler_probs(&s, 0, p);
    CHECK_NEAR(p[0], 100.0 / 2100, 1e-9);
    s.kind = OS_SAMPLE_UNIFORM;
    os_sampler_probs(&s, 0, p);
    CHECK_NEAR(p[1], 1.0 / 3, 1e-12);
    s.kind = OS_SAMPLE_FIXED;
    s.fixed[0] = 1, s.fixed[1] = 0, s.fixed[2] = 3;
    os_sampler_probs(&s, 0, p);
    CHECK_NEAR(p[2], 0.75, 1e-12);
    CHECK(p[1] == 0);
    s.kind = OS_SAMPLE_ANNEALED;
    s.total_epochs = 5;
    os_sampler_probs(&s, 0, p);  // alpha 1: proportional
    CHECK_NEAR(p[0], 100.0 / 2100, 1e-9);
    os_sampler_probs(&s, 4, p);  // alpha 0.2
    double w0 = pow(100, 0.2), w2 = pow(1600, 0.2);
    CHECK_NEAR(p[0] / p[2], w0 / w2, 1e-9);
    // Empirical frequencies follow the distribution; the same seed draws the same sequence.
    s.kind = OS_SAMPLE_TEMPERATURE;
    s.cap = 0;
    os_rng_seed(&s.rng, 9);
    int counts[3] = {0};
    int first[20];
    for (int i = 0; i < 70000; i++) {
        int k = os_sampler_next(&s, 0);
        counts[k]++;
        if (i < 20) first[i] = k;
    }
    CHECK_NEAR(counts[0], 10000, 400);
    CHECK_NEAR(counts[2], 40000, 600);
    os_rng_seed(&s.rng, 9);
    for (int i = 0; i < 20; i++) CHECK(os_sampler_next(&s, 0) == first[i]);
    s.sizes[1] = 0;
    CHECK(os_sampler_validate(&s, "x") == OS_ERR_INPUT);
}

static void test_batch_plans(void) {
    // 100 examples of lengths 3..102 (reversed order).
    enum { N = 100 };
    size_t start[N + 1];
    int32_t ids[6000] = {0};
    start[0] = 0;
    for (int i = 0; i < N; i++) start[i + 1] = start[i] + (size_t)(102 - i);
    os_featset f = {.n = N, .start = start, .ids = ids, .types = ids};
    os_batch_plan a, b;
    CHECK(os_batch_plan_make(&a, &f, 8, 1, 1, 5) == OS_OK);
    CHECK(os_batch_plan_make(&b, &f, 8, 1, 1, 5) == OS_OK);
    CHECK(a.n_batches == 13 && a.batch_start[13] == N);
    CHECK(memcmp(a.order, b.order, N * sizeof(size_t)) == 0);  // deterministic
    int seen[N] = {0};
    for (int i = 0; i < N; i++) seen[a.order[i]]++;
    int all_once = 1;
    for (int i = 0; i < N; i++) all_once &= seen[i] == 1;
    CHECK(all_once);
    // Bucketing: one window holds everything here, so each batch is a run of similar lengths.
    long spread = 0;
    for (size_t k = 0; k < a.n_batches; k++) {
        int lo = 1000, hi = 0;
        for (size_t i = a.batch_start[k]; i < a.batch_start[k + 1]; i++) {
            int len = os_featset_len(&f, a.order[i]);
            lo = len < lo ? len : lo;
            hi = len > hi ? len : hi;
        }
        spread += hi - lo;
    }
    CHECK_MSG(spread <= 13 * 8, "bucketed batches span %ld lengths in total", spread);
    os_batch_plan_free(&b);
    CHECK(os_batch_plan_make(&b, &f, 8, 1, 1, 6) == OS_OK);
    CHECK(memcmp(a.order, b.order, N * sizeof(size_t)) != 0);  // another seed, another order
    os_batch_plan_free(&a);
    os_batch_plan_free(&b);
    CHECK(os_batch_plan_make(&a, &f, 8, 0, 0, 0) == OS_OK);  // evaluation: file order
    for (int i = 0; i < N; i++) CHECK(a.order[i] == (size_t)i);
    os_batch_plan_free(&a);
}

static void test_config_set_and_errors(void) {
    json_t *root = json_pack("{s:[{s:s, s:f}, {s:s}], s:{s:i}}", "tasks", "name", "ner", "loss_weight", 1.0, "name",
                             "sst", "training", "batch_size", 32);
    CHECK(os_cfg_set(root, "tasks.ner.loss_weight=2.5") == OS_OK);
    CHECK(os_cfg_set(root, "tasks.1.metric=accuracy") == OS_OK);
    CHECK(os_cfg_set(root, "training.batch_size=8") == OS_OK);
    CHECK(os_cfg_set(root, "optimizer.type=sgd") == OS_OK);  // created on the way
    CHECK(json_real_value(json_object_get(json_array_get(json_object_get(root, "tasks"), 0), "loss_weight")) == 2.5);
    CHECK(!strcmp(json_string_value(json_object_get(json_array_get(json_object_get(root, "tasks"), 1), "metric")),
                  "accuracy"));
    CHECK(json_integer_value(json_object_get(json_object_get(root, "training"), "batch_size")) == 8);
    CHECK(!strcmp(json_string_value(json_object_get(json_object_get(root, "optimizer"), "type")), "sgd"));
    CHECK(os_cfg_set(root, "tasks.nosuch.x=1") == OS_ERR_USAGE);
    CHECK(os_cfg_set(root, "novalue") == OS_ERR_USAGE);
    json_decref(root);

    setenv("ONESTONE_TEST_DIR", "/data", 1);
    json_t *cfg = json_pack("{s:{s:s}, s:[{s:s, s:s, s:{s:s, s:s}}]}", "model", "vocab", "${ONESTONE_TEST_DIR}/v.txt",
                            "tasks", "name", "a", "type", "sequence_classification", "data", "format", "tsv", "train",
                            "${ONESTONE_TEST_DIR}/t.tsv");
    os_train_config c;
    CHECK_MSG(os_train_config_from_json(&c, cfg, "cfg.json", NULL, 0) == OS_OK, "%s", os_last_error());
    CHECK(c.vocab && !strcmp(c.vocab, "/data/v.txt"));
    CHECK(c.batch_size == 32 && c.opt.kind == OS_OPT_ADAMW && c.encoder.hidden_size == 256);
    CHECK(c.n_tasks == 1 && c.n_datasets == 1 && !strcmp(c.datasets[0].name, "a"));
    os_train_config_free(&c);

    const char *bad[][2] = {
        {"training.batch_size=0", "training.batch_size"},
        {"training.bach_size=3", "training.bach_size"},
        {"optimizer.type=lion", "optimizer.type"},
        {"schedule.type=step", "schedule.type"},
        {"sampling.strategy=fixed", "sampling.probabilities"},
        {"tasks.a.crf=true", "tasks[0].crf"},
        {"model.encoder.num_attention_heads=5", "hidden_size"},
        {"model.vocab=${ONESTONE_UNSET_VARIABLE}", "ONESTONE_UNSET_VARIABLE"},
        {"training.early_stopping.metric=nope", "early_stopping.metric"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *base = json_pack("{s:{s:s}, s:[{s:s, s:s, s:{s:s, s:s}}]}", "model", "vocab", "v.txt", "tasks", "name",
                                 "a", "type", "sequence_classification", "data", "format", "tsv", "train", "t.tsv");
        char *sets[] = {(char *)bad[i][0]};
        os_status st = os_train_config_from_json(&c, base, "cfg.json", sets, 1);
        CHECK_MSG(st == OS_ERR_INPUT && strstr(os_last_error(), bad[i][1]) && strstr(os_last_error(), "cfg.json"),
                  "%s: status %d, message: %s", bad[i][0], st, os_last_error());
        os_train_config_free(&c);
    }
}

int main(void) {
    RUN(test_schedules);
    RUN(test_samplers);
    RUN(test_batch_plans);
    RUN(test_config_set_and_errors);
    return th_finish();
}
