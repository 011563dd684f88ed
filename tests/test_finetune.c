// Fine-tuning from pretrained encoders and adding tasks later:
//   - model.init from an HF BertForMaskedLM directory written by PyTorch (tests/ref/mlm_reference.py): every
//     encoder tensor arrives bit for bit, the cls.* tensors are ignored, the pooler starts fresh;
//   - model.init from an onestone pretraining run directory;
//   - model.reinit_layers re-initialises exactly the top k layers (and the pooler);
//   - freezing (freeze_layers, freeze_encoder): frozen tensors stay bit-unchanged through training;
//   - gradual unfreezing releases one layer from the top every N steps, at exactly those steps;
//   - layer-wise learning-rate decay and head_lr scales;
//   - adding a task to a trained model with the encoder frozen: the old tasks' predicted logits are byte for
//     byte the same before and after, and joint training of all tasks can continue from there.
#include <jansson.h>

#include "cli_testutil.h"
#include "io/safetensors.h"
#include "train/param_groups.h"
#include "train/trainer.h"
#include "util/rng.h"

static char hf_dir[700];

// Data over the reference vocabulary (w0 .. w91 are ids 5 .. 96): sentiment by the presence of w10, NER tags
// for w20..w29, topic by the first word.
static void write_data(void) {
    os_rng r;
    os_rng_seed(&r, 5);
    char path[800];
    snprintf(path, sizeof path, "%s/sent.tsv", cli_dir);
    FILE *s = fopen(path, "w");
    snprintf(path, sizeof path, "%s/topic.tsv", cli_dir);
    FILE *t = fopen(path, "w");
    snprintf(path, sizeof path, "%s/ner.conll", cli_dir);
    FILE *n = fopen(path, "w");
    fprintf(s, "sentence\tlabel\n");
    fprintf(t, "sentence\tlabel\n");
    for (int i = 0; i < 120; i++) {
        char text[400] = "";
        int len = 4 + (int)os_rng_below(&r, 8), pos = 0;
        for (int k = 0; k < len; k++) {
            int w = (int)os_rng_below(&r, 40);
            pos |= w == 10;
            char word[16];
            snprintf(word, sizeof word, "%sw%d", k ? " " : "", w);
            strcat(text, word);
            fprintf(n, "w%d X X %s\n", w, w >= 20 && w < 30 ? "B-X" : "O");
        }
        fprintf(n, "\n");
        fprintf(s, "%s\t%s\n", text, pos ? "pos" : "neg");
        fprintf(t, "%s\t%s\n", text, text[1] % 2 ? "odd" : "even");
    }
    fclose(s);
    fclose(t);
    fclose(n);
    snprintf(path, sizeof path, "%s/texts.txt", cli_dir);
    FILE *x = fopen(path, "w");
    fprintf(x, "w1 w10 w22 w3\nw25 w26 w5 w7 w9\nw10\n");
    fclose(x);
}

static const char *base_config =
    "{\"seed\": 1,\n"
    " \"model\": {\"init\": \"%s\", \"max_seq_length\": 24},\n"
    " \"tasks\": [\n"
    "  {\"name\": \"sent\", \"type\": \"sequence_classification\",\n"
    "   \"data\": {\"format\": \"tsv\", \"train\": \"%s/sent.tsv\", \"dev_fraction\": 0.2}},\n"
    "  {\"name\": \"ner\", \"type\": \"token_classification\", \"scheme\": \"bio\",\n"
    "   \"data\": {\"format\": \"conll\", \"train\": \"%s/ner.conll\", \"tag_columns\": {\"label\": 3}}}],\n"
    " \"training\": {\"batch_size\": 8, \"max_steps\": 6, \"eval_every\": 100, \"log_every\": 1},\n"
    " \"optimizer\": {\"lr\": 0.01}}\n";

