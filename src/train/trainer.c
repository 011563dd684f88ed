#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "io/safetensors.h"
#include "metrics/delta_m.h"
#include "model/checkpoint.h"
#include "optim/optimizer.h"
#include "train/evaluate.h"
#include "train/param_groups.h"
#include "train/train_state.h"
#include "train/trainer.h"
#include "train/trainer_internal.h"
#include "util/fileio.h"
#include "util/rng.h"


static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

uint64_t os_trainer_mix(uint64_t a, uint64_t b) {
    uint64_t z = a * 0x9e3779b97f4a7c15ULL ^ (b + 0x632be59bd9b4e019ULL + (a << 6) + (a >> 2));
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    return z ^ (z >> 31);
}

// Appends one JSON object as a line to metrics.jsonl (flushed, so a killed run keeps whole lines).
void os_trainer_log_event(trainer *t, json_t *ev) { os_metrics_append(t->metrics, ev); }

// ---- learning-rate scales and freezing --------------------------------------------------------------

// Applies the config's freezing for optimizer step t->step (gradual unfreezing changes it as steps go) and
// logs an "unfreeze" event when gradual unfreezing releases a layer.
static void setup_params(trainer *t, int on_change) {
    long released = os_unfreeze_released(t->cfg, t->step, t->epoch_steps);
    if (on_change && released == t->released) return;
    t->frozen_below = os_param_groups_setup(&t->rt->model.params, t->cfg, t->rt->model.cfg.num_hidden_layers, released);
    if (on_change)
        os_trainer_log_event(t, json_pack("{s:s, s:I, s:I, s:i}", "event", "unfreeze", "step", (json_int_t)t->step,
                                          "released_layers", (json_int_t)released, "frozen_below", t->frozen_below));
    t->released = released;
}

// ---- batches ------------------------------------------------------------------------------------------

static os_status next_batch(trainer *t, int gi, const size_t **idx, int *B) {
    os_group_rt *g = &t->rt->groups[gi];
    if (g->pass == 0 || g->next >= g->plan.n_batches) {
        os_batch_plan_free(&g->plan);
        os_status st = os_batch_plan_make(&g->plan, &g->feats[OS_SPLIT_TRAIN], (size_t)t->cfg->batch_size, 1,
                                          t->cfg->bucket_by_length, os_trainer_mix(os_trainer_mix((uint64_t)t->cfg->seed, (uint64_t)gi), (uint64_t)g->pass));
        if (st) return st;
        g->pass++;
        g->next = 0;
    }
    *idx = g->plan.order + g->plan.batch_start[g->next];
    *B = (int)(g->plan.batch_start[g->next + 1] - g->plan.batch_start[g->next]);
    g->next++;
    return OS_OK;
}

// Loss-spike detection: a loss above spike_factor x the task's running average (after 20 observations)
// is logged as a "spike" event; the average then absorbs the spike only partly.
static void spike_check(trainer *t, int task, double loss) {
    double *ema = &t->loss_ema[task];
    long n = ++t->loss_obs[task];
    if (n > 20 && t->cfg->spike_factor > 0 && loss > t->cfg->spike_factor * *ema) {
        t->spikes++;
        json_t *ev = json_pack("{s:s, s:I, s:s, s:f, s:f}", "event", "spike", "step", (json_int_t)t->step + 1, "task",
                               t->rt->tasks[task].cfg->name, "loss", loss, "average", *ema);
        os_trainer_log_event(t, ev);
        if (!t->opts->quiet)
            fprintf(stderr, "%swarning: step %ld: loss spike in task '%s': %.4g (average %.4g)\n",
                    isatty(2) ? "\r\033[K" : "", t->step + 1, t->rt->tasks[task].cfg->name, loss, *ema);
        loss = t->cfg->spike_factor * *ema;
    }
    *ema = n == 1 ? loss : 0.98 * *ema + 0.02 * loss;
}

