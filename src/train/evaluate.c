#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/classification.h"
#include "metrics/multilabel.h"
#include "metrics/regression.h"
#include "metrics/semeval.h"
#include "metrics/seqeval.h"
#include "train/evaluate.h"

static const char *const cls_metrics = "accuracy, macro_f1, micro_f1, weighted_f1, mcc";
static const char *const rel_metrics = "semeval_f1, accuracy, macro_f1, micro_f1, weighted_f1, mcc";
static const char *const ml_metrics = "micro_f1, macro_f1, subset_accuracy";
static const char *const reg_metrics = "pearson, spearman, mse";
static const char *const ent_metrics = "entity_f1, entity_precision, entity_recall, accuracy";
static const char *const tag_metrics = "accuracy";

int os_metric_available(os_task_type t, int entity_tags, const char *metric, const char **list) {
    const char *l = t == OS_TT_CLASSIFICATION ? cls_metrics
                    : t == OS_TT_RELATION     ? rel_metrics
                    : t == OS_TT_MULTILABEL   ? ml_metrics
                    : t == OS_TT_REGRESSION   ? reg_metrics
                    : entity_tags             ? ent_metrics
                                              : tag_metrics;
    if (list) *list = l;
    size_t n = strlen(metric);
    for (const char *p = strstr(l, metric); p; p = strstr(p + 1, metric))
        if ((p == l || p[-1] == ' ') && (p[n] == ',' || p[n] == '\0')) return 1;
    return 0;
}

// Predictions collected over a split, per task.
typedef struct {
    int *gold, *pred;       // classification / relation (n), multi-label (n*L), token words (words)
    float *gold_f, *pred_f; // regression (n*L)
    size_t n;
} collected;

static void set(json_t *o, const char *k, double v) { json_object_set_new(o, k, json_real(v)); }

static os_status classification_metrics(const os_task_rt *t, const collected *c, json_t *o) {
    os_confusion cm;
    os_status st = os_confusion_init(&cm, t->vocab.num_labels);
    if (!st) st = os_confusion_add(&cm, c->gold, c->pred, c->n);
    if (st) {
        os_confusion_free(&cm);
        return st;
    }
    set(o, "accuracy", os_cls_accuracy(&cm));
    set(o, "macro_f1", os_cls_average(&cm, OS_AVG_MACRO, NULL, 0).f1);
    set(o, "micro_f1", os_cls_average(&cm, OS_AVG_MICRO, NULL, 0).f1);
    set(o, "weighted_f1", os_cls_average(&cm, OS_AVG_WEIGHTED, NULL, 0).f1);
    set(o, "mcc", os_cls_mcc(&cm));
    set(o, "examples", (double)os_confusion_total(&cm));
    json_t *report = os_cls_report_json(&cm, (const char *const *)t->vocab.names, NULL, 0);
    if (report) json_object_set_new(o, "report", report);
    if (t->cfg->type == OS_TT_RELATION) {
        // The official SemEval-2010 Task 8 score needs "Type(e1,e2)" / "Other" labels; other relation
        // label sets simply do not get it.
        const char **g = calloc(c->n + 1, sizeof *g), **p = calloc(c->n + 1, sizeof *p);
        size_t k = 0;
        for (size_t i = 0; i < c->n; i++) {
            if (c->gold[i] < 0) continue;
            g[k] = t->vocab.names[c->gold[i]];
            p[k++] = t->vocab.names[c->pred[i]];
        }
        os_semeval_result r;
        if (os_semeval_eval(g, p, k, NULL, &r) == OS_OK) {
            set(o, "semeval_f1", r.macro_f1);
            os_semeval_result_free(&r);
        }
        free(g);
        free(p);
    }
    os_confusion_free(&cm);
    return OS_OK;
}