static os_status build(os_train_config *c, os_runtime *rt, const char *init, const char *const *sets, int n_sets) {
    char text[4096];
    snprintf(text, sizeof text, base_config, init, cli_dir, cli_dir);
    json_t *root = json_loads(text, 0, NULL);
    os_status st = os_train_config_from_json(c, root, "finetune.json", (char *const *)sets, n_sets);
    CHECK_MSG(!st, "%s", os_last_error());
    memset(rt, 0, sizeof *rt);
    if (!st) st = os_runtime_build(rt, c, NULL);
    CHECK_MSG(!st, "%s", os_last_error());
    return st;
}

static void teardown(os_train_config *c, os_runtime *rt) {
    os_runtime_free(rt);
    os_train_config_free(c);
}

static const float *tensor(const os_runtime *rt, const char *name) {
    int i = os_params_find(&rt->model.params, name);
    return i < 0 ? NULL : rt->model.params.data + rt->model.params.entries[i].offset;
}

// 1 when every tensor of rt named with `prefix` equals the same-named tensor of the model file.
static int same_as_file(const os_runtime *rt, const char *file, const char *prefix, int *n_compared) {
    os_safetensors st;
    if (os_st_open(&st, file)) return 0;
    int same = 1, n = 0;
    for (int i = 0; i < rt->model.params.n; i++) {
        const os_param_entry *e = &rt->model.params.entries[i];
        if (strncmp(e->name, prefix, strlen(prefix))) continue;
        float *x = malloc(e->numel * sizeof(float));
        if (os_st_read_f32(&st, e->name, x, e->shape, e->ndim) ||
            memcmp(x, rt->model.params.data + e->offset, e->numel * sizeof(float)))
            same = 0;
        n++;
        free(x);
    }
    os_st_close(&st);
    if (n_compared) *n_compared = n;
    return same;
}

static void test_init_from_hf_masked_lm(void) {
    os_train_config c;
    os_runtime rt;
    if (build(&c, &rt, hf_dir, NULL, 0)) return;
    char file[800];
    snprintf(file, sizeof file, "%s/model.safetensors", hf_dir);
    int n = 0;
    CHECK(same_as_file(&rt, file, "bert.embeddings.", &n) && n == 5);
    CHECK(same_as_file(&rt, file, "bert.encoder.", &n) && n == 32);
    CHECK(tensor(&rt, "bert.pooler.dense.weight") != NULL);  // fresh: BertForMaskedLM has no pooler
    for (int i = 0; i < rt.model.params.n; i++) CHECK(strncmp(rt.model.params.entries[i].name, "cls.", 4) != 0);
    CHECK(rt.model.cfg.hidden_size == 48 && rt.model.cfg.num_hidden_layers == 2);
    teardown(&c, &rt);
}

static void test_init_from_pretraining_run(void) {
    char args[4096], path[800];
    snprintf(path, sizeof path, "%s/pretrain.json", cli_dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "{\"model\": {\"vocab\": \"%s/vocab.txt\", \"max_seq_length\": 16, \"encoder\": {\"hidden_size\": 16,\n"
               " \"num_hidden_layers\": 2, \"num_attention_heads\": 2, \"intermediate_size\": 32, \"max_position_embeddings\": 32}},\n"
               " \"data\": {\"train\": \"%s/sent.tsv\"}, \"training\": {\"batch_size\": 4, \"max_steps\": 3}}\n",
            hf_dir, cli_dir);
    fclose(f);
    snprintf(args, sizeof args, "pretrain %s --out %s/pre --quiet", path, cli_dir);
    CHECK(cli_run(args) == 0);
    char run_dir[800], file[800];
    snprintf(run_dir, sizeof run_dir, "%s/pre", cli_dir);  // the run directory stands for RUN_DIR/model
    snprintf(file, sizeof file, "%s/pre/model/model.safetensors", cli_dir);
    os_train_config c;
    os_runtime rt;
    if (build(&c, &rt, run_dir, NULL, 0)) return;
    int n = 0;
    CHECK(same_as_file(&rt, file, "bert.embeddings.", &n) && n == 5);
    CHECK(same_as_file(&rt, file, "bert.encoder.", &n) && n == 32);
    CHECK(rt.model.cfg.hidden_size == 16);
    teardown(&c, &rt);
}

