#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "infer/predictor.h"
#include "model/checkpoint.h"
#include "ops/ops.h"
#include "util/json_text.h"

os_status os_predictor_open(os_predictor *p, const char *model_dir, int max_length) {
    memset(p, 0, sizeof *p);
    os_status st = os_model_load(&p->model, model_dir);
    if (st) return st;
    st = os_tokenizer_load(model_dir, NULL, &p->tok);
    if (st) {
        os_model_free(&p->model);
        return st;
    }
    if (os_tokenizer_vocab_size(p->tok) > p->model.cfg.vocab_size) {
        st = os_fail(OS_ERR_INPUT, "%s: the tokenizer has %d tokens but config.json's vocab_size is %d", model_dir,
                     os_tokenizer_vocab_size(p->tok), p->model.cfg.vocab_size);
        os_predictor_close(p);
        return st;
    }
    int maxpos = p->model.cfg.max_position_embeddings;
    p->max_length = max_length > 0 && max_length < maxpos ? max_length : maxpos;
    p->active = os_calloc((size_t)(p->model.n_heads ? p->model.n_heads : 1), 1);
    if (!p->active) {
        os_predictor_close(p);
        return OS_ERR_NOMEM;
    }
    memset(p->active, 1, (size_t)p->model.n_heads);
    p->e1_id = os_tokenizer_token_to_id(p->tok, "<e1>");
    p->e2_id = os_tokenizer_token_to_id(p->tok, "<e2>");
    return OS_OK;
}

os_status os_predictor_select(os_predictor *p, const char *task_list) {
    if (!task_list || !*task_list) {
        memset(p->active, 1, (size_t)p->model.n_heads);
        return OS_OK;
    }
    memset(p->active, 0, (size_t)p->model.n_heads);
    char *copy = strdup(task_list), *save = NULL;
    if (!copy) return os_fail(OS_ERR_NOMEM, "out of memory");
    os_status st = OS_OK;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int i = os_model_find_task(&p->model, tok);
        if (i < 0) {
            st = os_fail(OS_ERR_USAGE, "--tasks: the model has no task '%s'", tok);
            break;
        }
        p->active[i] = 1;
    }
    free(copy);
    return st;
}

void os_predictor_close(os_predictor *p) {
    os_model_free(&p->model);
    os_tokenizer_free(p->tok);
    free(p->active);
    memset(p, 0, sizeof *p);
}

static json_t *vector_json(const float *x, int n) {
    json_t *a = json_array();
    for (int i = 0; i < n; i++) json_array_append_new(a, json_real(x[i]));
    return a;
}

// A sequence-level (or entity-pair) prediction for row b.
static json_t *sequence_prediction(const os_head *h, int b) {
    const float *x = h->logits + (size_t)b * h->num_labels;
    json_t *o = json_object();
    if (h->problem == OS_PROBLEM_REGRESSION) {
        if (h->num_labels == 1) json_object_set_new(o, "value", json_real(x[0]));
        else json_object_set_new(o, "values", vector_json(x, h->num_labels));
    } else if (h->problem == OS_PROBLEM_MULTI_LABEL) {
        json_t *labels = json_array(), *scores = json_object();
        for (int j = 0; j < h->num_labels; j++) {
            double pj = 1.0 / (1.0 + exp(-(double)x[j]));
            json_object_set_new(scores, h->labels[j], json_real(pj));
            if (pj >= 0.5) json_array_append_new(labels, json_string(h->labels[j]));
        }
        json_object_set_new(o, "labels", labels);
        json_object_set_new(o, "scores", scores);
    } else {
        float *pr = malloc((size_t)h->num_labels * sizeof(float));
        softmax_forward(pr, x, 1, h->num_labels);  // the ops' row softmax
        int best = os_head_argmax(h, b);
        json_object_set_new(o, "label", json_string(h->labels[best]));
        json_object_set_new(o, "score", json_real(pr[best]));
        free(pr);
    }
    return o;
}

