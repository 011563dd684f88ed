// Dev-set scores of any model directory (fp32, int8 or pruned) on a training config's dev splits: the same
// data loading, dev carving and metrics as `onestone train` uses for its evaluations, with the model given by
// model.init. Built and run by scripts/bench_quant.sh (docs/deploy.md).
// usage: eval_dev CONFIG.json MODEL_DIR  -> one JSON object: {"TASK": {metrics}, ..., "seconds": eval time}
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "train/evaluate.h"
#include "train/train_config.h"

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: eval_dev CONFIG.json MODEL_DIR\n");
        return 2;
    }
    char init[4200];
    snprintf(init, sizeof init, "model.init=%s", argv[2]);
    char *sets[1] = {init};
    os_train_config cfg;
    os_runtime rt;
    memset(&rt, 0, sizeof rt);
    os_status st = os_train_config_load(&cfg, argv[1], sets, 1);
    if (st) {
        fprintf(stderr, "eval_dev: %s\n", os_last_error());
        return st;
    }
    st = os_runtime_build(&rt, &cfg, NULL);
    json_t *out = json_object();
    double main_scores[OS_MAX_TASKS];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (!st) st = os_evaluate_all(&rt, OS_SPLIT_DEV, out, main_scores);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (!st) {
        json_object_set_new(out, "seconds", json_real((double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec)));
        char *s = json_dumps(out, JSON_SORT_KEYS | JSON_COMPACT);
        puts(s);
        free(s);
    } else {
        fprintf(stderr, "eval_dev: %s\n", os_last_error());
    }
    json_decref(out);
    os_runtime_free(&rt);
    os_train_config_free(&cfg);
    return st;
}
