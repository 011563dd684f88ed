// The public C API (include/onestone.h): load, task metadata, batch prediction identical to `onestone
// predict`, structured accessors, error paths, and two threads with one context each giving the results of a
// single-threaded run.
#include <pthread.h>
#include <sys/stat.h>

#include "harness.h"
#include "model_testutil.h"
#include "model/checkpoint.h"
#include "onestone.h"

static char dir[512];
static const char *texts[3] = {"the cat sat on the mat .", "a dog ran", "cats , dogs and the mat"};

// A tiny untrained model with one task of each kind plus a 30-token vocab.txt.
static void make_model(void) {
    snprintf(dir, sizeof dir, "%s/test_api_model", th_tmpdir());
    mkdir(th_tmpdir(), 0755);
    os_bert_config cfg = tiny_bert_config();
    static const char *const cls_labels[] = {"neg", "pos"};
    static const char *const tag_labels[] = {"O", "B-X", "I-X"};
    static const char *const ml_labels[] = {"a", "b", "c"};
    os_task_spec tasks[5] = {
        {.name = "sent", .level = OS_TASK_SEQUENCE, .problem = OS_PROBLEM_SINGLE_LABEL, .num_labels = 2,
         .labels = cls_labels},
        {.name = "tags", .level = OS_TASK_TOKEN, .problem = OS_PROBLEM_SINGLE_LABEL, .num_labels = 3,
         .labels = tag_labels},
        {.name = "topics", .level = OS_TASK_SEQUENCE, .problem = OS_PROBLEM_MULTI_LABEL, .num_labels = 3,
         .labels = ml_labels},
        {.name = "score", .level = OS_TASK_SEQUENCE, .problem = OS_PROBLEM_REGRESSION, .num_labels = 1},
        {.name = "crftags", .level = OS_TASK_TOKEN, .problem = OS_PROBLEM_SINGLE_LABEL, .num_labels = 3,
         .labels = tag_labels, .crf = 1, .tag_scheme = "bio"},
    };
    os_model m;
    CHECK(os_model_create(&m, &cfg, tasks, 5, 1) == OS_OK);
    os_model_init_weights(&m, 7);
    CHECK_MSG(os_model_save(&m, dir, NULL) == OS_OK, "%s", os_last_error());
    os_model_free(&m);
    char path[700];
    snprintf(path, sizeof path, "%s/vocab.txt", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\ncat\nsat\non\nmat\na\ndog\nran\n.\n,\nand\n##s\n", f);
    fclose(f);
}

// The lines `onestone predict DIR` prints for texts (newline-terminated, concatenated).
static char *cli_output(const char *extra) {
    const char *bin = getenv("ONESTONE_BIN");
    if (!bin) return NULL;
    char in[700], cmd[2000];
    snprintf(in, sizeof in, "%s/test_api_in.txt", th_tmpdir());
    FILE *f = fopen(in, "w");
    if (!f) return NULL;
    for (int i = 0; i < 3; i++) fprintf(f, "%s\n", texts[i]);
    fclose(f);
    snprintf(cmd, sizeof cmd, "'%s' predict '%s' %s < '%s'", bin, dir, extra, in);
    FILE *p = popen(cmd, "r");
    if (!p) return NULL;
    char *buf = calloc(1, 1 << 16);
    size_t n = fread(buf, 1, (1 << 16) - 1, p);
    buf[n] = '\0';
    pclose(p);
    return buf;
}

static char *api_output(onestone_result *r) {
    char *buf = calloc(1, 1 << 16);
    for (int i = 0; i < onestone_result_num_texts(r); i++) {
        char *s = onestone_result_json(r, i);
        if (s && strlen(buf) + strlen(s) + 2 < (1 << 16)) {
            strcat(buf, s);
            strcat(buf, "\n");
        }
        free(s);
    }
    return buf;
}

static void test_metadata(void) {
    char err[256];
    onestone_model *m = onestone_model_load(dir, err, sizeof err);
    CHECK_MSG(m != NULL, "%s", err);
    if (!m) return;
    CHECK(onestone_version()[0] != '\0');
    CHECK(onestone_model_num_tasks(m) == 5);
    CHECK(!strcmp(onestone_model_task_name(m, 0), "sent"));
    CHECK(onestone_model_find_task(m, "tags") == 1);
    CHECK(onestone_model_find_task(m, "nope") == -1);
    CHECK(onestone_model_task_level(m, 1) == ONESTONE_TASK_TOKEN);
    CHECK(onestone_model_task_level(m, 0) == ONESTONE_TASK_SEQUENCE);
    CHECK(onestone_model_task_problem(m, 2) == ONESTONE_PROBLEM_MULTI_LABEL);
    CHECK(onestone_model_task_problem(m, 3) == ONESTONE_PROBLEM_REGRESSION);
    CHECK(onestone_model_task_num_labels(m, 1) == 3);
    CHECK(!strcmp(onestone_model_task_label(m, 1, 2), "I-X"));
    CHECK(onestone_model_task_label(m, 3, 0) == NULL);
    CHECK(onestone_model_task_name(m, 5) == NULL && onestone_model_task_level(m, -1) == -1);
    onestone_model_free(m);
}

static void test_predict_matches_cli(void) {
    char err[256];
    onestone_model *m = onestone_model_load(dir, err, sizeof err);
    onestone_context *c = m ? onestone_context_new(m, err, sizeof err) : NULL;
    CHECK_MSG(c != NULL, "%s", err);
    if (!c) {
        onestone_model_free(m);
        return;
    }
    for (int logits = 0; logits < 2; logits++) {
        onestone_context_set_logits(c, logits);
        onestone_result *r = NULL;
        CHECK_MSG(onestone_predict(c, texts, 3, NULL, &r, err, sizeof err) == 0, "%s", err);
        if (!r) continue;
        CHECK(onestone_result_num_texts(r) == 3);
        char *api = api_output(r), *cli = cli_output(logits ? "--logits" : "");
        CHECK(cli != NULL);
        if (cli) CHECK_MSG(!strcmp(api, cli), "API:\n%sCLI:\n%s", api, cli);
        free(api);
        free(cli);
        for (int i = 0; i < 3; i++) {
            int idx = -1;
            double score = -1, v[4];
            const char *label = onestone_result_label(r, i, 0, &idx, &score);
            CHECK(label && idx >= 0 && idx < 2 && !strcmp(label, onestone_model_task_label(m, 0, idx)));
            CHECK(score >= 0.5 && score <= 1.0);
            CHECK(onestone_result_label(r, i, 1, NULL, NULL) == NULL);  // not a classification prediction
            CHECK(onestone_result_values(r, i, 3, v, 4) == 1);
            int na = onestone_result_num_active(r, i, 2);
            CHECK(onestone_result_values(r, i, 2, v, 4) == 3);
            int above = 0;
            for (int j = 0; j < 3; j++) above += v[j] >= 0.5;
            CHECK(na == above);
            for (int k = 0; k < na; k++) CHECK(onestone_result_active_label(r, i, 2, k) != NULL);
            int nw = onestone_result_num_words(r, i, 1);
            CHECK(nw == (i == 0 ? 7 : i == 1 ? 3 : 6));
            for (int w = 0; w < nw; w++) {
                int s = -1, e = -1;
                CHECK(onestone_result_word(r, i, 1, w, &s, &e) != NULL);
                CHECK(s >= 0 && e > s && (size_t)e <= strlen(texts[i]));
            }
            CHECK(onestone_result_num_words(r, i, 4) == nw);
            for (int w = 0; w < nw; w++) {  // BIO: the Viterbi path never starts a span with I-X
                const char *l = onestone_result_word(r, i, 4, w, NULL, NULL);
                const char *prev = w ? onestone_result_word(r, i, 4, w - 1, NULL, NULL) : "O";
                CHECK(l && (strcmp(l, "I-X") || strcmp(prev, "O")));
            }
            int first_s = -1, first_e = -1;
            onestone_result_word(r, i, 1, 0, &first_s, &first_e);
            CHECK(first_s == 0);
            CHECK(onestone_result_logits(r, i, 0, v, 4) == (logits ? 2 : -1));
            CHECK(onestone_result_logits(r, i, 1, v, 4) == -1);
        }
        CHECK(onestone_result_json(r, 3) == NULL);
        onestone_result_free(r);
    }
    // A chosen task only, then all again on the same context.
    onestone_context_set_logits(c, 0);
    onestone_result *r = NULL;
    CHECK(onestone_predict(c, texts, 2, "score,tags", &r, err, sizeof err) == 0);
    if (r) {
        CHECK(!onestone_result_has(r, 0, 0) && onestone_result_has(r, 0, 1) && onestone_result_has(r, 1, 3));
        char *s = onestone_result_json(r, 0);
        CHECK(s && !strstr(s, "\"sent\"") && strstr(s, "\"tags\""));
        free(s);
        onestone_result_free(r);
    }
    CHECK(onestone_predict(c, texts, 1, NULL, &r, err, sizeof err) == 0 && onestone_result_has(r, 0, 0));
    onestone_result_free(r);
    // Errors: unknown task, NULL text.
    CHECK(onestone_predict(c, texts, 1, "sent,nope", &r, err, sizeof err) == ONESTONE_ERR_USAGE);
    CHECK(r == NULL && strstr(err, "nope") != NULL);
    const char *bad[2] = {"x", NULL};
    CHECK(onestone_predict(c, bad, 2, NULL, &r, err, sizeof err) == ONESTONE_ERR_USAGE && r == NULL);
    onestone_context_free(c);
    onestone_model_free(m);
}

static void test_errors(void) {
    char err[256] = "";
    char missing[700];
    snprintf(missing, sizeof missing, "%s/test_api_no_such_dir", th_tmpdir());
    onestone_model *m = onestone_model_load(missing, err, sizeof err);
    CHECK(m == NULL);
    CHECK(onestone_last_error_code() != 0);
    CHECK_MSG(strstr(err, "test_api_no_such_dir") != NULL, "message: %s", err);
    CHECK(strchr(err, '\n') == NULL);
    CHECK(onestone_model_load(NULL, err, sizeof err) == NULL && onestone_last_error_code() == ONESTONE_ERR_USAGE);
    CHECK(onestone_model_load(missing, NULL, 0) == NULL);  // err is optional
    CHECK(onestone_context_new(NULL, err, sizeof err) == NULL);
    onestone_model_free(NULL);
    onestone_context_free(NULL);
    onestone_result_free(NULL);
}

typedef struct {
    onestone_context *c;
    char *out;
    int ok;
} worker;

static void *run_worker(void *arg) {
    worker *w = arg;
    w->ok = 1;
    for (int rep = 0; rep < 10; rep++) {
        onestone_result *r = NULL;
        if (onestone_predict(w->c, texts, 3, NULL, &r, NULL, 0)) {
            w->ok = 0;
            break;
        }
        char *s = api_output(r);
        onestone_result_free(r);
        if (w->out && strcmp(w->out, s)) w->ok = 0;
        free(w->out);
        w->out = s;
    }
    return NULL;
}

static void test_threads(void) {
    char err[256];
    onestone_model *m = onestone_model_load(dir, err, sizeof err);
    CHECK_MSG(m != NULL, "%s", err);
    if (!m) return;
    worker single = {.c = onestone_context_new(m, err, sizeof err)};
    CHECK(single.c != NULL);
    run_worker(&single);
    CHECK(single.ok);
    worker w[2] = {{.c = onestone_context_new(m, err, sizeof err)}, {.c = onestone_context_new(m, err, sizeof err)}};
    pthread_t th[2];
    for (int k = 0; k < 2; k++) CHECK(w[k].c != NULL);
    for (int k = 0; k < 2; k++) pthread_create(&th[k], NULL, run_worker, &w[k]);
    for (int k = 0; k < 2; k++) pthread_join(th[k], NULL);
    for (int k = 0; k < 2; k++) {
        CHECK(w[k].ok);
        CHECK(w[k].out && single.out && !strcmp(w[k].out, single.out));
        free(w[k].out);
        onestone_context_free(w[k].c);
    }
    free(single.out);
    onestone_context_free(single.c);
    onestone_model_free(m);
}

int main(void) {
    make_model();
    RUN(test_metadata);
    RUN(test_predict_matches_cli);
    RUN(test_errors);
    RUN(test_threads);
    return th_finish();
}
