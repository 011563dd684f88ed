#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "distill/cache.h"
#include "io/safetensors.h"

#define CACHE_FORMAT "teacher-outputs/1"

static int is_token(const os_runtime *rt, int i) { return rt->model.heads[rt->tasks[i].head].level == OS_TASK_TOKEN; }

size_t os_kd_cache_rows(const os_runtime *rt, int i) {
    const os_featset *f = &rt->groups[rt->tasks[i].group].feats[OS_SPLIT_TRAIN];
    return is_token(rt, i) ? f->start[f->n] : f->n;
}

static int num_labels(const os_runtime *rt, int i) { return rt->model.heads[rt->tasks[i].head].num_labels; }

static os_status alloc_all(os_kd_cache *c, const os_teacher_set *ts, const os_runtime *rt) {
    memset(c, 0, sizeof *c);
    for (int i = 0; i < rt->n_tasks; i++) {
        c->rows[i] = os_kd_cache_rows(rt, i);
        for (int s = 0; s < ts->n_src[i]; s++) {
            c->data[i][s] = calloc(c->rows[i] * (size_t)num_labels(rt, i) + 1, sizeof(float));
            if (!c->data[i][s]) return os_fail(OS_ERR_NOMEM, "out of memory for the teacher outputs of task '%s'",
                                               rt->tasks[i].cfg->name);
        }
    }
    return OS_OK;
}

os_status os_kd_cache_compute(os_kd_cache *c, os_teacher_set *ts, os_runtime *rt, long batch_size, FILE *log) {
    os_status st = alloc_all(c, ts, rt);
    for (int gi = 0; gi < rt->n_groups && !st; gi++) {
        os_group_rt *g = &rt->groups[gi];
        const os_featset *f = &g->feats[OS_SPLIT_TRAIN];
        for (int k = 0; k < ts->n_teachers && !st; k++) {
            int used = 0;
            for (int j = 0; j < g->n_tasks; j++)
                for (int s = 0; s < ts->n_src[g->tasks[j]]; s++) used |= ts->src[g->tasks[j]][s].teacher == k;
            if (!used) continue;
            if (log) fprintf(log, "teacher %s: computing outputs on %zu '%s' training examples\n", ts->dirs[k], f->n, g->name);
            os_batch_plan plan = {0};
            os_batch batch = {0};
            os_batch_tasks none = {0};
            float *buf = NULL;
            uint8_t *word_first = NULL;
            // Length-bucketed batches (little padding); the order does not matter, rows go to their examples.
            st = os_batch_plan_make(&plan, f, (size_t)batch_size, 1, 1, 0x7eac4e5ULL);
            for (size_t bi = 0; bi < plan.n_batches && !st; bi++) {
                const size_t *idx = plan.order + plan.batch_start[bi];
                const int B = (int)(plan.batch_start[bi + 1] - plan.batch_start[bi]);
                if ((st = os_batch_collate(&batch, f, idx, B, rt->pad_id, &none, 0))) break;
                const int T = batch.T;
                free(word_first);
                word_first = malloc((size_t)B * T);
                free(buf);
                buf = NULL;
                if (!word_first) {
                    st = os_fail(OS_ERR_NOMEM, "out of memory");
                    break;
                }
                os_runtime_word_first(g, OS_SPLIT_TRAIN, &batch, word_first);
                os_batch_input in = {.ids = batch.ids, .type_ids = batch.types, .mask = batch.mask,
                                     .pair_pos = batch.pair_pos, .word_first = word_first, .B = B, .T = T};
                if ((st = os_teacher_forward(ts, k, &in))) break;
                for (int j = 0; j < g->n_tasks; j++) {
                    const int i = g->tasks[j], K = num_labels(rt, i), tok = is_token(rt, i);
                    for (int s = 0; s < ts->n_src[i]; s++) {
                        if (ts->src[i][s].teacher != k) continue;
                        const int rows = tok ? B * T : B;
                        float *nb = realloc(buf, (size_t)rows * K * sizeof(float));
                        if (!nb) {
                            st = os_fail(OS_ERR_NOMEM, "out of memory");
                            break;
                        }
                        buf = nb;
                        os_teacher_logits(ts, i, s, rows, K, buf);
                        for (int r = 0; r < B; r++) {
                            const size_t e = idx[r];
                            if (tok)
                                memcpy(c->data[i][s] + f->start[e] * K, buf + (size_t)r * T * K,
                                       (size_t)os_featset_len(f, e) * K * sizeof(float));
                            else
                                memcpy(c->data[i][s] + e * K, buf + (size_t)r * K, (size_t)K * sizeof(float));
                        }
                    }
                }
            }
            free(buf);
            free(word_first);
            os_batch_free(&batch);
            os_batch_plan_free(&plan);
        }
    }
    return st;
}