static int is_hf_fresh_layer(const os_runtime *rt, int layer) {
    char name[128];
    snprintf(name, sizeof name, "bert.encoder.layer.%d.output.LayerNorm.weight", layer);
    const float *ln = tensor(rt, name);
    snprintf(name, sizeof name, "bert.encoder.layer.%d.attention.self.query.bias", layer);
    const float *qb = tensor(rt, name);
    int fresh = ln && qb;
    for (int i = 0; fresh && i < rt->model.cfg.hidden_size; i++) fresh = ln[i] == 1.0f && qb[i] == 0.0f;
    return fresh;
}

static void test_reinit_top_layers(void) {
    const char *one[] = {"model.reinit_layers=1"};
    os_train_config c;
    os_runtime rt;
    if (build(&c, &rt, hf_dir, one, 1)) return;
    char file[800];
    snprintf(file, sizeof file, "%s/model.safetensors", hf_dir);
    int n;
    CHECK(same_as_file(&rt, file, "bert.embeddings.", &n) && n == 5);
    CHECK(same_as_file(&rt, file, "bert.encoder.layer.0.", &n) && n == 16);
    CHECK(!same_as_file(&rt, file, "bert.encoder.layer.1.", &n));
    // The reference's LayerNorms and biases are random, HF's fresh init is 1 / 0: layer 1 is fresh, layer 0 not.
    CHECK(is_hf_fresh_layer(&rt, 1) && !is_hf_fresh_layer(&rt, 0));
    teardown(&c, &rt);
    const char *too_many[] = {"model.reinit_layers=3"};
    char text[4096];
    snprintf(text, sizeof text, base_config, hf_dir, cli_dir, cli_dir);
    CHECK(os_train_config_from_json(&c, json_loads(text, 0, NULL), "f.json", (char *const *)too_many, 1) == OS_OK);
    CHECK(os_runtime_build(&rt, &c, NULL) == OS_ERR_INPUT && strstr(os_last_error(), "reinit_layers"));
    teardown(&c, &rt);
}

// Trains rt for `steps` steps into DIR/name and returns a copy of the parameters from before.
static float *train_steps(os_runtime *rt, const char *name, long steps) {
    float *before = malloc(rt->model.params.total * sizeof(float));
    memcpy(before, rt->model.params.data, rt->model.params.total * sizeof(float));
    char run[800];
    snprintf(run, sizeof run, "%s/%s", cli_dir, name);
    os_train_opts o = {.run_dir = run, .max_steps = steps, .quiet = 1};
    CHECK_MSG(os_train(rt, &o) == OS_OK, "%s", os_last_error());
    return before;
}

// 1 when there are tensors whose name starts with prefix and none of them changed.
static int unchanged(const os_runtime *rt, const float *before, const char *prefix) {
    int same = 1, any = 0;
    for (int i = 0; i < rt->model.params.n; i++) {
        const os_param_entry *e = &rt->model.params.entries[i];
        if (strncmp(e->name, prefix, strlen(prefix))) continue;
        any = 1;
        same &= !memcmp(before + e->offset, rt->model.params.data + e->offset, e->numel * sizeof(float));
    }
    return any && same;
}

static int all_changed(const os_runtime *rt, const float *before, const char *prefix) {
    int changed = 1, any = 0;
    for (int i = 0; i < rt->model.params.n; i++) {
        const os_param_entry *e = &rt->model.params.entries[i];
        if (strncmp(e->name, prefix, strlen(prefix))) continue;
        any = 1;
        changed &= memcmp(before + e->offset, rt->model.params.data + e->offset, e->numel * sizeof(float)) != 0;
    }
    return any && changed;
}