os_status os_trainer_forward_batch(trainer *t, int gi, int split, const size_t *idx, int B, int training,
                                   uint64_t seed) {
    os_runtime *rt = t->rt;
    os_group_rt *g = &rt->groups[gi];
    os_status st = os_batch_collate(&g->batch, &g->feats[split], idx, B, rt->pad_id, &g->bt[split], rt->model.n_heads);
    if (st) return st;
    // The heads read the word-first flags again in the loss and backward, so the buffer outlives this call.
    const size_t need = (size_t)B * g->batch.T;
    if (need > t->word_first_cap) {
        uint8_t *wf = realloc(t->word_first, need);
        if (!wf) return os_fail(OS_ERR_NOMEM, "out of memory");
        t->word_first = wf;
        t->word_first_cap = need;
    }
    uint8_t *word_first = t->word_first;
    os_runtime_word_first(g, split, &g->batch, word_first);
    os_batch_input in = {.ids = g->batch.ids, .type_ids = g->batch.types, .mask = g->batch.mask,
                         .pair_pos = g->batch.pair_pos, .word_first = word_first, .B = B, .T = g->batch.T};
    return os_model_forward(&rt->model, &in, g->active, training, seed);
}

os_status os_trainer_forward_next(trainer *t, int gi, uint64_t seed, const size_t **idx, int *B) {
    os_status st = next_batch(t, gi, idx, B);
    if (st) return st;
    t->group_batches[gi]++;
    os_trace_batch(&t->trace, t->rt->groups[gi].name, *idx, *B);
    st = os_trainer_forward_batch(t, gi, OS_SPLIT_TRAIN, *idx, *B, 1, seed);
    if (!st) t->window_tokens += t->rt->groups[gi].batch.n_tokens;
    return st;
}

os_status os_trainer_record_loss(trainer *t, int ti, float loss) {
    const char *name = t->rt->tasks[ti].cfg->name;
    if (!isfinite(loss)) {
        t->bad_task = name;
        if (!t->cfg->skip_nonfinite)
            return os_fail(OS_ERR_NUMERIC, "step %ld: task '%s' has a non-finite loss (%g); lower the learning "
                                           "rate, check the task's labels, or set training.on_nonfinite=skip",
                           t->step + 1, name, loss);
        return OS_OK;
    }
    t->loss_sum[ti] += loss;
    t->loss_n[ti]++;
    spike_check(t, ti, loss);
    return OS_OK;
}

// One forward/backward on one batch of group gi (the weighted-sum path, with the balancer's loss weights
// when one is active).
static os_status micro_step(trainer *t, int gi, uint64_t seed) {
    os_runtime *rt = t->rt;
    os_group_rt *g = &rt->groups[gi];
    const size_t *idx;
    int B;
    os_status st = os_trainer_forward_next(t, gi, seed, &idx, &B);
    if (st) return st;
    float losses[OS_MAX_TASKS];
    int counts[OS_MAX_TASKS];
    if (t->bal)
        os_balancer_loss(t, g->batch.labels, losses, counts);
    else
        os_model_loss(&rt->model, g->batch.labels, losses, counts);
    if (t->opts->hook) {  // distillation (src/distill): its loss terms join before backward
        os_batch_input in = {.ids = g->batch.ids, .type_ids = g->batch.types, .mask = g->batch.mask,
                             .pair_pos = g->batch.pair_pos, .word_first = t->word_first, .B = B, .T = g->batch.T};
        st = t->opts->hook->after_loss(t->opts->hook->ctx, gi, &g->batch, &in, losses, counts);
    }
    for (int k = 0; k < g->n_tasks && !st; k++) {
        const int ti = g->tasks[k], h = rt->tasks[ti].head;
        if (counts[h] > 0) st = os_trainer_record_loss(t, ti, losses[h]);
        if (counts[h] > 0) os_trace_loss(&t->trace, rt->tasks[ti].cfg->name, losses[h]);
    }
    if (!st && !t->bad_task) os_model_backward(&rt->model, t->frozen_below);
    return st;
}

// ---- checkpoints ------------------------------------------------------------------------------------

// The task and dataset definitions travel with the model (config.json's onestone.training), so
// `onestone eval` knows each task's type, label field and data format.
json_t *os_trainer_model_meta(const os_train_config *c) {
    json_t *meta = json_object(), *tr = json_object();
    json_object_set(tr, "tasks", json_object_get(c->root, "tasks"));
    json_t *ds = json_object_get(c->root, "datasets");
    if (ds) json_object_set(tr, "datasets", ds);
    json_object_set_new(tr, "max_seq_length", json_integer(c->max_seq_length));
    json_object_set_new(meta, "training", tr);
    return meta;
}

