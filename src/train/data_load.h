// Turns a dataset spec of the training config into train and dev datasets (docs/config.md, "datasets"):
//   {"format": "conll" | "tsv" | "csv" | "jsonl" | "semeval" | "brown",
//    "train": PATH, "dev": PATH (optional), "dev_fraction": 0.1 (when there is no dev file),
//    "stratify": FIELD (dev carving stratified by a class field; default: the first class field),
//    "train_limit": N, "dev_limit": N (a seeded random sample, for quick runs), + format options}
// Format options: conll {"word_column", "tag_columns": {FIELD: COLUMN}, "docstart"};
//   tsv/csv {"text_column", "pair_column", "label_columns": {FIELD: COLUMN | {"column", "kind"}}};
//   jsonl {"text_key", "pair_key", "words_key", "labels": {FIELD: {"key", "kind"}}};
//   semeval {"field"}; brown {"tag_field", "genre_field", "tags": "full" | "base"}.
#ifndef ONESTONE_TRAIN_DATA_LOAD_H
#define ONESTONE_TRAIN_DATA_LOAD_H
#include <jansson.h>

#include "data/dataset.h"

// Loads one dataset spec; `where` is the config path for messages ("train.json: datasets.brown").
os_status os_data_load(const json_t *spec, const char *file, const char *path, uint64_t seed, os_dataset **train,
                       os_dataset **dev);
#endif
