/* Wall-clock timing of runs, for the commands that report latency. */
#ifndef WEFT_CLI_TIMING_H
#define WEFT_CLI_TIMING_H

#include <stddef.h>

/* Sorts n timings ascending, for their median, min and max. */
void weft_cli_sort_ms(double *ms, size_t n);

#endif