// What the outputs depend on: the teachers' weights, which teacher head feeds which task (and the label
// permutation), and the tokenized training data. A change to any of them makes a cache stale.
static uint64_t fingerprint(const os_teacher_set *ts, const os_runtime *rt) {
    uint64_t h = os_fnv1a(OS_FNV_OFFSET, CACHE_FORMAT, strlen(CACHE_FORMAT));
    for (int i = 0; i < rt->n_tasks; i++) {
        if (!ts->n_src[i]) continue;
        const int K = num_labels(rt, i);
        const os_featset *f = &rt->groups[rt->tasks[i].group].feats[OS_SPLIT_TRAIN];
        h = os_fnv1a(h, rt->tasks[i].cfg->name, strlen(rt->tasks[i].cfg->name) + 1);
        h = os_fnv1a(h, &K, sizeof K);
        h = os_fnv1a(h, &f->n, sizeof f->n);
        h = os_fnv1a(h, f->start, (f->n + 1) * sizeof *f->start);
        h = os_fnv1a(h, f->ids, f->start[f->n] * sizeof *f->ids);
        h = os_fnv1a(h, f->types, f->start[f->n] * sizeof *f->types);
        if (f->pair_pos) h = os_fnv1a(h, f->pair_pos, 2 * f->n * sizeof *f->pair_pos);
        for (int s = 0; s < ts->n_src[i]; s++) {
            const os_kd_source *src = &ts->src[i][s];
            const char *head = ts->models[src->teacher].heads[src->head].name;
            h = os_fnv1a(h, &ts->param_hash[src->teacher], sizeof(uint64_t));
            h = os_fnv1a(h, head, strlen(head) + 1);
            if (src->perm) h = os_fnv1a(h, src->perm, (size_t)K * sizeof *src->perm);
        }
    }
    return h;
}

static uint64_t checksum(const os_kd_cache *c, const os_teacher_set *ts, const os_runtime *rt) {
    uint64_t h = OS_FNV_OFFSET;
    for (int i = 0; i < rt->n_tasks; i++)
        for (int s = 0; s < ts->n_src[i]; s++)
            h = os_fnv1a(h, c->data[i][s], c->rows[i] * (size_t)num_labels(rt, i) * sizeof(float));
    return h;
}

static void tensor_name(char *buf, size_t n, const os_runtime *rt, int i, int s) {
    snprintf(buf, n, "%s/%d", rt->tasks[i].cfg->name, s);
}

os_status os_kd_cache_save(const os_kd_cache *c, const os_teacher_set *ts, const os_runtime *rt, const char *path) {
    os_st_entry e[OS_MAX_TASKS * OS_KD_MAX_TEACHERS];
    char names[OS_MAX_TASKS * OS_KD_MAX_TEACHERS][160];
    int64_t shapes[OS_MAX_TASKS * OS_KD_MAX_TEACHERS][2];
    size_t n = 0;
    for (int i = 0; i < rt->n_tasks; i++)
        for (int s = 0; s < ts->n_src[i]; s++, n++) {
            tensor_name(names[n], sizeof names[n], rt, i, s);
            shapes[n][0] = (int64_t)c->rows[i];
            shapes[n][1] = num_labels(rt, i);
            e[n] = (os_st_entry){names[n], OS_DT_F32, c->data[i][s], 2, shapes[n]};
        }
    char fp[24], ck[24];
    snprintf(fp, sizeof fp, "%016" PRIx64, fingerprint(ts, rt));
    snprintf(ck, sizeof ck, "%016" PRIx64, checksum(c, ts, rt));
    const char *meta[] = {"onestone", CACHE_FORMAT, "fingerprint", fp, "checksum", ck, NULL};
    return os_st_write(path, e, n, meta);
}

os_status os_kd_cache_load(os_kd_cache *c, const os_teacher_set *ts, const os_runtime *rt, const char *path) {
    os_safetensors f = {0};
    os_status st = os_st_open(&f, path);
    if (st) return st;
    const char *fmt = os_st_meta(&f, "onestone"), *fp = os_st_meta(&f, "fingerprint"), *ck = os_st_meta(&f, "checksum");
    char want[24];
    snprintf(want, sizeof want, "%016" PRIx64, fingerprint(ts, rt));
    if (!fmt || strcmp(fmt, CACHE_FORMAT) || !fp || !ck)
        st = os_fail(OS_ERR_INPUT, "%s: not a onestone teacher-output cache (metadata 'onestone' should be '%s')", path,
                     CACHE_FORMAT);
    else if (strcmp(fp, want))
        st = os_fail(OS_ERR_INPUT, "%s: made for other teachers or other training data (fingerprint %s, expected %s); "
                                   "delete it to recompute, or point distill.cache elsewhere", path, fp, want);
    if (!st) st = alloc_all(c, ts, rt);
    for (int i = 0; i < rt->n_tasks && !st; i++)
        for (int s = 0; s < ts->n_src[i] && !st; s++) {
            char name[160];
            tensor_name(name, sizeof name, rt, i, s);
            const int64_t shape[2] = {(int64_t)c->rows[i], num_labels(rt, i)};
            st = os_st_read_f32(&f, name, c->data[i][s], shape, 2);
        }
    if (!st) {
        char got[24];
        snprintf(got, sizeof got, "%016" PRIx64, checksum(c, ts, rt));
        if (strcmp(got, ck))
            st = os_fail(OS_ERR_INPUT, "%s: damaged (checksum %s, the file says %s); delete it to recompute", path, got, ck);
    }
    os_st_close(&f);
    return st;
}

void os_kd_cache_free(os_kd_cache *c) {
    for (int i = 0; i < OS_MAX_TASKS; i++)
        for (int s = 0; s < OS_KD_MAX_TEACHERS; s++) free(c->data[i][s]);
    memset(c, 0, sizeof *c);
}
