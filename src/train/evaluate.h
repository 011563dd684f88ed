// Evaluation of a run's tasks on a split: one encoder pass per batch for all tasks of a dataset, then the
// task type's metrics (docs/metrics.md). Scores are fractions in [0, 1] (regression: correlations, MSE).
#ifndef ONESTONE_TRAIN_EVALUATE_H
#define ONESTONE_TRAIN_EVALUATE_H
#include <jansson.h>

#include "train/runtime.h"

// Whether `metric` is computed for task type `t`; *list (may be NULL) gets the available names.
int os_metric_available(os_task_type t, int entity_tags, const char *metric, const char **list);
// Evaluates every task of group g on split s: adds "TASK": {metric: value, ...} to `out` and stores each
// task's main metric (its config "metric") in main_scores[task index].
os_status os_evaluate_group(os_runtime *rt, int g, int split, json_t *out, double *main_scores);
// All groups: out gets one object per task.
os_status os_evaluate_all(os_runtime *rt, int split, json_t *out, double *main_scores);
#endif
