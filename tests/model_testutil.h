// Shared fixtures for model tests.
#ifndef ONESTONE_TEST_MODEL_TESTUTIL_H
#define ONESTONE_TEST_MODEL_TESTUTIL_H
#include "model/bert_config.h"

// A tiny encoder with odd sizes (hidden 12, 3 heads of 4, 2 layers, intermediate 20, vocab 31).
static inline os_bert_config tiny_bert_config(void) {
    os_bert_config cfg;
    os_bert_config_default(&cfg);
    cfg.vocab_size = 31;
    cfg.hidden_size = 12;
    cfg.num_hidden_layers = 2;
    cfg.num_attention_heads = 3;
    cfg.intermediate_size = 20;
    cfg.max_position_embeddings = 16;
    return cfg;
}
#endif
