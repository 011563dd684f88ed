// The teachers of a distillation run: trained model directories loaded once, bound to the student's tasks.
// A student task takes soft targets from every teacher that has a task of the same name (or the name the
// config maps it to): one teacher per task (MT-DNN-KD: several single-task teachers, one multi-task
// student) or several (an ensemble: their probabilities are averaged). Teachers must read the student's
// token ids: the same vocabulary, checked token by token.
#ifndef ONESTONE_DISTILL_TEACHERS_H
#define ONESTONE_DISTILL_TEACHERS_H
#include "distill/distill_config.h"
#include "train/runtime.h"

#define OS_KD_MAX_TEACHERS 8

typedef struct {  // one teacher head feeding one student task
    int teacher;  // index into the set
    int head;     // head of that teacher's model
    int *perm;    // (K) the teacher's label index of each student label; NULL for regression
} os_kd_source;

typedef struct {
    int n_teachers;
    os_model models[OS_KD_MAX_TEACHERS];
    char *dirs[OS_KD_MAX_TEACHERS];
    uint64_t param_hash[OS_KD_MAX_TEACHERS];  // FNV-1a of each teacher's parameters (cache fingerprint)
    int n_src[OS_MAX_TASKS];                  // per student task (0: no teacher; alpha 1)
    os_kd_source src[OS_MAX_TASKS][OS_KD_MAX_TEACHERS];
    uint8_t *active[OS_KD_MAX_TEACHERS];      // per teacher: heads some student task reads
} os_teacher_set;

// Loads the teachers of d and binds them to rt's tasks (those with alpha < 1 must find one). Errors name
// the teacher directory and the mismatch (task level, label set, vocabulary, sequence length).
os_status os_teachers_load(os_teacher_set *ts, const os_distill_config *d, const os_runtime *rt);
void os_teachers_free(os_teacher_set *ts);
// Runs teacher k (inference mode) on one batch; afterwards os_teacher_logits reads its heads.
os_status os_teacher_forward(os_teacher_set *ts, int k, const os_batch_input *in);
// Copies source s of student task i's logits for `rows` rows (B, or B*T for token tasks) into dst, in the
// student's label order (K = the student head's num_labels).
void os_teacher_logits(const os_teacher_set *ts, int i, int s, int rows, int K, float *dst);

// FNV-1a, 64 bit, continued from h (start with OS_FNV_OFFSET).
#define OS_FNV_OFFSET 0xcbf29ce484222325ULL
uint64_t os_fnv1a(uint64_t h, const void *data, size_t n);
#endif
