// BERT architecture hyper-parameters, read from and written to HF's config.json.
#ifndef ONESTONE_MODEL_BERT_CONFIG_H
#define ONESTONE_MODEL_BERT_CONFIG_H
#include <jansson.h>

#include "util/error.h"

typedef struct {
    int vocab_size;               // "vocab_size"
    int hidden_size;              // "hidden_size"
    int num_hidden_layers;        // "num_hidden_layers"
    int num_attention_heads;      // "num_attention_heads"
    int intermediate_size;        // "intermediate_size"
    int max_position_embeddings;  // "max_position_embeddings"
    int type_vocab_size;          // "type_vocab_size"
    int pad_token_id;             // "pad_token_id"
    float layer_norm_eps;         // "layer_norm_eps"
    float hidden_dropout_prob;    // "hidden_dropout_prob"
    float attention_probs_dropout_prob;  // "attention_probs_dropout_prob"
    float initializer_range;      // "initializer_range"
} os_bert_config;

// HF BertConfig defaults (bert-base-uncased shape).
void os_bert_config_default(os_bert_config *c);
// Checks ranges and divisibility (hidden % heads == 0, sizes > 0, hidden_act "gelu" handled by the parser);
// `where` names the source for the message (e.g. a file path).
os_status os_bert_config_validate(const os_bert_config *c, const char *where);

// Fills *c from a parsed config.json object: missing fields keep HF BertConfig defaults, unknown fields
// (id2label, architectures, ...) are ignored. A present field of the wrong type or out of range, a
// hidden_act other than "gelu", a position_embedding_type other than "absolute" or a model_type other than
// "bert": OS_ERR_INPUT with a one-line message starting with `where`. Validates the result.
os_status os_bert_config_from_json(os_bert_config *c, const json_t *root, const char *where);
// Reads and parses a config.json file (missing/unreadable: OS_ERR_IO; bad JSON or fields: OS_ERR_INPUT).
os_status os_bert_config_load(os_bert_config *c, const char *config_json_path);
// As os_bert_config_load, also handing back the parsed JSON object (for id2label and other fields) in
// *root_out, which the caller json_decref's; *root_out is NULL on failure.
os_status os_bert_config_load_json(os_bert_config *c, const char *config_json_path, json_t **root_out);
// A new JSON object with the HF field names, "model_type": "bert", "hidden_act": "gelu" and
// "position_embedding_type": "absolute" ("architectures" and task fields are left to the caller).
// NULL when out of memory.
json_t *os_bert_config_to_json(const os_bert_config *c);
#endif
