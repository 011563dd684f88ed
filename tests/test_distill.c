// End-to-end distillation through the CLI on small synthetic data: a tiny teacher (every task type: text
// classification, NER with a CRF, relations, regression, multi-label) distilled into a tinier student with
// cached teacher outputs; exact resume (also with intermediate-layer matching); the cache refused when damaged, stale or not a cache (one-line
// errors); online teachers; several single-task teachers into one multi-task student and an ensemble;
// unlabeled text; configuration errors.
#include <sys/stat.h>
#include <unistd.h>

#include "cli_testutil.h"
#include "harness.h"
#include "util/fileio.h"
#include "util/rng.h"
#include <jansson.h>

#ifdef ONESTONE_SANITIZE  // sanitizer builds check memory on short runs, not accuracy
#define TEACHER_EPOCHS 2
#define STUDENT_EPOCHS 1
#define LEARNS(x) ((void)(x), 1)
#else
#define TEACHER_EPOCHS 25
#define STUDENT_EPOCHS 12
#define LEARNS(x) (x)
#endif


static const char *const filler[] = {"the", "a", "show", "play", "seems", "felt", "so", "quite", "in", "at"};
static const char *const people[] = {"ann", "ben", "cy"};
static const char *const towns[] = {"lima", "kyiv", "baku"};
static const char *const good[] = {"fine", "superb"};
static const char *const poor[] = {"dull", "weak"};

static const char *pick(os_rng *r, const char *const *a, int n) { return a[os_rng_below(r, (uint64_t)n)]; }

static FILE *open_in_dir(const char *name) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", cli_dir, name);
    return fopen(path, "w");
}

