/* The typed builders of weft.h: attribute structs turned into ONNX nodes. */
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "graph/graph.h"

static const char *const auto_pad_names[] = {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"};

void weft_conv_defaults(weft_conv_attrs *a)
{
    if (!a)
        return;
    memset(a, 0, sizeof *a);
    a->spatial_rank = 2;
    a->group = 1;
    for (int i = 0; i < 3; i++)
        a->strides[i] = a->dilations[i] = 1;
}

void weft_pool_defaults(weft_pool_attrs *a)
{
    if (!a)
        return;
    memset(a, 0, sizeof *a);
    a->spatial_rank = 2;
    a->p = 2;
    for (int i = 0; i < 3; i++)
        a->strides[i] = a->dilations[i] = 1;
}

void weft_gemm_defaults(weft_gemm_attrs *a)
{
    if (!a)
        return;
    memset(a, 0, sizeof *a);
    a->alpha = a->beta = 1.0f;
}

/* Adds the node and releases attrs, whatever happens. */
static weft_status finish(weft_graph *g, weft_attrs *attrs, weft_status st, const char *op,
                          const char *name, const char *const *in, size_t nin, const char *y)
{
    if (st == WEFT_OK)
        st = weft_graph_add_node(g, op, name, in, nin, attrs, &y, 1);
    weft_attrs_release(attrs);
    return st;
}

static weft_status spatial(weft_attrs *a, const char *fn, int rank, const int64_t *kernel,
                           const int64_t *strides, const int64_t *dilations, const int64_t *pads,
                           weft_auto_pad auto_pad, int kernel_required)
{
    if (rank < 1 || rank > 3)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "%s: spatial_rank %d, expected 1 to 3", fn, rank);
    if ((unsigned)auto_pad > WEFT_AUTO_PAD_VALID)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "%s: auto_pad %d is not a weft_auto_pad", fn,
                         (int)auto_pad);
    int have_kernel = 0;
    for (int i = 0; i < rank; i++)
        have_kernel |= kernel[i] != 0;
    if (kernel_required && !have_kernel)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "%s: kernel_shape is required", fn);
    weft_status st = WEFT_OK;
    if (have_kernel)
        st = weft_attrs_set_ints(a, "kernel_shape", kernel, (size_t)rank);
    if (st == WEFT_OK)
        st = weft_attrs_set_ints(a, "strides", strides, (size_t)rank);
    if (st == WEFT_OK)
        st = weft_attrs_set_ints(a, "dilations", dilations, (size_t)rank);
    if (st == WEFT_OK && auto_pad != WEFT_AUTO_PAD_NOTSET)
        st = weft_attrs_set_string(a, "auto_pad", auto_pad_names[auto_pad]);
    else if (st == WEFT_OK) {
        int64_t p[6];
        for (int i = 0; i < rank; i++) {
            p[i] = pads[i];
            p[rank + i] = pads[3 + i];
        }
        st = weft_attrs_set_ints(a, "pads", p, 2 * (size_t)rank);
    }
    return st;
}

weft_status weft_graph_add_conv(weft_graph *g, const char *name, const char *x, const char *w,
                                const char *bias, const weft_conv_attrs *attrs, const char *y)
{
    if (!g || !x || !w || !attrs || !y)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_graph_add_conv: a required argument is NULL");
    weft_attrs *a;
    weft_status st = weft_attrs_create(&a);
    if (st != WEFT_OK)
        return st;
    st = spatial(a, "weft_graph_add_conv", attrs->spatial_rank, attrs->kernel_shape,
                 attrs->strides, attrs->dilations, attrs->pads, attrs->auto_pad, 0);
    if (st == WEFT_OK)
        st = weft_attrs_set_int(a, "group", attrs->group);
    const char *in[3] = {x, w, bias};
    return finish(g, a, st, "Conv", name, in, bias ? 3 : 2, y);
}

weft_status weft_graph_add_pool(weft_graph *g, const char *name, weft_pool_kind kind,
                                const char *x, const weft_pool_attrs *attrs, const char *y)
{
    static const char *const ops[] = {"MaxPool", "AveragePool", "LpPool", "GlobalMaxPool",
                                      "GlobalAveragePool"};
    if (!g || !x || !y || (!attrs && kind < WEFT_POOL_GLOBAL_MAX))
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_graph_add_pool: a required argument is NULL");
    if ((unsigned)kind > WEFT_POOL_GLOBAL_AVERAGE)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_graph_add_pool: kind %d is not a weft_pool_kind",
                         (int)kind);
    weft_attrs *a;
    weft_status st = weft_attrs_create(&a);
    if (st != WEFT_OK)
        return st;
    if (kind < WEFT_POOL_GLOBAL_MAX) {
        st = spatial(a, "weft_graph_add_pool", attrs->spatial_rank, attrs->kernel_shape,
                     attrs->strides, attrs->dilations, attrs->pads, attrs->auto_pad, 1);
        if (st == WEFT_OK && kind != WEFT_POOL_LP)
            st = weft_attrs_set_int(a, "ceil_mode", attrs->ceil_mode != 0);
        if (st == WEFT_OK && kind == WEFT_POOL_AVERAGE)
            st = weft_attrs_set_int(a, "count_include_pad", attrs->count_include_pad != 0);
        if (st == WEFT_OK && kind == WEFT_POOL_LP)
            st = weft_attrs_set_int(a, "p", attrs->p);
    }
    return finish(g, a, st, ops[kind], name, &x, 1, y);
}

