// Task sampling for multi-input training (one task's batch per step) over datasets of unequal size.
// Strategies (jiant / MT-DNN / T5 conventions), with n_i = training examples of task i:
//   proportional   p_i ∝ n_i
//   uniform        p_i = 1/K
//   temperature    p_i ∝ min(n_i, cap)^(1/T)      (T = 1: proportional, T -> inf: uniform; cap 0 = none)
//   fixed          p_i given in the config (normalised)
//   annealed       p_i ∝ n_i^alpha(e), alpha = 1 - 0.8 (e - 1)/(E - 1) over epochs e = 1..E
//                  (Stickland & Murray 2019): proportional at first, nearly uniform at the end
// The sampler draws from its own RNG, so its whole state (RNG words) is saved for exact resume.
#ifndef ONESTONE_TRAIN_SAMPLER_H
#define ONESTONE_TRAIN_SAMPLER_H
#include "util/error.h"
#include "util/rng.h"

#define OS_MAX_TASKS 32

// OS_SAMPLE_ALL is no sampling: every optimizer step takes one batch of every dataset (LibMTL's multi-input
// loop); the trainer handles it and the sampler is not drawn from.
typedef enum { OS_SAMPLE_PROPORTIONAL, OS_SAMPLE_UNIFORM, OS_SAMPLE_TEMPERATURE, OS_SAMPLE_FIXED, OS_SAMPLE_ANNEALED,
               OS_SAMPLE_ALL } os_sample_kind;

typedef struct {
    os_sample_kind kind;
    int n_tasks;
    double sizes[OS_MAX_TASKS];  // n_i
    double fixed[OS_MAX_TASKS];  // OS_SAMPLE_FIXED weights
    double temperature;   // OS_SAMPLE_TEMPERATURE
    double cap;           // OS_SAMPLE_TEMPERATURE size cap (0 = none)
    int total_epochs;     // OS_SAMPLE_ANNEALED: E
    os_rng rng;
} os_sampler;

// Parses "proportional", "uniform", "temperature", "fixed", "annealed", "all"; -1 when unknown.
int os_sample_kind_parse(const char *name, os_sample_kind *kind);
// Checks the configuration (sizes > 0, fixed weights >= 0 with a positive sum, temperature > 0).
os_status os_sampler_validate(const os_sampler *s, const char *where);
// The distribution at (0-based) epoch `epoch` into probs (n_tasks).
void os_sampler_probs(const os_sampler *s, int epoch, double *probs);
// Draws the task of the next step.
int os_sampler_next(os_sampler *s, int epoch);
#endif