static void write_files(void) {
    FILE *f = open_in_dir("vocab.txt");
    fprintf(f, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n.\nwith\ninside\nnext\n");
    for (int i = 0; i < 10; i++) fprintf(f, "%s\n", filler[i]);
    for (int i = 0; i < 3; i++) fprintf(f, "%s\n%s\n", people[i], towns[i]);
    for (int i = 0; i < 2; i++) fprintf(f, "%s\n%s\n", good[i], poor[i]);
    fclose(f);
    os_rng r;
    os_rng_seed(&r, 11);
    f = open_in_dir("sent.tsv");
    FILE *u = open_in_dir("unlabeled.txt");
    fprintf(f, "sentence\tlabel\n");
    for (int i = 0; i < 240; i++) {
        int pos = (int)os_rng_below(&r, 2);
        fprintf(i < 200 ? f : u, "%s %s %s %s%s", pick(&r, filler, 2), pick(&r, filler + 2, 2), pick(&r, filler + 4, 4),
                pos ? pick(&r, good, 2) : pick(&r, poor, 2), i < 200 ? (pos ? "\tyes\n" : "\tno\n") : "\n\n");
    }
    fclose(f);
    fclose(u);
    f = open_in_dir("ner.conll");
    for (int i = 0; i < 200; i++) {
        int n = 2 + (int)os_rng_below(&r, 5);
        for (int k = 0; k < n; k++) {
            int kind = (int)os_rng_below(&r, 3);
            if (kind == 0) fprintf(f, "%s X X I-PER\n", pick(&r, people, 3));
            else if (kind == 1) fprintf(f, "%s X X I-LOC\n", pick(&r, towns, 3));
            else fprintf(f, "%s X X O\n", pick(&r, filler, 10));
        }
        fprintf(f, ". X X O\n\n");
    }
    fclose(f);
    f = open_in_dir("rel.txt");
    for (int i = 0; i < 200; i++) {
        int kind = (int)os_rng_below(&r, 2);
        fprintf(f, "%d\t\"<e1>%s</e1> %s <e2>%s</e2> .\"\n%s\nComment:\n\n", i + 1, pick(&r, people, 3),
                kind ? "inside" : "next", pick(&r, towns, 3), kind ? "Content-Container(e1,e2)" : "Other");
    }
    fclose(f);
    f = open_in_dir("multi.jsonl");
    for (int i = 0; i < 200; i++) {
        int n_good = (int)os_rng_below(&r, 3), person = (int)os_rng_below(&r, 2), town = (int)os_rng_below(&r, 2);
        char text[256] = "the show";
        for (int k = 0; k < n_good; k++) strcat(text, " fine");
        if (person) strcat(text, " ann");
        if (town) strcat(text, " lima");
        fprintf(f, "{\"text\": \"%s .\", \"score\": %d, \"tags\": [%s%s%s]}\n", text, n_good, person ? "\"p\"" : "",
                person && town ? ", " : "", town ? "\"t\"" : "");
    }
    fclose(f);
}

// The tasks of the teacher and of the student (the same tasks, data and labels).
static void write_tasks(FILE *f) {
    fprintf(f,
            " \"datasets\": {\"multi\": {\"format\": \"jsonl\", \"train\": \"%s/multi.jsonl\", \"dev_fraction\": 0.2,\n"
            "     \"labels\": {\"score\": {\"kind\": \"number\"}, \"tags\": {\"kind\": \"multi\"}}}},\n"
            " \"tasks\": [\n"
            "  {\"name\": \"sentiment\", \"type\": \"sequence_classification\",\n"
            "   \"data\": {\"format\": \"tsv\", \"train\": \"%s/sent.tsv\", \"dev_fraction\": 0.2}},\n"
            "  {\"name\": \"ner\", \"type\": \"token_classification\", \"scheme\": \"iob1\", \"crf\": true,\n"
            "   \"data\": {\"format\": \"conll\", \"train\": \"%s/ner.conll\", \"dev_fraction\": 0.2, \"tag_columns\": {\"label\": 3}}},\n"
            "  {\"name\": \"relation\", \"type\": \"relation_classification\",\n"
            "   \"data\": {\"format\": \"semeval\", \"train\": \"%s/rel.txt\", \"dev_fraction\": 0.2}},\n"
            "  {\"name\": \"score\", \"type\": \"regression\", \"dataset\": \"multi\", \"field\": \"score\"},\n"
            "  {\"name\": \"tags\", \"type\": \"multi_label_classification\", \"dataset\": \"multi\", \"field\": \"tags\"}\n"
            " ],\n"
            " \"sampling\": {\"strategy\": \"uniform\"},\n"
            " \"optimizer\": {\"type\": \"adamw\", \"lr\": 0.003},\n"
            " \"schedule\": {\"type\": \"linear\", \"warmup_ratio\": 0.05},\n",
            cli_dir, cli_dir, cli_dir, cli_dir);
}

static void write_configs(void) {
    FILE *f = open_in_dir("teacher.json");
    fprintf(f, "{\"seed\": 2,\n \"model\": {\"vocab\": \"%s/vocab.txt\", \"max_seq_length\": 16,\n"
               "   \"encoder\": {\"hidden_size\": 32, \"num_hidden_layers\": 2, \"num_attention_heads\": 2,\n"
               "                \"intermediate_size\": 64, \"max_position_embeddings\": 16}},\n", cli_dir);
    write_tasks(f);
    fprintf(f, " \"training\": {\"batch_size\": 16, \"epochs\": %d, \"log_every\": 1000}}\n", TEACHER_EPOCHS);
    fclose(f);
    f = open_in_dir("student.json");
    fprintf(f, "{\"seed\": 3,\n \"model\": {\"vocab\": \"%s/teacher/best\", \"max_seq_length\": 16,\n"
               "   \"encoder\": {\"hidden_size\": 16, \"num_hidden_layers\": 1, \"num_attention_heads\": 2,\n"
               "                \"intermediate_size\": 32, \"max_position_embeddings\": 16}},\n", cli_dir);
    write_tasks(f);
    fprintf(f, " \"training\": {\"batch_size\": 16, \"epochs\": %d, \"log_every\": 1000},\n"
               " \"distill\": {\"teachers\": [{\"model\": \"%s/teacher/best\"}], \"temperature\": 2, \"alpha\": 0.5,\n"
               "   \"tasks\": {\"ner\": {\"temperature\": 1}}}}\n", STUDENT_EPOCHS, cli_dir);
    fclose(f);
}


static json_t *summary(const char *run_dir) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s/summary.json", cli_dir, run_dir);
    return json_load_file(path, 0, NULL);
}

