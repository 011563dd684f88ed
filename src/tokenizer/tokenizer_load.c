// Building a tokenizer: from vocab.txt, tokenizer.json or a model directory; lookups; added tokens; saving.
#include <jansson.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tokenizer/tokenizer_internal.h"
#include "util/fileio.h"

os_tokenizer_options os_tokenizer_options_default(void) {
    os_tokenizer_options o = {-1, -1, -1, -1};
    return o;
}

os_status os_tok_set_name(char **field, const char *name) {
    char *c = strdup(name);
    if (!c) return os_fail(OS_ERR_NOMEM, "out of memory");
    free(*field);
    *field = c;
    return OS_OK;
}

void os_tok_touch(os_tokenizer *t) {
    static atomic_uint_fast64_t next = 1;
    t->version = (uint64_t)atomic_fetch_add(&next, 1);
}

os_status os_tok_new(os_tokenizer **out) {
    os_tokenizer *t = os_calloc(1, sizeof *t);
    if (!t) return OS_ERR_NOMEM;
    *out = t;
    t->norm.clean_text = 1;
    t->norm.handle_chinese_chars = 1;
    t->norm.lowercase = 1;
    t->strip_accents_setting = -1;
    t->max_chars = 100;
    t->unk_id = -1;
    os_status st = os_vocab_init(&t->vocab, "##");
    if (!st) st = os_tok_set_name(&t->unk_token, "[UNK]");
    if (!st) st = os_tok_set_name(&t->cls_token, "[CLS]");
    if (!st) st = os_tok_set_name(&t->sep_token, "[SEP]");
    if (!st) st = os_tok_set_name(&t->pad_token, "[PAD]");
    if (!st) st = os_tok_set_name(&t->mask_token, "[MASK]");
    return st;
}

void os_tokenizer_free(os_tokenizer *t) {
    if (!t) return;
    os_vocab_free(&t->vocab);
    for (int32_t i = 0; i < t->n_added; i++) free(t->added[i].text);
    free(t->added);
    free(t->unk_token);
    free(t->cls_token);
    free(t->sep_token);
    free(t->pad_token);
    free(t->mask_token);
    free(t);
}

int os_tok_strip_accents(const os_tokenizer *t) {
    return t->strip_accents_setting < 0 ? t->norm.lowercase : t->strip_accents_setting;
}

os_status os_tok_add_added(os_tokenizer *t, const char *text, size_t len, int32_t id, int special) {
    if (!len) return os_fail(OS_ERR_INPUT, "an added token cannot be empty");
    for (int32_t i = 0; i < t->n_added; i++) {
        os_added_token *a = &t->added[i];
        if (a->len == len && !memcmp(a->text, text, len)) {
            a->id = id;  // the same content registered again: the later entry wins, as in HF
            a->special |= (uint8_t)special;
            os_tok_touch(t);
            return os_vocab_set(&t->vocab, text, len, id);
        }
    }
    if (t->n_added == t->cap_added) {
        int32_t cap = t->cap_added ? t->cap_added * 2 : 16;
        os_added_token *a = realloc(t->added, sizeof *a * (size_t)cap);
        if (!a) return os_fail(OS_ERR_NOMEM, "out of memory for added tokens");
        t->added = a;
        t->cap_added = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy) return os_fail(OS_ERR_NOMEM, "out of memory for added tokens");
    memcpy(copy, text, len);
    copy[len] = 0;
    int32_t at = t->n_added;
    while (at > 0 && t->added[at - 1].len < len) at--;  // longest first; equal lengths keep insertion order
    memmove(t->added + at + 1, t->added + at, sizeof *t->added * (size_t)(t->n_added - at));
    t->added[at] = (os_added_token){copy, (uint32_t)len, id, (uint8_t)special};
    t->n_added++;
    t->added_first[(uint8_t)text[0]] = 1;
    os_tok_touch(t);
    // transformers.js also puts added tokens into the WordPiece vocabulary, so they can be pieces too
    return os_vocab_set(&t->vocab, text, len, id);
}

