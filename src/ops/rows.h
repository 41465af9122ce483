/*
 * What Softmax (softmax.c) and ReduceMean (reduce.c) share: both reduce
 * `rows` independent rows of `len` elements each, either one work-item per
 * row, or one work-group per row with a tree in local memory (a __local
 * float per work-item) when rows are long or too few to keep a device busy
 * one work-item each. The work-group size comes from the kernel's own
 * limit and the device's local memory, never assumed.
 *
 * For tests, two environment variables are read in prepare (unset in
 * normal use):
 *   WEFT_TEST_MAX_LOCAL=N             caps the work-group size at N >= 1, to
 *                                     run as on a device that allows only N;
 *   WEFT_TEST_REDUCE_PATH=rows|group  forces the one-work-item-per-row or
 *                                     the one-work-group-per-row kernel.
 */
#ifndef WEFT_OPS_ROWS_H
#define WEFT_OPS_ROWS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"

/* Input 0 holds float32 and at most 2^31 - 1 elements (the kernels index
 * with int); otherwise says why not. */
static inline int rows_check_input(const weft_graph *g, const weft_node *n, char *why, size_t cap)
{
    const weft_value *x = weft_node_input(g, n, 0);
    if (!x || x->dtype != WEFT_FLOAT32) {
        snprintf(why, cap, "only float32 input is supported");
        return 0;
    }
    if (weft_shape_numel(&x->shape) > (int64_t)INT32_MAX) {
        snprintf(why, cap, "more than 2^31 elements");
        return 0;
    }
    return 1;
}

/* How a reduction runs, chosen in prepare. */
typedef struct rows_plan {
    int group;        /* one work-group per row, else one work-item */
    cl_kernel kernel; /* NAME_group_f32 or NAME_rows_f32 */
    size_t local;     /* work-group size */
} rows_plan;

/* __local floats a work-group may take: half the device's local memory. */
static inline size_t rows_local_floats(const weft_prepare *p)
{
    return (size_t)(p->device->local_mem_bytes / 2 / sizeof(float));
}

/* One work-group per row when the device has local memory for it and rows
 * are long, or when they are too few to keep a device busy one work-item
 * each; WEFT_TEST_REDUCE_PATH overrides. */
static inline int rows_use_group(const weft_prepare *p, uint64_t rows, uint64_t len)
{
    if (rows_local_floats(p) < 1)
        return 0;
    const char *force = getenv("WEFT_TEST_REDUCE_PATH");
    if (force && strcmp(force, "rows") == 0)
        return 0;
    if (force && strcmp(force, "group") == 0)
        return 1;
    return len >= 256 || (len >= 32 && rows < 2048);
}

/* WEFT_TEST_MAX_LOCAL as a number >= 1, or 0 when unset or malformed. */
static inline size_t rows_test_max_local(void)
{
    const char *s = getenv("WEFT_TEST_MAX_LOCAL");
    if (!s || !*s)
        return 0;
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    return *end == '\0' && v >= 1 ? (size_t)v : 0;
}

/* The work-group size for `kernel`: at most 64 one work-item per row; one
 * work-group per row, at most 256, the local memory and len (more
 * work-items than elements would only idle). */
static inline size_t rows_local(const weft_prepare *p, cl_kernel kernel, int group, uint64_t len)
{
    size_t local = weft_op_local_size(p, kernel, group ? 256 : 64);
    size_t forced = rows_test_max_local();
    if (forced && forced < local)
        local = forced;
    if (group) {
        size_t floats = rows_local_floats(p);
        if (local > floats)
            local = floats;
        if (local > len)
            local = len ? (size_t)len : 1;
    }
    return local;
}

/* Plans `rows` rows of `len` elements: the path, kernel NAME_group_f32 or
 * NAME_rows_f32 of cl/PROGRAM.cl built with `options`, and its
 * work-group size. */
static inline weft_status rows_prepare(weft_prepare *p, const char *program, const char *name,
                                       const weft_options *options, uint64_t rows, uint64_t len,
                                       rows_plan *plan)
{
    char kernel[64];
    plan->group = rows_use_group(p, rows, len);
    snprintf(kernel, sizeof kernel, "%s_%s_f32", name, plan->group ? "group" : "rows");
    weft_status st = weft_op_kernel(p, program, options, kernel, &plan->kernel);
    if (st == WEFT_OK)
        plan->local = rows_local(p, plan->kernel, plan->group, len);
    return st;
}

/* Runs the planned kernel over `rows` rows of input 0 into output 0. Both
 * kernels of a reduction take the same arguments: (x, y, a, b, a __local
 * float per work-item) when one work-group runs each row, with
 * plan->local work-items for each; (x, y, rows, a, b) when one work-item
 * does. Nothing runs without rows. */
static inline weft_status rows_enqueue(weft_run *r, const rows_plan *plan, cl_uint rows,
                                       weft_arg a, weft_arg b)
{
    if (rows == 0)
        return WEFT_OK;
    weft_arg args[] = {WEFT_ARG(r->inputs[0].mem), WEFT_ARG(r->outputs[0].mem), a, b,
                       WEFT_LOCAL(plan->local * sizeof(float))};
    if (!plan->group) {
        args[2] = WEFT_ARG(rows);
        args[3] = a;
        args[4] = b;
    }
    weft_status st = weft_op_set_args(r, plan->kernel, args, sizeof args / sizeof args[0]);
    size_t n = plan->group ? (size_t)rows * plan->local : rows;
    return st != WEFT_OK ? st : weft_op_launch_1d(r, plan->kernel, n, plan->local);
}

#endif
