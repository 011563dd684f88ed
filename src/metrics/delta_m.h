// Delta_m, the multi-task model's mean relative gain over single-task baselines (LibMTL's definition):
//   Delta_m = 100% * (1/T) * sum_t (1/N_t) * sum_i (-1)^{s_ti} (M_m,ti - M_b,ti) / M_b,ti
// over T tasks with N_t metrics each, s_ti = 1 when lower is better. The metrics of one task are averaged
// first, so a task reporting three figures weighs as much as a task reporting one; with one metric per task
// this is the plain mean over all metrics (Maninis et al., 2019).
#ifndef ONESTONE_METRICS_DELTA_M_H
#define ONESTONE_METRICS_DELTA_M_H
#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

typedef struct {
    int task;               // task identifier: entries with equal ids are one task's metrics
    double multi_task;      // M_m: the metric of the jointly trained model
    double single_task;     // M_b: the same metric of the single-task baseline (non-zero)
    bool higher_is_better;  // false for losses and errors (s = 1)
} os_delta_m_term;

// Delta_m in percent over n >= 1 terms; OS_ERR_INPUT on a zero or non-finite baseline or value.
os_status os_delta_m(const os_delta_m_term *terms, size_t n, double *percent);
#endif
