// Learning-rate schedules: the multiplier applied to the base learning rate at optimizer step `step`
// (0-based: the first update uses step 0), HF transformers' definitions:
//   constant              1
//   constant_with_warmup  step/warmup during warmup, then 1
//   linear                warmup, then linear decay to 0 at total_steps
//   cosine                warmup, then 0.5*(1+cos(pi*progress)) down to 0 at total_steps
#ifndef ONESTONE_TRAIN_SCHEDULE_H
#define ONESTONE_TRAIN_SCHEDULE_H

typedef enum { OS_SCHED_CONSTANT, OS_SCHED_CONSTANT_WARMUP, OS_SCHED_LINEAR, OS_SCHED_COSINE } os_schedule_kind;

typedef struct {
    os_schedule_kind kind;
    long warmup_steps;
    long total_steps;
} os_schedule;

// Parses "constant", "constant_with_warmup", "linear", "cosine"; -1 when unknown.
int os_schedule_parse(const char *name, os_schedule_kind *kind);
// Multiplier for optimizer step `step` (0-based).
float os_schedule_factor(const os_schedule *s, long step);
#endif
