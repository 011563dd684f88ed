// Unlabeled text for distillation: raw lines (one example per line; blank lines skipped) appended to the
// training split of a task's dataset with every label missing, so they only learn from the teachers. Token
// tasks split lines on whitespace into words; relation tasks need <e1>..</e1> <e2>..</e2> markers.
#ifndef ONESTONE_DISTILL_UNLABELED_H
#define ONESTONE_DISTILL_UNLABELED_H
#include <stdio.h>

#include "train/runtime.h"

// Appends the first `limit` lines (0: all) of `file` to the training data of task i's dataset and redoes
// its features and the labels of every task on that dataset.
os_status os_distill_add_unlabeled(os_runtime *rt, int i, const char *file, long limit, FILE *log);
#endif