static double dev(json_t *s, const char *task, const char *metric) {
    return json_number_value(json_object_get(json_object_get(json_object_get(s, "dev"), task), metric));
}


// The last stderr line is the error: exit code, text and the "onestone distill: " prefix are checked.
static void expect_error(const char *args, int code, const char *needle) {
    int rc = cli_run(args);
    char *err = cli_read("err.txt");
    size_t n = strlen(err);
    while (n && err[n - 1] == '\n') err[--n] = '\0';
    const char *last = strrchr(err, '\n') ? strrchr(err, '\n') + 1 : err;
    CHECK_MSG(rc == code, "'%s' exited %d, expected %d: %s", args, rc, code, last);
    CHECK_MSG(strstr(last, needle) != NULL, "'%s': message lacks '%s': %s", args, needle, last);
    CHECK_MSG(!strncmp(last, "onestone distill: ", 18), "'%s': not a onestone error line: %s", args, last);
    free(err);
}

static void print_scores(const char *what, json_t *s) {
    printf("  %s: sentiment acc %.3f, ner F1 %.3f, relation F1 %.3f, score pearson %.3f, tags micro F1 %.3f\n", what,
           dev(s, "sentiment", "accuracy"), dev(s, "ner", "entity_f1"), dev(s, "relation", "semeval_f1"),
           dev(s, "score", "pearson"), dev(s, "tags", "micro_f1"));
}

static void test_teacher_then_student(void) {
    char args[4096];
    snprintf(args, sizeof args, "train %s/teacher.json --out %s/teacher --quiet", cli_dir, cli_dir);
    int rc = cli_run(args);
    CHECK_MSG(rc == 0, "teacher training exited %d", rc);
    json_t *t = summary("teacher");
    CHECK(t != NULL);
    print_scores("teacher", t);
    snprintf(args, sizeof args, "distill %s/student.json --out %s/student --quiet", cli_dir, cli_dir);
    rc = cli_run(args);
    char *err = cli_read("err.txt");
    CHECK_MSG(rc == 0, "distill exited %d: %s", rc, err);
    CHECK(strstr(err, "teacher_outputs.safetensors (written)") != NULL);
    free(err);
    json_t *s = summary("student");
    CHECK(s != NULL);
    print_scores("student", s);
    CHECK(LEARNS(dev(s, "sentiment", "accuracy") > 0.9));
    CHECK(LEARNS(dev(s, "ner", "entity_f1") > 0.8));
    CHECK(LEARNS(dev(s, "relation", "semeval_f1") > 0.8));
    CHECK(LEARNS(dev(s, "score", "pearson") > 0.8));
    CHECK(LEARNS(dev(s, "tags", "micro_f1") > 0.5));  // the hardest task for this student
    json_decref(s);
    json_decref(t);
    // The student is an ordinary model directory, smaller than the teacher.
    snprintf(args, sizeof args, "predict %s/student/best < %s/unlabeled.txt", cli_dir, cli_dir);
    CHECK(cli_run(args) == 0);
    CHECK(cli_same_file("student/best/vocab.txt", "teacher/best/vocab.txt"));
    // Plain `train` refuses a distillation config instead of ignoring its teachers.
    snprintf(args, sizeof args, "train %s/student.json --out %s/wrong", cli_dir, cli_dir);
    CHECK(cli_run(args) == 2);
}

