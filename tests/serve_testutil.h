// A tiny untrained model directory for the `onestone serve` tests: one task of each kind the web page shows
// (NER-like token tagging, a relation between <e1>/<e2>-marked entities, sentiment, multi-label topics,
// a regression score) over a 21-token vocabulary with the entity markers as special tokens. The tagger's
// head is set to label every word B-PER, so that the page has entities to highlight and pair up.
#ifndef ONESTONE_TEST_SERVE_TESTUTIL_H
#define ONESTONE_TEST_SERVE_TESTUTIL_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "model/checkpoint.h"
#include "model_testutil.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

// Writes the model into dir (created); 0 on success, else prints why and returns non-zero.
static inline int make_serve_model(const char *dir) {
    mkdir(dir, 0755);
    os_bert_config cfg = tiny_bert_config();
    static const char *const tag_labels[] = {"O", "B-PER", "I-PER"};
    static const char *const rel_labels[] = {"Cause-Effect(e1,e2)", "Other"};
    static const char *const cls_labels[] = {"negative", "positive"};
    static const char *const topic_labels[] = {"animals", "places", "food"};
    os_task_spec tasks[5] = {
        {.name = "ner", .level = OS_TASK_TOKEN, .problem = OS_PROBLEM_SINGLE_LABEL, .num_labels = 3,
         .labels = tag_labels},
        {.name = "relation", .level = OS_TASK_ENTITY_PAIR, .problem = OS_PROBLEM_SINGLE_LABEL, .num_labels = 2,
         .labels = rel_labels},
        {.name = "sentiment", .level = OS_TASK_SEQUENCE, .problem = OS_PROBLEM_SINGLE_LABEL, .num_labels = 2,
         .labels = cls_labels},
        {.name = "topics", .level = OS_TASK_SEQUENCE, .problem = OS_PROBLEM_MULTI_LABEL, .num_labels = 3,
         .labels = topic_labels},
        {.name = "score", .level = OS_TASK_SEQUENCE, .problem = OS_PROBLEM_REGRESSION, .num_labels = 1},
    };
    os_model m;
    if (os_model_create(&m, &cfg, tasks, 5, 1) != OS_OK) {
        fprintf(stderr, "make_serve_model: %s\n", os_last_error());
        return 1;
    }
    os_model_init_weights(&m, 11);
    int w = os_params_find(&m.params, "heads.ner.classifier.weight");
    int b = os_params_find(&m.params, "heads.ner.classifier.bias");
    if (w < 0 || b < 0) {
        fprintf(stderr, "make_serve_model: no ner head parameters\n");
        os_model_free(&m);
        return 1;
    }
    float *wd = m.params.data + m.params.entries[w].offset, *bd = m.params.data + m.params.entries[b].offset;
    memset(wd, 0, m.params.entries[w].numel * sizeof *wd);
    bd[0] = 0.0f, bd[1] = 1.0f, bd[2] = -1.0f;  // every word B-PER
    os_status st = os_model_save(&m, dir, NULL);
    os_model_free(&m);
    if (st) {
        fprintf(stderr, "make_serve_model: %s\n", os_last_error());
        return 1;
    }
    char path[700];
    snprintf(path, sizeof path, "%s/vocab.txt", dir);
    FILE *f = fopen(path, "w");
    if (!f) return 1;
    fputs("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\ncat\nsat\non\nmat\na\ndog\nran\n.\n,\nand\n##s\n", f);
    fclose(f);
    os_tokenizer *tok = NULL;
    static const char *const markers[] = {"<e1>", "</e1>", "<e2>", "</e2>"};
    st = os_tokenizer_load(dir, NULL, &tok);
    for (int k = 0; k < 4 && !st; k++) st = os_tokenizer_add_special_token(tok, markers[k], NULL);
    if (!st) st = os_tokenizer_save(tok, dir);
    os_tokenizer_free(tok);
    if (st) fprintf(stderr, "make_serve_model: %s\n", os_last_error());
    return st != OS_OK;
}

// Builds the model in ONESTONE_TMP/model_name, then runs `interpreter SRC/script BIN MODEL_DIR SRC TMP` (the
// driver starts its own servers). Returns 0 when the model was built and the driver exited 0.
static inline int run_serve_driver(const char *model_name, const char *interpreter, const char *script) {
    const char *src = getenv("ONESTONE_SRC"), *bin = getenv("ONESTONE_BIN"), *tmp = getenv("ONESTONE_TMP");
    if (!src || !bin || !tmp) {
        fprintf(stderr, "ONESTONE_SRC, ONESTONE_BIN and ONESTONE_TMP must be set (ctest sets them)\n");
        return 1;
    }
    char dir[512], cmd[2048];
    mkdir(tmp, 0755);
    snprintf(dir, sizeof dir, "%s/%s", tmp, model_name);
    if (make_serve_model(dir)) return 1;
    snprintf(cmd, sizeof cmd, "%s '%s/%s' '%s' '%s' '%s' '%s'", interpreter, src, script, bin, dir, src, tmp);
    int rc = system(cmd);
    if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc)) {
        fprintf(stderr, "%s failed (status %d)\n", script, rc);
        return 1;
    }
    return 0;
}
#endif
