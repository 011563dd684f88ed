// The "distill" section of a distillation config (docs/distill.md): the teachers, the temperature T and the
// mix alpha of every student task, where teacher outputs are kept, and unlabeled text per task. The rest of
// the config is an ordinary training config for the student (docs/config.md).
#ifndef ONESTONE_DISTILL_DISTILL_CONFIG_H
#define ONESTONE_DISTILL_DISTILL_CONFIG_H
#include "train/train_config.h"

#define OS_KD_MAX_PAIRS 32

typedef struct {
    char *model;                       // teacher model directory
    int n_map;                         // explicit student-task -> teacher-task names (default: same name)
    char *map_student[OS_MAX_TASKS], *map_teacher[OS_MAX_TASKS];
} os_teacher_cfg;

typedef struct {
    os_teacher_cfg *teachers;
    int n_teachers;
    double temperature[OS_MAX_TASKS];  // per student task (train config order)
    double alpha[OS_MAX_TASKS];        // weight of the hard-label loss; 1 - alpha goes to the teacher
    char *cache;                       // teacher-output cache file; NULL: teachers run online on every batch
    int cache_in_run;                  // cache is RUN_DIR/teacher_outputs.safetensors (cache "run")
    char *unlabeled[OS_MAX_TASKS];     // per student task: a file of raw text lines, or NULL
    long unlabeled_limit[OS_MAX_TASKS];
    long teacher_batch_size;           // batch size of the teacher passes that fill the cache
    // Intermediate layers (TinyBERT): (student, teacher) pairs of hidden-state indices (0 = embeddings
    // output, l = layer l's output) and of attention layers (1-based); one teacher (index), run online.
    int layer_teacher;
    int n_hidden_pairs, hidden_pairs[OS_KD_MAX_PAIRS][2];
    int n_attention_pairs, attention_pairs[OS_KD_MAX_PAIRS][2];
    double hidden_weight, attention_weight;
} os_distill_config;

// Reads c->root's "distill" object (required) against the student config c; writes resolved defaults back.
os_status os_distill_config_parse(os_distill_config *d, const os_train_config *c);
void os_distill_config_free(os_distill_config *d);
// True when some task takes anything from the teachers (alpha < 1).
int os_distill_uses_teachers(const os_distill_config *d, int n_tasks);
#endif
