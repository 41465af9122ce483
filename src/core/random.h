/* A small deterministic generator (SplitMix64) for test data and checks. */
#ifndef WEFT_CORE_RANDOM_H
#define WEFT_CORE_RANDOM_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t weft_random_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi). */
static inline float weft_random_uniform(uint64_t *state, float lo, float hi)
{
    return lo + (hi - lo) * (float)((weft_random_next(state) >> 40) * (1.0 / 16777216.0));
}

static inline void weft_random_fill(uint64_t *state, float *x, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = weft_random_uniform(state, lo, hi);
}

#endif
