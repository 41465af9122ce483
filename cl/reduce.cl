/*
 * reduce — ReduceMean over any set of axes, float32.
 *
 * The host collapses the input's shape (size-1 dims dropped, neighbouring
 * dims merged when both are kept or both reduced) into KRANK kept dims and
 * RRANK reduced dims, each with its stride in the input. Output element o
 * (row-major over the kept dims) is the mean of the `count` input elements
 *   x[base(o) + offset(k)], k < count,
 * where base() walks the kept dims and offset() the reduced ones. One
 * reduced dim (a global average pool, or a single axis) needs no division
 * per element.
 *
 * -D contract:
 *   KRANK       number of kept dims, 0 (everything reduced) to 4 (default 0)
 *   RRANK       number of reduced dims, 1 to 4 (default 1)
 *   PAIR_BLOCK  terms summed in order before pairwise combination
 *               (pairwise.cl; default 8)
 * meta: kept dims[KRANK], kept strides[KRANK], reduced dims[RRANK],
 * reduced strides[RRANK], in elements.
 *
 * Two kernels, the host chooses:
 *   reduce_mean_rows_f32   one work-item per output (short reductions); the
 *                          index is guarded, so the global size may be
 *                          rounded up to any local size.
 *   reduce_mean_group_f32  one work-group per output (long reductions);
 *                          correct for any local size, power of two or not,
 *                          including 1.
 */
#ifndef KRANK
#define KRANK 0
#endif
#ifndef RRANK
#define RRANK 1
#endif

#include "pairwise.cl"

/* Input offset of output element o. Remainders are written as o - q * dim
 * rather than o % dim: with both / and %, LLVM emits a `freeze` that
 * oclgrind's uninitialised-memory check cannot run. */
uint kept_base(uint o, __constant const int *meta)
{
    uint base = 0;
    for (int d = KRANK - 1; d >= 0; d--) {
        const uint dim = (uint)meta[d], q = o / dim;
        base += (o - q * dim) * (uint)meta[KRANK + d];
        o = q;
    }
    return base;
}

/* Input offset, from the base, of the k-th element of the reduced
 * sub-space (row-major over the reduced dims). */
uint reduced_offset(uint k, __constant const int *meta)
{
#if RRANK == 1
    return k * (uint)meta[2 * KRANK + 1];
#else
    uint off = 0;
    for (int d = RRANK - 1; d >= 0; d--) {
        const uint dim = (uint)meta[2 * KRANK + d], q = k / dim;
        off += (k - q * dim) * (uint)meta[2 * KRANK + RRANK + d];
        k = q;
    }
    return off;
#endif
}

/* sum(x[base + offset(first + j * step)]) for j < count, in pairwise
 * order (pairwise.cl). */
float pairwise_sum(__global const float *x, uint base, uint first, uint count, uint step,
                   __constant const int *meta)
{
    pairwise p = pairwise_start();
    for (uint k = 0; k < count; k += PAIR_BLOCK) {
        const uint end = min(count, k + PAIR_BLOCK);
        float s = 0.0f;
        for (uint j = k; j < end; j++)
            s += x[base + reduced_offset(first + j * step, meta)];
        pairwise_push(&p, s);
    }
    return pairwise_total(&p);
}

__kernel void reduce_mean_rows_f32(__global const float *x, __global float *y, const uint outputs,
                                   const uint count, __constant const int *meta)
{
    const uint o = get_global_id(0);
    if (o >= outputs)
        return;
    y[o] = pairwise_sum(x, kept_base(o, meta), 0, count, 1, meta) / (float)count;
}

/* scratch: get_local_size(0) floats. Launched with `outputs` work-groups.
 * The partial sums meet in a tree that halves the active range, rounding
 * up so that odd sizes lose nothing. */
__kernel void reduce_mean_group_f32(__global const float *x, __global float *y, const uint count,
                                    __constant const int *meta, __local float *scratch)
{
    const uint lid = get_local_id(0), nl = get_local_size(0), o = get_group_id(0);
    /* This work-item's terms: k = lid, lid + nl, ... below count. */
    const uint mine = lid < count ? (count - lid + nl - 1) / nl : 0;
    scratch[lid] = pairwise_sum(x, kept_base(o, meta), lid, mine, nl, meta);
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint active = nl; active > 1;) {
        const uint next = (active + 1) / 2;
        if (lid < active - next)
            scratch[lid] += scratch[lid + next];
        barrier(CLK_LOCAL_MEM_FENCE);
        active = next;
    }
    if (lid == 0)
        y[o] = scratch[0] / (float)count;
}
