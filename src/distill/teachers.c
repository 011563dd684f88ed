#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "distill/teachers.h"
#include "model/checkpoint.h"

uint64_t os_fnv1a(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

static const char *teacher_task_name(const os_teacher_cfg *tc, const char *student) {
    for (int j = 0; j < tc->n_map; j++)
        if (!strcmp(tc->map_student[j], student)) return tc->map_teacher[j];
    return student;
}

// Same vocabulary, token for token: the teacher reads the student's ids.
static os_status check_vocab(const char *dir, const os_tokenizer *student) {
    os_tokenizer *tt = NULL;
    os_tokenizer_options to = os_tokenizer_options_default();
    os_status st = os_tokenizer_load(dir, &to, &tt);
    if (st) return st;
    int32_t n = os_tokenizer_vocab_size(tt), ns = os_tokenizer_vocab_size(student);
    for (int32_t id = 0; id < n && id < ns && !st; id++) {
        const char *a = os_tokenizer_id_to_token(tt, id), *b = os_tokenizer_id_to_token(student, id);
        if (!a || !b || strcmp(a, b))
            st = os_fail(OS_ERR_INPUT, "teacher %s: token %d is '%s' in the teacher's vocabulary but '%s' in the "
                                       "student's; set model.vocab to the teacher's directory", dir, id, a ? a : "?",
                         b ? b : "?");
    }
    // The student may have tokens beyond the teacher's (entity markers added for a task this teacher does
    // not serve); a teacher that meets such an id fails in os_teacher_forward, naming it.
    if (!st && n > ns)
        st = os_fail(OS_ERR_INPUT, "teacher %s: its vocabulary has %d tokens, the student's only %d; set model.vocab to "
                                   "the teacher's directory", dir, n, ns);
    os_tokenizer_free(tt);
    return st;
}

static os_status bind_source(os_teacher_set *ts, int k, int hi, int i, const os_head *sh) {
    const os_head *th = &ts->models[k].heads[hi];
    const char *dir = ts->dirs[k];
    if (th->level != sh->level || th->problem != sh->problem)
        return os_fail(OS_ERR_INPUT, "teacher %s: task '%s' is %s/%s but the student's task '%s' is %s/%s", dir,
                       th->name, os_task_level_name(th->level), os_problem_name(th->problem), sh->name,
                       os_task_level_name(sh->level), os_problem_name(sh->problem));
    if (th->num_labels != sh->num_labels)
        return os_fail(OS_ERR_INPUT, "teacher %s: task '%s' has %d labels, the student's task '%s' %d", dir, th->name,
                       th->num_labels, sh->name, sh->num_labels);
    os_kd_source *s = &ts->src[i][ts->n_src[i]];
    s->teacher = k;
    s->head = hi;
    if (sh->problem != OS_PROBLEM_REGRESSION) {
        s->perm = malloc((size_t)sh->num_labels * sizeof *s->perm);
        if (!s->perm) return os_fail(OS_ERR_NOMEM, "out of memory");
        for (int j = 0; j < sh->num_labels; j++) {
            s->perm[j] = -1;
            for (int m = 0; m < th->num_labels; m++)
                if (!strcmp(th->labels[m], sh->labels[j])) s->perm[j] = m;
            if (s->perm[j] < 0) {
                free(s->perm);
                s->perm = NULL;
                return os_fail(OS_ERR_INPUT, "teacher %s: task '%s' has no label '%s' (a label of the student's task "
                                             "'%s' in its training data)", dir, th->name, sh->labels[j], sh->name);
            }
        }
    }
    ts->active[k][hi] = 1;
    ts->n_src[i]++;
    return OS_OK;
}

os_status os_teachers_load(os_teacher_set *ts, const os_distill_config *d, const os_runtime *rt) {
    memset(ts, 0, sizeof *ts);
    if (d->n_teachers > OS_KD_MAX_TEACHERS)
        return os_fail(OS_ERR_INPUT, "%s: distill.teachers lists %d teachers; at most %d", rt->cfg->file, d->n_teachers,
                       OS_KD_MAX_TEACHERS);
    os_status st = OS_OK;
    for (int k = 0; k < d->n_teachers && !st; k++) {
        const os_teacher_cfg *tc = &d->teachers[k];
        ts->dirs[k] = strdup(tc->model);
        if ((st = os_model_load(&ts->models[k], tc->model))) break;
        ts->n_teachers = k + 1;
        os_model *m = &ts->models[k];
        if ((st = check_vocab(tc->model, rt->tok))) break;
        if (m->cfg.max_position_embeddings < rt->cfg->max_seq_length) {
            st = os_fail(OS_ERR_INPUT, "teacher %s reads at most %d positions; the student's max_seq_length is %ld",
                         tc->model, m->cfg.max_position_embeddings, rt->cfg->max_seq_length);
            break;
        }
        ts->active[k] = calloc((size_t)(m->n_heads ? m->n_heads : 1), 1);
        if (!ts->active[k]) return os_fail(OS_ERR_NOMEM, "out of memory");
        uint64_t h = OS_FNV_OFFSET;
        for (int p = 0; p < m->params.n; p++) h = os_fnv1a(h, m->params.entries[p].name, strlen(m->params.entries[p].name));
        ts->param_hash[k] = os_fnv1a(h, m->params.data, m->params.total * sizeof(float));
        for (int j = 0; j < tc->n_map; j++)
            if (os_model_find_task(m, tc->map_teacher[j]) < 0)
                st = os_fail(OS_ERR_INPUT, "%s: distill.teachers[%d].tasks.%s: teacher %s has no task '%s'", rt->cfg->file,
                             k, tc->map_student[j], tc->model, tc->map_teacher[j]);
        for (int i = 0; i < rt->n_tasks && !st; i++) {
            if (d->alpha[i] >= 1) continue;
            int hi = os_model_find_task(m, teacher_task_name(tc, rt->tasks[i].cfg->name));
            if (hi >= 0) st = bind_source(ts, k, hi, i, &rt->model.heads[rt->tasks[i].head]);
        }
    }
    for (int i = 0; i < rt->n_tasks && !st; i++)
        if (d->alpha[i] < 1 && ts->n_src[i] == 0)
            st = os_fail(OS_ERR_INPUT, "%s: no teacher has task '%s' (distill.alpha < 1 needs one; map names with "
                                       "distill.teachers[].tasks, or set distill.tasks.%s.alpha to 1)",
                         rt->cfg->file, rt->tasks[i].cfg->name, rt->tasks[i].cfg->name);
    return st;
}

void os_teachers_free(os_teacher_set *ts) {
    for (int i = 0; i < OS_MAX_TASKS; i++)
        for (int s = 0; s < ts->n_src[i]; s++) free(ts->src[i][s].perm);
    for (int k = 0; k < OS_KD_MAX_TEACHERS; k++) {
        if (k < ts->n_teachers) os_model_free(&ts->models[k]);
        free(ts->dirs[k]);
        free(ts->active[k]);
    }
    memset(ts, 0, sizeof *ts);
}

os_status os_teacher_forward(os_teacher_set *ts, int k, const os_batch_input *in) {
    os_status st = os_model_forward(&ts->models[k], in, ts->active[k], 0, 0);
    if (st) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", os_last_error());
        return os_fail(st, "teacher %s: %s", ts->dirs[k], msg);
    }
    return OS_OK;
}

void os_teacher_logits(const os_teacher_set *ts, int i, int s, int rows, int K, float *dst) {
    const os_kd_source *src = &ts->src[i][s];
    const os_head *h = &ts->models[src->teacher].heads[src->head];
    for (int r = 0; r < rows; r++) {
        const float *z = h->logits + (size_t)r * K;
        float *o = dst + (size_t)r * K;
        if (src->perm)
            for (int j = 0; j < K; j++) o[j] = z[src->perm[j]];
        else
            memcpy(o, z, (size_t)K * sizeof(float));
    }
}
