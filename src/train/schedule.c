#include <math.h>
#include <string.h>

#include "train/schedule.h"

int os_schedule_parse(const char *name, os_schedule_kind *kind) {
    if (!strcmp(name, "constant")) *kind = OS_SCHED_CONSTANT;
    else if (!strcmp(name, "constant_with_warmup")) *kind = OS_SCHED_CONSTANT_WARMUP;
    else if (!strcmp(name, "linear")) *kind = OS_SCHED_LINEAR;
    else if (!strcmp(name, "cosine")) *kind = OS_SCHED_COSINE;
    else return -1;
    return 0;
}

float os_schedule_factor(const os_schedule *s, long step) {
    // HF's LambdaLR schedules evaluate the lambda at the scheduler's step count, which is 0 for the first
    // optimizer update: identical indexing here.
    if (s->kind == OS_SCHED_CONSTANT) return 1.0f;
    if (step < s->warmup_steps) return (float)step / (float)(s->warmup_steps > 1 ? s->warmup_steps : 1);
    if (s->kind == OS_SCHED_CONSTANT_WARMUP) return 1.0f;
    long decay = s->total_steps - s->warmup_steps;
    if (decay <= 0) return 0.0f;
    double progress = (double)(step - s->warmup_steps) / (double)decay;
    if (progress > 1) progress = 1;
    if (s->kind == OS_SCHED_LINEAR) return (float)(1.0 - progress);
    return (float)(0.5 * (1.0 + cos(M_PI * progress)));
}
