/*
 * What the op benchmarks share: a monotonic clock, the median's sort
 * order, the --runs option and the host copy bandwidth they compare
 * memory-bound kernels against.
 */
#ifndef WEFT_BENCH_UTIL_H
#define WEFT_BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

static inline double bench_now_s(void)
{
    return weft_now_ms() / 1e3;
}

/* qsort order of doubles, for medians. */
static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Reads the only option, --runs N, into *runs: `def` when N is outside
 * [1, max]. Returns 0, or 2 (the exit status) after printing the usage of
 * `program` for anything else. */
static inline int bench_parse_runs(int argc, char **argv, const char *program, int def, int max,
                                   int *runs)
{
    *runs = def;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            *runs = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--runs N]\n", program);
            return 2;
        }
    }
    if (*runs < 1 || *runs > max)
        *runs = def;
    return 0;
}

/* The host's copy bandwidth in GB/s, read + write: the best of `repeats`
 * memcpy calls of 64 MiB. */
static inline double bench_copy_bandwidth(int repeats)
{
    size_t n = (size_t)64 << 20;
    char *a = malloc(n), *b = malloc(n);
    if (!a || !b) {
        free(a);
        free(b);
        return 0;
    }
    memset(a, 1, n);
    memset(b, 2, n);
    double best = 0;
    for (int r = 0; r < repeats; r++) {
        double t = bench_now_s();
        memcpy(b, a, n);
        t = bench_now_s() - t;
        if (2.0 * (double)n / t / 1e9 > best)
            best = 2.0 * (double)n / t / 1e9;
    }
    /* A read of the copy, so that the compiler keeps the memcpy. */
    volatile char sink = b[n / 2];
    (void)sink;
    free(a);
    free(b);
    return best;
}

#endif
