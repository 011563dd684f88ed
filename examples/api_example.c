// The onestone C API in a few lines: load a model directory, predict two texts with every task in one
// encoder pass, print each task's prediction. Usage: api_example MODEL_DIR
#include <stdio.h>
#include <stdlib.h>

#include "onestone.h"

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODEL_DIR\n", argv[0]);
        return 2;
    }
    char err[512];
    onestone_model *m = onestone_model_load(argv[1], err, sizeof err);
    if (!m) {
        fprintf(stderr, "%s\n", err);
        return onestone_last_error_code();
    }
    onestone_context *c = onestone_context_new(m, err, sizeof err);  // one per thread
    if (!c) {
        fprintf(stderr, "%s\n", err);
        onestone_model_free(m);
        return onestone_last_error_code();
    }
    const char *texts[2] = {"EU rejects German call to boycott British lamb .", "The film was a delight ."};
    onestone_result *r;
    int rc = onestone_predict(c, texts, 2, NULL, &r, err, sizeof err);
    if (rc) {
        fprintf(stderr, "%s\n", err);
    } else {
        for (int i = 0; i < 2; i++) {
            printf("%s\n", texts[i]);
            for (int t = 0; t < onestone_model_num_tasks(m); t++) {
                const char *name = onestone_model_task_name(m, t);
                if (!onestone_result_has(r, i, t)) {
                    printf("  %s: -\n", name);
                } else if (onestone_model_task_level(m, t) == ONESTONE_TASK_TOKEN) {
                    printf("  %s:", name);
                    for (int w = 0; w < onestone_result_num_words(r, i, t); w++) {
                        int start, end;
                        const char *label = onestone_result_word(r, i, t, w, &start, &end);
                        printf(" %.*s/%s", end - start, texts[i] + start, label ? label : "?");
                    }
                    printf("\n");
                } else if (onestone_model_task_problem(m, t) == ONESTONE_PROBLEM_CLASSIFICATION) {
                    double score;
                    const char *label = onestone_result_label(r, i, t, NULL, &score);
                    printf("  %s: %s (%.3f)\n", name, label, score);
                } else if (onestone_model_task_problem(m, t) == ONESTONE_PROBLEM_MULTI_LABEL) {
                    printf("  %s:", name);
                    for (int k = 0; k < onestone_result_num_active(r, i, t); k++)
                        printf(" %s", onestone_result_active_label(r, i, t, k));
                    printf("\n");
                } else {
                    double v[8];
                    int nv = onestone_result_values(r, i, t, v, 8);
                    printf("  %s:", name);
                    for (int k = 0; k < nv && k < 8; k++) printf(" %g", v[k]);
                    printf("\n");
                }
            }
            char *json = onestone_result_json(r, i);  // the same line `onestone predict` prints
            printf("  json: %s\n", json);
            free(json);
        }
        onestone_result_free(r);
    }
    onestone_context_free(c);
    onestone_model_free(m);
    return rc;
}
