// Seeded, reproducible random numbers (xoshiro256**, seeded through splitmix64).
// The whole state is four words so runs can save and restore it for exact resume.
#ifndef ONESTONE_UTIL_RNG_H
#define ONESTONE_UTIL_RNG_H
#include <stdint.h>

typedef struct { uint64_t s[4]; } os_rng;

// Initialises `r` from a 64-bit seed.
void os_rng_seed(os_rng *r, uint64_t seed);
// Next raw 64-bit value.
uint64_t os_rng_next(os_rng *r);
// Uniform float in [0, 1) with 24 random bits.
float os_rng_uniform(os_rng *r);
// Uniform integer in [0, n) without modulo bias; n > 0.
uint64_t os_rng_below(os_rng *r, uint64_t n);
// Standard normal sample (Box-Muller).
float os_rng_normal(os_rng *r);
#endif