static os_status save_model_dir(trainer *t, const char *dir) {
    json_t *meta = os_trainer_model_meta(t->cfg);
    os_status st = os_model_dir_write(dir, &t->rt->model, t->rt->tok, meta);
    json_decref(meta);
    return st;
}

// Extra files of the checkpoint directory being written: DB-MTL's gradient buffer, the loss hook's state.
static os_status save_checkpoint_extras(void *ctx, const char *tmp_dir) {
    trainer *t = ctx;
    os_status st = t->bal ? os_balancer_save_buffers(t, tmp_dir) : OS_OK;
    if (!st && t->opts->hook && t->opts->hook->save) st = t->opts->hook->save(t->opts->hook->ctx, tmp_dir);
    return st;
}

static os_status save_checkpoint(trainer *t) {
    json_t *s = json_object(), *groups = json_array(), *rng = json_array();
    json_object_set_new(s, "step", json_integer(t->step));
    json_object_set_new(s, "optimizer_step", json_integer(t->opt.step));
    for (int i = 0; i < 4; i++) {
        char hex[24];
        snprintf(hex, sizeof hex, "%016llx", (unsigned long long)t->sampler.rng.s[i]);
        json_array_append_new(rng, json_string(hex));
    }
    json_object_set_new(s, "sampler_rng", rng);
    for (int g = 0; g < t->rt->n_groups; g++) {
        json_t *go = json_object();
        json_object_set_new(go, "pass", json_integer(t->rt->groups[g].pass));
        json_object_set_new(go, "next", json_integer((json_int_t)t->rt->groups[g].next));
        json_object_set_new(go, "batches", json_integer(t->group_batches[g]));
        json_array_append_new(groups, go);
    }
    json_object_set_new(s, "groups", groups);
    // JSON has no infinities: "no evaluation yet" (-inf) and "no delta_m" (NaN) are stored as null.
    json_object_set_new(s, "best_score", isfinite(t->best_score) ? json_real(t->best_score) : json_null());
    json_object_set_new(s, "best_delta_m", isfinite(t->best_delta_m) ? json_real(t->best_delta_m) : json_null());
    json_object_set_new(s, "best_step", json_integer(t->best_step));
    json_object_set_new(s, "bad_evals", json_integer(t->bad_evals));
    json_object_set_new(s, "skipped_steps", json_integer(t->skipped_steps));
    json_object_set_new(s, "metrics_bytes", json_integer(t->metrics ? ftell(t->metrics) : 0));
    if (t->best_eval) json_object_set(s, "best_eval", t->best_eval);
    if (t->bal) json_object_set_new(s, "weighting", os_balancer_state(t));
    os_status st = os_checkpoint_write(t->dir_ckpt, &t->rt->model, &t->opt, s, save_checkpoint_extras, t);
    json_decref(s);
    return st;
}

