// A task's label vocabulary (from its training split) and its labels aligned to a featurized split.
// Token tasks whose data uses IOB1 (CoNLL-2003) are trained and evaluated in BIO: the conversion keeps
// every entity exactly (metrics/tag_scheme.h), and BIO gives every entity an explicit start for the model.
#ifndef ONESTONE_TASKS_TASK_LABELS_H
#define ONESTONE_TASKS_TASK_LABELS_H
#include "data/dataset.h"
#include "tasks/features.h"
#include "train/train_config.h"

typedef struct {
    int num_labels;
    char **names;      // (num_labels) owned, sorted (classes) / as collected (tags, sorted)
    int entity_tags;   // token task whose tags encode entities (scheme iob1/bio/bioes): entity-level F1
    int convert_iob1;  // data in IOB1, converted to BIO
    int unsorted;      // names in a given order (a trained model's), looked up linearly
} os_label_vocab;

typedef struct {
    int32_t *cls;     // (n) class id, OS_IGNORE_LABEL when missing (classification, relation)
    float *vals;      // (n * num_labels) targets, NaN in a row's first value when missing (multi-label, regression)
    int32_t *piece;   // (pieces) per-piece label, OS_IGNORE_LABEL off first pieces (token tasks)
    int32_t *word;    // (words) gold label per word, OS_IGNORE_LABEL when missing (token tasks, for evaluation)
    size_t n_labeled; // examples with a label for this task
    size_t n_unknown; // label occurrences not in the vocabulary (masked out)
    const char *first_unknown;  // first such label (owned by the dataset), for the warning
    const char *first_unknown_file;
    size_t first_unknown_line;
} os_task_labels;

// Builds the vocabulary of task `t` from field `field` of its training data; with `fixed` (n_fixed names, may
// be NULL), the vocabulary is exactly those names in that order (a trained model's labels).
os_status os_label_vocab_build(os_label_vocab *v, const os_task_cfg *t, const os_dataset *train, int field,
                               const char *const *fixed, int n_fixed);
void os_label_vocab_free(os_label_vocab *v);
// Index of `name` in the vocabulary, or -1.
int os_label_vocab_find(const os_label_vocab *v, const char *name);

// Aligns task `t`'s labels of `ds` (field `field`) with its features; unknown labels are masked and counted.
os_status os_task_labels_build(os_task_labels *out, const os_task_cfg *t, const os_label_vocab *v,
                               const os_dataset *ds, int field, const os_featset *f);
void os_task_labels_free(os_task_labels *l);
#endif