static os_status token_metrics(const os_task_rt *t, const os_featset *f, const collected *c, json_t *o) {
    if (!t->vocab.entity_tags) {
        size_t ok = 0, n = 0;
        for (size_t w = 0; w < c->n; w++) {
            if (c->gold[w] < 0) continue;
            n++;
            ok += c->pred[w] == c->gold[w];
        }
        set(o, "accuracy", n ? (double)ok / n : 0.0);
        set(o, "words", (double)n);
        return OS_OK;
    }
    os_seqeval ev;
    os_seqeval_init(&ev);
    os_status st = OS_OK;
    const char **g = NULL, **p = NULL;
    size_t cap = 0;
    for (size_t e = 0; e < f->n && !st; e++) {
        size_t s = f->word_start[e], nw = f->word_start[e + 1] - s;
        if (nw > cap) {
            cap = nw * 2;
            free(g);
            free(p);
            g = malloc(cap * sizeof *g);
            p = malloc(cap * sizeof *p);
        }
        for (size_t w = 0; w < nw; w++) {
            int gi = c->gold[s + w], pi = c->pred[s + w];
            g[w] = gi >= 0 ? t->vocab.names[gi] : "O";
            p[w] = pi >= 0 ? t->vocab.names[pi] : "O";  // words cut off by truncation are predicted O
        }
        st = os_seqeval_add(&ev, g, p, nw);
    }
    free(g);
    free(p);
    if (!st) {
        os_prf all = os_seqeval_overall(&ev);
        set(o, "entity_f1", all.f1);
        set(o, "entity_precision", all.precision);
        set(o, "entity_recall", all.recall);
        set(o, "accuracy", os_seqeval_token_accuracy(&ev));
        json_t *types = json_object();
        for (size_t i = 0; i < ev.n_types; i++) {
            os_prf tp = os_seqeval_type_prf(&ev, i);
            json_t *to = json_object();
            set(to, "precision", tp.precision);
            set(to, "recall", tp.recall);
            set(to, "f1", tp.f1);
            set(to, "support", (double)tp.n_gold);
            json_object_set_new(types, ev.types[i].name, to);
        }
        json_object_set_new(o, "types", types);
    }
    os_seqeval_free(&ev);
    return st;
}

static os_status multilabel_metrics(const os_task_rt *t, const collected *c, json_t *o) {
    const int L = t->vocab.num_labels;
    size_t rows = 0;
    for (size_t i = 0; i < c->n; i++) rows += c->gold[i * (size_t)L] >= 0;
    int *g = calloc(rows * L + 1, sizeof *g), *p = calloc(rows * L + 1, sizeof *p);
    size_t k = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (c->gold[i * (size_t)L] < 0) continue;
        memcpy(g + k * L, c->gold + i * L, (size_t)L * sizeof *g);
        memcpy(p + k * L, c->pred + i * L, (size_t)L * sizeof *p);
        k++;
    }
    os_multilabel_scores sc;
    os_status st = os_multilabel_eval(g, p, rows, L, &sc, NULL);
    if (!st) {
        set(o, "micro_f1", sc.micro.f1);
        set(o, "macro_f1", sc.macro.f1);
        set(o, "subset_accuracy", sc.subset_accuracy);
        set(o, "examples", (double)rows);
    }
    free(g);
    free(p);
    return st;
}

static os_status regression_metrics(const os_task_rt *t, const collected *c, json_t *o) {
    const int L = t->vocab.num_labels;
    size_t k = 0;
    float *g = calloc(c->n * L + 1, sizeof *g), *p = calloc(c->n * L + 1, sizeof *p);
    for (size_t i = 0; i < c->n; i++) {
        if (isnan(c->gold_f[i * L])) continue;
        memcpy(g + k * L, c->gold_f + i * L, (size_t)L * sizeof *g);
        memcpy(p + k * L, c->pred_f + i * L, (size_t)L * sizeof *p);
        k++;
    }
    os_regression_scores sc;
    os_status st = os_regression_eval(g, p, k * L, &sc);
    if (!st) {
        set(o, "pearson", sc.pearson);
        set(o, "spearman", sc.spearman);
        set(o, "mse", sc.mse);
        set(o, "examples", (double)k);
    }
    free(g);
    free(p);
    return st;
}

