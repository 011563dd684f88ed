// Carving a dev set out of training data, and small slices for quick runs (docs/data.md).
// Everything here is deterministic for a given seed and input order, and random rather than positional:
// dev sets are never "the last N lines" (files are often sorted by source or label).
#ifndef ONESTONE_DATA_SPLIT_H
#define ONESTONE_DATA_SPLIT_H
#include <stddef.h>
#include <stdint.h>

#include "data/dataset.h"

typedef struct {
    double dev_fraction;         // share of examples for dev, in (0, 1), e.g. 0.1
    uint64_t seed;               // os_rng seed
    const char *stratify_field;  // a CLASS field to stratify by; NULL: a plain random split
} os_split_opts;

// Picks the dev examples: round(dev_fraction * n) of them, at least 1, and at least 1 left for train
// (needs n >= 2). Stratified: every class (and the examples with a MISSING label, as one more group) gives
// floor(fraction * its count) examples, the remainder goes to the classes with the largest fractional
// parts (ties: label order), and no class gives its last example to dev, so every class that is in dev is
// in train too (with only single-example classes, dev can come out smaller than asked, even empty).
// Both index lists come back sorted ascending (malloc'd; the caller frees them).
os_status os_split_indices(const os_dataset *ds, const os_split_opts *o, size_t **train_idx, size_t *n_train,
                           size_t **dev_idx, size_t *n_dev);
// The same, as two new datasets (copies, in file order).
os_status os_dataset_split(const os_dataset *ds, const os_split_opts *o, os_dataset **train, os_dataset **dev);

// Dev from whole texts only, for phrase-level data such as SST-2 (src/data/split_whole.c): dev is drawn (as
// os_split_indices would, on those texts) among the texts that are not a word span of another text, and
// train is every text that is not a word span of a dev text. Needs plain single-text examples.
os_status os_split_whole_texts(const os_dataset *ds, const os_split_opts *o, size_t **train_idx, size_t *n_train,
                               size_t **dev_idx, size_t *n_dev);

// The first n examples (all of them when n >= ds->n), as a new dataset.
os_status os_dataset_head(const os_dataset *ds, size_t n, os_dataset **out);
// n examples drawn at random without replacement (all when n >= ds->n), kept in file order.
os_status os_dataset_sample(const os_dataset *ds, size_t n, uint64_t seed, os_dataset **out);
#endif
