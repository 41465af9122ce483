#include <stdlib.h>
#include <time.h>

#include "cli/timing.h"

double weft_cli_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

void weft_cli_sort_ms(double *ms, size_t n)
{
    qsort(ms, n, sizeof *ms, cmp_double);
}