static os_status load_checkpoint(trainer *t) {
    os_runtime *rt = t->rt;
    char *state_path = os_path_join(t->dir_ckpt, "state.json");
    json_t *s = NULL;
    os_status st = os_checkpoint_read(t->dir_ckpt, &rt->model.params, &t->opt, &s);
    if (!st) {
        json_t *groups = json_object_get(s, "groups"), *rng = json_object_get(s, "sampler_rng");
        if (json_array_size(groups) != (size_t)rt->n_groups || json_array_size(rng) != 4) {
            st = os_fail(OS_ERR_INPUT, "%s: does not match this run's datasets", state_path);
        } else {
            t->step = (long)json_integer_value(json_object_get(s, "step"));
            t->opt.step = (long)json_integer_value(json_object_get(s, "optimizer_step"));
            for (int i = 0; i < 4; i++)
                t->sampler.rng.s[i] = strtoull(json_string_value(json_array_get(rng, (size_t)i)), NULL, 16);
            for (int g = 0; g < rt->n_groups && !st; g++) {
                os_group_rt *gr = &rt->groups[g];
                json_t *go = json_array_get(groups, (size_t)g);
                long pass = (long)json_integer_value(json_object_get(go, "pass"));
                gr->next = (size_t)json_integer_value(json_object_get(go, "next"));
                t->group_batches[g] = (long)json_integer_value(json_object_get(go, "batches"));
                gr->pass = 0;
                if (pass > 0) {  // rebuild the plan of the pass in progress: plans are a function of the seed
                    gr->pass = pass - 1;
                    const size_t *idx;
                    int B;
                    size_t keep = gr->next;
                    gr->next = (size_t)-1;
                    st = next_batch(t, g, &idx, &B);
                    gr->next = keep;
                }
            }
            json_t *bs = json_object_get(s, "best_score"), *bd = json_object_get(s, "best_delta_m");
            t->best_score = json_is_number(bs) ? json_number_value(bs) : -INFINITY;
            t->best_delta_m = json_is_number(bd) ? json_number_value(bd) : NAN;
            t->best_step = (long)json_integer_value(json_object_get(s, "best_step"));
            t->bad_evals = (long)json_integer_value(json_object_get(s, "bad_evals"));
            t->skipped_steps = (long)json_integer_value(json_object_get(s, "skipped_steps"));
            json_t *be = json_object_get(s, "best_eval");
            if (be) t->best_eval = json_incref(be);
            if (t->bal && !st) st = os_balancer_load_state(t, json_object_get(s, "weighting"), state_path);
            if (t->bal && !st) st = os_balancer_load_buffers(t, t->dir_ckpt);
            long bytes = (long)json_integer_value(json_object_get(s, "metrics_bytes"));
            // Drop log lines written after the checkpoint: they will be written again.
            if (t->metrics && ftruncate(fileno(t->metrics), bytes) == 0) fseek(t->metrics, bytes, SEEK_SET);
        }
    }
    if (!st && t->opts->hook && t->opts->hook->load) st = t->opts->hook->load(t->opts->hook->ctx, t->dir_ckpt);
    json_decref(s);
    free(state_path);
    return st;
}

// ---- evaluation and selection -------------------------------------------------------------------------

// The selection score of an evaluation: mean of the tasks' main metrics, one task's, or delta_m (percent).
// Delta_m (percent) of the tasks' main metrics against the configured single-task baselines; NaN unless
// every task has one.
static double delta_m(const trainer *t, const double *main) {
    os_delta_m_term terms[OS_MAX_TASKS];
    const int n = t->rt->n_tasks;
    for (int i = 0; i < n; i++) {
        const os_task_cfg *tc = t->rt->tasks[i].cfg;
        const json_t *b = json_object_get(t->cfg->baselines, tc->name);
        if (!b) return NAN;
        terms[i] = (os_delta_m_term){i, main[i], json_number_value(b), strcmp(tc->metric, "mse") != 0};
    }
    double d;
    return os_delta_m(terms, (size_t)n, &d) == OS_OK ? d : NAN;
}

static double selection_score(const trainer *t, const double *main) {
    const os_train_config *c = t->cfg;
    const int n = t->rt->n_tasks;
    if (!strcmp(c->early_metric, "mean")) {
        double s = 0;
        for (int i = 0; i < n; i++) s += main[i];
        return s / n;
    }
    if (!strcmp(c->early_metric, "delta_m")) return delta_m(t, main);
    for (int i = 0; i < n; i++)
        if (!strcmp(t->rt->tasks[i].cfg->name, c->early_metric)) return main[i];
    return NAN;
}