static int any_changed(const os_runtime *rt, const float *before, const char *prefix) {
    for (int i = 0; i < rt->model.params.n; i++) {
        const os_param_entry *e = &rt->model.params.entries[i];
        if (!strncmp(e->name, prefix, strlen(prefix)) &&
            memcmp(before + e->offset, rt->model.params.data + e->offset, e->numel * sizeof(float)))
            return 1;
    }
    return 0;
}

static void test_freezing_keeps_tensors_bit_identical(void) {
    const char *layers[] = {"optimizer.freeze_layers=1"};
    os_train_config c;
    os_runtime rt;
    if (build(&c, &rt, hf_dir, layers, 1)) return;
    float *before = train_steps(&rt, "freeze1", 4);
    CHECK(unchanged(&rt, before, "bert.embeddings.") && unchanged(&rt, before, "bert.encoder.layer.0."));
    CHECK(all_changed(&rt, before, "bert.encoder.layer.1.attention.self.query."));
    CHECK(any_changed(&rt, before, "heads."));
    free(before);
    teardown(&c, &rt);
    const char *enc[] = {"optimizer.freeze_encoder=true"};
    if (build(&c, &rt, hf_dir, enc, 1)) return;
    before = train_steps(&rt, "freeze_enc", 4);
    CHECK(unchanged(&rt, before, "bert."));
    CHECK(any_changed(&rt, before, "heads."));
    free(before);
    teardown(&c, &rt);
}

static void test_gradual_unfreezing_schedule(void) {
    const char *gu[] = {"optimizer.gradual_unfreezing.every_steps=2"};
    os_train_config c;
    os_runtime rt;
    // Steps 0-1: only heads and the pooler train.
    if (build(&c, &rt, hf_dir, gu, 1)) return;
    float *before = train_steps(&rt, "gu2", 2);
    CHECK(unchanged(&rt, before, "bert.embeddings.") && unchanged(&rt, before, "bert.encoder."));
    CHECK(any_changed(&rt, before, "bert.pooler.") && any_changed(&rt, before, "heads."));
    free(before);
    teardown(&c, &rt);
    // Steps 2-3: the top layer (1) too; 4-5: layer 0; from step 6: the embeddings.
    if (build(&c, &rt, hf_dir, gu, 1)) return;
    before = train_steps(&rt, "gu4", 4);
    CHECK(unchanged(&rt, before, "bert.embeddings.") && unchanged(&rt, before, "bert.encoder.layer.0."));
    CHECK(all_changed(&rt, before, "bert.encoder.layer.1.attention.self.query."));
    free(before);
    teardown(&c, &rt);
    const char *longer[] = {"optimizer.gradual_unfreezing.every_steps=2", "training.max_steps=7"};
    if (build(&c, &rt, hf_dir, longer, 2)) return;
    before = train_steps(&rt, "gu7", 7);
    CHECK(all_changed(&rt, before, "bert.embeddings.position_embeddings.") &&
          all_changed(&rt, before, "bert.encoder.layer.0.attention.self.query."));
    free(before);
    teardown(&c, &rt);
    // The log records each release at its step.
    char *metrics = cli_read("gu7/metrics.jsonl");
    CHECK(strstr(metrics, "{\"event\":\"unfreeze\",\"step\":2,\"released_layers\":1,\"frozen_below\":2}") != NULL);
    CHECK(strstr(metrics, "{\"event\":\"unfreeze\",\"step\":4,\"released_layers\":2,\"frozen_below\":1}") != NULL);
    CHECK(strstr(metrics, "{\"event\":\"unfreeze\",\"step\":6,\"released_layers\":3,\"frozen_below\":0}") != NULL);
    free(metrics);
    // by epochs: released = step / (every_epochs * epoch_steps)
    os_train_config e = {0};
    e.unfreeze_every_epochs = 2;
    CHECK(os_unfreeze_released(&e, 0, 10) == 0 && os_unfreeze_released(&e, 19, 10) == 0 &&
          os_unfreeze_released(&e, 20, 10) == 1);
    e.unfreeze_every_epochs = 0;
    CHECK(os_unfreeze_released(&e, 50, 10) == -1);
}

