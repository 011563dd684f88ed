// onestone prune IN_MODEL_DIR OUT_MODEL_DIR: magnitude or structured pruning, optional recovery fine-tune.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "deploy/deploy.h"
#include "deploy/model_dir.h"
#include "deploy/prune.h"
#include "model/checkpoint.h"
#include "train/trainer.h"
#include "util/fileio.h"

static const char *usage =
    "usage: onestone prune IN_MODEL_DIR OUT_MODEL_DIR [--sparsity S [--scope global|layer]]\n"
    "                      [--heads F] [--ffn F] [--finetune CONFIG.json --steps N [--set PATH=VALUE]...]\n"
    "\n"
    "Prunes the encoder's transformer blocks (docs/deploy.md):\n"
    "  --sparsity S       unstructured: zero the fraction S (0 <= S < 1) of block weights with the smallest\n"
    "                     magnitude; OUT is an ordinary fp32 model holding the zeros (same size and speed)\n"
    "  --scope global     one magnitude threshold over all blocks (default); 'layer': one per block\n"
    "  --heads F          structured: remove round(F * heads) attention heads in every layer\n"
    "  --ffn F            structured: remove round(F * intermediate_size) FFN units in every layer\n"
    "                     (importance: weight norms of each unit's output path; at least one of each kept)\n"
    "                     OUT stores the smaller matrices and runs the smaller shapes (inference only;\n"
    "                     `onestone quantize OUT OUT8` makes it int8 too)\n"
    "  --finetune CONFIG  recovery fine-tune before writing OUT: trains the masked model on CONFIG's data\n"
    "                     with pruned weights kept at zero after every optimizer step; the run (metrics.jsonl)\n"
    "                     goes to OUT_MODEL_DIR.finetune/\n"
    "  --steps N          fine-tune steps (sets training.max_steps of CONFIG)\n"
    "  --set PATH=VALUE   override a CONFIG value, as in onestone train\n";

typedef struct {
    const uint8_t *mask;
} mask_ctx;

static void reapply_mask(os_params *p, void *ctx) { os_prune_mask_apply(p, ((const mask_ctx *)ctx)->mask); }

// Trains the masked model saved in init_dir with CONFIG for `steps` steps into run_dir; best model in
// run_dir/best.
static os_status finetune(const char *config, char **sets, int n_sets, long steps, const char *init_dir,
                          const char *run_dir, const os_model *masked, const uint8_t *mask) {
    char init_set[4200], steps_set[64];
    snprintf(init_set, sizeof init_set, "model.init=%s", init_dir);
    snprintf(steps_set, sizeof steps_set, "training.max_steps=%ld", steps);
    sets[n_sets++] = init_set;
    sets[n_sets++] = steps_set;
    os_train_config cfg;
    os_runtime rt;
    memset(&rt, 0, sizeof rt);
    os_status st = os_train_config_load(&cfg, config, sets, n_sets);
    if (st) return st;
    st = os_runtime_build(&rt, &cfg, stderr);
    uint8_t *run_mask = NULL;
    if (!st && !(run_mask = os_prune_mask_transfer(&masked->params, mask, &rt.model.params)))
        st = os_fail(OS_ERR_NOMEM, "out of memory");
    if (!st) {
        os_prune_mask_apply(&rt.model.params, run_mask);
        mask_ctx ctx = {run_mask};
        os_train_opts o = {.run_dir = run_dir, .quiet = 1, .after_step = reapply_mask, .after_step_ctx = &ctx};
        st = os_train(&rt, &o);
    }
    free(run_mask);
    os_runtime_free(&rt);
    os_train_config_free(&cfg);
    return st;
}

static int parse_fraction(const char *s, double *out) {
    char *end;
    *out = strtod(s, &end);
    return *end || end == s || !(*out >= 0 && *out < 1);
}

