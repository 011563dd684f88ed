// HF tokenizer.json: reading the parts a BERT WordPiece tokenizer uses, and writing one back.
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer_internal.h"
#include "util/fileio.h"

static const char *type_of(json_t *o) {
    json_t *t = json_object_get(o, "type");
    return json_is_string(t) ? json_string_value(t) : "";
}

static int flag(json_t *o, const char *key, int dflt) {
    json_t *v = json_object_get(o, key);
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

static os_status read_model(os_tokenizer *t, json_t *model, const char *path) {
    if (!json_is_object(model) || strcmp(type_of(model), "WordPiece"))
        return os_fail(OS_ERR_INPUT, "%s: model.type '%s' is not supported (only WordPiece)", path,
                       json_is_object(model) ? type_of(model) : "missing");
    json_t *v = json_object_get(model, "continuing_subword_prefix");
    os_vocab_free(&t->vocab);
    os_status st = os_vocab_init(&t->vocab, json_is_string(v) ? json_string_value(v) : "##");
    if (st) return st;
    if ((v = json_object_get(model, "unk_token")) && json_is_string(v) &&
        (st = os_tok_set_name(&t->unk_token, json_string_value(v))))
        return st;
    if ((v = json_object_get(model, "max_input_chars_per_word")) && json_is_integer(v)) {
        json_int_t m = json_integer_value(v);
        if (m < 1 || m > 1000000) return os_fail(OS_ERR_INPUT, "%s: model.max_input_chars_per_word %lld out of range", path, (long long)m);
        t->max_chars = (int32_t)m;
    }
    json_t *vocab = json_object_get(model, "vocab");
    if (!json_is_object(vocab) || !json_object_size(vocab))
        return os_fail(OS_ERR_INPUT, "%s: model.vocab must be a non-empty object", path);
    const char *key;
    json_t *idv;
    json_object_foreach(vocab, key, idv) {
        if (!json_is_integer(idv) || json_integer_value(idv) < 0 || json_integer_value(idv) > 100000000)
            return os_fail(OS_ERR_INPUT, "%s: model.vocab['%s'] is not a valid id", path, key);
        if ((st = os_vocab_set(&t->vocab, key, strlen(key), (int32_t)json_integer_value(idv)))) return st;
    }
    return OS_OK;
}

static os_status read_normalizer(os_tokenizer *t, json_t *n, const char *path) {
    if (json_is_null(n) || !n) {  // no normaliser: text goes to the pre-tokenizer as it is
        t->norm.clean_text = t->norm.handle_chinese_chars = t->norm.lowercase = 0;
        t->strip_accents_setting = 0;
        return OS_OK;
    }
    if (strcmp(type_of(n), "BertNormalizer"))
        return os_fail(OS_ERR_INPUT, "%s: normalizer.type '%s' is not supported (only BertNormalizer)", path, type_of(n));
    t->norm.clean_text = flag(n, "clean_text", 1);
    t->norm.handle_chinese_chars = flag(n, "handle_chinese_chars", 1);
    t->norm.lowercase = flag(n, "lowercase", 1);
    t->strip_accents_setting = flag(n, "strip_accents", -1);
    return OS_OK;
}

static os_status read_added(os_tokenizer *t, json_t *arr, const char *path) {
    if (!arr || json_is_null(arr)) return OS_OK;
    if (!json_is_array(arr)) return os_fail(OS_ERR_INPUT, "%s: added_tokens must be an array", path);
    size_t i;
    json_t *a;
    json_array_foreach(arr, i, a) {
        json_t *c = json_object_get(a, "content"), *id = json_object_get(a, "id");
        if (!json_is_string(c) || !json_is_integer(id) || json_integer_value(id) < 0 ||
            json_integer_value(id) > 100000000 || !json_string_length(c))
            return os_fail(OS_ERR_INPUT, "%s: added_tokens[%zu] needs a non-empty content and a valid id", path, i);
        os_status st = os_tok_add_added(t, json_string_value(c), json_string_length(c),
                                        (int32_t)json_integer_value(id), flag(a, "special", 0));
        if (st) return st;
    }
    return OS_OK;
}

// A template special token name -> its ids, from TemplateProcessing's special_tokens map.
static os_status template_items(os_tokenizer *t, json_t *items, json_t *specials, os_tmpl_item *out, int *n,
                                const char *path, const char *which) {
    *n = 0;
    if (!json_is_array(items)) return os_fail(OS_ERR_INPUT, "%s: post_processor.%s must be an array", path, which);
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        json_t *sp = json_object_get(it, "SpecialToken"), *sq = json_object_get(it, "Sequence");
        json_t *body = sp ? sp : sq;
        json_t *name = json_object_get(body, "id");
        int type_id = (int)json_integer_value(json_object_get(body, "type_id"));
        if (!json_is_string(name)) return os_fail(OS_ERR_INPUT, "%s: post_processor.%s[%zu] is malformed", path, which, i);
        if (sq) {
            if (*n >= OS_TMPL_MAX) return os_fail(OS_ERR_INPUT, "%s: post_processor.%s too long", path, which);
            out[(*n)++] = (os_tmpl_item){strcmp(json_string_value(name), "B") ? OS_TMPL_SEQ_A : OS_TMPL_SEQ_B, -1, type_id};
            continue;
        }
        json_t *ids = json_object_get(json_object_get(specials, json_string_value(name)), "ids");
        if (!json_is_array(ids)) {  // not in the map: use the vocabulary's id for the name
            int32_t id = os_vocab_get(&t->vocab, json_string_value(name), json_string_length(name));
            if (id < 0) return os_fail(OS_ERR_INPUT, "%s: post_processor token '%s' is not in the vocabulary", path, json_string_value(name));
            ids = NULL;
            if (*n >= OS_TMPL_MAX) return os_fail(OS_ERR_INPUT, "%s: post_processor.%s too long", path, which);
            out[(*n)++] = (os_tmpl_item){OS_TMPL_SPECIAL, id, type_id};
            continue;
        }
        size_t j;
        json_t *idv;
        json_array_foreach(ids, j, idv) {
            if (*n >= OS_TMPL_MAX) return os_fail(OS_ERR_INPUT, "%s: post_processor.%s too long", path, which);
            out[(*n)++] = (os_tmpl_item){OS_TMPL_SPECIAL, (int32_t)json_integer_value(idv), type_id};
        }
    }
    return OS_OK;
}