static void test_resume_is_exact(void) {
    char args[4096];
    snprintf(args, sizeof args, "distill %s/student.json --out %s/part --set training.epochs=2 --max-steps 13 --quiet", cli_dir, cli_dir);
    CHECK(cli_run(args) == 0);
    snprintf(args, sizeof args, "distill --resume --out %s/part --quiet", cli_dir);
    int rc = cli_run(args);
    char *err = cli_read("err.txt");
    CHECK_MSG(rc == 0, "resume exited %d: %s", rc, err);
    CHECK(strstr(err, "(checked)") != NULL);  // the cache was reused, after validation
    free(err);
    snprintf(args, sizeof args, "distill %s/student.json --out %s/full --set training.epochs=2 --quiet", cli_dir, cli_dir);
    CHECK(cli_run(args) == 0);
    CHECK_MSG(cli_same_file("full/checkpoint/model.safetensors", "part/checkpoint/model.safetensors"),
              "resumed distillation differs from an uninterrupted run");
    CHECK(cli_same_file("full/checkpoint/optimizer.safetensors", "part/checkpoint/optimizer.safetensors"));
    CHECK(cli_same_file("full/teacher_outputs.safetensors", "part/teacher_outputs.safetensors"));
}

// Intermediate layers (hidden states through projections, attention maps) also resume exactly: the
// projections and their optimizer state travel with the checkpoint.
static void test_layers_resume_is_exact(void) {
    char args[4096];
    const char *layers = "--set 'distill.layers={\"hidden\": [[0, 0], [1, 2]], \"attention\": [[1, 2]], "
                         "\"hidden_weight\": 0.5}' --set training.epochs=2 --quiet";
    snprintf(args, sizeof args, "distill %s/student.json --out %s/lfull %s", cli_dir, cli_dir, layers);
    int rc = cli_run(args);
    char *err = cli_read("err.txt");
    CHECK_MSG(rc == 0, "layer distillation exited %d: %s", rc, err);
    free(err);
    snprintf(args, sizeof args, "distill %s/student.json --out %s/lpart %s --max-steps 17", cli_dir, cli_dir, layers);
    CHECK(cli_run(args) == 0);
    snprintf(args, sizeof args, "distill --resume --out %s/lpart --quiet", cli_dir);
    CHECK(cli_run(args) == 0);
    CHECK_MSG(cli_same_file("lfull/checkpoint/model.safetensors", "lpart/checkpoint/model.safetensors"),
              "resumed layer distillation differs from an uninterrupted run");
    CHECK(cli_same_file("lfull/checkpoint/distill_layers.safetensors", "lpart/checkpoint/distill_layers.safetensors"));
    json_t *s = summary("lfull");
    CHECK(s && json_integer_value(json_object_get(s, "steps")) == 80);
    json_decref(s);
    snprintf(args, sizeof args, "distill %s/student.json --out %s/bad --set 'distill.layers={\"hidden\": [[2, 0]]}'", cli_dir, cli_dir);
    expect_error(args, 3, "distill.layers.hidden[0]");
}

static void copy_file(const char *from, const char *to) {
    char pa[1200], pb[1200], *x = NULL;
    size_t n = 0;
    snprintf(pa, sizeof pa, "%s/%s", cli_dir, from);
    snprintf(pb, sizeof pb, "%s/%s", cli_dir, to);
    CHECK(os_read_file(pa, &x, &n) == OS_OK && os_write_file_atomic(pb, x, n) == OS_OK);
    free(x);
}

