#include <stdlib.h>

#include "core/error.h"
#include "runtime/memplan.h"

typedef struct sized {
    uint64_t bytes;
    size_t index;
} sized;

static int by_size_desc(const void *a, const void *b)
{
    const sized *x = a, *y = b;
    if (x->bytes != y->bytes)
        return x->bytes < y->bytes ? 1 : -1;
    return (x->index > y->index) - (x->index < y->index); /* ties: earlier first */
}

static int by_offset(const void *a, const void *b)
{
    const uint64_t *x = a, *y = b;
    return (x[0] > y[0]) - (x[0] < y[0]);
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) & ~(a - 1);
}

weft_status weft_memplan(const weft_mem_request *req, size_t count, uint64_t alignment,
                         uint64_t *offsets, uint64_t *total)
{
    *total = 0;
    if (count == 0)
        return WEFT_OK;
    if (alignment == 0 || (alignment & (alignment - 1)))
        return weft_fail(WEFT_ERR_INTERNAL, "memory plan: alignment %llu is not a power of two",
                         (unsigned long long)alignment);
    sized *order = malloc(count * sizeof *order);
    char *placed = calloc(count, 1);
    uint64_t *busy = malloc(count * 2 * sizeof *busy); /* [offset, end) pairs */
    if (!order || !placed || !busy) {
        free(order);
        free(placed);
        free(busy);
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for the memory plan");
    }
    for (size_t i = 0; i < count; i++)
        order[i] = (sized){req[i].bytes, i};
    qsort(order, count, sizeof *order, by_size_desc);
    for (size_t k = 0; k < count; k++) {
        size_t i = order[k].index;
        uint64_t size = align_up(req[i].bytes ? req[i].bytes : 1, alignment);
        size_t nbusy = 0;
        for (size_t j = 0; j < count; j++) {
            if (!placed[j] || req[j].last < req[i].first || req[j].first > req[i].last)
                continue;
            busy[2 * nbusy] = offsets[j];
            busy[2 * nbusy + 1] = offsets[j] + align_up(req[j].bytes ? req[j].bytes : 1, alignment);
            nbusy++;
        }
        qsort(busy, nbusy, 2 * sizeof *busy, by_offset);
        uint64_t best = UINT64_MAX, best_gap = UINT64_MAX, at = 0;
        for (size_t b = 0; b < nbusy; b++) {
            if (busy[2 * b] > at) {
                uint64_t gap = busy[2 * b] - at;
                if (gap >= size && gap < best_gap) {
                    best_gap = gap;
                    best = at;
                }
            }
            if (busy[2 * b + 1] > at)
                at = busy[2 * b + 1];
        }
        offsets[i] = best != UINT64_MAX ? best : at;
        placed[i] = 1;
        if (offsets[i] + size > *total)
            *total = offsets[i] + size;
    }
    free(order);
    free(placed);
    free(busy);
    return WEFT_OK;
}

uint64_t weft_memplan_live_peak(const weft_mem_request *req, size_t count)
{
    int last_step = 0;
    for (size_t i = 0; i < count; i++)
        if (req[i].last > last_step)
            last_step = req[i].last;
    uint64_t peak = 0;
    for (int s = 0; s <= last_step; s++) {
        uint64_t live = 0;
        for (size_t i = 0; i < count; i++)
            if (req[i].first <= s && s <= req[i].last)
                live += req[i].bytes;
        if (live > peak)
            peak = live;
    }
    return peak;
}
