// Task affinity during training (docs/weighting.md, "Task affinity").
//
// Every weighting.affinity_every steps the trainer draws a probe batch of every dataset (seeded by the step,
// outside the training order, dropout off) and measures, on the shared (encoder) parameters theta:
//  - gradient cosine: cos(g_i, g_j) with g_i = dL_i/dtheta on task i's probe batch;
//  - lookahead inter-task affinity (Fifty et al., NeurIPS 2021, "Efficiently Identifying Task Groupings"):
//    Z_ij = 1 - L_j(theta - delta_i) / L_j(theta), where delta_i is the update the run's optimizer would make
//    from task i's gradient alone (its current moments, learning rate and per-tensor rate scales; weight decay
//    left out as it is the same for every task). Z_ij > 0: a step on task i lowers task j's loss.
// Each probe is one "affinity" event in metrics.jsonl; the report averages them over the run and suggests a
// grouping: the partition of the tasks that maximises the summed symmetric affinity (Z_ij + Z_ji) / 2 inside
// groups (a correlation-clustering optimum, found exactly by enumerating partitions for up to 10 tasks).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/trainer_internal.h"
#include "util/fileio.h"

// The update the optimizer would apply to shared tensor entry e for gradient g (no weight decay).
static void optimizer_delta(const os_optimizer *o, const os_param_entry *e, const float *g, float lr, float *delta) {
    const os_opt_config *c = &o->cfg;
    const float lre = lr * e->lr_scale;
    const size_t off = e->offset;
    if (e->frozen) {
        memset(delta, 0, e->numel * sizeof(float));
        return;
    }
    if (c->kind == OS_OPT_SGD) {
        for (size_t j = 0; j < e->numel; j++) {
            float d = g[j];
            if (o->m && c->momentum > 0) {
                const float buf = o->step > 0 ? c->momentum * o->m[off + j] + g[j] : g[j];
                d = c->nesterov ? g[j] + c->momentum * buf : buf;
            }
            delta[j] = lre * d;
        }
        return;
    }
    const double t = (double)o->step + 1, bc1 = 1 - pow(c->beta1, t), bc2 = 1 - pow(c->beta2, t);
    for (size_t j = 0; j < e->numel; j++) {
        const double m = c->beta1 * o->m[off + j] + (1 - c->beta1) * g[j];
        const double v = c->beta2 * o->v[off + j] + (1 - c->beta2) * (double)g[j] * g[j];
        delta[j] = (float)(lre * (m / bc1) / (sqrt(v / bc2) + c->eps));
    }
}

// B distinct random examples of group gi's training split (partial Fisher-Yates, seeded).
static size_t *probe_indices(const os_featset *f, int B, uint64_t seed) {
    size_t *all = malloc(f->n * sizeof *all);
    if (!all) return NULL;
    for (size_t i = 0; i < f->n; i++) all[i] = i;
    os_rng r;
    os_rng_seed(&r, seed);
    for (int i = 0; i < B; i++) {
        size_t j = (size_t)i + (size_t)(os_rng_next(&r) % (f->n - (size_t)i));
        size_t tmp = all[i];
        all[i] = all[j];
        all[j] = tmp;
    }
    return all;
}

// Unweighted task losses of group gi's probe batch (dropout off).
static os_status probe_losses(trainer *t, int gi, const size_t *idx, int B, uint64_t seed, float *losses, int *counts) {
    os_status st = os_trainer_forward_batch(t, gi, OS_SPLIT_TRAIN, idx, B, 0, seed);
    if (!st) os_trainer_task_loss(t, NULL, t->rt->groups[gi].batch.labels, losses, counts);
    return st;
}

static json_t *matrix_json(const double *M, int n) {
    json_t *rows = json_array();
    for (int i = 0; i < n; i++) {
        json_t *r = json_array();
        for (int j = 0; j < n; j++) json_array_append_new(r, isfinite(M[i * n + j]) ? json_real(M[i * n + j]) : json_null());
        json_array_append_new(rows, r);
    }
    return rows;
}