static void test_cache_validation(void) {
    char args[4096];
    // Damaged: one float of the data section changed.
    copy_file("full/teacher_outputs.safetensors", "damaged.safetensors");
    char path[1200];
    snprintf(path, sizeof path, "%s/damaged.safetensors", cli_dir);
    FILE *f = fopen(path, "r+b");
    CHECK(f != NULL);
    if (f) {
        fseek(f, -5, SEEK_END);
        int c = fgetc(f);
        fseek(f, -5, SEEK_END);
        fputc(c ^ 0x40, f);
        fclose(f);
    }
    snprintf(args, sizeof args, "distill %s/student.json --out %s/bad --set distill.cache=%s", cli_dir, cli_dir, path);
    expect_error(args, 3, "damaged");
    // Stale: made for other training data (fewer sentiment examples).
    copy_file("full/teacher_outputs.safetensors", "stale.safetensors");
    snprintf(args, sizeof args, "distill %s/student.json --out %s/bad --set distill.cache=%s/stale.safetensors "
                                "--set tasks.sentiment.data.train_limit=50", cli_dir, cli_dir, cli_dir);
    expect_error(args, 3, "made for other teachers or other training data");
    // Not a cache at all: a model file, and a truncated file.
    snprintf(args, sizeof args, "distill %s/student.json --out %s/bad --set distill.cache=%s/teacher/best/model.safetensors",
             cli_dir, cli_dir, cli_dir);
    expect_error(args, 3, "not a onestone teacher-output cache");
    snprintf(path, sizeof path, "%s/truncated.safetensors", cli_dir);
    f = fopen(path, "wb");
    if (f) {
        fputs("\x40\x00\x00\x00\x00\x00\x00\x00{\"a\"", f);
        fclose(f);
    }
    snprintf(args, sizeof args, "distill %s/student.json --out %s/bad --set distill.cache=%s", cli_dir, cli_dir, path);
    expect_error(args, 3, "truncated.safetensors");
}

static void test_online_and_unlabeled(void) {
    char args[4096];
    snprintf(args, sizeof args, "distill %s/student.json --out %s/online --set distill.cache=online --quiet", cli_dir, cli_dir);
    CHECK(cli_run(args) == 0);
    json_t *s = summary("online");
    CHECK(s && LEARNS(dev(s, "sentiment", "accuracy") > 0.9));
    json_decref(s);
    char p[1200];
    snprintf(p, sizeof p, "%s/online/teacher_outputs.safetensors", cli_dir);
    CHECK(!os_path_exists(p));
    // Unlabeled lines join the sentiment data (40 lines), learnt from the teacher alone.
    snprintf(args, sizeof args, "distill %s/student.json --out %s/unl --quiet --set "
                                "'distill.unlabeled={\"sentiment\": {\"file\": \"%s/unlabeled.txt\"}}'", cli_dir, cli_dir, cli_dir);
    int rc = cli_run(args);
    char *err = cli_read("err.txt");
    CHECK_MSG(rc == 0 && strstr(err, "40 lines added"), "unlabeled run exited %d: %s", rc, err);
    free(err);
    s = summary("unl");
    CHECK(s && json_integer_value(json_object_get(s, "epoch_steps")) > 0);
    json_decref(s);
    snprintf(args, sizeof args, "distill %s/student.json --out %s/bad --set "
                                "'distill.unlabeled={\"relation\": {\"file\": \"%s/unlabeled.txt\"}}'", cli_dir, cli_dir, cli_dir);
    expect_error(args, 3, "no <e1> and <e2> markers");
}

