// BERT config.json: HF defaults, overrides, wrong types, unsupported activations, validation, round trip.
#include <unistd.h>

#include "harness.h"
#include "model/bert_config.h"
#include "util/error.h"
#include "util/fileio.h"

// Parses `text` as a config; returns the status (message in os_last_error).
static os_status parse(const char *text, os_bert_config *c) {
    json_error_t err;
    json_t *root = json_loads(text, 0, &err);
    if (!root) {
        fprintf(stderr, "test JSON does not parse: %s: %s\n", text, err.text);
        return OS_ERR_INTERNAL;
    }
    os_status rc = os_bert_config_from_json(c, root, "config.json");
    json_decref(root);
    return rc;
}

static void test_defaults(void) {
    os_bert_config d, c;
    os_bert_config_default(&d);
    CHECK(d.vocab_size == 30522 && d.hidden_size == 768 && d.num_hidden_layers == 12 &&
          d.num_attention_heads == 12 && d.intermediate_size == 3072 && d.max_position_embeddings == 512 &&
          d.type_vocab_size == 2 && d.pad_token_id == 0);
    CHECK(d.layer_norm_eps == 1e-12f && d.hidden_dropout_prob == 0.1f && d.attention_probs_dropout_prob == 0.1f &&
          d.initializer_range == 0.02f);
    CHECK(os_bert_config_validate(&d, "defaults") == OS_OK);
    // An empty object (and one with only unrelated fields) gives the defaults.
    CHECK(parse("{}", &c) == OS_OK && !memcmp(&c, &d, sizeof c));
    CHECK(parse("{\"architectures\": [\"BertForMaskedLM\"], \"id2label\": {\"0\": \"A\"}, \"torch_dtype\": "
                "\"float32\", \"transformers_version\": \"4.30.0\", \"use_cache\": true}", &c) == OS_OK);
    CHECK(!memcmp(&c, &d, sizeof c));
}

static void test_overrides(void) {
    os_bert_config c;
    const char *tiny =
        "{\"model_type\": \"bert\", \"vocab_size\": 1000, \"hidden_size\": 64, \"num_hidden_layers\": 2, "
        "\"num_attention_heads\": 4, \"intermediate_size\": 128, \"max_position_embeddings\": 128, "
        "\"type_vocab_size\": 1, \"pad_token_id\": 3, \"layer_norm_eps\": 1e-5, \"hidden_dropout_prob\": 0, "
        "\"attention_probs_dropout_prob\": 0.25, \"initializer_range\": 0.5, \"hidden_act\": \"gelu\", "
        "\"position_embedding_type\": \"absolute\"}";
    CHECK_MSG(parse(tiny, &c) == OS_OK, "%s", os_last_error());
    CHECK(c.vocab_size == 1000 && c.hidden_size == 64 && c.num_hidden_layers == 2 && c.num_attention_heads == 4 &&
          c.intermediate_size == 128 && c.max_position_embeddings == 128 && c.type_vocab_size == 1 &&
          c.pad_token_id == 3);
    CHECK(c.layer_norm_eps == 1e-5f && c.hidden_dropout_prob == 0.0f && c.attention_probs_dropout_prob == 0.25f &&
          c.initializer_range == 0.5f);
    // A partial override keeps the other defaults.
    CHECK(parse("{\"num_hidden_layers\": 6}", &c) == OS_OK);
    CHECK(c.num_hidden_layers == 6 && c.hidden_size == 768 && c.vocab_size == 30522);
}

typedef struct {
    const char *json;
    const char *needle;  // must appear in the message
} bad_case;

