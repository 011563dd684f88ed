#include <math.h>

#include "metrics/delta_m.h"

os_status os_delta_m(const os_delta_m_term *terms, size_t n, double *percent) {
    *percent = 0.0;
    if (n == 0) return os_fail(OS_ERR_INPUT, "delta_m needs at least one metric with a single-task baseline");
    for (size_t i = 0; i < n; i++) {
        const os_delta_m_term *t = &terms[i];
        if (!isfinite(t->multi_task) || !isfinite(t->single_task) || t->single_task == 0.0)
            return os_fail(OS_ERR_INPUT,
                           "delta_m term %zu (task %d): multi-task %g vs baseline %g; the baseline "
                           "must be non-zero and both finite",
                           i, t->task, t->multi_task, t->single_task);
    }
    double sum_tasks = 0.0;
    size_t tasks = 0;
    // Tasks are few: a quadratic scan keeps the order of first appearance without any allocation.
    for (size_t i = 0; i < n; i++) {
        size_t first = 0;
        while (terms[first].task != terms[i].task) first++;
        if (first != i) continue;  // this task was averaged at its first term
        double sum = 0.0;
        size_t count = 0;
        for (size_t j = i; j < n; j++) {
            if (terms[j].task != terms[i].task) continue;
            double rel = (terms[j].multi_task - terms[j].single_task) / terms[j].single_task;
            sum += terms[j].higher_is_better ? rel : -rel;
            count++;
        }
        sum_tasks += sum / (double)count;
        tasks++;
    }
    *percent = 100.0 * sum_tasks / (double)tasks;
    return OS_OK;
}