static os_status evaluate(trainer *t, int *stop) {
    os_runtime *rt = t->rt;
    json_t *tasks = json_object();
    double main[OS_MAX_TASKS];
    os_status st = os_evaluate_all(rt, OS_SPLIT_DEV, tasks, main);
    if (st) {
        json_decref(tasks);
        return st;
    }
    double score = selection_score(t, main);
    int improved = !(score <= t->best_score) && isfinite(score);  // NaN never improves
    json_t *ev = json_object();
    json_object_set_new(ev, "event", json_string("eval"));
    json_object_set_new(ev, "step", json_integer(t->step));
    json_object_set_new(ev, "epoch", json_real((double)t->step / (double)t->epoch_steps));
    json_object_set_new(ev, "score", json_real(score));
    double dm = delta_m(t, main);
    if (isfinite(dm)) json_object_set_new(ev, "delta_m", json_real(dm));
    json_object_set_new(ev, "selection", json_string(t->cfg->early_metric));
    json_object_set_new(ev, "best", json_boolean(improved));
    json_object_set(ev, "dev", tasks);
    os_trainer_log_event(t, ev);
    if (!t->opts->quiet) {
        fprintf(stderr, "%seval step %ld: %s %.4f", isatty(2) ? "\r\033[K" : "", t->step, t->cfg->early_metric, score);
        for (int i = 0; i < rt->n_tasks; i++)
            fprintf(stderr, " | %s %s %.4f", rt->tasks[i].cfg->name, rt->tasks[i].cfg->metric, main[i]);
        fprintf(stderr, "%s\n", improved ? " (best)" : "");
    }
    if (improved) {
        t->best_delta_m = dm;
        t->best_score = score;
        t->best_step = t->step;
        t->bad_evals = 0;
        json_decref(t->best_eval);
        t->best_eval = json_incref(tasks);
        st = save_model_dir(t, t->dir_best);
    } else {
        t->bad_evals++;
        if (t->cfg->patience > 0 && t->bad_evals >= t->cfg->patience) *stop = 1;
    }
    json_decref(tasks);
    return st;
}

// ---- progress -----------------------------------------------------------------------------------------

static void log_window(trainer *t, float lr, double grad_norm) {
    os_runtime *rt = t->rt;
    double elapsed = now() - t->window_start, tps = elapsed > 0 ? t->window_tokens / elapsed : 0;
    json_t *ev = json_object(), *losses = json_object();
    json_object_set_new(ev, "event", json_string("train"));
    json_object_set_new(ev, "step", json_integer(t->step));
    json_object_set_new(ev, "epoch", json_real((double)t->step / (double)t->epoch_steps));
    json_object_set_new(ev, "lr", json_real(lr));
    json_object_set_new(ev, "grad_norm", json_real(grad_norm));
    json_object_set_new(ev, "tokens_per_s", json_real(tps));
    for (int i = 0; i < rt->n_tasks; i++)
        if (t->loss_n[i]) json_object_set_new(losses, rt->tasks[i].cfg->name, json_real(t->loss_sum[i] / t->loss_n[i]));
    json_object_set_new(ev, "loss", losses);
    if (t->bal) {
        json_t *w = json_object();
        for (int i = 0; i < rt->n_tasks; i++)
            if (t->weight_n[i]) json_object_set_new(w, rt->tasks[i].cfg->name, json_real(t->weight_sum[i] / t->weight_n[i]));
        json_object_set_new(ev, "weights", w);
        memset(t->weight_sum, 0, sizeof t->weight_sum);
        memset(t->weight_n, 0, sizeof t->weight_n);
    }
    if (!t->opts->quiet) {
        double done = (double)t->step / t->total_steps, spent = now() - t->run_start;
        double eta = done > 0 ? spent * (1 - done) / done : 0;
        fprintf(stderr, "%sstep %ld/%ld epoch %.2f", isatty(2) ? "\r\033[K" : "", t->step, t->total_steps,
                (double)t->step / t->epoch_steps);
        for (int i = 0; i < rt->n_tasks; i++)
            if (t->loss_n[i]) fprintf(stderr, " | %s %.4f", rt->tasks[i].cfg->name, t->loss_sum[i] / t->loss_n[i]);
        fprintf(stderr, " | %.0f tok/s | ETA %ld:%02ld%s", tps, (long)eta / 60, (long)eta % 60, isatty(2) ? "" : "\n");
        fflush(stderr);
    }
    os_trainer_log_event(t, ev);
    memset(t->loss_sum, 0, sizeof t->loss_sum);
    memset(t->loss_n, 0, sizeof t->loss_n);
    t->window_tokens = 0;
    t->window_steps = 0;
    t->window_start = now();
}

static void print_table(const trainer *t) {
    os_runtime *rt = t->rt;
    printf("\n%-16s %-18s %10s\n", "task", "metric", "best dev");
    for (int i = 0; i < rt->n_tasks; i++) {
        const os_task_cfg *tc = rt->tasks[i].cfg;
        json_t *m = json_object_get(json_object_get(t->best_eval, tc->name), tc->metric);
        double v = m ? json_number_value(m) : NAN;
        int pct = strcmp(tc->metric, "mse") != 0;
        printf("%-16s %-18s %10.2f%s\n", tc->name, tc->metric, pct ? 100 * v : v, pct ? "" : " (mse)");
    }
    printf("selection (%s): %.4f at step %ld of %ld\n", t->cfg->early_metric, t->best_score, t->best_step, t->step);
    if (isfinite(t->best_delta_m)) printf("delta_m vs the single-task baselines: %+.2f %%\n", t->best_delta_m);
}

