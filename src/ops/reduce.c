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
 * tree in local memory; the work-group size comes from the kernel's limit
 * and the device's local memory, never assumed.
 *
 * WEFT_TEST_MAX_LOCAL and WEFT_TEST_REDUCE_PATH (see src/ops/softmax.c)
 * cap the work-group size and force the kernel, for tests.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "ops/op.h"

/* Collapsed dims alternate kept / reduced, so a rank-8 shape gives at most
 * 4 of each. */
#define MAX_COLLAPSED (WEFT_MAX_RANK / 2)

typedef struct reduce_state {
    cl_kernel kernel;
    cl_mem meta;
    int group;        /* one work-group per output */
    cl_uint outputs, count;
    size_t local;
} reduce_state;

static const char *const reduce_mean_ops[] = {"ReduceMean", NULL};

/* WEFT_TEST_MAX_LOCAL as a number >= 1, or 0 when unset or malformed. */
static size_t test_max_local(void)
{
    const char *s = getenv("WEFT_TEST_MAX_LOCAL");
    if (!s || !*s)
        return 0;
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    return *end == '\0' && v >= 1 ? (size_t)v : 0;
}

/* One work-group per output when reductions are long, or when outputs are
 * too few to keep a device busy one work-item each. */
static int use_group(uint64_t outputs, uint64_t count)
{
    const char *force = getenv("WEFT_TEST_REDUCE_PATH");
    if (force && strcmp(force, "rows") == 0)
        return 0;
    if (force && strcmp(force, "group") == 0)
        return 1;
    return count >= 256 || (count >= 32 && outputs < 2048);
}

/* Which axes of `x` the node reduces (reduce[i] = 1). The axes come from
 * the attribute (opset < 18) or from constant input 1 (opset 18); absent
 * or empty means every axis, or none with noop_with_empty_axes. */
static int reduced_axes(const weft_graph *g, const weft_node *n, int rank, int reduce[WEFT_MAX_RANK],
                        char *why, size_t cap)
{
    const int64_t *axes = NULL;
    size_t count = 0;
    int64_t noop = 0;
    if (weft_node_attr_int(n, "noop_with_empty_axes", 0, &noop) != WEFT_OK ||
        weft_node_attr_ints(n, "axes", &axes, &count) != WEFT_OK) {
        snprintf(why, cap, "malformed attributes");
        return 0;
    }
    const weft_value *in = weft_node_input(g, n, 1);
    if (in) {
        if (in->kind != WEFT_VALUE_CONSTANT || in->dtype != WEFT_INT64 || !in->data) {
            snprintf(why, cap, "input 'axes' ('%s') must be a constant int64 tensor", in->name);
            return 0;
        }
        axes = in->data;
        count = (size_t)weft_shape_numel(&in->shape);
    }
    for (int i = 0; i < rank; i++)
        reduce[i] = count == 0 && !noop;
    for (size_t i = 0; i < count; i++) {
        int64_t a = axes[i] < 0 ? axes[i] + rank : axes[i];
        if (a < 0 || a >= rank) {
            snprintf(why, cap, "axis %lld is out of range for rank %d", (long long)axes[i], rank);
            return 0;
        }
        reduce[a] = 1;
    }
    return 1;
}

static int reduce_supports(const weft_graph *g, const weft_node *n, const weft_device_info *d,
                           char *why, size_t cap)
{
    (void)d;
    const weft_value *x = weft_node_input(g, n, 0);
    if (!x || x->dtype != WEFT_FLOAT32) {
        snprintf(why, cap, "only float32 input is supported");
        return 0;
    }
    if (weft_shape_numel(&x->shape) > (int64_t)INT32_MAX) {
        snprintf(why, cap, "more than 2^31 elements");
        return 0;
    }
    int reduce[WEFT_MAX_RANK];
    return reduced_axes(g, n, x->shape.rank, reduce, why, cap);
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
    size_t mem_cap = (size_t)(p->device->local_mem_bytes / 2 / sizeof(float));
    s->group = mem_cap >= 1 && use_group(outputs, count);

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
    st = weft_op_kernel(p, "reduce", &o, s->group ? "reduce_mean_group_f32" : "reduce_mean_rows_f32",
                        &s->kernel);
    if (st != WEFT_OK)
        return st;
    size_t local = weft_op_max_local(p, s->kernel);
    size_t forced = test_max_local();
    if (forced && forced < local)
        local = forced;
    if (s->group) {
        /* More work-items than terms would only idle. */
        if (local > 256)
            local = 256;
        if (local > mem_cap)
            local = mem_cap;
        if (local > count)
            local = count ? (size_t)count : 1;
    } else if (local > 64) {
        local = 64;
    }
    s->local = local;
    return WEFT_OK;
}

static weft_status reduce_enqueue(weft_run *r)
{
    reduce_state *s = r->state;
    if (s->outputs == 0)
        return WEFT_OK;
    weft_status st;
    size_t global;
    if (s->group) {
        weft_arg args[] = {WEFT_ARG(r->inputs[0].mem), WEFT_ARG(r->outputs[0].mem),
                           WEFT_ARG(s->count), WEFT_ARG(s->meta),
                           WEFT_LOCAL(s->local * sizeof(float))};
        st = weft_op_set_args(r, s->kernel, args, 5);
        global = (size_t)s->outputs * s->local;
    } else {
        weft_arg args[] = {WEFT_ARG(r->inputs[0].mem), WEFT_ARG(r->outputs[0].mem),
                           WEFT_ARG(s->outputs), WEFT_ARG(s->count), WEFT_ARG(s->meta)};
        st = weft_op_set_args(r, s->kernel, args, 5);
        global = ((size_t)s->outputs + s->local - 1) / s->local * s->local;
    }
    return st != WEFT_OK ? st : weft_op_launch(r, s->kernel, 1, &global, &s->local);
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