os_status os_affinity_probe(trainer *t, float lr) {
    os_runtime *rt = t->rt;
    os_model *m = &rt->model;
    os_params *p = &m->params;
    const int n = rt->n_tasks, NG = rt->n_groups;
    const size_t D = os_shared_param_count(p);
    float *G = malloc((size_t)n * D * sizeof(float)), *theta = malloc(D * sizeof(float));
    float *delta = malloc(D * sizeof(float));
    size_t *idx[OS_MAX_TASKS] = {0};
    int B[OS_MAX_TASKS];
    double L0[OS_MAX_TASKS], cosM[OS_MAX_TASKS * OS_MAX_TASKS], Z[OS_MAX_TASKS * OS_MAX_TASKS];
    int has[OS_MAX_TASKS] = {0};
    os_status st = G && theta && delta ? OS_OK : os_fail(OS_ERR_NOMEM, "out of memory for the affinity probe");
    const uint64_t seed = os_trainer_mix(os_trainer_mix((uint64_t)t->cfg->seed, 0xaff1a17ULL), (uint64_t)t->step);
    for (int gi = 0; gi < NG && !st; gi++) {
        const os_featset *f = &rt->groups[gi].feats[OS_SPLIT_TRAIN];
        B[gi] = (int)(f->n < (size_t)t->cfg->batch_size ? f->n : (size_t)t->cfg->batch_size);
        if (!(idx[gi] = probe_indices(f, B[gi], os_trainer_mix(seed, (uint64_t)gi)))) {
            st = os_fail(OS_ERR_NOMEM, "out of memory");
            break;
        }
        float losses[OS_MAX_TASKS];
        int counts[OS_MAX_TASKS];
        if ((st = probe_losses(t, gi, idx[gi], B[gi], seed, losses, counts))) break;
        const os_group_rt *g = &rt->groups[gi];
        for (int k = 0; k < g->n_tasks; k++) {
            const int ti = g->tasks[k], h = rt->tasks[ti].head;
            if (counts[h] == 0 || !isfinite(losses[h])) continue;
            has[ti] = 1;
            L0[ti] = losses[h];
            memset(p->grad, 0, D * sizeof(float));
            os_trainer_backward_task(t, ti);
            memcpy(G + (size_t)ti * D, p->grad, D * sizeof(float));
        }
    }
    for (int i = 0; i < n * n; i++) cosM[i] = Z[i] = NAN;
    if (!st) {
        double norm[OS_MAX_TASKS];
        for (int i = 0; i < n; i++) {
            double s = 0;
            if (has[i])
                for (size_t j = 0; j < D; j++) s += (double)G[(size_t)i * D + j] * G[(size_t)i * D + j];
            norm[i] = sqrt(s);
        }
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                if (!has[i] || !has[j]) continue;
                double s = 0;
                for (size_t k = 0; k < D; k++) s += (double)G[(size_t)i * D + k] * G[(size_t)j * D + k];
                cosM[i * n + j] = s / (norm[i] * norm[j] + 1e-20);
            }
        memcpy(theta, p->data, D * sizeof(float));
        for (int i = 0; i < n && !st; i++) {
            if (!has[i]) continue;
            for (int e = 0; e < p->n; e++) {
                const os_param_entry *pe = &p->entries[e];
                if (pe->offset + pe->numel <= D) optimizer_delta(&t->opt, pe, G + (size_t)i * D + pe->offset, lr, delta + pe->offset);
            }
            for (size_t j = 0; j < D; j++) p->data[j] = theta[j] - delta[j];
            for (int gi = 0; gi < NG && !st; gi++) {
                float losses[OS_MAX_TASKS];
                int counts[OS_MAX_TASKS];
                if ((st = probe_losses(t, gi, idx[gi], B[gi], seed, losses, counts))) break;
                const os_group_rt *g = &rt->groups[gi];
                for (int k = 0; k < g->n_tasks; k++) {
                    const int tj = g->tasks[k], h = rt->tasks[tj].head;
                    if (has[tj] && counts[h] > 0) Z[i * n + tj] = 1.0 - losses[h] / L0[tj];
                }
            }
            memcpy(p->data, theta, D * sizeof(float));
        }
    }
    if (!st) {
        json_t *ev = json_object(), *names = json_array();
        for (int i = 0; i < n; i++) json_array_append_new(names, json_string(rt->tasks[i].cfg->name));
        json_object_set_new(ev, "event", json_string("affinity"));
        json_object_set_new(ev, "step", json_integer(t->step));
        json_object_set_new(ev, "tasks", names);
        json_object_set_new(ev, "cosine", matrix_json(cosM, n));
        json_object_set_new(ev, "lookahead", matrix_json(Z, n));
        os_trainer_log_event(t, ev);
    }
    for (int gi = 0; gi < NG; gi++) free(idx[gi]);
    free(G);
    free(theta);
    free(delta);
    return st;
}