// Token-level prediction for row b: one entry per word, labelled by its first piece.
static json_t *token_prediction(os_predictor *p, os_head *h, int b, int T, const char *text,
                                const os_encoding *enc, int with_logits, int32_t *decoded) {
    json_t *o = json_object(), *words = json_array();
    os_head_decode_row(h, &p->model.params, b, T, decoded);
    for (int i = 0; i < enc->n; i++) {
        int w = enc->word_ids[i];
        if (w < 0 || (i > 0 && enc->word_ids[i - 1] == w)) continue;  // first piece of each word only
        int last = i;
        while (last + 1 < enc->n && enc->word_ids[last + 1] == w) last++;
        int start = enc->offsets[2 * i], end = enc->offsets[2 * last + 1];
        json_t *wo = json_object();
        json_object_set_new(wo, "word", os_json_string_lossy(text + start, (size_t)(end - start)));
        json_object_set_new(wo, "start", json_integer(start));
        json_object_set_new(wo, "end", json_integer(end));
        json_object_set_new(wo, "label", decoded[i] >= 0 ? json_string(h->labels[decoded[i]]) : json_null());
        json_array_append_new(words, wo);
    }
    json_object_set_new(o, "words", words);
    if (with_logits) {
        json_t *pieces = json_array(), *logits = json_array();
        for (int i = 0; i < enc->n; i++) {
            json_array_append_new(pieces, json_string(os_tokenizer_id_to_token(p->tok, enc->ids[i])));
            json_array_append_new(logits, vector_json(h->logits + ((size_t)b * T + i) * h->num_labels, h->num_labels));
        }
        json_object_set_new(o, "pieces", pieces);
        json_object_set_new(o, "logits", logits);
    }
    return o;
}

os_status os_predictor_run(os_predictor *p, const char *const *texts, int n, json_t **out) {
    *out = NULL;
    if (n <= 0) {
        *out = json_array();
        return OS_OK;
    }
    os_encoding *enc = os_calloc((size_t)n, sizeof *enc);
    if (!enc) return OS_ERR_NOMEM;
    os_encode_options eo = os_encode_options_default();
    eo.max_length = p->max_length;
    os_status st = OS_OK;
    int T = 1;
    for (int i = 0; i < n && !st; i++) {
        os_encoding_init(&enc[i]);
        st = os_tokenizer_encode(p->tok, texts[i], strlen(texts[i]), &eo, &enc[i]);
        if (enc[i].n > T) T = enc[i].n;
    }
    int32_t *ids = NULL, *types = NULL, *mask = NULL, *pair = NULL, *decoded = NULL;
    uint8_t *has_pair = NULL, *word_first = NULL;
    if (!st) {
        ids = os_calloc((size_t)n * T, sizeof *ids);
        types = os_calloc((size_t)n * T, sizeof *types);
        mask = os_calloc((size_t)n * T, sizeof *mask);
        pair = os_calloc((size_t)n * 2, sizeof *pair);
        has_pair = os_calloc((size_t)n, 1);
        word_first = os_calloc((size_t)n * T, 1);
        decoded = os_calloc((size_t)T, sizeof *decoded);
        if (!ids || !types || !mask || !pair || !has_pair || !word_first || !decoded) st = OS_ERR_NOMEM;
    }
    const int32_t pad = os_tokenizer_special_ids(p->tok).pad;
    for (int b = 0; b < n && !st; b++) {
        int found1 = 0, found2 = 0;
        for (int i = 0; i < T; i++) {
            size_t k = (size_t)b * T + i;
            if (i < enc[b].n) {
                ids[k] = enc[b].ids[i];
                types[k] = enc[b].type_ids[i];
                mask[k] = 1;
                if (ids[k] == p->e1_id && !found1) pair[2 * b] = i, found1 = 1;
                if (ids[k] == p->e2_id && !found2) pair[2 * b + 1] = i, found2 = 1;
                int w = enc[b].word_ids[i];
                word_first[k] = w >= 0 && (i == 0 || enc[b].word_ids[i - 1] != w);
            } else {
                ids[k] = pad >= 0 ? pad : 0;
            }
        }
        has_pair[b] = found1 && found2;
    }
    if (!st) {
        os_batch_input in = {.ids = ids, .type_ids = types, .mask = mask, .pair_pos = pair, .word_first = word_first,
                             .B = n, .T = T};
        st = os_model_forward(&p->model, &in, p->active, 0, 0);
    }
    if (!st) {
        json_t *arr = json_array();
        for (int b = 0; b < n; b++) {
            json_t *o = json_object();
            for (int k = 0; k < p->model.n_heads; k++) {
                os_head *h = &p->model.heads[k];
                if (!p->active[k]) continue;
                json_t *pred;
                if (h->level == OS_TASK_TOKEN) {
                    pred = token_prediction(p, h, b, T, texts[b], &enc[b], p->with_logits, decoded);
                } else if (h->level == OS_TASK_ENTITY_PAIR && !has_pair[b]) {
                    pred = json_null();  // the text has no <e1> ... <e2> markers
                } else {
                    pred = sequence_prediction(h, b);
                    if (p->with_logits)
                        json_object_set_new(pred, "logits",
                                            vector_json(h->logits + (size_t)b * h->num_labels, h->num_labels));
                }
                json_object_set_new(o, h->name, pred);
            }
            json_array_append_new(arr, o);
        }
        *out = arr;
    }
    for (int i = 0; i < n; i++) os_encoding_free(&enc[i]);
    free(enc);
    free(ids);
    free(types);
    free(mask);
    free(pair);
    free(has_pair);
    free(word_first);
    free(decoded);
    return st;
}