int cmd_prune(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    const char *in = NULL, *out = NULL, *config = NULL, *scope = "global";
    double sparsity = 0, heads = 0, ffn = 0;
    long steps = 0;
    char **sets = calloc((size_t)argc + 3, sizeof(char *));
    int n_sets = 0;
    if (!sets) return cli_report("prune", os_fail(OS_ERR_NOMEM, "out of memory"));
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const int has = i + 1 < argc;
        double *frac = !strcmp(a, "--sparsity") ? &sparsity : !strcmp(a, "--heads") ? &heads : !strcmp(a, "--ffn") ? &ffn : NULL;
        if (frac && has) {
            if (parse_fraction(argv[++i], frac)) {
                fprintf(stderr, "onestone prune: %s needs a fraction in [0, 1), got '%s'\n", a, argv[i]);
                free(sets);
                return 2;
            }
        } else if (!strcmp(a, "--scope") && has) scope = argv[++i];
        else if (!strcmp(a, "--finetune") && has) config = argv[++i];
        else if (!strcmp(a, "--set") && has) sets[n_sets++] = argv[++i];
        else if (!strcmp(a, "--steps") && has) {
            char *end;
            steps = strtol(argv[++i], &end, 10);
            if (*end || steps <= 0) {
                fprintf(stderr, "onestone prune: --steps needs a positive integer, got '%s'\n", argv[i]);
                free(sets);
                return 2;
            }
        } else if (a[0] == '-' || (in && out)) {
            fprintf(stderr, "onestone prune: unexpected argument '%s' (see onestone prune --help)\n", a);
            free(sets);
            return 2;
        } else if (!in) in = a;
        else out = a;
    }
    const char *problem = !in || !out                                         ? "needs IN_MODEL_DIR and OUT_MODEL_DIR"
                          : sparsity == 0 && heads == 0 && ffn == 0           ? "needs --sparsity, --heads or --ffn"
                          : sparsity > 0 && (heads > 0 || ffn > 0)            ? "--sparsity cannot be combined with --heads/--ffn"
                          : strcmp(scope, "global") && strcmp(scope, "layer") ? "--scope must be 'global' or 'layer'"
                          : !config != !steps                                 ? "--finetune CONFIG and --steps N go together"
                          : !config && n_sets                                 ? "--set needs --finetune"
                                                                              : NULL;
    if (problem) {
        fprintf(stderr, "onestone prune: %s (see onestone prune --help)\n", problem);
        free(sets);
        return 2;
    }
    os_model m, tuned;
    memset(&tuned, 0, sizeof tuned);
    os_prune_plan plan = {0};
    uint8_t *mask = NULL;
    char *ft_dir = NULL, *ft_init = NULL, *ft_run = NULL, *ft_best = NULL;
    os_status st = os_model_load(&m, in);
    if (st) {
        free(sets);
        return cli_report("prune", st);
    }
    if (!(mask = malloc(m.params.total ? m.params.total : 1))) st = os_fail(OS_ERR_NOMEM, "out of memory");
    else memset(mask, 1, m.params.total);
    const int structured = heads > 0 || ffn > 0;
    if (!st && structured) st = os_prune_plan_structured(&plan, &m, heads, ffn);
    if (!st && structured) st = os_prune_apply_plan(&m, &plan, mask);
    if (!st && !structured) st = os_prune_magnitude(&m, sparsity, !strcmp(scope, "global"), mask);
    os_model *result = &m;
    const char *meta_dir = in;  // where the tokenizer and training metadata of OUT come from
    if (!st && config) {
        size_t n = strlen(out) + 16;
        ft_dir = malloc(n);
        if (ft_dir) snprintf(ft_dir, n, "%s.finetune", out);
        ft_init = ft_dir ? os_path_join(ft_dir, "masked") : NULL;
        ft_run = ft_dir ? os_path_join(ft_dir, "run") : NULL;
        ft_best = ft_run ? os_path_join(ft_run, "best") : NULL;
        if (!ft_best) st = os_fail(OS_ERR_NOMEM, "out of memory");
        if (!st) st = os_compressed_save(&m, in, ft_init, NULL);
        if (!st) st = finetune(config, sets, n_sets, steps, ft_init, ft_run, &m, mask);
        if (!st) st = os_model_load(&tuned, ft_best);
        if (!st) {
            result = &tuned;
            meta_dir = ft_best;
        }
    }
    if (!st && structured) {
        st = os_deploy_from_model(&result->deploy, result);
        if (!st) st = os_deploy_compact(result->deploy, plan.keep_head, plan.keep_ffn);
    }
    json_t *prov = NULL;
    if (!st) {
        prov = structured ? json_pack("{s:f, s:f, s:s}", "pruned_heads_fraction", heads, "pruned_ffn_fraction", ffn,
                                      "importance", "weight norms")
                          : json_pack("{s:f, s:s}", "sparsity", sparsity, "scope", scope);
        if (config) json_object_set_new(prov, "finetune_steps", json_integer(steps));
        st = os_compressed_save(result, meta_dir, out, prov);
    }
    if (!st) {
        size_t zeros, total;
        if (structured) {
            printf("pruned model saved in %s: model.safetensors %.2f MB (was %.2f MB)\n", out,
                   (double)os_model_file_bytes(out) / 1e6, (double)os_model_file_bytes(in) / 1e6);
        } else {
            os_prune_count(result, &zeros, &total);
            printf("pruned model saved in %s: %.2f%% of the encoder blocks' weights are zero\n", out,
                   100.0 * (double)zeros / (double)(total ? total : 1));
        }
    }
    json_decref(prov);
    os_prune_plan_free(&plan);
    os_model_free(&m);
    if (tuned.params.data) os_model_free(&tuned);
    free(mask), free(ft_dir), free(ft_init), free(ft_run), free(ft_best), free(sets);
    return st ? cli_report("prune", st) : 0;
}