static os_status read_post(os_tokenizer *t, json_t *p, const char *path) {
    t->has_template = 0;
    if (!p || json_is_null(p)) return OS_OK;
    const char *type = type_of(p);
    if (!strcmp(type, "TemplateProcessing")) {
        json_t *sp = json_object_get(p, "special_tokens");
        os_status st = template_items(t, json_object_get(p, "single"), sp, t->single, &t->n_single, path, "single");
        if (!st) st = template_items(t, json_object_get(p, "pair"), sp, t->pair, &t->n_pair, path, "pair");
        t->has_template = !st;
        return st;
    }
    if (!strcmp(type, "BertProcessing")) {  // {"sep": ["[SEP]", 102], "cls": ["[CLS]", 101]}
        json_t *cls = json_array_get(json_object_get(p, "cls"), 1), *sep = json_array_get(json_object_get(p, "sep"), 1);
        if (!json_is_integer(cls) || !json_is_integer(sep))
            return os_fail(OS_ERR_INPUT, "%s: post_processor BertProcessing needs cls and sep", path);
        os_tok_bert_template(t, (int32_t)json_integer_value(cls), (int32_t)json_integer_value(sep));
        return OS_OK;
    }
    return os_fail(OS_ERR_INPUT, "%s: post_processor.type '%s' is not supported", path, type);
}

os_status os_tok_read_json(os_tokenizer *t, const char *path) {
    json_error_t err;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (!root) return os_fail(strstr(err.text, "unable to open") ? OS_ERR_IO : OS_ERR_INPUT, "%s:%d: %s", path, err.line, err.text);
    os_status st = OS_OK;
    if (!json_is_object(root)) st = os_fail(OS_ERR_INPUT, "%s: expected a JSON object", path);
    json_t *pre = json_object_get(root, "pre_tokenizer");
    if (!st && (!json_is_object(pre) || strcmp(type_of(pre), "BertPreTokenizer")))
        st = os_fail(OS_ERR_INPUT, "%s: pre_tokenizer.type '%s' is not supported (only BertPreTokenizer)", path,
                     json_is_object(pre) ? type_of(pre) : "missing");
    if (!st) st = read_model(t, json_object_get(root, "model"), path);
    if (!st) st = read_normalizer(t, json_object_get(root, "normalizer"), path);
    if (!st) st = read_added(t, json_object_get(root, "added_tokens"), path);
    if (!st) st = read_post(t, json_object_get(root, "post_processor"), path);
    json_decref(root);
    return st;
}