static float scale_of(const os_params *p, const char *name) {
    int i = os_params_find(p, name);
    return i < 0 ? -1 : p->entries[i].lr_scale;
}

static void test_layer_lr_decay_and_head_lr(void) {
    const char *sets[] = {"optimizer.layer_lr_decay=0.5", "optimizer.head_lr=0.02"};
    os_train_config c;
    os_runtime rt;
    if (build(&c, &rt, hf_dir, sets, 2)) return;
    os_params *p = &rt.model.params;
    int fb = os_param_groups_setup(p, &c, 2, -1);
    CHECK(fb == 0);
    CHECK(scale_of(p, "bert.encoder.layer.1.output.dense.weight") == 0.5f);
    CHECK(scale_of(p, "bert.encoder.layer.0.output.dense.weight") == 0.25f);
    CHECK(scale_of(p, "bert.embeddings.word_embeddings.weight") == 0.125f);
    CHECK(scale_of(p, "bert.pooler.dense.weight") == 1.0f);
    CHECK(scale_of(p, "heads.sent.classifier.weight") == 2.0f);  // head_lr / lr
    // Freezing flags per release count of gradual unfreezing (L = 2).
    c.unfreeze_every_steps = 1;
    for (long released = 0; released <= 3; released++) {
        fb = os_param_groups_setup(p, &c, 2, released);
        CHECK(fb == (int)(released >= 3 ? 0 : 3 - released));
        int emb = p->entries[os_params_find(p, "bert.embeddings.word_embeddings.weight")].frozen;
        int l0 = p->entries[os_params_find(p, "bert.encoder.layer.0.output.dense.weight")].frozen;
        int l1 = p->entries[os_params_find(p, "bert.encoder.layer.1.output.dense.weight")].frozen;
        CHECK(emb == (released < 3) && l0 == (released < 2) && l1 == (released < 1));
        CHECK(!p->entries[os_params_find(p, "bert.pooler.dense.weight")].frozen);
    }
    teardown(&c, &rt);
}