static int32_t id_of(const os_tokenizer *t, const char *name) {
    return name ? os_vocab_get(&t->vocab, name, strlen(name)) : -1;
}

void os_tok_bert_template(os_tokenizer *t, int32_t cls, int32_t sep) {
    t->has_template = 1;
    t->n_single = 3;
    t->single[0] = (os_tmpl_item){OS_TMPL_SPECIAL, cls, 0};
    t->single[1] = (os_tmpl_item){OS_TMPL_SEQ_A, -1, 0};
    t->single[2] = (os_tmpl_item){OS_TMPL_SPECIAL, sep, 0};
    t->n_pair = 5;
    memcpy(t->pair, t->single, sizeof t->single[0] * 3);
    t->pair[3] = (os_tmpl_item){OS_TMPL_SEQ_B, -1, 1};
    t->pair[4] = (os_tmpl_item){OS_TMPL_SPECIAL, sep, 1};
}

os_status os_tok_finish(os_tokenizer *t, int use_default_template) {
    os_tok_touch(t);
    t->norm.strip_accents = os_tok_strip_accents(t);
    os_normalizer_prepare(&t->norm);
    t->unk_id = id_of(t, t->unk_token);
    if (t->unk_id < 0)
        return os_fail(OS_ERR_INPUT, "the vocabulary has no unknown token '%s'", t->unk_token);
    if (use_default_template) {
        int32_t cls = id_of(t, t->cls_token), sep = id_of(t, t->sep_token);
        t->has_template = cls >= 0 && sep >= 0;
        if (t->has_template) os_tok_bert_template(t, cls, sep);
    }
    return OS_OK;
}

// vocab.txt as HF BertTokenizer reads it: the five special tokens present are never split.
static os_status load_vocab_txt(os_tokenizer *t, const char *path) {
    os_status st = os_vocab_load_txt(&t->vocab, path);
    const char *names[5] = {t->pad_token, t->unk_token, t->cls_token, t->sep_token, t->mask_token};
    for (int k = 0; k < 5 && !st; k++) {
        int32_t id = id_of(t, names[k]);
        if (id >= 0) st = os_tok_add_added(t, names[k], strlen(names[k]), id, 1);
    }
    return st;
}

// tokenizer_config.json: the flags and token names HF's Python classes take from it (all optional).
static os_status read_config(os_tokenizer *t, const char *path) {
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    if (!root) return os_fail(OS_ERR_INPUT, "%s:%d: %s", path, err.line, err.text);
    if (!json_is_object(root)) {
        json_decref(root);
        return os_fail(OS_ERR_INPUT, "%s: expected a JSON object", path);
    }
    json_t *v;
    if ((v = json_object_get(root, "do_lower_case")) && json_is_boolean(v)) t->norm.lowercase = json_is_true(v);
    if ((v = json_object_get(root, "strip_accents"))) {
        if (json_is_boolean(v)) t->strip_accents_setting = json_is_true(v);
        else if (json_is_null(v)) t->strip_accents_setting = -1;
    }
    if ((v = json_object_get(root, "tokenize_chinese_chars")) && json_is_boolean(v))
        t->norm.handle_chinese_chars = json_is_true(v);
    static const char *keys[5] = {"unk_token", "cls_token", "sep_token", "pad_token", "mask_token"};
    char **fields[5] = {&t->unk_token, &t->cls_token, &t->sep_token, &t->pad_token, &t->mask_token};
    os_status st = OS_OK;
    for (int k = 0; k < 5 && !st; k++) {
        v = json_object_get(root, keys[k]);
        if (json_is_object(v)) v = json_object_get(v, "content");  // the AddedToken form
        if (json_is_string(v)) st = os_tok_set_name(fields[k], json_string_value(v));
    }
    json_decref(root);
    return st;
}