static void test_bad_configs(void) {
    static const bad_case cases[] = {
        {"{\"hidden_size\": \"abc\"}", "config.json: field 'hidden_size' must be a positive integer, got \"abc\""},
        {"{\"hidden_size\": 768.0}", "'hidden_size' must be a positive integer, got 768.0"},
        {"{\"hidden_size\": 0}", "'hidden_size'"},
        {"{\"hidden_size\": -768}", "'hidden_size'"},
        {"{\"hidden_size\": 4294967296}", "'hidden_size'"},
        {"{\"hidden_size\": null}", "'hidden_size'"},
        {"{\"vocab_size\": true}", "'vocab_size' must be a positive integer, got true"},
        {"{\"num_hidden_layers\": [12]}", "'num_hidden_layers'"},
        {"{\"num_attention_heads\": {}}", "'num_attention_heads'"},
        {"{\"intermediate_size\": 1.5}", "'intermediate_size'"},
        {"{\"max_position_embeddings\": 0}", "'max_position_embeddings'"},
        {"{\"type_vocab_size\": \"2\"}", "'type_vocab_size'"},
        {"{\"pad_token_id\": -1}", "'pad_token_id' must be a non-negative integer"},
        {"{\"pad_token_id\": null}", "'pad_token_id'"},
        {"{\"pad_token_id\": 30522}", "pad_token_id 30522 is outside the vocabulary"},
        {"{\"layer_norm_eps\": \"1e-12\"}", "'layer_norm_eps' must be a positive number"},
        {"{\"layer_norm_eps\": 0}", "'layer_norm_eps'"},
        {"{\"layer_norm_eps\": 1e-50}", "'layer_norm_eps'"},  // zero in float32
        {"{\"layer_norm_eps\": 1e300}", "'layer_norm_eps'"},  // beyond float32
        {"{\"hidden_dropout_prob\": 1}", "'hidden_dropout_prob' must be a number in [0, 1)"},
        {"{\"attention_probs_dropout_prob\": -0.1}", "'attention_probs_dropout_prob'"},
        {"{\"initializer_range\": -0.02}", "'initializer_range'"},
        {"{\"hidden_act\": \"gelu_new\"}", "field 'hidden_act' is \"gelu_new\"; only \"gelu\" is supported"},
        {"{\"hidden_act\": \"relu\"}", "\"relu\""},
        {"{\"hidden_act\": \"GELU\"}", "\"GELU\""},
        {"{\"hidden_act\": 1}", "'hidden_act'"},
        {"{\"position_embedding_type\": \"relative_key\"}", "only \"absolute\" is supported"},
        {"{\"model_type\": \"roberta\"}", "'model_type'"},
        {"{\"hidden_size\": 100}", "hidden_size 100 is not divisible by num_attention_heads 12"},
        {"{\"hidden_size\": 64, \"num_attention_heads\": 48}", "not divisible"},
        {"{\"vocab_size\": 2000000000}", "exceeds"},
        {"[1, 2]", "config.json: config must be a JSON object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        os_bert_config c;
        os_clear_error();
        os_status rc = parse(cases[i].json, &c);
        CHECK_MSG(rc == OS_ERR_INPUT, "%s: status %d", cases[i].json, rc);
        CHECK_MSG(strstr(os_last_error(), cases[i].needle) != NULL, "%s: message '%s' lacks '%s'", cases[i].json,
                  os_last_error(), cases[i].needle);
        CHECK_MSG(!strncmp(os_last_error(), "config.json: ", 13), "%s", os_last_error());
    }
}

static void test_validate(void) {
    os_bert_config c;
    os_bert_config_default(&c);
    c.num_attention_heads = 7;
    CHECK(os_bert_config_validate(&c, "model config") == OS_ERR_INPUT);
    CHECK(strstr(os_last_error(), "model config: hidden_size 768 is not divisible") != NULL);
    os_bert_config_default(&c);
    c.num_hidden_layers = 0;
    CHECK(os_bert_config_validate(&c, "x") == OS_ERR_INPUT && strstr(os_last_error(), "num_hidden_layers"));
    os_bert_config_default(&c);
    c.hidden_dropout_prob = NAN;
    CHECK(os_bert_config_validate(&c, "x") == OS_ERR_INPUT && strstr(os_last_error(), "hidden_dropout_prob"));
    os_bert_config_default(&c);
    c.layer_norm_eps = 0;
    CHECK(os_bert_config_validate(&c, "x") == OS_ERR_INPUT);
}

static void test_json_round_trip_and_files(void) {
    os_bert_config c, back;
    os_bert_config_default(&c);
    c.hidden_size = 128;
    c.num_attention_heads = 2;
    c.layer_norm_eps = 1e-7f;
    c.hidden_dropout_prob = 0.3f;
    json_t *j = os_bert_config_to_json(&c);
    CHECK(j != NULL);
    CHECK(!strcmp(json_string_value(json_object_get(j, "model_type")), "bert"));
    CHECK(!strcmp(json_string_value(json_object_get(j, "hidden_act")), "gelu"));
    CHECK(!strcmp(json_string_value(json_object_get(j, "position_embedding_type")), "absolute"));
    CHECK(json_integer_value(json_object_get(j, "hidden_size")) == 128);
    // Floats are written as their shortest decimal (0.3, not 0.30000001192...).
    CHECK(json_real_value(json_object_get(j, "hidden_dropout_prob")) == 0.3);
    CHECK(json_real_value(json_object_get(j, "layer_norm_eps")) == 1e-7);
    CHECK(os_bert_config_from_json(&back, j, "roundtrip") == OS_OK && !memcmp(&c, &back, sizeof c));

    char path[512];
    CHECK(os_mkdirs(th_tmpdir()) == OS_OK);
    snprintf(path, sizeof path, "%s/config_%d.json", th_tmpdir(), (int)getpid());
    char *text = json_dumps(j, JSON_INDENT(2));
    CHECK(os_write_file_atomic(path, text, strlen(text)) == OS_OK);
    free(text);
    json_decref(j);
    json_t *root = NULL;
    CHECK(os_bert_config_load_json(&back, path, &root) == OS_OK && !memcmp(&c, &back, sizeof c));
    CHECK(root && json_is_object(root) && json_object_get(root, "hidden_size"));
    json_decref(root);
    memset(&back, 0, sizeof back);
    CHECK(os_bert_config_load(&back, path) == OS_OK && !memcmp(&c, &back, sizeof c));

    // Bad JSON: names the file, line and column; a failed load hands back no root.
    CHECK(os_write_file_atomic(path, "{\n  \"hidden_size\": 64,\n  oops\n}", 31) == OS_OK);
    root = (json_t *)&c;  // must be reset
    CHECK(os_bert_config_load_json(&back, path, &root) == OS_ERR_INPUT && root == NULL);
    CHECK_MSG(strstr(os_last_error(), path) && strstr(os_last_error(), ":3:"), "%s", os_last_error());
    // A bad field names the file.
    CHECK(os_write_file_atomic(path, "{\"hidden_size\": \"abc\"}", 22) == OS_OK);
    CHECK(os_bert_config_load(&back, path) == OS_ERR_INPUT);
    CHECK_MSG(strstr(os_last_error(), path) && strstr(os_last_error(), "'hidden_size'"), "%s", os_last_error());
    // Duplicate keys are ambiguous and rejected.
    CHECK(os_write_file_atomic(path, "{\"hidden_size\": 64, \"hidden_size\": 128}", 39) == OS_OK);
    CHECK(os_bert_config_load(&back, path) == OS_ERR_INPUT);
    unlink(path);
    CHECK(os_bert_config_load(&back, path) == OS_ERR_IO && strstr(os_last_error(), path));
}

int main(void) {
    RUN(test_defaults);
    RUN(test_overrides);
    RUN(test_bad_configs);
    RUN(test_validate);
    RUN(test_json_round_trip_and_files);
    return th_finish();
}