os_status os_evaluate_group(os_runtime *rt, int gi, int split, json_t *out, double *main_scores) {
    os_group_rt *g = &rt->groups[gi];
    const os_featset *f = &g->feats[split];
    collected col[OS_MAX_TASKS];
    memset(col, 0, sizeof col);
    for (int k = 0; k < g->n_tasks; k++) {
        const os_task_rt *t = &rt->tasks[g->tasks[k]];
        size_t L = (size_t)t->vocab.num_labels;
        collected *c = &col[k];
        if (t->cfg->type == OS_TT_TOKEN) c->n = f->word_start[f->n];
        else c->n = f->n;
        size_t width = (t->cfg->type == OS_TT_MULTILABEL || t->cfg->type == OS_TT_REGRESSION) ? L : 1;
        c->gold = calloc(c->n * width + 1, sizeof(int));
        c->pred = calloc(c->n * width + 1, sizeof(int));
        c->gold_f = calloc(c->n * width + 1, sizeof(float));
        c->pred_f = calloc(c->n * width + 1, sizeof(float));
        if (!c->gold || !c->pred || !c->gold_f || !c->pred_f) return os_fail(OS_ERR_NOMEM, "out of memory evaluating");
    }
    os_batch_plan plan;
    const size_t bs = (size_t)rt->cfg->batch_size;
    os_status st = os_batch_plan_make(&plan, f, bs, 0, 0, 0);
    os_batch batch = {0};
    uint8_t *word_first = NULL;
    int32_t *decoded = NULL;
    for (size_t bi = 0; bi < plan.n_batches && !st; bi++) {
        const size_t *idx = plan.order + plan.batch_start[bi];
        int B = (int)(plan.batch_start[bi + 1] - plan.batch_start[bi]);
        st = os_batch_collate(&batch, f, idx, B, rt->pad_id, &g->bt[split], rt->model.n_heads);
        if (st) break;
        free(word_first);
        free(decoded);
        word_first = malloc((size_t)B * batch.T);
        decoded = malloc((size_t)batch.T * sizeof *decoded);
        os_runtime_word_first(g, split, &batch, word_first);
        os_batch_input in = {.ids = batch.ids, .type_ids = batch.types, .mask = batch.mask, .pair_pos = batch.pair_pos,
                             .word_first = word_first, .B = B, .T = batch.T};
        st = os_model_forward(&rt->model, &in, g->active, 0, 0);
        if (st) break;
        os_model_loss(&rt->model, NULL, NULL, NULL);  // fills probabilities
        for (int k = 0; k < g->n_tasks; k++) {
            const os_task_rt *t = &rt->tasks[g->tasks[k]];
            os_head *h = &rt->model.heads[t->head];
            const os_task_labels *l = &t->labels[split];
            const int L = h->num_labels;
            collected *c = &col[k];
            for (int r = 0; r < B; r++) {
                size_t e = idx[r];
                switch (t->cfg->type) {
                case OS_TT_CLASSIFICATION:
                case OS_TT_RELATION:
                    c->gold[e] = l->cls[e] >= 0 ? l->cls[e] : -1;
                    c->pred[e] = os_head_argmax(h, r);
                    break;
                case OS_TT_MULTILABEL:
                    for (int j = 0; j < L; j++) {
                        float gv = l->vals[e * L + j];
                        c->gold[e * L + j] = isnan(l->vals[e * L]) ? -1 : gv > 0.5f;
                        c->pred[e * L + j] = h->logits[(size_t)r * L + j] > 0;  // sigmoid >= 0.5
                    }
                    break;
                case OS_TT_REGRESSION:
                    for (int j = 0; j < L; j++) {
                        c->gold_f[e * L + j] = l->vals[e * L + j];
                        c->pred_f[e * L + j] = h->logits[(size_t)r * L + j];
                    }
                    break;
                case OS_TT_TOKEN:
                    os_head_decode_row(h, &rt->model.params, r, batch.T, decoded);
                    for (size_t w = f->word_start[e]; w < f->word_start[e + 1]; w++) {
                        int fp = f->first_piece[w];
                        c->gold[w] = l->word[w];
                        c->pred[w] = fp >= 0 ? decoded[fp] : -1;
                    }
                    break;
                }
            }
        }
    }
    for (int k = 0; k < g->n_tasks && !st; k++) {
        const os_task_rt *t = &rt->tasks[g->tasks[k]];
        json_t *o = json_object();
        switch (t->cfg->type) {
        case OS_TT_CLASSIFICATION:
        case OS_TT_RELATION: st = classification_metrics(t, &col[k], o); break;
        case OS_TT_MULTILABEL: st = multilabel_metrics(t, &col[k], o); break;
        case OS_TT_REGRESSION: st = regression_metrics(t, &col[k], o); break;
        case OS_TT_TOKEN: st = token_metrics(t, f, &col[k], o); break;
        }
        json_t *m = json_object_get(o, t->cfg->metric);
        main_scores[g->tasks[k]] = m ? json_number_value(m) : NAN;
        json_object_set_new(out, t->cfg->name, o);
    }
    for (int k = 0; k < g->n_tasks; k++) {
        free(col[k].gold);
        free(col[k].pred);
        free(col[k].gold_f);
        free(col[k].pred_f);
    }
    free(word_first);
    free(decoded);
    os_batch_free(&batch);
    os_batch_plan_free(&plan);
    return st;
}

os_status os_evaluate_all(os_runtime *rt, int split, json_t *out, double *main_scores) {
    for (int g = 0; g < rt->n_groups; g++) {
        os_status st = os_evaluate_group(rt, g, split, out, main_scores);
        if (st) return st;
    }
    return OS_OK;
}
