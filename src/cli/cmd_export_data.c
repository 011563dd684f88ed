// onestone export-data CONFIG OUT_DIR: the encoded training and dev data exactly as `onestone train` builds
// them (and optionally the model exactly as it initialises it), for a reference implementation to train on
// without re-implementing reading, tokenisation, dev carving or label alignment (docs/reference.md).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "train/runtime.h"
#include "train/train_state.h"
#include "train/trainer.h"
#include "util/fileio.h"

static const char *usage =
    "usage: onestone export-data CONFIG.json OUT_DIR [--set PATH=VALUE]... [--seed N] [--init-model DIR]\n"
    "\n"
    "Writes what `onestone train CONFIG.json` (with the same --set/--seed) trains and evaluates on:\n"
    "  OUT_DIR/config.json               the resolved configuration\n"
    "  OUT_DIR/meta.json                 datasets, tasks (type, head level, labels, scheme, crf, metric, loss\n"
    "                                    weight, dropout), max_seq_length, pad id\n"
    "  OUT_DIR/DATASET/train.jsonl       one encoded example per line, in the order the batch trace\n"
    "  OUT_DIR/DATASET/dev.jsonl         (training.trace_file) indexes: input_ids, token_type_ids, pair_pos,\n"
    "                                    first_piece (per word), labels per task\n"
    "  --init-model DIR                  also write the model as training initialises it (model.init weights,\n"
    "                                    fresh heads) as a model directory (HF names)\n"
    "docs/reference.md describes the formats.\n";

static json_t *ints32(const int32_t *x, size_t n) {
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(a, json_integer(x[i]));
    return a;
}

// Task i's label of example e (featset f): a class id, a list (token tasks: per piece; multi-label and
// regression: per label, null when unlabelled), OS_IGNORE_LABEL when missing.
static json_t *example_label(const os_task_rt *t, const os_task_labels *l, const os_featset *f, size_t e) {
    const size_t L = (size_t)t->vocab.num_labels;
    switch (t->cfg->type) {
    case OS_TT_CLASSIFICATION:
    case OS_TT_RELATION: return json_integer(l->cls[e]);
    case OS_TT_TOKEN: return ints32(l->piece + f->start[e], f->start[e + 1] - f->start[e]);
    case OS_TT_MULTILABEL:
    case OS_TT_REGRESSION:
        if (isnan(l->vals[e * L])) return json_null();
        json_t *a = json_array();
        for (size_t j = 0; j < L; j++) json_array_append_new(a, json_real(l->vals[e * L + j]));
        return a;
    }
    return json_null();
}

static os_status write_split(const os_runtime *rt, int gi, int split, const char *path) {
    const os_group_rt *g = &rt->groups[gi];
    const os_featset *f = &g->feats[split];
    os_atomic_file out;
    os_status st = os_atomic_open(&out, path);
    if (st) return st;
    for (size_t e = 0; e < f->n; e++) {
        const size_t s = f->start[e], n = f->start[e + 1] - s;
        json_t *ex = json_object(), *labels = json_object(), *word_labels = json_object();
        json_object_set_new(ex, "input_ids", ints32(f->ids + s, n));
        json_object_set_new(ex, "token_type_ids", ints32(f->types + s, n));
        if (f->pair_pos) json_object_set_new(ex, "pair_pos", ints32(f->pair_pos + 2 * e, 2));
        if (f->first_piece)
            json_object_set_new(ex, "first_piece",
                                ints32(f->first_piece + f->word_start[e], f->word_start[e + 1] - f->word_start[e]));
        for (int k = 0; k < g->n_tasks; k++) {
            const os_task_rt *t = &rt->tasks[g->tasks[k]];
            const os_task_labels *l = &t->labels[split];
            json_object_set_new(labels, t->cfg->name, example_label(t, l, f, e));
            if (t->cfg->type == OS_TT_TOKEN)  // gold per word (also words lost to truncation), for evaluation
                json_object_set_new(word_labels, t->cfg->name,
                                    ints32(l->word + f->word_start[e], f->word_start[e + 1] - f->word_start[e]));
        }
        json_object_set_new(ex, "labels", labels);
        if (json_object_size(word_labels)) json_object_set(ex, "word_labels", word_labels);
        json_decref(word_labels);
        char *line = json_dumps(ex, JSON_COMPACT | JSON_REAL_PRECISION(9));
        json_decref(ex);
        if (!line) {
            os_atomic_abort(&out);
            return os_fail(OS_ERR_NOMEM, "out of memory");
        }
        os_atomic_write(&out, line, strlen(line));
        os_atomic_write(&out, "\n", 1);
        free(line);
    }
    return os_atomic_commit(&out);
}