// A trained two-task model gets a third task with the encoder frozen; the old tasks' logits stay the same.
static void test_add_task_keeps_old_outputs(void) {
    char args[4096], path[800];
    snprintf(path, sizeof path, "%s/two.json", cli_dir);
    FILE *f = fopen(path, "w");
    fprintf(f, base_config, hf_dir, cli_dir, cli_dir);
    fclose(f);
    snprintf(args, sizeof args, "train %s --out %s/two --quiet", path, cli_dir);
    CHECK(cli_run(args) == 0);
    snprintf(path, sizeof path, "%s/add.json", cli_dir);
    f = fopen(path, "w");
    fprintf(f,
            "{\"model\": {\"init\": \"%s/two/best\", \"keep_init_tasks\": true, \"max_seq_length\": 24},\n"
            " \"tasks\": [{\"name\": \"topic\", \"type\": \"sequence_classification\",\n"
            "   \"data\": {\"format\": \"tsv\", \"train\": \"%s/topic.tsv\", \"dev_fraction\": 0.2}}],\n"
            " \"training\": {\"batch_size\": 8, \"max_steps\": 5, \"log_every\": 1},\n"
            " \"optimizer\": {\"lr\": 0.01, \"freeze_encoder\": true}}\n",
            cli_dir, cli_dir);
    fclose(f);
    snprintf(args, sizeof args, "train %s --out %s/three --quiet", path, cli_dir);
    CHECK(cli_run(args) == 0);
    char *err = cli_read("err.txt");
    CHECK(strstr(err, "keeping task 'sent'") && strstr(err, "keeping task 'ner'"));
    free(err);
    for (int k = 0; k < 2; k++) {
        snprintf(args, sizeof args, "predict %s/%s/best --tasks sent,ner --logits < %s/texts.txt", cli_dir,
                 k ? "three" : "two", cli_dir);
        CHECK(cli_run(args) == 0);
        char from[64];
        snprintf(from, sizeof from, "%s.jsonl", k ? "after" : "before");
        char *out = cli_read("out.txt"), p2[800];
        snprintf(p2, sizeof p2, "%s/%s", cli_dir, from);
        os_write_file_atomic(p2, out, strlen(out));
        free(out);
    }
    CHECK_MSG(cli_same_file("before.jsonl", "after.jsonl"), "the old tasks' logits changed");
    char *before = cli_read("before.jsonl");
    CHECK(strstr(before, "\"logits\"") && strstr(before, "\"sent\"") && strstr(before, "\"ner\""));
    free(before);
    snprintf(args, sizeof args, "predict %s/three/best --tasks topic < %s/texts.txt", cli_dir, cli_dir);
    CHECK(cli_run(args) == 0);
    char *topic = cli_read("out.txt");
    CHECK(strstr(topic, "\"topic\"") != NULL);
    free(topic);
    // Joint training of all three tasks continues from the extended model (old labels kept).
    snprintf(path, sizeof path, "%s/joint.json", cli_dir);
    f = fopen(path, "w");
    fprintf(f,
            "{\"model\": {\"init\": \"%s/three/best\", \"max_seq_length\": 24},\n"
            " \"tasks\": [\n"
            "  {\"name\": \"sent\", \"type\": \"sequence_classification\", \"data\": {\"format\": \"tsv\", \"train\": \"%s/sent.tsv\"}},\n"
            "  {\"name\": \"ner\", \"type\": \"token_classification\", \"scheme\": \"bio\",\n"
            "   \"data\": {\"format\": \"conll\", \"train\": \"%s/ner.conll\", \"tag_columns\": {\"label\": 3}}},\n"
            "  {\"name\": \"topic\", \"type\": \"sequence_classification\", \"data\": {\"format\": \"tsv\", \"train\": \"%s/topic.tsv\"}}],\n"
            " \"training\": {\"batch_size\": 8, \"max_steps\": 3}}\n",
            cli_dir, cli_dir, cli_dir, cli_dir);
    fclose(f);
    snprintf(args, sizeof args, "train %s --out %s/joint --quiet", path, cli_dir);
    CHECK(cli_run(args) == 0);
    err = cli_read("err.txt");
    CHECK_MSG(strstr(err, "init: ") != NULL, "%s", err);
    free(err);
    // keep_init_tasks without an init is refused.
    snprintf(args, sizeof args, "train %s --out %s/bad --set model.init=null --set model.vocab=%s/vocab.txt "
             "--set model.keep_init_tasks=true", path, cli_dir, hf_dir);
    cli_expect_error(args, "train", 3, "model.keep_init_tasks");
}

int main(void) {
    snprintf(cli_dir, sizeof cli_dir, "%s/finetune", th_tmpdir());
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "rm -rf %s", cli_dir);
    CHECK(system(cmd) == 0);
    os_mkdirs(cli_dir);
    const char *src = getenv("ONESTONE_SRC");
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/ref/mlm_reference.py %s > /dev/null", src ? src : ".", cli_dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "reference generation failed (%s): /usr/bin/python3 with torch is required\n", cmd);
        return 1;
    }
    snprintf(hf_dir, sizeof hf_dir, "%s/mlm", cli_dir);
    write_data();
    RUN(test_init_from_hf_masked_lm);
    RUN(test_init_from_pretraining_run);
    RUN(test_reinit_top_layers);
    RUN(test_freezing_keeps_tensors_bit_identical);
    RUN(test_gradual_unfreezing_schedule);
    RUN(test_layer_lr_decay_and_head_lr);
    RUN(test_add_task_keeps_old_outputs);
    return th_finish();
}
