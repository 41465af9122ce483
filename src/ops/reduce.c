/*
 * ReduceMean over any set of axes (ONNX opset 13 and 18: axes as an
 * attribute or as a constant int64 input; keepdims; noop_with_empty_axes),
 * cl/reduce.cl.
 *
 * The host collapses the input shape into kept and reduced dims: size-1
 * dims are dropped (they change neither the output order nor the sum) and
 * neighbours that are both kept or both reduced merge, since a row-major
 * tensor walks them contiguously. Reducing NCHW over [2,3] (a global
 * average pool) becomes kept [N*C] x reduced [H*W]; a single axis becomes
 * kept [outer, inner] x reduced [len]; non-adjacent axes keep several
 * reduced dims, which the kernel walks with div/mod. Short reductions run
 * one work-item per output, long ones one work-group per output with a
 * tree in local memory: the choice, the work-group size and the test
 * switches WEFT_TEST_MAX_LOCAL and WEFT_TEST_REDUCE_PATH are
 * src/ops/rows.h, shared with Softmax.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/error.h"
#include "graph/op_params.h"
#include "ops/op.h"
#include "ops/rows.h"

/* Collapsed dims alternate kept / reduced, so a rank-8 shape gives at most
 * 4 of each. */
#define MAX_COLLAPSED (WEFT_MAX_RANK / 2)

typedef struct reduce_state {
    rows_plan plan; /* a row per output */
    cl_mem meta;
    cl_uint outputs, count;
} reduce_state;

static const char *const reduce_mean_ops[] = {"ReduceMean", NULL};

/* Which axes of `x` the node reduces (reduce[i] = 1). The axes come from
 * the attribute (opset < 18) or from constant input 1 (opset 18); absent
 * or empty means every axis, or none with noop_with_empty_axes. */
static int reduced_axes(const weft_graph *g, const weft_node *n, int rank, int reduce[WEFT_MAX_RANK],
                        char *why, size_t cap)
{
    int64_t noop = 0;
    if (weft_node_attr_int(n, "noop_with_empty_axes", 0, &noop) != WEFT_OK) {
        snprintf(why, cap, "malformed attributes");
        return 0;
    }
    return weft_params_reduce_axes(n, rank, weft_node_input(g, n, 1), noop, reduce, why, cap) ==
           WEFT_OK;
}

static int reduce_supports(const weft_graph *g, const weft_node *n, const weft_device_info *d,
                           char *why, size_t cap)
{
    (void)d;
    int reduce[WEFT_MAX_RANK];
    return rows_check_input(g, n, why, cap) &&
           reduced_axes(g, n, weft_node_input(g, n, 0)->shape.rank, reduce, why, cap);
}

static double reduce_cost(const weft_graph *g, const weft_node *n, const weft_device_info *d)
{
    (void)d;
    const weft_value *x = weft_node_input(g, n, 0);
    /* Memory-bound: every input element read once, at ~10 GB/s. */
    return x ? (double)weft_shape_numel(&x->shape) * 4.0 / 10e9 : 0;
}

static weft_status reduce_prepare(weft_prepare *p)
{
    const weft_node *n = p->node;
    const weft_shape *shape = &p->inputs[0].shape;
    int reduce[WEFT_MAX_RANK];
    char why[160];
    if (!reduced_axes(p->graph, n, shape->rank, reduce, why, sizeof why))
        return weft_node_fail(n, WEFT_ERR_GRAPH, "%s", why);

    /* Collapse: kept and reduced dims with their input strides. */
    int64_t strides[WEFT_MAX_RANK];
    weft_shape_strides(shape, strides);
    int kdims[MAX_COLLAPSED], kstrides[MAX_COLLAPSED], rdims[MAX_COLLAPSED], rstrides[MAX_COLLAPSED];
    int krank = 0, rrank = 0, last = -1; /* last: 0 kept, 1 reduced, -1 none yet */
    uint64_t outputs = 1, count = 1;
    for (int i = 0; i < shape->rank; i++) {
        int64_t dim = shape->dims[i];
        if (dim == 1)
            continue;
        int *dims = reduce[i] ? rdims : kdims, *str = reduce[i] ? rstrides : kstrides;
        int *r = reduce[i] ? &rrank : &krank;
        if (last == reduce[i]) {
            dims[*r - 1] = (int)((int64_t)dims[*r - 1] * dim);
        } else {
            dims[*r] = (int)dim;
            (*r)++;
        }
        str[*r - 1] = (int)strides[i];
        last = reduce[i];
        *(reduce[i] ? &count : &outputs) *= (uint64_t)dim;
    }
    if (rrank == 0) { /* nothing to reduce: a mean over one element each */
        rdims[0] = 1;
        rstrides[0] = 1;
        rrank = 1;
    }

    reduce_state *s = calloc(1, sizeof *s);
    if (!s)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for node '%s'", n->name);
    p->state = s;
    s->outputs = (cl_uint)outputs;
    s->count = (cl_uint)count;

    int meta[4 * MAX_COLLAPSED];
    size_t m = 0;
    for (int i = 0; i < krank; i++)
        meta[m++] = kdims[i];
    for (int i = 0; i < krank; i++)
        meta[m++] = kstrides[i];
    for (int i = 0; i < rrank; i++)
        meta[m++] = rdims[i];
    for (int i = 0; i < rrank; i++)
        meta[m++] = rstrides[i];
    weft_status st = weft_op_upload(p, meta, m * sizeof *meta, &s->meta);
    if (st != WEFT_OK)
        return st;
    weft_options o;
    weft_options_init(&o);
    weft_options_define_int(&o, "KRANK", krank);
    weft_options_define_int(&o, "RRANK", rrank);
    return rows_prepare(p, "reduce", "reduce_mean", &o, outputs, count, &s->plan);
}

static weft_status reduce_enqueue(weft_run *r)
{
    reduce_state *s = r->state;
    return rows_enqueue(r, &s->plan, s->outputs, WEFT_ARG(s->count), WEFT_ARG(s->meta));
}

const weft_op_impl weft_impl_reduce_mean = {
    .name = "reduce_mean",
    .ops = reduce_mean_ops,
    .supports = reduce_supports,
    .cost = reduce_cost,
    .prepare = reduce_prepare,
    .enqueue = reduce_enqueue,
    .release = free,
};
