#include <stdlib.h>

#include "cli/timing.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

void weft_cli_sort_ms(double *ms, size_t n)
{
    qsort(ms, n, sizeof *ms, cmp_double);
}
