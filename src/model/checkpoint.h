// Model directories: config.json + model.safetensors (+ the tokenizer's files, written by the caller).
// The encoder's tensors keep HF's names ("bert.embeddings.…"), so the shared encoder of any onestone model
// loads unchanged in transformers' BertModel. Task metadata lives in config.json under "onestone".
// Loading also accepts plain HF directories: BertModel / BertForMaskedLM / BertForPreTraining (encoder only),
// BertForSequenceClassification and BertForTokenClassification (imported as one ready-to-run task), with or
// without the "bert." prefix and with old LayerNorm gamma/beta names.
#ifndef ONESTONE_MODEL_CHECKPOINT_H
#define ONESTONE_MODEL_CHECKPOINT_H
#include <jansson.h>

#include "model/model.h"

// Writes config.json and model.safetensors into `dir` (created if missing), each atomically. `extra` (may be
// NULL) is merged into config.json's "onestone" object (e.g. training provenance).
os_status os_model_save(const os_model *m, const char *dir, const json_t *extra);
// Loads a model directory into *m (created here). Errors name the file and the tensor or field.
os_status os_model_load(os_model *m, const char *dir);
#endif