static json_t *tmpl_json(const os_tokenizer *t, const os_tmpl_item *items, int n) {
    json_t *arr = json_array();
    for (int i = 0; i < n; i++) {
        json_t *body = json_object();
        if (items[i].kind == OS_TMPL_SPECIAL) {
            json_object_set_new(body, "id", json_string(os_vocab_token(&t->vocab, items[i].id, NULL)));
            json_object_set_new(body, "type_id", json_integer(items[i].type_id));
            json_array_append_new(arr, json_pack("{s:o}", "SpecialToken", body));
        } else {
            json_object_set_new(body, "id", json_string(items[i].kind == OS_TMPL_SEQ_A ? "A" : "B"));
            json_object_set_new(body, "type_id", json_integer(items[i].type_id));
            json_array_append_new(arr, json_pack("{s:o}", "Sequence", body));
        }
    }
    return arr;
}

static json_t *post_json(const os_tokenizer *t) {
    if (!t->has_template) return json_null();
    json_t *specials = json_object();
    for (int k = 0; k < 2; k++) {
        const os_tmpl_item *items = k ? t->pair : t->single;
        for (int i = 0; i < (k ? t->n_pair : t->n_single); i++) {
            const char *name = items[i].kind == OS_TMPL_SPECIAL ? os_vocab_token(&t->vocab, items[i].id, NULL) : NULL;
            if (!name || json_object_get(specials, name)) continue;
            json_object_set_new(specials, name, json_pack("{s:s,s:[i],s:[s]}", "id", name, "ids", (json_int_t)items[i].id,
                                                          "tokens", name));
        }
    }
    return json_pack("{s:s,s:o,s:o,s:o}", "type", "TemplateProcessing", "single", tmpl_json(t, t->single, t->n_single),
                     "pair", tmpl_json(t, t->pair, t->n_pair), "special_tokens", specials);
}

os_status os_tok_write_json(const os_tokenizer *t, const char *path) {
    for (int i = 0; i < (t->has_template ? t->n_pair : 0); i++)
        if (t->pair[i].kind == OS_TMPL_SPECIAL && !os_vocab_token(&t->vocab, t->pair[i].id, NULL))
            return os_fail(OS_ERR_INPUT, "template token id %d has no token", (int)t->pair[i].id);
    json_t *added = json_array();
    for (int32_t id = 0; id < t->vocab.n_ids; id++)  // in id order, as HF writes them
        for (int32_t i = 0; i < t->n_added; i++)
            if (t->added[i].id == id)
                json_array_append_new(added, json_pack("{s:i,s:s%,s:b,s:b,s:b,s:b,s:b}", "id", (json_int_t)id, "content",
                                                       t->added[i].text, (size_t)t->added[i].len, "single_word", 0,
                                                       "lstrip", 0, "rstrip", 0, "normalized", 0, "special",
                                                       (int)t->added[i].special));
    json_t *vocab = json_object();
    for (int32_t id = 0; id < t->vocab.n_ids; id++) {
        size_t n;
        const char *tok = os_vocab_token(&t->vocab, id, &n);
        if (tok && os_vocab_get(&t->vocab, tok, n) == id && json_object_setn_new(vocab, tok, n, json_integer(id))) {
            json_decref(vocab);
            json_decref(added);
            return os_fail(OS_ERR_INPUT, "%s: token id %d is not valid UTF-8, which JSON cannot hold", path, (int)id);
        }
    }
    json_t *strip = t->strip_accents_setting < 0 ? json_null() : json_boolean(t->strip_accents_setting);
    json_t *root = json_pack(
        "{s:s,s:n,s:n,s:o,s:{s:s,s:b,s:b,s:o,s:b},s:{s:s},s:o,s:{s:s,s:s,s:b},s:{s:s,s:s,s:s,s:i,s:o}}", "version", "1.0",
        "truncation", "padding", "added_tokens", added, "normalizer", "type", "BertNormalizer", "clean_text",
        t->norm.clean_text, "handle_chinese_chars", t->norm.handle_chinese_chars, "strip_accents", strip, "lowercase",
        t->norm.lowercase, "pre_tokenizer", "type", "BertPreTokenizer", "post_processor", post_json(t), "decoder",
        "type", "WordPiece", "prefix", t->vocab.prefix, "cleanup", 1, "model", "type", "WordPiece", "unk_token",
        t->unk_token, "continuing_subword_prefix", t->vocab.prefix, "max_input_chars_per_word", (json_int_t)t->max_chars,
        "vocab", vocab);
    if (!root) return os_fail(OS_ERR_INTERNAL, "could not build tokenizer.json (a token is not valid UTF-8?)");
    char *text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!text) return os_fail(OS_ERR_NOMEM, "out of memory writing %s", path);
    os_status st = os_write_file_atomic(path, text, strlen(text));
    free(text);
    return st;
}