static os_status write_summary(trainer *t) {
    json_t *s = json_object();
    json_object_set_new(s, "best_step", json_integer(t->best_step));
    json_object_set_new(s, "steps", json_integer(t->step));
    json_object_set_new(s, "epochs", json_real((double)t->step / (double)t->epoch_steps));
    json_object_set_new(s, "epoch_steps", json_integer(t->epoch_steps));
    json_object_set_new(s, "selection", json_string(t->cfg->early_metric));
    json_object_set_new(s, "best_score", json_real(t->best_score));
    if (isfinite(t->best_delta_m)) json_object_set_new(s, "delta_m", json_real(t->best_delta_m));
    json_object_set_new(s, "skipped_steps", json_integer(t->skipped_steps));
    json_object_set_new(s, "loss_spikes", json_integer(t->spikes));
    json_object_set_new(s, "seconds", json_real(now() - t->run_start));
    json_t *gb = json_object();
    for (int g = 0; g < t->rt->n_groups; g++) json_object_set_new(gb, t->rt->groups[g].name, json_integer(t->group_batches[g]));
    json_object_set_new(s, "batches_per_dataset", gb);
    json_object_set(s, "dev", t->best_eval ? t->best_eval : json_null());
    char *text = json_dumps(s, JSON_INDENT(2) | JSON_REAL_PRECISION(7));
    char *path = os_path_join(t->opts->run_dir, "summary.json");
    os_status st = os_write_file_atomic(path, text, strlen(text));
    free(path);
    free(text);
    json_decref(s);
    return st;
}

// ---- the loop -----------------------------------------------------------------------------------------

