// onestone eval MODEL_DIR --task NAME --data FILE: one task's metrics on a labelled file.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "train/evaluate.h"
#include "train/json_cfg.h"
#include "util/fileio.h"

static const char *usage =
    "usage: onestone eval MODEL_DIR --task NAME --data FILE [--format F] [--set KEY=VALUE]... [--json]\n"
    "                   [--batch-size N]\n"
    "\n"
    "Evaluates one task of a trained model on a labelled file and prints its metrics (docs/metrics.md).\n"
    "A model trained by onestone remembers each task's type, label field and data format, so --data is\n"
    "enough. For other models (e.g. an imported HF checkpoint) give --format and what the reader needs:\n"
    "  --format F          conll, tsv, csv, jsonl, semeval or brown\n"
    "  --set KEY=VALUE     a data-reader option (docs/config.md, datasets), e.g. --set text_column=sentence,\n"
    "                      --set 'tag_columns={\"label\": 3}'; or a task option with task.KEY (task.scheme=iob1)\n"
    "  --json              print the metrics as one JSON object\n"
    "  --batch-size N      examples per encoder pass (default 32)\n"
    "Labels of the file that the model does not know are reported and left out of the scores.\n";

// The task's saved definition: its entry of onestone.training.tasks and its dataset spec.
static int saved_task(const json_t *model_cfg, const char *name, json_t **task, json_t **spec) {
    const json_t *tr = json_object_get(json_object_get(model_cfg, "onestone"), "training");
    size_t i;
    json_t *t;
    *task = *spec = NULL;
    json_array_foreach(json_object_get(tr, "tasks"), i, t) {
        if (strcmp(json_string_value(json_object_get(t, "name")) ? json_string_value(json_object_get(t, "name")) : "", name))
            continue;
        *task = json_deep_copy(t);
        const json_t *data = json_object_get(t, "data");
        const char *ds = json_string_value(json_object_get(t, "dataset"));
        if (!data && ds) data = json_object_get(json_object_get(tr, "datasets"), ds);
        *spec = data ? json_deep_copy(data) : json_object();
        return 1;
    }
    return 0;
}

// A task definition for a model without onestone training metadata, from its head.
static json_t *task_from_head(const json_t *model_cfg, const char *name) {
    const json_t *tasks = json_object_get(json_object_get(model_cfg, "onestone"), "tasks");
    size_t i;
    json_t *t;
    json_array_foreach(tasks, i, t) {
        const char *n = json_string_value(json_object_get(t, "name"));
        if (!n || strcmp(n, name)) continue;
        const char *level = json_string_value(json_object_get(t, "level"));
        const char *problem = json_string_value(json_object_get(t, "problem_type"));
        const char *type = !strcmp(level, "token")         ? "token_classification"
                           : !strcmp(level, "entity_pair") ? "relation_classification"
                           : !strcmp(problem, "regression") ? "regression"
                           : !strcmp(problem, "multi_label_classification") ? "multi_label_classification"
                                                                            : "sequence_classification";
        return json_pack("{s:s, s:s}", "name", name, "type", type);
    }
    return NULL;
}

static void print_metrics(const char *task, const json_t *m) {
    printf("task %s\n", task);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)m, key, v)
        if (json_is_number(v)) printf("  %-18s %.4f\n", key, json_number_value(v));
    json_t *types = json_object_get(m, "types");
    if (types) {
        printf("  %-12s %9s %9s %9s %9s\n", "entity", "precision", "recall", "f1", "support");
        json_object_foreach(types, key, v)
            printf("  %-12s %9.4f %9.4f %9.4f %9.0f\n", key, json_number_value(json_object_get(v, "precision")),
                   json_number_value(json_object_get(v, "recall")), json_number_value(json_object_get(v, "f1")),
                   json_number_value(json_object_get(v, "support")));
    }
}