weft_status weft_graph_add_activation(weft_graph *g, const char *name, weft_activation act,
                                      float alpha, float beta, const char *x, const char *y)
{
    static const struct {
        const char *op, *alpha, *beta;
    } acts[] = {
        {"Relu", NULL, NULL},          {"LeakyRelu", "alpha", NULL}, {"Elu", "alpha", NULL},
        {"Selu", "alpha", "gamma"},    {"Sigmoid", NULL, NULL},     {"HardSigmoid", "alpha", "beta"},
        {"HardSwish", NULL, NULL},     {"Tanh", NULL, NULL},        {"Gelu", NULL, NULL},
        {"Softplus", NULL, NULL},      {"Softsign", NULL, NULL},    {"Mish", NULL, NULL},
        {"Clip", "min", "max"},
    };
    if (!g || !x || !y)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_graph_add_activation: a required argument is NULL");
    if ((unsigned)act >= sizeof acts / sizeof acts[0])
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT,
                         "weft_graph_add_activation: %d is not a weft_activation", (int)act);
    weft_attrs *a;
    weft_status st = weft_attrs_create(&a);
    if (st != WEFT_OK)
        return st;
    if (acts[act].alpha && !isnan(alpha))
        st = weft_attrs_set_float(a, acts[act].alpha, alpha);
    if (st == WEFT_OK && acts[act].beta && !isnan(beta))
        st = weft_attrs_set_float(a, acts[act].beta, beta);
    if (st == WEFT_OK && act == WEFT_ACT_GELU && !isnan(alpha) && alpha != 0)
        st = weft_attrs_set_string(a, "approximate", "tanh");
    return finish(g, a, st, acts[act].op, name, &x, 1, y);
}

weft_status weft_graph_add_batch_norm(weft_graph *g, const char *name, const char *x,
                                      const char *scale, const char *bias, const char *mean,
                                      const char *var, float epsilon, const char *y)
{
    if (!g || !x || !scale || !bias || !mean || !var || !y)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT,
                         "weft_graph_add_batch_norm: a required argument is NULL");
    weft_attrs *a;
    weft_status st = weft_attrs_create(&a);
    if (st == WEFT_OK)
        st = weft_attrs_set_float(a, "epsilon", epsilon);
    else
        return st;
    const char *in[5] = {x, scale, bias, mean, var};
    return finish(g, a, st, "BatchNormalization", name, in, 5, y);
}

weft_status weft_graph_add_concat(weft_graph *g, const char *name, const char *const *inputs,
                                  size_t input_count, int64_t axis, const char *y)
{
    if (!g || !inputs || !input_count || !y)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_graph_add_concat: a required argument is NULL or 0");
    weft_attrs *a;
    weft_status st = weft_attrs_create(&a);
    if (st != WEFT_OK)
        return st;
    st = weft_attrs_set_int(a, "axis", axis);
    return finish(g, a, st, "Concat", name, inputs, input_count, y);
}

weft_status weft_graph_add_add(weft_graph *g, const char *name, const char *a, const char *b,
                               const char *y)
{
    if (!g || !a || !b || !y)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_graph_add_add: a required argument is NULL");
    const char *in[2] = {a, b};
    return weft_graph_add_node(g, "Add", name, in, 2, NULL, &y, 1);
}

weft_status weft_graph_add_gemm(weft_graph *g, const char *name, const char *a, const char *b,
                                const char *c, const weft_gemm_attrs *attrs, const char *y)
{
    if (!g || !a || !b || !attrs || !y)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_graph_add_gemm: a required argument is NULL");
    weft_attrs *at;
    weft_status st = weft_attrs_create(&at);
    if (st != WEFT_OK)
        return st;
    st = weft_attrs_set_float(at, "alpha", attrs->alpha);
    if (st == WEFT_OK)
        st = weft_attrs_set_float(at, "beta", attrs->beta);
    if (st == WEFT_OK)
        st = weft_attrs_set_int(at, "transA", attrs->trans_a != 0);
    if (st == WEFT_OK)
        st = weft_attrs_set_int(at, "transB", attrs->trans_b != 0);
    const char *in[3] = {a, b, c};
    return finish(g, at, st, "Gemm", name, in, c ? 3 : 2, y);
}
