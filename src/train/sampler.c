#include <math.h>
#include <string.h>

#include "train/sampler.h"

int os_sample_kind_parse(const char *name, os_sample_kind *kind) {
    static const struct { const char *name; os_sample_kind kind; } table[] = {
        {"proportional", OS_SAMPLE_PROPORTIONAL}, {"uniform", OS_SAMPLE_UNIFORM},
        {"temperature", OS_SAMPLE_TEMPERATURE},   {"fixed", OS_SAMPLE_FIXED},
        {"annealed", OS_SAMPLE_ANNEALED}, {"all", OS_SAMPLE_ALL},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (!strcmp(name, table[i].name)) {
            *kind = table[i].kind;
            return 0;
        }
    return -1;
}

os_status os_sampler_validate(const os_sampler *s, const char *where) {
    if (s->n_tasks < 1 || s->n_tasks > OS_MAX_TASKS)
        return os_fail(OS_ERR_INPUT, "%s: between 1 and %d tasks are supported, got %d", where, OS_MAX_TASKS, s->n_tasks);
    for (int i = 0; i < s->n_tasks; i++)
        if (!(s->sizes[i] > 0)) return os_fail(OS_ERR_INPUT, "%s: task %d has no training examples", where, i);
    if (s->kind == OS_SAMPLE_TEMPERATURE && !(s->temperature > 0))
        return os_fail(OS_ERR_INPUT, "%s: sampling.temperature must be > 0", where);
    if (s->kind == OS_SAMPLE_FIXED) {
        double sum = 0;
        for (int i = 0; i < s->n_tasks; i++) {
            if (!(s->fixed[i] >= 0)) return os_fail(OS_ERR_INPUT, "%s: sampling.probabilities must be >= 0", where);
            sum += s->fixed[i];
        }
        if (!(sum > 0)) return os_fail(OS_ERR_INPUT, "%s: sampling.probabilities must not all be 0", where);
    }
    return OS_OK;
}

void os_sampler_probs(const os_sampler *s, int epoch, double *probs) {
    double sum = 0;
    for (int i = 0; i < s->n_tasks; i++) {
        double n = s->sizes[i], w;
        switch (s->kind) {
        case OS_SAMPLE_PROPORTIONAL: w = n; break;
        case OS_SAMPLE_UNIFORM:
        case OS_SAMPLE_ALL: w = 1; break;
        case OS_SAMPLE_TEMPERATURE:
            if (s->cap > 0 && n > s->cap) n = s->cap;
            w = pow(n, 1.0 / s->temperature);
            break;
        case OS_SAMPLE_FIXED: w = s->fixed[i]; break;
        case OS_SAMPLE_ANNEALED:
        default: {
            double alpha = s->total_epochs > 1 ? 1.0 - 0.8 * (double)epoch / (double)(s->total_epochs - 1) : 1.0;
            if (alpha < 0.2) alpha = 0.2;
            w = pow(n, alpha);
        }
        }
        probs[i] = w;
        sum += w;
    }
    for (int i = 0; i < s->n_tasks; i++) probs[i] /= sum;
}

int os_sampler_next(os_sampler *s, int epoch) {
    double probs[OS_MAX_TASKS];
    os_sampler_probs(s, epoch, probs);
    double u = (double)(os_rng_next(&s->rng) >> 11) * (1.0 / 9007199254740992.0), acc = 0;
    for (int i = 0; i < s->n_tasks; i++) {
        acc += probs[i];
        if (u < acc) return i;
    }
    return s->n_tasks - 1;
}
