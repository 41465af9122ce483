/*
 * softmax — Softmax and LogSoftmax along one axis, float32.
 *
 * The tensor is viewed as [outer, len, inner]; a row is the `len` elements
 * x[o * len * inner + k * inner + i] for k < len, one row per (o, i). Each
 * row is made numerically stable by subtracting its maximum first:
 *   softmax     y = exp(x - max) / sum(exp(x - max))
 *   logsoftmax  y = (x - max) - log(sum(exp(x - max)))
 * x - max is exact for values within a factor of two of each other
 * (Sterbenz), so a large common offset (1e4) costs no accuracy.
 *
 * -D contract:
 *   LOG_SOFTMAX  1 for LogSoftmax, 0 for Softmax (default 0)
 *   PAIR_BLOCK   terms summed in order before pairwise combination
 *                (pairwise.cl; default 8)
 *
 * Two kernels, the host chooses:
 *   softmax_rows_f32   one work-item per row (short rows, many of them);
 *                      the index is guarded, so the global size may be
 *                      rounded up to any local size.
 *   softmax_group_f32  one work-group per row (long rows); correct for any
 *                      local size, power of two or not, including 1.
 * Each work-item reads the elements it writes before writing them, and the
 * group kernel has every read of a row behind a barrier before any write,
 * so both are correct in place (y may alias x).
 */
#ifndef LOG_SOFTMAX
#define LOG_SOFTMAX 0
#endif

#include "pairwise.cl"

/* sum(exp(x[first + j * step] - m)) for j < count, in pairwise order
 * (pairwise.cl). */
float sum_exp(__global const float *x, uint first, uint count, uint step, float m)
{
    pairwise p = pairwise_start();
    for (uint k = 0; k < count; k += PAIR_BLOCK) {
        const uint end = min(count, k + PAIR_BLOCK);
        float s = 0.0f;
        for (uint j = k; j < end; j++)
            s += exp(x[first + j * step] - m);
        pairwise_push(&p, s);
    }
    return pairwise_total(&p);
}

float finish(float v, float m, float s, float log_s)
{
#if LOG_SOFTMAX
    (void)s;
    return (v - m) - log_s;
#else
    (void)log_s;
    return exp(v - m) / s;
#endif
}

/* Offset of row `row`'s first element. The remainder is written as
 * row - o * inner rather than row % inner: with both / and %, LLVM emits a
 * `freeze` that oclgrind's uninitialised-memory check cannot run. */
uint row_base(uint row, uint len, uint inner)
{
    const uint o = row / inner;
    return o * len * inner + (row - o * inner);
}

__kernel void softmax_rows_f32(__global const float *x, __global float *y, const uint rows,
                               const uint len, const uint inner)
{
    const uint row = get_global_id(0);
    if (row >= rows)
        return;
    const uint base = row_base(row, len, inner);
    float m = -INFINITY;
    for (uint k = 0; k < len; k++)
        m = fmax(m, x[base + k * inner]);
    const float s = sum_exp(x, base, len, inner, m);
    const float log_s = LOG_SOFTMAX ? log(s) : 0.0f;
    for (uint k = 0; k < len; k++) {
        const uint at = base + k * inner;
        y[at] = finish(x[at], m, s, log_s);
    }
}

/* The maximum (is_max) or the sum of every work-item's v, in a tree that
 * halves the active range, rounding up so that odd sizes lose nothing.
 * Every work-item of the group must call it; all get the result. */
float group_reduce(float v, __local float *scratch, int is_max)
{
    const uint lid = get_local_id(0);
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint active = get_local_size(0); active > 1;) {
        const uint next = (active + 1) / 2;
        if (lid < active - next)
            scratch[lid] = is_max ? fmax(scratch[lid], scratch[lid + next])
                                  : scratch[lid] + scratch[lid + next];
        barrier(CLK_LOCAL_MEM_FENCE);
        active = next;
    }
    const float r = scratch[0];
    /* Every work-item has read the result before scratch is reused; the
     * global fence also orders this row's reads before in-place writes. */
    barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
    return r;
}

/* scratch: get_local_size(0) floats. Launched with rows work-groups. */
__kernel void softmax_group_f32(__global const float *x, __global float *y, const uint len,
                                const uint inner, __local float *scratch)
{
    const uint lid = get_local_id(0), nl = get_local_size(0);
    const uint base = row_base(get_group_id(0), len, inner);
    float m = -INFINITY;
    for (uint k = lid; k < len; k += nl)
        m = fmax(m, x[base + k * inner]);
    m = group_reduce(m, scratch, 1);
    /* This work-item's terms: k = lid, lid + nl, ... below len. */
    const uint count = lid < len ? (len - lid + nl - 1) / nl : 0;
    const float s = group_reduce(sum_exp(x, base + lid * inner, count, nl * inner, m), scratch, 0);
    const float log_s = LOG_SOFTMAX ? log(s) : 0.0f;
    for (uint k = lid; k < len; k += nl) {
        const uint at = base + k * inner;
        y[at] = finish(x[at], m, s, log_s);
    }
}
