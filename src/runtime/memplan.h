/*
 * Memory plan: offsets in one arena for tensors with known lifetimes, so
 * that tensors alive at the same time never overlap. Greedy by size:
 * largest first, each into the smallest gap (best fit) left among the
 * already placed tensors whose lifetimes overlap its own, else above them.
 * Pure: no OpenCL.
 */
#ifndef WEFT_RUNTIME_MEMPLAN_H
#define WEFT_RUNTIME_MEMPLAN_H

#include <stddef.h>
#include <stdint.h>

#include "weft.h"

typedef struct weft_mem_request {
    uint64_t bytes;
    int first, last; /* steps, inclusive: alive from first to last */
} weft_mem_request;

/* offsets[i] for each request, multiples of `alignment` (a power of two);
 * *total is the arena size. */
weft_status weft_memplan(const weft_mem_request *req, size_t count, uint64_t alignment,
                         uint64_t *offsets, uint64_t *total);
/* The most bytes alive at any one step: no plan can use less. */
uint64_t weft_memplan_live_peak(const weft_mem_request *req, size_t count);

#endif