static json_t *task_meta(const os_runtime *rt, int i) {
    const os_task_rt *t = &rt->tasks[i];
    const os_head *h = &rt->model.heads[t->head];
    json_t *labels = json_array();
    for (int j = 0; j < t->vocab.num_labels && t->vocab.names; j++) json_array_append_new(labels, json_string(t->vocab.names[j]));
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:o, s:b, s:b, s:s, s:f, s:f, s:s}", "name", t->cfg->name,
                          "type", os_task_type_name(t->cfg->type), "dataset", rt->groups[t->group].name, "level",
                          os_task_level_name(h->level), "problem", os_problem_name(h->problem), "num_labels",
                          h->num_labels, "labels", labels, "crf", h->crf, "entity_tags", t->vocab.entity_tags,
                          "metric", t->cfg->metric, "loss_weight", (double)h->loss_weight, "dropout",
                          (double)h->dropout, "param_prefix", rt->model.head_prefixes[t->head]);
    // The scheme of the labels as trained (IOB1 data is converted to BIO) and of the data files.
    if (t->cfg->type == OS_TT_TOKEN) {
        json_object_set_new(o, "scheme", json_string(h->tag_scheme ? h->tag_scheme : "none"));
        json_object_set_new(o, "data_scheme", json_string(t->cfg->scheme));
    }
    return o;
}

static os_status export_all(const os_runtime *rt, const os_train_config *cfg, const char *out) {
    os_status st = os_mkdirs(out);
    json_t *meta = json_object(), *datasets = json_array(), *tasks = json_array();
    for (int gi = 0; gi < rt->n_groups && !st; gi++) {
        const os_group_rt *g = &rt->groups[gi];
        char *dir = os_path_join(out, g->name);
        char *train = os_path_join(dir, "train.jsonl"), *dev = os_path_join(dir, "dev.jsonl");
        st = os_mkdirs(dir);
        if (!st) st = write_split(rt, gi, OS_SPLIT_TRAIN, train);
        if (!st) st = write_split(rt, gi, OS_SPLIT_DEV, dev);
        json_t *names = json_array();
        for (int k = 0; k < g->n_tasks; k++) json_array_append_new(names, json_string(rt->tasks[g->tasks[k]].cfg->name));
        json_array_append_new(datasets, json_pack("{s:s, s:I, s:I, s:o}", "name", g->name, "train_size",
                                                  (json_int_t)g->feats[OS_SPLIT_TRAIN].n, "dev_size",
                                                  (json_int_t)g->feats[OS_SPLIT_DEV].n, "tasks", names));
        free(dir);
        free(train);
        free(dev);
    }
    for (int i = 0; i < rt->n_tasks; i++) json_array_append_new(tasks, task_meta(rt, i));
    json_object_set_new(meta, "format", json_string("onestone-export/1"));
    json_object_set_new(meta, "datasets", datasets);
    json_object_set_new(meta, "tasks", tasks);
    json_object_set_new(meta, "max_seq_length", json_integer(cfg->max_seq_length));
    json_object_set_new(meta, "pad_id", json_integer(rt->pad_id));
    json_object_set_new(meta, "ignore_label", json_integer(OS_IGNORE_LABEL));
    const char *files[2] = {"meta.json", "config.json"};
    json_t *docs[2] = {meta, cfg->root};
    for (int k = 0; k < 2 && !st; k++) {
        char *text = json_dumps(docs[k], JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        char *path = os_path_join(out, files[k]);
        st = text ? os_write_file_atomic(path, text, strlen(text)) : os_fail(OS_ERR_NOMEM, "out of memory");
        free(text);
        free(path);
    }
    json_decref(meta);
    return st;
}

int cmd_export_data(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    const char *config = NULL, *out = NULL, *init_dir = NULL;
    char **sets = calloc((size_t)argc + 1, sizeof *sets), seed_buf[64];
    int n_sets = 0;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "--set") && i + 1 < argc) sets[n_sets++] = argv[++i];
        else if (!strcmp(s, "--seed") && i + 1 < argc) {
            snprintf(seed_buf, sizeof seed_buf, "seed=%s", argv[++i]);
            sets[n_sets++] = seed_buf;
        } else if (!strcmp(s, "--init-model") && i + 1 < argc) init_dir = argv[++i];
        else if (s[0] == '-' || (config && out)) {
            fprintf(stderr, "onestone export-data: unexpected argument '%s' (see onestone export-data --help)\n", s);
            free(sets);
            return 2;
        } else if (!config) config = s;
        else out = s;
    }
    if (!config || !out) {
        fprintf(stderr, "onestone export-data: needs CONFIG.json and OUT_DIR (see onestone export-data --help)\n");
        free(sets);
        return 2;
    }
    os_train_config cfg;
    os_runtime rt;
    memset(&rt, 0, sizeof rt);
    os_status st = os_train_config_load(&cfg, config, sets, n_sets);
    if (!st) st = os_runtime_build(&rt, &cfg, stderr);
    if (!st) st = export_all(&rt, &cfg, out);
    if (!st && init_dir) {
        json_t *meta = os_trainer_model_meta(&cfg);
        st = os_model_dir_write(init_dir, &rt.model, rt.tok, meta);
        json_decref(meta);
    }
    if (!st) printf("exported %d dataset(s), %d task(s) to %s%s%s\n", rt.n_groups, rt.n_tasks, out,
                    init_dir ? "; initial model in " : "", init_dir ? init_dir : "");
    os_runtime_free(&rt);
    os_train_config_free(&cfg);
    free(sets);
    return st ? cli_report("export-data", st) : 0;
}
