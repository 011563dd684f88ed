// Teacher outputs over every training example, computed once (teachers in inference mode) and kept on disk
// so that a distillation run, its resumption and other students reuse them. File format (docs/distill.md):
// safetensors, one F32 tensor per (student task, teacher source) named "TASK/S" of shape (rows, K): rows =
// training examples (sequence and relation tasks) or all word pieces of all training examples back to back
// (token tasks; featset order), K = the student's labels in the student's label order (raw logits; the
// temperature is applied at training time). Metadata: "onestone" = "teacher-outputs/1", "fingerprint" =
// FNV-1a of the teachers' parameters, the task binding and the tokenized training data, "checksum" =
// FNV-1a of the tensors' bytes. Loading checks all three, so a stale or damaged file is refused, never used.
#ifndef ONESTONE_DISTILL_CACHE_H
#define ONESTONE_DISTILL_CACHE_H
#include <stdio.h>

#include "distill/teachers.h"

typedef struct {
    float *data[OS_MAX_TASKS][OS_KD_MAX_TEACHERS];  // (rows[i], K) per student task i and source s
    size_t rows[OS_MAX_TASKS];
} os_kd_cache;

// The rows of task i's cache: training examples, or all training pieces for token tasks.
size_t os_kd_cache_rows(const os_runtime *rt, int i);
// Runs the teachers over every training example of the tasks that have teachers.
os_status os_kd_cache_compute(os_kd_cache *c, os_teacher_set *ts, os_runtime *rt, long batch_size, FILE *log);
// Writes c to path atomically.
os_status os_kd_cache_save(const os_kd_cache *c, const os_teacher_set *ts, const os_runtime *rt, const char *path);
// Loads path and checks it against these teachers and this data (one-line error naming the file otherwise).
os_status os_kd_cache_load(os_kd_cache *c, const os_teacher_set *ts, const os_runtime *rt, const char *path);
void os_kd_cache_free(os_kd_cache *c);
#endif
