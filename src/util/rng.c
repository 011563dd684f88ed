#include <math.h>

#include "util/rng.h"

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void os_rng_seed(os_rng *r, uint64_t seed) {
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t os_rng_next(os_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

float os_rng_uniform(os_rng *r) { return (float)(os_rng_next(r) >> 40) * (1.0f / 16777216.0f); }

uint64_t os_rng_below(os_rng *r, uint64_t n) {
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;  // reject the tail so every residue is equally likely
    uint64_t x;
    do x = os_rng_next(r); while (x >= limit);
    return x % n;
}

float os_rng_normal(os_rng *r) {
    double u1 = ((double)(os_rng_next(r) >> 11) + 1.0) * (1.0 / 9007199254740993.0);  // (0,1]
    double u2 = (double)(os_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}
