// `onestone pretrain` end to end on a small synthetic corpus: the MLM loss falls and masked-token accuracy
// rises, metrics.jsonl has the train / eval curves, the model directory is an HF BertForMaskedLM directory
// that onestone loads back whole, --resume is bit-identical to an uninterrupted run, pretraining continues
// from a model directory, and bad configurations fail with one line naming the field.
#include <jansson.h>

#include "cli_testutil.h"
#include "model/checkpoint.h"
#include "pretrain/mlm_model.h"
#include "util/rng.h"

#ifdef ONESTONE_SANITIZE
#define STEPS 8
#else
#define STEPS 100
#endif

static const char *const words[] = {"the", "cat", "sat", "on", "mat", "dog", "ran", "to", "a", "park", "big",
                                     "small", "red", "blue", "house", "tree"};

// A corpus with structure a tiny model can pick up: "the ADJ NOUN VERB on the NOUN ." patterns.
static void write_fixture(void) {
    char path[700];
    snprintf(path, sizeof path, "%s/vocab.txt", cli_dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n.\n");
    for (int i = 0; i < 16; i++) fprintf(f, "%s\n", words[i]);
    fprintf(f, "##s\n");
    fclose(f);
    os_rng r;
    os_rng_seed(&r, 9);
    for (int split = 0; split < 2; split++) {
        snprintf(path, sizeof path, "%s/%s.txt", cli_dir, split ? "dev" : "train");
        f = fopen(path, "w");
        for (int i = 0; i < (split ? 100 : 1500); i++) {
            const char *adj = words[10 + os_rng_below(&r, 4)], *noun = words[1 + 4 * os_rng_below(&r, 2)];
            const char *place = os_rng_below(&r, 2) ? "mat" : "park";
            fprintf(f, "the %s %s%s %s on the %s .\n", adj, noun, os_rng_below(&r, 2) ? "s" : "", noun[0] == 'c' ? "sat" : "ran",
                    place);
        }
        fclose(f);
    }
    snprintf(path, sizeof path, "%s/pretrain.json", cli_dir);
    f = fopen(path, "w");
    fprintf(f,
            "{\"seed\": 3,\n"
            " \"model\": {\"vocab\": \"%s/vocab.txt\", \"max_seq_length\": 32,\n"
            "   \"encoder\": {\"hidden_size\": 32, \"num_hidden_layers\": 2, \"num_attention_heads\": 2,\n"
            "                \"intermediate_size\": 64, \"max_position_embeddings\": 64}},\n"
            " \"data\": {\"train\": \"%s/train.txt\", \"dev\": [\"%s/dev.txt\"], \"chunk_bytes\": 1000},\n"
            " \"masking\": {\"whole_word\": true},\n"
            " \"training\": {\"batch_size\": 16, \"max_steps\": %d, \"log_every\": 5, \"eval_every\": 20, \"save_every\": 10},\n"
            " \"optimizer\": {\"lr\": 1e-2}, \"schedule\": {\"type\": \"linear\", \"warmup_steps\": 5}}\n",
            cli_dir, cli_dir, cli_dir, STEPS);
    fclose(f);
}

static void test_pretrain_learns(void) {
    char args[2048];
    snprintf(args, sizeof args, "pretrain %s/pretrain.json --out %s/run --quiet", cli_dir, cli_dir);
    CHECK(cli_run(args) == 0);
    char *metrics = cli_read("run/metrics.jsonl");
    double first_loss = NAN, last_loss = NAN, first_acc = NAN, last_acc = NAN, dev_loss = NAN;
    int n_train = 0, n_eval = 0;
    for (char *line = strtok(metrics, "\n"); line; line = strtok(NULL, "\n")) {
        json_t *ev = json_loads(line, 0, NULL);
        const char *kind = json_string_value(json_object_get(ev, "event"));
        if (kind && !strcmp(kind, "train")) {
            double l = json_number_value(json_object_get(json_object_get(ev, "loss"), "mlm"));
            double a = json_number_value(json_object_get(json_object_get(ev, "accuracy"), "mlm"));
            if (!n_train++) {
                first_loss = l;
                first_acc = a;
            }
            last_loss = l;
            last_acc = a;
        } else if (kind && !strcmp(kind, "eval")) {
            n_eval++;
            dev_loss = json_number_value(json_object_get(json_object_get(json_object_get(ev, "dev"), "mlm"), "loss"));
        }
        json_decref(ev);
    }
    free(metrics);
    printf("  mlm loss %.3f -> %.3f, accuracy %.3f -> %.3f, dev loss %.3f (%d train, %d eval events)\n", first_loss,
           last_loss, first_acc, last_acc, dev_loss, n_train, n_eval);
    CHECK(n_train == (STEPS + 4) / 5 && n_eval >= 1 && isfinite(dev_loss));
#ifndef ONESTONE_SANITIZE
    CHECK(last_loss < first_loss - 0.4);  // PyTorch learns this corpus at the same pace (checked once by hand)
    CHECK(last_acc > first_acc + 0.04);
#endif
    char *cfg = cli_read("run/model/config.json");
    CHECK(strstr(cfg, "\"BertForMaskedLM\"") != NULL);
    free(cfg);
    // The model directory loads back whole, and as a plain encoder.
    char model_dir[700];
    snprintf(model_dir, sizeof model_dir, "%s/run/model", cli_dir);
    os_model enc;
    CHECK(os_model_load(&enc, model_dir) == OS_OK);
    CHECK(enc.n_heads == 0 && !enc.enc.has_pooler);
    os_mlm_model m;
    CHECK(os_mlm_model_create(&m, &enc.cfg) == OS_OK);
    int copied = 0;
    CHECK(os_mlm_model_init_from(&m, model_dir, &copied) == OS_OK);
    CHECK_MSG(copied == m.base.params.n, "%d of %d tensors", copied, m.base.params.n);
    os_mlm_model_free(&m);
    os_model_free(&enc);
    char *summary = cli_read("run/summary.json");
    CHECK(strstr(summary, "dev_mlm_accuracy") != NULL);
    free(summary);
}

static void test_resume_is_exact(void) {
    char args[2048];
    snprintf(args, sizeof args, "pretrain %s/pretrain.json --out %s/part --max-steps %d --quiet", cli_dir, cli_dir, STEPS / 2);
    CHECK(cli_run(args) == 0);
    snprintf(args, sizeof args, "pretrain --resume --out %s/part --quiet", cli_dir);
    CHECK(cli_run(args) == 0);
    CHECK_MSG(cli_same_file("run/checkpoint/model.safetensors", "part/checkpoint/model.safetensors"),
              "resumed parameters differ from an uninterrupted run");
    CHECK(cli_same_file("run/checkpoint/optimizer.safetensors", "part/checkpoint/optimizer.safetensors"));
    CHECK(cli_same_file("run/model/model.safetensors", "part/model/model.safetensors"));
}

static void test_continue_from_model(void) {
    char args[2048];
    snprintf(args, sizeof args,
             "pretrain %s/pretrain.json --out %s/cont --max-steps 2 --set model.init=%s/run/model --set model.vocab=null",
             cli_dir, cli_dir, cli_dir);
    CHECK(cli_run(args) == 0);
    char *err = cli_read("err.txt");
    CHECK_MSG(strstr(err, "init: 42 of 42 tensors loaded") != NULL, "%s", err);
    free(err);
}

static void test_bad_configs(void) {
    char args[2048];
    snprintf(args, sizeof args, "pretrain %s/pretrain.json --out %s/bad --set data.train=null", cli_dir, cli_dir);
    cli_expect_error(args, "pretrain", 3, "field 'data.train' is required");
    snprintf(args, sizeof args, "pretrain %s/pretrain.json --out %s/bad --set masking.probabilty=0.2", cli_dir, cli_dir);
    cli_expect_error(args, "pretrain", 3, "masking.probabilty");
    snprintf(args, sizeof args, "pretrain %s/pretrain.json --out %s/bad --set masking.mask=0.95", cli_dir, cli_dir);
    cli_expect_error(args, "pretrain", 3, "masking.random");
    snprintf(args, sizeof args, "pretrain %s/pretrain.json --out %s/bad --set data.train=%s/missing.txt", cli_dir,
             cli_dir, cli_dir);
    cli_expect_error(args, "pretrain", 4, "missing.txt: cannot open");
    snprintf(args, sizeof args, "pretrain %s/pretrain.json --out %s/bad --set optimizer.freeze_layers=1", cli_dir, cli_dir);
    cli_expect_error(args, "pretrain", 3, "fine-tuning only");
    snprintf(args, sizeof args, "pretrain %s/pretrain.json --out %s/bad --set model.max_seq_length=1000", cli_dir, cli_dir);
    cli_expect_error(args, "pretrain", 3, "max_position_embeddings");
    snprintf(args, sizeof args, "pretrain --resume --out %s/nothing", cli_dir);
    cli_expect_error(args, "pretrain", 4, "config.json");
    snprintf(args, sizeof args, "pretrain %s/pretrain.json", cli_dir);
    CHECK(cli_run(args) == 2);
    // A damaged checkpoint is named, not trusted; a damaged block file is rebuilt (packing is deterministic).
    char path[800];
    snprintf(path, sizeof path, "%s/part/train.blocks", cli_dir);
    FILE *f = fopen(path, "w");
    fputs("garbage", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/part/checkpoint/model.safetensors", cli_dir);
    f = fopen(path, "w");
    fputs("garbage", f);
    fclose(f);
    snprintf(args, sizeof args, "pretrain --resume --out %s/part", cli_dir);
    cli_expect_error(args, "pretrain", 3, "checkpoint/model.safetensors");
}

int main(void) {
    snprintf(cli_dir, sizeof cli_dir, "%s/pretrain_run", th_tmpdir());
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf %s", cli_dir);
    CHECK(system(cmd) == 0);
    os_mkdirs(cli_dir);
    write_fixture();
    RUN(test_pretrain_learns);
    RUN(test_resume_is_exact);
    RUN(test_continue_from_model);
    RUN(test_bad_configs);
    return th_finish();
}
