#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/features.h"

// Appends to a growing int32 array.
static int push_i32(int32_t **a, size_t *n, size_t *cap, int32_t v) {
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 4096;
        int32_t *g = realloc(*a, nc * sizeof **a);
        if (!g) return -1;
        *a = g;
        *cap = nc;
    }
    (*a)[(*n)++] = v;
    return 0;
}

os_status os_featurize(const os_dataset *ds, const os_tokenizer *tok, int max_len, int with_markers,
                       os_featset *out) {
    memset(out, 0, sizeof *out);
    const size_t n = ds->n;
    out->n = n;
    out->start = os_calloc(n + 1, sizeof *out->start);
    out->word_start = os_calloc(n + 1, sizeof *out->word_start);
    if (with_markers) out->pair_pos = os_calloc(2 * n + 1, sizeof *out->pair_pos);
    if (!out->start || !out->word_start || (with_markers && !out->pair_pos)) return OS_ERR_NOMEM;
    const int32_t e1 = os_tokenizer_token_to_id(tok, "<e1>"), e2 = os_tokenizer_token_to_id(tok, "<e2>");
    os_encode_options eo = os_encode_options_default();
    eo.max_length = max_len;
    os_encoding enc;
    os_encoding_init(&enc);
    size_t n_pieces = 0, cap_pieces = 0, n_types = 0, cap_types = 0, n_words = 0, cap_words = 0;
    os_status st = OS_OK;
    for (size_t i = 0; i < n && !st; i++) {
        const os_example *ex = &ds->ex[i];
        if (ex->words)
            st = os_tokenizer_encode_words(tok, ex->words, NULL, (int32_t)ex->n_words, &eo, &enc);
        else if (ex->text_pair)
            st = os_tokenizer_encode_pair(tok, ex->text, strlen(ex->text), ex->text_pair, strlen(ex->text_pair), &eo,
                                          &enc);
        else
            st = os_tokenizer_encode(tok, ex->text ? ex->text : "", ex->text ? strlen(ex->text) : 0, &eo, &enc);
        if (st) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", os_last_error());
            st = os_fail(st, "%s:%zu: %s", ex->file, ex->line, msg);
            break;
        }
        if (enc.n_truncated) out->n_truncated++;
        if (with_markers) out->pair_pos[2 * i] = out->pair_pos[2 * i + 1] = -1;
        for (int k = 0; k < enc.n; k++) {
            if (push_i32(&out->ids, &n_pieces, &cap_pieces, enc.ids[k]) ||
                push_i32(&out->types, &n_types, &cap_types, enc.type_ids[k])) {
                st = os_fail(OS_ERR_NOMEM, "out of memory tokenizing %zu examples", n);
                break;
            }
            if (with_markers && enc.ids[k] == e1 && out->pair_pos[2 * i] < 0) out->pair_pos[2 * i] = k;
            if (with_markers && enc.ids[k] == e2 && out->pair_pos[2 * i + 1] < 0) out->pair_pos[2 * i + 1] = k;
        }
        out->start[i + 1] = n_pieces;
        if (ex->words) {
            size_t base = n_words;
            for (uint32_t w = 0; w < ex->n_words && !st; w++)
                if (push_i32(&out->first_piece, &n_words, &cap_words, -1)) st = os_fail(OS_ERR_NOMEM, "out of memory");
            for (int k = 0; k < enc.n && !st; k++) {
                int w = enc.word_ids[k];
                if (w >= 0 && (uint32_t)w < ex->n_words && out->first_piece[base + (size_t)w] < 0)
                    out->first_piece[base + (size_t)w] = k;
            }
        }
        out->word_start[i + 1] = n_words;
    }
    os_encoding_free(&enc);
    if (st) os_featset_free(out);
    return st;
}

void os_featset_free(os_featset *f) {
    free(f->start);
    free(f->ids);
    free(f->types);
    free(f->pair_pos);
    free(f->word_start);
    free(f->first_piece);
    memset(f, 0, sizeof *f);
}
