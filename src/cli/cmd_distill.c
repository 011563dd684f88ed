// onestone distill CONFIG.json --out RUN_DIR: knowledge distillation from trained teachers into a student.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/run_args.h"
#include "distill/distiller.h"
#include "distill/unlabeled.h"
#include "util/fileio.h"

static const char *usage =
    "usage: onestone distill CONFIG.json --out RUN_DIR [--set PATH=VALUE]... [--seed N] [--max-steps N] [--quiet]\n"
    "       onestone distill --resume --out RUN_DIR [--max-steps N]\n"
    "\n"
    "Trains a student (the config's model and tasks, usually a smaller encoder) on\n"
    "alpha * (hard-label loss) + (1 - alpha) * T^2 * KL(teacher(T) || student(T)) per task, the teachers\n"
    "being trained model directories listed under \"distill\" (docs/distill.md). Teacher outputs are computed\n"
    "once and cached (RUN_DIR/teacher_outputs.safetensors by default) unless distill.cache is \"online\".\n"
    "Options as for onestone train:\n"
    "  --out RUN_DIR        the run: config.json, metrics.jsonl, best/, checkpoint/, summary.json, the cache\n"
    "  --set PATH=VALUE     override a config value, e.g. --set distill.alpha=0.3\n"
    "  --seed N             same as --set seed=N\n"
    "  --max-steps N        stop after N optimizer steps (the LR schedule keeps the configured length)\n"
    "  --resume             continue RUN_DIR from its last checkpoint with its saved config\n"
    "  --quiet              no progress line\n";

// Teachers, cache (computed or loaded) and the trainer hook around one os_train call.
static os_status distill(os_runtime *rt, const os_distill_config *dc, const os_train_opts *base) {
    os_teacher_set ts;
    os_kd_cache cache;
    os_distiller dist;
    os_kd_layers layers;
    memset(&layers, 0, sizeof layers);
    memset(&ts, 0, sizeof ts);
    memset(&cache, 0, sizeof cache);
    memset(&dist, 0, sizeof dist);
    os_train_opts o = *base;
    os_train_hook hook;
    char *cache_path = dc->cache_in_run ? os_path_join(base->run_dir, "teacher_outputs.safetensors")
                                        : dc->cache ? strdup(dc->cache) : NULL;
    os_status st = OS_OK;
    if (os_distill_uses_teachers(dc, rt->n_tasks)) {
        st = os_teachers_load(&ts, dc, rt);
        if (!st && cache_path) {
            if (os_path_exists(cache_path)) {
                st = os_kd_cache_load(&cache, &ts, rt, cache_path);
                if (!st) fprintf(stderr, "teacher outputs: %s (checked)\n", cache_path);
            } else {
                st = os_kd_cache_compute(&cache, &ts, rt, dc->teacher_batch_size, stderr);
                if (!st && dc->cache_in_run) st = os_mkdirs(base->run_dir);
                if (!st) st = os_kd_cache_save(&cache, &ts, rt, cache_path);
                if (!st) fprintf(stderr, "teacher outputs: %s (written)\n", cache_path);
            }
        }
        if (!st && dc->n_hidden_pairs + dc->n_attention_pairs > 0) {
            if (dc->layer_teacher >= ts.n_teachers)
                st = os_fail(OS_ERR_INPUT, "%s: distill.layers.teacher is %d but there are %d teachers", rt->cfg->file,
                             dc->layer_teacher, ts.n_teachers);
            else
                st = os_kd_layers_init(&layers, dc, &rt->model, &ts.models[dc->layer_teacher], &rt->cfg->opt,
                                       ts.dirs[dc->layer_teacher], (uint64_t)rt->cfg->seed);
        }
        if (!st) {
            os_distiller_init(&dist, dc, rt, &ts, cache_path ? &cache : NULL);
            if (dc->n_hidden_pairs + dc->n_attention_pairs > 0) dist.layers = &layers;
            hook = os_distiller_hook(&dist);
            o.hook = &hook;
        }
    } else {
        fprintf(stderr, "distill: alpha is 1 for every task: training on hard labels only, teachers not used\n");
    }
    if (!st) st = os_train(rt, &o);
    os_distiller_free(&dist);
    os_kd_layers_free(&layers);
    os_kd_cache_free(&cache);
    os_teachers_free(&ts);
    free(cache_path);
    return st;
}

int cmd_distill(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    cli_run_args a;
    if (cli_run_args_parse(&a, "distill", argc, argv)) {
        cli_run_args_free(&a);
        return 2;
    }
    os_train_config cfg;
    os_distill_config dc;
    os_runtime rt;
    memset(&rt, 0, sizeof rt);
    memset(&dc, 0, sizeof dc);
    os_status st = os_train_config_load(&cfg, a.config, a.sets, a.n_sets);
    if (!st) st = os_distill_config_parse(&dc, &cfg);
    if (!st) st = os_runtime_build(&rt, &cfg, stderr);
    for (int i = 0; i < rt.n_tasks && !st; i++)
        if (dc.unlabeled[i]) st = os_distill_add_unlabeled(&rt, i, dc.unlabeled[i], dc.unlabeled_limit[i], stderr);
    if (!st) {
        os_train_opts o = {.run_dir = a.out, .resume = a.resume, .max_steps = a.max_steps, .quiet = a.quiet};
        st = distill(&rt, &dc, &o);
    }
    if (!st) printf("student saved in %s/best; try: echo \"some text\" | onestone predict %s/best\n", a.out, a.out);
    os_runtime_free(&rt);
    os_distill_config_free(&dc);
    os_train_config_free(&cfg);
    cli_run_args_free(&a);
    return st ? cli_report("distill", st) : 0;
}