int cmd_eval(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    const char *dir = NULL, *task = NULL, *data = NULL, *format = NULL;
    int as_json = 0;
    long batch = 32;
    char **sets = calloc((size_t)argc + 1, sizeof(char *));
    int n_sets = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--task") && i + 1 < argc) task = argv[++i];
        else if (!strcmp(a, "--data") && i + 1 < argc) data = argv[++i];
        else if (!strcmp(a, "--format") && i + 1 < argc) format = argv[++i];
        else if (!strcmp(a, "--set") && i + 1 < argc) sets[n_sets++] = argv[++i];
        else if (!strcmp(a, "--json")) as_json = 1;
        else if (!strcmp(a, "--batch-size") && i + 1 < argc) batch = strtol(argv[++i], NULL, 10);
        else if (a[0] == '-' || dir) {
            fprintf(stderr, "onestone eval: unexpected argument '%s' (see onestone eval --help)\n", a);
            free(sets);
            return 2;
        } else dir = a;
    }
    if (!dir || !task || !data || batch <= 0) {
        fprintf(stderr, "onestone eval: needs MODEL_DIR, --task NAME and --data FILE (see onestone eval --help)\n");
        free(sets);
        return 2;
    }
    char *cfg_path = os_path_join(dir, "config.json");
    json_error_t err;
    json_t *model_cfg = json_load_file(cfg_path, 0, &err), *tcfg = NULL, *spec = NULL;
    os_status st = OS_OK;
    if (!model_cfg) st = os_fail(OS_ERR_IO, "%s: %s", cfg_path, err.text);
    if (!st && !saved_task(model_cfg, task, &tcfg, &spec)) {
        tcfg = task_from_head(model_cfg, task);
        spec = json_object();
        if (!tcfg) st = os_fail(OS_ERR_USAGE, "--task: the model in %s has no task '%s'", dir, task);
    }
    if (!st) {
        // Evaluate the whole file: it is both splits, with no carving or sampling.
        const char *drop[] = {"dev_fraction", "stratify", "train_limit", "dev_limit"};
        for (int k = 0; k < 4; k++) json_object_del(spec, drop[k]);
        json_object_set_new(spec, "train", json_string(data));
        json_object_set_new(spec, "dev", json_string(data));
        if (format) json_object_set_new(spec, "format", json_string(format));
        json_object_del(tcfg, "data");
        json_object_set_new(tcfg, "dataset", json_string("eval"));
        for (int k = 0; k < n_sets && !st; k++)
            st = !strncmp(sets[k], "task.", 5) ? os_cfg_set(tcfg, sets[k] + 5) : os_cfg_set(spec, sets[k]);
    }
    os_train_config cfg;
    os_runtime rt;
    memset(&cfg, 0, sizeof cfg);
    memset(&rt, 0, sizeof rt);
    if (!st) {
        const json_t *tr = json_object_get(json_object_get(model_cfg, "onestone"), "training");
        json_t *max_len = json_object_get(tr, "max_seq_length");
        json_t *root = json_pack("{s:{s:s, s:I}, s:{s:O}, s:[O], s:{s:I}}", "model", "init", dir, "max_seq_length",
                                 (json_int_t)(max_len ? json_integer_value(max_len) : 512), "datasets", "eval", spec,
                                 "tasks", tcfg, "training", "batch_size", (json_int_t)batch);
        st = os_train_config_from_json(&cfg, root, cfg_path, NULL, 0);
    }
    if (!st) st = os_runtime_build(&rt, &cfg, as_json ? NULL : stderr);
    json_t *out = json_object();
    double main_score[OS_MAX_TASKS];
    if (!st) st = os_evaluate_all(&rt, OS_SPLIT_DEV, out, main_score);
    if (!st) {
        if (as_json) {
            char *s = json_dumps(json_object_get(out, task), JSON_INDENT(2) | JSON_REAL_PRECISION(7));
            puts(s);
            free(s);
        } else {
            print_metrics(task, json_object_get(out, task));
        }
    }
    json_decref(out);
    os_runtime_free(&rt);
    os_train_config_free(&cfg);
    json_decref(model_cfg);
    json_decref(tcfg);
    json_decref(spec);
    free(cfg_path);
    free(sets);
    return st ? cli_report("eval", st) : 0;
}
