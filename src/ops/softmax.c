/*
 * Softmax and LogSoftmax along one axis (ONNX opset 13+), cl/softmax.cl.
 *
 * The tensor is viewed as [outer, len, inner] around the axis, and each of
 * the outer * inner rows is reduced on its own: a row's maximum, the sum of
 * exp(x - max), then the outputs. Short rows run one work-item per row;
 * long rows (or few of them) run one work-group per row with tree
 * reductions in local memory: the choice, the work-group size and the
 * test switches WEFT_TEST_MAX_LOCAL and WEFT_TEST_REDUCE_PATH are
 * src/ops/rows.h, shared with ReduceMean.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "graph/op_params.h"
#include "ops/op.h"
#include "ops/rows.h"

typedef struct softmax_state {
    rows_plan plan;
    cl_uint rows, len, inner;
} softmax_state;

static const char *const softmax_ops[] = {"Softmax", "LogSoftmax", NULL};

static int softmax_supports(const weft_graph *g, const weft_node *n, const weft_device_info *d,
                            char *why, size_t cap)
{
    (void)d;
    if (!rows_check_input(g, n, why, cap))
        return 0;
    if (weft_node_input(g, n, 0)->shape.rank < 1) {
        snprintf(why, cap, "the input is a scalar");
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
    int ax;
    weft_status st = weft_node_attr_int(n, "axis", -1, &axis);
    if (st != WEFT_OK ||
        (st = weft_params_axis(n, "attribute 'axis'", axis, shape->rank, &ax, NULL, 0)) != WEFT_OK)
        return st;
    uint64_t outer = (uint64_t)weft_shape_product(shape, 0, ax);
    uint64_t inner = (uint64_t)weft_shape_product(shape, ax + 1, shape->rank);
    uint64_t len = (uint64_t)shape->dims[ax];

    softmax_state *s = calloc(1, sizeof *s);
    if (!s)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for node '%s'", n->name);
    p->state = s;
    s->rows = (cl_uint)(outer * inner);
    s->len = (cl_uint)len;
    s->inner = (cl_uint)(inner ? inner : 1);
    weft_options o;
    weft_options_init(&o);
    weft_options_define_int(&o, "LOG_SOFTMAX", strcmp(n->op, "LogSoftmax") == 0);
    return rows_prepare(p, "softmax", "softmax", &o, outer * inner, len, &s->plan);
}

static weft_status softmax_enqueue(weft_run *r)
{
    softmax_state *s = r->state;
    if (s->len == 0)
        return WEFT_OK;
    return rows_enqueue(r, &s->plan, s->rows, WEFT_ARG(s->len), WEFT_ARG(s->inner));
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