// Several single-task teachers -> one multi-task student (each task from the teacher that has it), and an
// ensemble (two teachers of one task: averaged probabilities). Single-task teachers come from the config
// with the other tasks removed.
static void test_several_teachers(void) {
    char args[4096];
    snprintf(args, sizeof args, "train %s/teacher.json --out %s/t_sent --quiet --set training.epochs=%d --set "
                                "'tasks=[{\"name\": \"sentiment\", \"type\": \"sequence_classification\", \"data\": "
                                "{\"format\": \"tsv\", \"train\": \"%s/sent.tsv\", \"dev_fraction\": 0.2}}]' --set 'datasets={}'",
             cli_dir, cli_dir, TEACHER_EPOCHS / 2, cli_dir);
    CHECK(cli_run(args) == 0);
    // A teacher with other task names: mapped explicitly.
    snprintf(args, sizeof args, "train %s/teacher.json --out %s/t_ner --quiet --set training.epochs=%d --set "
                                "'tasks=[{\"name\": \"entities\", \"type\": \"token_classification\", \"scheme\": \"iob1\", "
                                "\"crf\": true, \"data\": {\"format\": \"conll\", \"train\": \"%s/ner.conll\", \"dev_fraction\": "
                                "0.2, \"tag_columns\": {\"label\": 3}}}]' --set 'datasets={}'",
             cli_dir, cli_dir, TEACHER_EPOCHS / 2, cli_dir);
    CHECK(cli_run(args) == 0);
    snprintf(args, sizeof args, "distill %s/student.json --out %s/mtkd --quiet --set 'distill.teachers=["
                                "{\"model\": \"%s/t_sent/best\"}, {\"model\": \"%s/t_ner/best\", \"tasks\": {\"ner\": \"entities\"}},"
                                "{\"model\": \"%s/teacher/best\"}]'",
             cli_dir, cli_dir, cli_dir, cli_dir, cli_dir);
    int rc = cli_run(args);
    char *err = cli_read("err.txt");
    CHECK_MSG(rc == 0, "multi-teacher distill exited %d: %s", rc, err);
    free(err);
    json_t *s = summary("mtkd");
    CHECK(s && LEARNS(dev(s, "sentiment", "accuracy") > 0.9) && LEARNS(dev(s, "ner", "entity_f1") > 0.8));
    json_decref(s);
    // A task no teacher has: refused unless its alpha is 1.
    snprintf(args, sizeof args, "distill %s/student.json --out %s/bad --set 'distill.teachers=[{\"model\": \"%s/t_sent/best\"}]'",
             cli_dir, cli_dir, cli_dir);
    expect_error(args, 3, "no teacher has task 'ner'");
}

static void test_bad_configs(void) {
    char args[4096];
    snprintf(args, sizeof args, "distill %s/teacher.json --out %s/bad", cli_dir, cli_dir);
    expect_error(args, 3, "'distill' is required");
    snprintf(args, sizeof args, "distill %s/student.json --out %s/bad --set distill.alpha=2", cli_dir, cli_dir);
    expect_error(args, 3, "distill.alpha");
    snprintf(args, sizeof args, "distill %s/student.json --out %s/bad --set distill.tasks.nope.alpha=1", cli_dir, cli_dir);
    expect_error(args, 3, "nope");
    // A student tokenizer whose ids differ from the teacher's.
    FILE *f = open_in_dir("other_vocab.txt");
    fprintf(f, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nwith\n.\n");
    fclose(f);
    snprintf(args, sizeof args, "distill %s/student.json --out %s/bad --set model.vocab=%s/other_vocab.txt", cli_dir, cli_dir, cli_dir);
    expect_error(args, 3, "in the teacher's vocabulary but");
    snprintf(args, sizeof args, "distill %s/student.json --out %s/bad --set weighting.strategy=uw", cli_dir, cli_dir);
    expect_error(args, 3, "weighting.strategy");
    snprintf(args, sizeof args, "distill %s/student.json --out %s/bad --set 'distill.teachers=[{\"model\": \"%s/nowhere\"}]'",
             cli_dir, cli_dir, cli_dir);
    expect_error(args, 4, "nowhere");
}

int main(void) {
    snprintf(cli_dir, sizeof cli_dir, "%s/distill", th_tmpdir());
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", cli_dir);  // runs from an earlier test would leave caches behind
    if (system(cmd) != 0) return 1;
    os_mkdirs(cli_dir);
    if (!getenv("ONESTONE_BIN")) {
        fprintf(stderr, "ONESTONE_BIN not set\n");
        return 1;
    }
    write_files();
    write_configs();
    RUN(test_teacher_then_student);
    RUN(test_resume_is_exact);
    RUN(test_layers_resume_is_exact);
    RUN(test_cache_validation);
    RUN(test_online_and_unlabeled);
    RUN(test_several_teachers);
    RUN(test_bad_configs);
    return th_finish();
}