static int is_dir(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

static os_status load_path(os_tokenizer *t, const char *path, int *from_json) {
    char *json = NULL, *vocab = NULL, *config = NULL;
    os_status st = OS_OK;
    if (is_dir(path)) {
        json = os_path_join(path, "tokenizer.json");
        vocab = os_path_join(path, "vocab.txt");
        config = os_path_join(path, "tokenizer_config.json");
        if (!json || !vocab || !config) st = os_fail(OS_ERR_NOMEM, "out of memory");
        if (!st && os_path_exists(config)) st = read_config(t, config);  // before: names matter for vocab.txt
        if (!st) {
            if (os_path_exists(json)) {
                st = os_tok_read_json(t, json);
                *from_json = 1;
                if (!st && os_path_exists(config)) st = read_config(t, config);  // config flags override, as in HF
            } else if (os_path_exists(vocab)) {
                st = load_vocab_txt(t, vocab);
            } else {
                st = os_fail(OS_ERR_IO, "%s: neither tokenizer.json nor vocab.txt found", path);
            }
        }
    } else if (ends_with(path, ".json")) {
        st = os_tok_read_json(t, path);
        *from_json = 1;
    } else {
        st = load_vocab_txt(t, path);
    }
    free(json);
    free(vocab);
    free(config);
    return st;
}

os_status os_tokenizer_load(const char *path, const os_tokenizer_options *opts, os_tokenizer **out) {
    *out = NULL;
    os_tokenizer *t;
    os_status st = os_tok_new(&t);
    int from_json = 0;
    if (!st) st = load_path(t, path, &from_json);
    if (!st && opts) {
        if (opts->lowercase >= 0) t->norm.lowercase = opts->lowercase;
        if (opts->strip_accents >= 0) t->strip_accents_setting = opts->strip_accents;
        if (opts->tokenize_chinese_chars >= 0) t->norm.handle_chinese_chars = opts->tokenize_chinese_chars;
        if (opts->clean_text >= 0) t->norm.clean_text = opts->clean_text;
    }
    if (!st) st = os_tok_finish(t, !from_json);
    if (st) {
        os_tokenizer_free(t);
        return st;
    }
    *out = t;
    return OS_OK;
}

int32_t os_tokenizer_vocab_size(const os_tokenizer *t) { return t->vocab.n_ids; }

int32_t os_tokenizer_token_to_id(const os_tokenizer *t, const char *token) { return id_of(t, token); }

const char *os_tokenizer_id_to_token(const os_tokenizer *t, int32_t id) { return os_vocab_token(&t->vocab, id, NULL); }

os_special_ids os_tokenizer_special_ids(const os_tokenizer *t) {
    os_special_ids s = {id_of(t, t->cls_token), id_of(t, t->sep_token), id_of(t, t->pad_token),
                        id_of(t, t->mask_token), t->unk_id};
    return s;
}

os_status os_tokenizer_add_special_token(os_tokenizer *t, const char *token, int32_t *id) {
    size_t n = strlen(token);
    int32_t at = os_vocab_get(&t->vocab, token, n);
    if (at < 0) at = t->vocab.n_ids;
    os_status st = os_tok_add_added(t, token, n, at, 1);
    if (!st && id) *id = at;
    return st;
}

os_status os_tokenizer_save_vocab(const os_tokenizer *t, const char *path) {
    return os_vocab_save_txt(&t->vocab, path);
}

os_status os_tokenizer_save(const os_tokenizer *t, const char *dir) {
    os_status st = os_mkdirs(dir);
    char *vocab = os_path_join(dir, "vocab.txt"), *json = os_path_join(dir, "tokenizer.json");
    if (!st && (!vocab || !json)) st = os_fail(OS_ERR_NOMEM, "out of memory");
    if (!st) st = os_vocab_save_txt(&t->vocab, vocab);
    if (!st) st = os_tok_write_json(t, json);
    free(vocab);
    free(json);
    return st;
}