// ---- the report ---------------------------------------------------------------------------------------

// Best partition of n tasks maximising the summed S_ij inside groups; writes the group id of each task into
// best (and the score). Restricted-growth strings enumerate every partition once (Bell(10) = 115,975).
static double best_partition(const double *S, int n, int max_groups, int *best) {
    int a[OS_MAX_TASKS] = {0}, mx[OS_MAX_TASKS] = {0};
    double best_score = -INFINITY;
    for (;;) {
        int groups = 0;
        for (int i = 0; i < n; i++)
            if (a[i] + 1 > groups) groups = a[i] + 1;
        if (groups <= max_groups) {
            double s = 0;
            for (int i = 0; i < n; i++)
                for (int j = i + 1; j < n; j++)
                    if (a[i] == a[j] && isfinite(S[i * n + j])) s += S[i * n + j];
            if (s > best_score + 1e-12) {
                best_score = s;
                memcpy(best, a, (size_t)n * sizeof(int));
            }
        }
        int i = n - 1;  // next restricted-growth string: a[0] = 0, a[i] <= 1 + max(a[0..i-1])
        while (i > 0 && a[i] == mx[i] + 1) i--;
        if (i == 0) break;
        a[i]++;
        for (int j = i + 1; j < n; j++) {
            a[j] = 0;
            mx[j] = mx[j - 1] > a[j - 1] ? mx[j - 1] : a[j - 1];
        }
    }
    return best_score;
}

static void print_matrix(FILE *out, const char *title, const double *M, int n, char **names) {
    fprintf(out, "%s\n%-14s", title, "");
    for (int j = 0; j < n; j++) fprintf(out, " %12.12s", names[j]);
    fprintf(out, "\n");
    for (int i = 0; i < n; i++) {
        fprintf(out, "%-14.14s", names[i]);
        for (int j = 0; j < n; j++)
            if (isfinite(M[i * n + j])) fprintf(out, " %12.5f", M[i * n + j]);
            else fprintf(out, " %12s", "-");
        fprintf(out, "\n");
    }
}

