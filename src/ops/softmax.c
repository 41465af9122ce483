/*
 * Softmax and LogSoftmax along one axis (ONNX opset 13+), cl/softmax.cl.
 *
 * The tensor is viewed as [outer, len, inner] around the axis, and each of
 * the outer * inner rows is reduced on its own: a row's maximum, the sum of
 * exp(x - max), then the outputs. Short rows run one work-item per row;
 * long rows (or few of them) run one work-group per row with tree
 * reductions in local memory. The work-group size comes from the kernel's
 * own limit and the device's local memory, never assumed.
 *
 * For tests, two environment variables are read in prepare (unset in
 * normal use):
 *   WEFT_TEST_MAX_LOCAL=N          caps the work-group size at N >= 1, to
 *                                  run as on a device that allows only N;
 *   WEFT_TEST_REDUCE_PATH=rows|group  forces the one-work-item-per-row or
 *                                  the one-work-group-per-row kernel.
 * They also apply to ReduceMean (src/ops/reduce.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "ops/op.h"

typedef struct softmax_state {
    cl_kernel kernel;
    int group;        /* one work-group per row */
    cl_uint rows, len, inner;
    size_t local;
} softmax_state;

static const char *const softmax_ops[] = {"Softmax", "LogSoftmax", NULL};

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

/* One work-group per row when rows are long, or when they are too few to
 * keep a device busy one work-item each; WEFT_TEST_REDUCE_PATH overrides. */
static int use_group(uint64_t rows, uint64_t len)
{
    const char *force = getenv("WEFT_TEST_REDUCE_PATH");
    if (force && strcmp(force, "rows") == 0)
        return 0;
    if (force && strcmp(force, "group") == 0)
        return 1;
    return len >= 256 || (len >= 32 && rows < 2048);
}

static int softmax_supports(const weft_graph *g, const weft_node *n, const weft_device_info *d,
                            char *why, size_t cap)
{
    (void)d;
    const weft_value *x = weft_node_input(g, n, 0);
    if (!x || x->dtype != WEFT_FLOAT32) {
        snprintf(why, cap, "only float32 input is supported");
        return 0;
    }
    if (x->shape.rank < 1) {
        snprintf(why, cap, "the input is a scalar");
        return 0;
    }
    if (weft_shape_numel(&x->shape) > (int64_t)INT32_MAX) {
        snprintf(why, cap, "more than 2^31 elements");
        return 0;
    }
    return 1;
}

static double softmax_cost(const weft_graph *g, const weft_node *n, const weft_device_info *d)
{
    (void)d;
    const weft_value *y = weft_node_output(g, n, 0);
    /* Memory-bound: the row is read three times and written once, at
     * ~10 GB/s. */
    return y ? (double)weft_shape_numel(&y->shape) * 4.0 * 4.0 / 10e9 : 0;
}

static weft_status softmax_prepare(weft_prepare *p)
{
    const weft_node *n = p->node;
    const weft_shape *shape = &p->inputs[0].shape;
    int64_t axis;
    weft_status st = weft_node_attr_int(n, "axis", -1, &axis);
    if (st != WEFT_OK)
        return st;
    if (axis < 0)
        axis += shape->rank;
    if (axis < 0 || axis >= shape->rank)
        return weft_node_fail(n, WEFT_ERR_GRAPH, "attribute 'axis' is out of range for rank %d",
                              shape->rank);
    uint64_t outer = 1, inner = 1;
    for (int i = 0; i < axis; i++)
        outer *= (uint64_t)shape->dims[i];
    for (int i = (int)axis + 1; i < shape->rank; i++)
        inner *= (uint64_t)shape->dims[i];
    uint64_t len = (uint64_t)shape->dims[axis];

    softmax_state *s = calloc(1, sizeof *s);
    if (!s)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for node '%s'", n->name);
    p->state = s;
    s->rows = (cl_uint)(outer * inner);
    s->len = (cl_uint)len;
    s->inner = (cl_uint)(inner ? inner : 1);
    /* A __local float per work-item: the group path needs local memory. */
    size_t mem_cap = (size_t)(p->device->local_mem_bytes / 2 / sizeof(float));
    s->group = mem_cap >= 1 && use_group(outer * inner, len);

    weft_options o;
    weft_options_init(&o);
    weft_options_define_int(&o, "LOG_SOFTMAX", strcmp(n->op, "LogSoftmax") == 0);
    st = weft_op_kernel(p, "softmax", &o, s->group ? "softmax_group_f32" : "softmax_rows_f32",
                        &s->kernel);
    if (st != WEFT_OK)
        return st;
    size_t local = weft_op_max_local(p, s->kernel);
    size_t forced = test_max_local();
    if (forced && forced < local)
        local = forced;
    if (s->group) {
        /* More work-items than elements would only idle. */
        if (local > 256)
            local = 256;
        if (local > mem_cap)
            local = mem_cap;
        if (local > len)
            local = len ? (size_t)len : 1;
    } else if (local > 64) {
        local = 64;
    }
    s->local = local;
    return WEFT_OK;
}

static weft_status softmax_enqueue(weft_run *r)
{
    softmax_state *s = r->state;
    if (s->rows == 0 || s->len == 0)
        return WEFT_OK;
    weft_status st;
    size_t global;
    if (s->group) {
        weft_arg args[] = {WEFT_ARG(r->inputs[0].mem), WEFT_ARG(r->outputs[0].mem),
                           WEFT_ARG(s->len), WEFT_ARG(s->inner),
                           WEFT_LOCAL(s->local * sizeof(float))};
        st = weft_op_set_args(r, s->kernel, args, 5);
        global = (size_t)s->rows * s->local;
    } else {
        weft_arg args[] = {WEFT_ARG(r->inputs[0].mem), WEFT_ARG(r->outputs[0].mem),
                           WEFT_ARG(s->rows), WEFT_ARG(s->len), WEFT_ARG(s->inner)};
        st = weft_op_set_args(r, s->kernel, args, 5);
        global = ((size_t)s->rows + s->local - 1) / s->local * s->local;
    }
    return st != WEFT_OK ? st : weft_op_launch(r, s->kernel, 1, &global, &s->local);
}

const weft_op_impl weft_impl_softmax = {
    .name = "softmax",
    .ops = softmax_ops,
    .inplace = 1,
    .supports = softmax_supports,
    .cost = softmax_cost,
    .prepare = softmax_prepare,
    .enqueue = softmax_enqueue,
    .release = free,
};