os_status os_train(os_runtime *rt, const os_train_opts *o) {
    trainer t = {0};
    t.rt = rt;
    t.cfg = rt->cfg;
    t.opts = o;
    const os_train_config *c = rt->cfg;
    os_status st = os_mkdirs(o->run_dir);
    if (st) return st;
    t.dir_best = os_path_join(o->run_dir, "best");
    t.dir_ckpt = os_path_join(o->run_dir, "checkpoint");
    t.metrics_path = os_path_join(o->run_dir, "metrics.jsonl");
    if (!o->resume) {
        char *cfg_path = os_path_join(o->run_dir, "config.json");
        char *text = json_dumps(c->root, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        st = os_write_file_atomic(cfg_path, text, strlen(text));
        free(text);
        free(cfg_path);
        if (st) goto done;
    } else if (!os_path_exists(t.dir_ckpt)) {
        st = os_fail(OS_ERR_INPUT, "%s: no checkpoint to resume from (run without --resume to start)", t.dir_ckpt);
        goto done;
    }
    t.metrics = fopen(t.metrics_path, o->resume ? "r+" : "w");
    if (t.metrics && o->resume) fseek(t.metrics, 0, SEEK_END);
    if (!t.metrics) {
        st = os_fail(OS_ERR_IO, "%s: cannot open for writing", t.metrics_path);
        goto done;
    }
    if (c->trace_file && (st = os_trace_open(&t.trace, c->trace_file))) goto done;

    // What an epoch means: the sum over datasets of their batches per pass, unless the config fixes it.
    if ((st = os_balancer_create(&t, &t.bal))) goto done;
    t.epoch_steps = c->epoch_steps;
    if (!t.epoch_steps) {
        for (int g = 0; g < rt->n_groups; g++)
            t.epoch_steps += (long)((rt->groups[g].feats[OS_SPLIT_TRAIN].n + c->batch_size - 1) / c->batch_size);
        if (c->sampling == OS_SAMPLE_ALL)  // every dataset each step: the same number of batches per epoch
            t.epoch_steps = (t.epoch_steps + rt->n_groups - 1) / rt->n_groups;
        else if (t.bal)
            t.epoch_steps = os_balancer_epoch_steps(t.bal, t.epoch_steps, rt->n_groups);
    }
    t.total_steps = c->max_steps > 0 ? c->max_steps : c->epochs * t.epoch_steps;
    t.eval_every = c->eval_every > 0 ? c->eval_every : t.epoch_steps;
    t.save_every = c->save_every > 0 ? c->save_every : t.eval_every;
    os_schedule sched = c->schedule;
    sched.total_steps = t.total_steps;
    long ratio_warmup = (long)ceil(c->warmup_ratio * (double)t.total_steps);
    if (ratio_warmup > sched.warmup_steps) sched.warmup_steps = ratio_warmup;
    long stop_at = o->max_steps > 0 && o->max_steps < t.total_steps ? o->max_steps : t.total_steps;

    setup_params(&t, 0);
    if ((st = os_optimizer_init(&t.opt, &c->opt, &rt->model.params))) goto done;
    t.sampler.kind = c->sampling;
    t.sampler.n_tasks = rt->n_groups;
    t.sampler.temperature = c->temperature;
    t.sampler.cap = c->cap;
    t.sampler.total_epochs = (int)((t.total_steps + t.epoch_steps - 1) / t.epoch_steps);
    for (int g = 0; g < rt->n_groups; g++) {
        t.sampler.sizes[g] = (double)rt->groups[g].feats[OS_SPLIT_TRAIN].n;
        for (int d = 0; d < c->n_datasets; d++)
            if (!strcmp(c->datasets[d].name, rt->groups[g].name)) t.sampler.fixed[g] = c->fixed[d];
    }
    if ((st = os_sampler_validate(&t.sampler, c->file))) goto done;
    os_rng_seed(&t.sampler.rng, os_trainer_mix((uint64_t)c->seed, 0x5a3b1eULL));
    t.best_score = -INFINITY;
    t.best_delta_m = NAN;
    if (o->resume && (st = load_checkpoint(&t))) goto done;
    if (o->resume) setup_params(&t, 0);

    {
        double probs[OS_MAX_TASKS];
        os_sampler_probs(&t.sampler, 0, probs);
        fprintf(stderr, "training %ld steps (epoch = %ld steps: %s), batch %ld x %ld accumulation, ",
                t.total_steps, t.epoch_steps, c->epoch_steps ? "fixed in the config" : "one pass over every dataset",
                c->batch_size, c->grad_accumulation);
        if (t.bal && os_balancer_all_tasks(t.bal)) {
            fprintf(stderr, "weighting %s on %s gradients: one batch of every dataset per step", c->weighting,
                    c->weighting_rep ? "representation" : "parameter");
        } else if (c->sampling == OS_SAMPLE_ALL) {
            fprintf(stderr, "weighting %s: one batch of every dataset per step", c->weighting);
        } else {
            fprintf(stderr, "weighting %s, sampling %s:", c->weighting,
                    json_string_value(json_object_get(json_object_get(c->root, "sampling"), "strategy")));
            for (int g = 0; g < rt->n_groups; g++) fprintf(stderr, " %s %.3f", rt->groups[g].name, probs[g]);
        }
        fprintf(stderr, "%s\n", o->resume ? " (resumed)" : "");
    }
    json_t *start = json_object();
    json_object_set_new(start, "event", json_string(o->resume ? "resume" : "start"));
    json_object_set_new(start, "step", json_integer(t.step));
    json_object_set_new(start, "total_steps", json_integer(t.total_steps));
    json_object_set_new(start, "epoch_steps", json_integer(t.epoch_steps));
    json_object_set_new(start, "epoch_definition",
                        json_string(c->epoch_steps ? "fixed steps" : "sum over datasets of ceil(train examples / batch)"));
    os_trainer_log_event(&t, start);

    t.run_start = t.window_start = now();
    int stop = 0;
    float lr = 0;
    double grad_norm = 0;
    while (!st && !stop && t.step < stop_at) {
        int epoch = (int)(t.step / t.epoch_steps);
        setup_params(&t, 1);
        const uint64_t step_seed = os_trainer_mix((uint64_t)c->seed, (uint64_t)t.step);
        if (c->affinity_every > 0 && t.step % c->affinity_every == 0 &&
            (st = os_affinity_probe(&t, c->opt.lr * os_schedule_factor(&sched, t.step))))
            break;
        os_params_zero_grad(&rt->model.params);
        t.bad_task = NULL;
        if (t.bal && (st = os_balancer_begin_step(&t))) break;
        if (t.bal && os_balancer_all_tasks(t.bal)) {
            st = os_balancer_all_tasks_step(&t, step_seed);
        } else {
            for (long micro = 0; micro < c->grad_accumulation && !st; micro++) {
                if (c->sampling == OS_SAMPLE_ALL) {  // one batch of every dataset; their gradients add up
                    for (int gi = 0; gi < rt->n_groups && !st; gi++)
                        st = micro_step(&t, gi, os_trainer_mix(step_seed, (uint64_t)(micro * rt->n_groups + gi)));
                } else {
                    int gi = rt->n_groups > 1 ? os_sampler_next(&t.sampler, epoch) : 0;
                    st = micro_step(&t, gi, os_trainer_mix(step_seed, (uint64_t)micro));
                }
            }
        }
        if (st) break;
        os_params *p = &rt->model.params;
        if (c->grad_accumulation > 1) {
            os_params_scale_grad(p, 1.0f / (float)c->grad_accumulation);
        }
        grad_norm = t.bad_task ? NAN : os_params_grad_norm(p);
        if (!isfinite(grad_norm)) {
            if (!c->skip_nonfinite) {
                st = os_fail(OS_ERR_NUMERIC, "step %ld: the gradient is not finite; lower the learning rate or set "
                                             "training.on_nonfinite=skip", t.step + 1);
                break;
            }
            // Skip: no update for this step, which still counts towards the schedule and the run length.
            t.skipped_steps++;
            json_t *ev = json_pack("{s:s, s:I, s:s}", "event", "skip", "step", (json_int_t)t.step + 1, "reason",
                                   t.bad_task ? t.bad_task : "gradient");
            os_trainer_log_event(&t, ev);
            if (!o->quiet)
                fprintf(stderr, "%swarning: step %ld skipped: non-finite %s%s\n", isatty(2) ? "\r\033[K" : "",
                        t.step + 1, t.bad_task ? "loss in task " : "gradient", t.bad_task ? t.bad_task : "");
        } else {
            float clip = 1.0f;  // torch: coef = max / (norm + 1e-6), applied by the optimizer as it reads
            if (c->max_grad_norm > 0 && grad_norm > c->max_grad_norm)
                clip = (float)(c->max_grad_norm / (grad_norm + 1e-6));
            lr = c->opt.lr * os_schedule_factor(&sched, t.step);
            os_optimizer_step_scaled(&t.opt, p, lr, clip);
            if (t.bal && (st = os_balancer_end_step(&t, lr))) break;
            if (o->after_step) o->after_step(p, o->after_step_ctx);  // e.g. pruning masks (src/deploy)
        }
        t.step++;
        t.window_steps++;
        if ((st = os_trace_end_step(&t.trace, t.step, lr, grad_norm, !isfinite(grad_norm)))) break;
        if (t.step % c->log_every == 0) log_window(&t, lr, grad_norm);
        if (t.step % t.eval_every == 0 || t.step == stop_at) st = evaluate(&t, &stop);
        if (!st && (t.step % t.save_every == 0 || t.step == stop_at || stop)) st = save_checkpoint(&t);
    }
    if (!st) {
        if (t.window_steps) log_window(&t, lr, grad_norm);
        json_t *end = json_object();
        json_object_set_new(end, "event", json_string(stop ? "early_stop" : "end"));
        json_object_set_new(end, "step", json_integer(t.step));
        json_object_set_new(end, "best_step", json_integer(t.best_step));
        os_trainer_log_event(&t, end);
        if (!o->quiet && isatty(2)) fprintf(stderr, "\n");
        if (stop) fprintf(stderr, "early stop: no improvement in %ld evaluations\n", c->patience);
        st = write_summary(&t);
        if (!st && c->affinity_every > 0) st = os_affinity_report(o->run_dir, NULL);
        print_table(&t);
    }
done:
    if (t.metrics) fclose(t.metrics);
    os_trace_close(&t.trace);
    os_optimizer_free(&t.opt);
    os_balancer_free(t.bal);
    free(t.word_first);
    json_decref(t.best_eval);
    free(t.dir_best);
    free(t.dir_ckpt);
    free(t.metrics_path);
    return st;
}