os_status os_affinity_report(const char *run_dir, FILE *out) {
    char *path = os_path_join(run_dir, "metrics.jsonl");
    FILE *f = fopen(path, "r");
    if (!f) {
        os_status st = os_fail(OS_ERR_IO, "%s: cannot open (is %s a training run directory?)", path, run_dir);
        free(path);
        return st;
    }
    int n = 0;
    char *names[OS_MAX_TASKS] = {0};
    double cs[OS_MAX_TASKS * OS_MAX_TASKS] = {0}, zs[OS_MAX_TASKS * OS_MAX_TASKS] = {0};
    long cn[OS_MAX_TASKS * OS_MAX_TASKS] = {0}, zn[OS_MAX_TASKS * OS_MAX_TASKS] = {0}, probes = 0, line_no = 0;
    os_status st = OS_OK;
    char *line = NULL;
    size_t cap = 0;
    while (!st && getline(&line, &cap, f) > 0) {
        line_no++;
        json_error_t err;
        json_t *ev = json_loads(line, 0, &err);
        if (!ev) {
            st = os_fail(OS_ERR_INPUT, "%s:%ld: %s", path, line_no, err.text);
            break;
        }
        const char *kind = json_string_value(json_object_get(ev, "event"));
        if (kind && !strcmp(kind, "affinity")) {
            json_t *tn = json_object_get(ev, "tasks");
            int k = (int)json_array_size(tn);
            if (k < 1 || k > OS_MAX_TASKS || (n && k != n)) {
                st = os_fail(OS_ERR_INPUT, "%s:%ld: affinity event with %d tasks", path, line_no, k);
            } else {
                if (!n) {
                    n = k;
                    for (int i = 0; i < n; i++) {
                        const char *s = json_string_value(json_array_get(tn, (size_t)i));
                        names[i] = strdup(s ? s : "?");
                    }
                }
                probes++;
                for (int which = 0; which < 2; which++) {
                    json_t *M = json_object_get(ev, which ? "lookahead" : "cosine");
                    for (int i = 0; i < n; i++)
                        for (int j = 0; j < n; j++) {
                            json_t *v = json_array_get(json_array_get(M, (size_t)i), (size_t)j);
                            if (!json_is_number(v)) continue;
                            (which ? zs : cs)[i * n + j] += json_number_value(v);
                            (which ? zn : cn)[i * n + j]++;
                        }
                }
            }
        }
        json_decref(ev);
    }
    free(line);
    fclose(f);
    if (!st && !probes)
        st = os_fail(OS_ERR_INPUT, "%s: no affinity events; train with weighting.affinity_every > 0", path);
    if (!st) {
        double C[OS_MAX_TASKS * OS_MAX_TASKS], Z[OS_MAX_TASKS * OS_MAX_TASKS], S[OS_MAX_TASKS * OS_MAX_TASKS];
        for (int i = 0; i < n * n; i++) {
            C[i] = cn[i] ? cs[i] / cn[i] : NAN;
            Z[i] = zn[i] ? zs[i] / zn[i] : NAN;
        }
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) S[i * n + j] = 0.5 * (Z[i * n + j] + Z[j * n + i]);
        json_t *rep = json_object(), *tn = json_array(), *by_k = json_array();
        for (int i = 0; i < n; i++) json_array_append_new(tn, json_string(names[i]));
        json_object_set_new(rep, "tasks", tn);
        json_object_set_new(rep, "probes", json_integer(probes));
        json_object_set_new(rep, "cosine", matrix_json(C, n));
        json_object_set_new(rep, "lookahead", matrix_json(Z, n));
        json_object_set_new(rep, "lookahead_definition", json_string("Z[i][j] = 1 - L_j(after a step on task i) / L_j(before)"));
        int best[OS_MAX_TASKS], overall[OS_MAX_TASKS];
        double best_score = -INFINITY;
        const int maxn = n <= 10 ? n : 0;  // exact enumeration only for up to 10 tasks
        for (int k = 1; k <= maxn; k++) {
            double s = best_partition(S, n, k, best);
            json_t *o = json_object(), *groups = json_array();
            for (int gid = 0; gid < k; gid++) {
                json_t *grp = json_array();
                for (int i = 0; i < n; i++)
                    if (best[i] == gid) json_array_append_new(grp, json_string(names[i]));
                if (json_array_size(grp)) json_array_append_new(groups, grp);
                else json_decref(grp);
            }
            json_object_set_new(o, "max_groups", json_integer(k));
            json_object_set_new(o, "groups", groups);
            json_object_set_new(o, "score", json_real(s));
            json_array_append_new(by_k, o);
            if (s > best_score + 1e-12) {
                best_score = s;
                memcpy(overall, best, sizeof overall);
            }
        }
        json_object_set_new(rep, "groupings", by_k);
        // The suggestion: the best partition over any number of groups.
        if (maxn) {
            int groups = 0;
            for (int i = 0; i < n; i++)
                if (overall[i] + 1 > groups) groups = overall[i] + 1;
            json_object_set(rep, "suggested", json_object_get(json_array_get(by_k, (size_t)groups - 1), "groups"));
        }
        char *text = json_dumps(rep, JSON_INDENT(2) | JSON_REAL_PRECISION(7));
        char *apath = os_path_join(run_dir, "affinity.json");
        st = text ? os_write_file_atomic(apath, text, strlen(text)) : os_fail(OS_ERR_NOMEM, "out of memory");
        if (!st && out) {
            fprintf(out, "task affinity over %ld probes (%s)\n\n", probes, apath);
            print_matrix(out, "gradient cosine similarity on the shared parameters", C, n, names);
            fprintf(out, "\n");
            print_matrix(out, "lookahead affinity Z[i][j]: relative drop of task j's loss after a step on task i (row)", Z, n, names);
            if (maxn) {
                int groups = 0;
                for (int i = 0; i < n; i++)
                    if (overall[i] + 1 > groups) groups = overall[i] + 1;
                fprintf(out, "\nsuggested grouping (maximises the mutual lookahead affinity inside groups):");
                for (int gid = 0; gid < groups; gid++) {
                    fprintf(out, " {");
                    int first = 1;
                    for (int i = 0; i < n; i++)
                        if (overall[i] == gid) {
                            fprintf(out, "%s%s", first ? "" : ", ", names[i]);
                            first = 0;
                        }
                    fprintf(out, "}");
                }
                fprintf(out, "\n");
            }
        }
        free(apath);
        free(text);
        json_decref(rep);
    }
    for (int i = 0; i < n; i++) free(names[i]);
    free(path);
    return st;
}
