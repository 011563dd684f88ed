// BERT architecture hyper-parameters, read from and written to HF's config.json.
#ifndef ONESTONE_MODEL_BERT_CONFIG_H
#define ONESTONE_MODEL_BERT_CONFIG_H
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
#endif
