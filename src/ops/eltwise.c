/*
 * Element-wise ops (cl/eltwise.cl): unary activations, and binary ops with
 * numpy broadcasting. Broadcast shapes are collapsed on the host — size-1
 * dims dropped, neighbouring dims merged when both inputs walk them
 * contiguously — so most launches need no index arithmetic at all.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "ops/op.h"

/* Codes shared with cl/eltwise.cl. */
enum {
    OP_IDENTITY = 0,
    OP_RELU = 1, OP_LEAKY_RELU, OP_ELU, OP_SELU, OP_SIGMOID, OP_HARD_SIGMOID, OP_HARD_SWISH,
    OP_TANH, OP_GELU, OP_GELU_TANH, OP_SOFTPLUS, OP_SOFTSIGN, OP_MISH, OP_CLIP, OP_ERF, OP_SQRT,
    OP_EXP, OP_LOG, OP_NEG, OP_ABS,
    OP_ADD = 40, OP_SUB, OP_MUL, OP_DIV, OP_MAX, OP_MIN, OP_PRELU
};

static const struct {
    const char *op;
    int code;
} codes[] = {
    {"Relu", OP_RELU}, {"LeakyRelu", OP_LEAKY_RELU}, {"Elu", OP_ELU}, {"Selu", OP_SELU},
    {"Sigmoid", OP_SIGMOID}, {"HardSigmoid", OP_HARD_SIGMOID}, {"HardSwish", OP_HARD_SWISH},
    {"Tanh", OP_TANH}, {"Gelu", OP_GELU}, {"Softplus", OP_SOFTPLUS}, {"Softsign", OP_SOFTSIGN},
    {"Mish", OP_MISH}, {"Clip", OP_CLIP}, {"Erf", OP_ERF}, {"Sqrt", OP_SQRT}, {"Exp", OP_EXP},
    {"Log", OP_LOG}, {"Neg", OP_NEG}, {"Abs", OP_ABS},
    {"Add", OP_ADD}, {"Sub", OP_SUB}, {"Mul", OP_MUL}, {"Div", OP_DIV}, {"Max", OP_MAX},
    {"Min", OP_MIN}, {"Sum", OP_ADD}, {"PRelu", OP_PRELU},
};

static int op_code(const char *op)
{
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (strcmp(codes[i].op, op) == 0)
            return codes[i].code;
    return -1;
}

static int all_float32(const weft_graph *g, const weft_node *n, char *why, size_t cap)
{
    for (size_t k = 0; k < n->input_count; k++) {
        const weft_value *v = weft_node_input(g, n, k);
        if (v && v->dtype != WEFT_FLOAT32) {
            snprintf(why, cap, "input '%s' is %s; only float32 is supported", v->name,
                     weft_dtype_name(v->dtype));
            return 0;
        }
    }
    return 1;
}

static double bandwidth_cost(const weft_graph *g, const weft_node *n, const weft_device_info *d)
{
    (void)d;
    const weft_value *y = weft_node_output(g, n, 0);
    /* Memory-bound: read and write every element once, at ~10 GB/s. */
    return y ? (double)weft_shape_numel(&y->shape) * 4.0 * (double)(n->input_count + 1) / 10e9 : 0;
}

/* ---- Unary ------------------------------------------------------------ */

typedef struct unary_state {
    cl_kernel kernel;
    float alpha, beta;
    size_t local;
} unary_state;

static const char *const unary_ops[] = {"Relu", "LeakyRelu", "Elu", "Selu", "Sigmoid",
                                        "HardSigmoid", "HardSwish", "Tanh", "Gelu", "Softplus",
                                        "Softsign", "Mish", "Clip", "Erf", "Sqrt", "Exp", "Log",
                                        "Neg", "Abs", NULL};

/* Clip's bounds: attributes (opset < 11) or constant inputs. */
static weft_status clip_bounds(const weft_graph *g, const weft_node *n, float *lo, float *hi,
                               int *constant)
{
    *constant = 1;
    weft_status st = weft_node_attr_float(n, "min", -INFINITY, lo);
    if (st == WEFT_OK)
        st = weft_node_attr_float(n, "max", INFINITY, hi);
    for (size_t k = 1; k < 3 && st == WEFT_OK; k++) {
        const weft_value *v = weft_node_input(g, n, k);
        if (!v)
            continue;
        if (v->kind != WEFT_VALUE_CONSTANT || weft_shape_numel(&v->shape) != 1) {
            *constant = 0;
            continue;
        }
        *(k == 1 ? lo : hi) = *(const float *)v->data;
    }
    return st;
}

static int unary_supports(const weft_graph *g, const weft_node *n, const weft_device_info *d,
                          char *why, size_t cap)
{
    (void)d;
    if (!all_float32(g, n, why, cap))
        return 0;
    if (strcmp(n->op, "Clip") == 0) {
        float lo, hi;
        int constant;
        if (clip_bounds(g, n, &lo, &hi, &constant) != WEFT_OK || !constant) {
            snprintf(why, cap, "min and max must be constants");
            return 0;
        }
    }
    const weft_value *y = weft_node_output(g, n, 0);
    if (weft_shape_numel(&y->shape) > (int64_t)UINT32_MAX) {
        snprintf(why, cap, "more than 2^32 elements");
        return 0;
    }
    return 1;
}

static weft_status unary_prepare(weft_prepare *p)
{
    const weft_node *n = p->node;
    int code = op_code(n->op);
    float alpha = 0, beta = 0;
    weft_status st = WEFT_OK;
    switch (code) {
    case OP_LEAKY_RELU: st = weft_node_attr_float(n, "alpha", 0.01f, &alpha); break;
    case OP_ELU: st = weft_node_attr_float(n, "alpha", 1.0f, &alpha); break;
    case OP_SELU:
        /* ONNX Selu defaults (operator spec). */
        st = weft_node_attr_float(n, "alpha", 1.67326319217681884765625f, &alpha);
        if (st == WEFT_OK)
            st = weft_node_attr_float(n, "gamma", 1.05070102214813232421875f, &beta);
        break;
    case OP_HARD_SIGMOID:
        st = weft_node_attr_float(n, "alpha", 0.2f, &alpha);
        if (st == WEFT_OK)
            st = weft_node_attr_float(n, "beta", 0.5f, &beta);
        break;
    case OP_GELU: {
        const char *approx;
        st = weft_node_attr_string(n, "approximate", "none", &approx);
        if (st == WEFT_OK && strcmp(approx, "tanh") == 0)
            code = OP_GELU_TANH;
        else if (st == WEFT_OK && strcmp(approx, "none") != 0)
            return weft_node_fail(n, WEFT_ERR_GRAPH, "attribute 'approximate' is '%s', expected "
                                  "'none' or 'tanh'", approx);
        break;
    }
    case OP_CLIP: {
        int constant;
        st = clip_bounds(p->graph, n, &alpha, &beta, &constant);
        break;
    }
    default: break;
    }
    if (st != WEFT_OK)
        return st;
    unary_state *s = calloc(1, sizeof *s);
    if (!s)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for node '%s'", n->name);
    p->state = s;
    s->alpha = alpha;
    s->beta = beta;
    weft_options o;
    weft_options_init(&o);
    weft_options_define_int(&o, "OP", code);
    st = weft_op_kernel(p, "eltwise", &o, "unary_f32", &s->kernel);
    if (st == WEFT_OK)
        s->local = weft_op_local_size(p, s->kernel, 64);
    return st;
}

static weft_status unary_enqueue(weft_run *r)
{
    unary_state *s = r->state;
    cl_uint n = (cl_uint)weft_shape_numel(&r->outputs[0].shape);
    weft_arg args[] = {WEFT_ARG(r->inputs[0].mem), WEFT_ARG(r->outputs[0].mem), WEFT_ARG(n),
                       WEFT_ARG(s->alpha), WEFT_ARG(s->beta)};
    weft_status st = weft_op_set_args(r, s->kernel, args, 5);
    return st != WEFT_OK ? st : weft_op_launch_1d(r, s->kernel, n, s->local);
}

const weft_op_impl weft_impl_unary = {
    .name = "unary",
    .ops = unary_ops,
    .inplace = 1,
    .supports = unary_supports,
    .cost = bandwidth_cost,
    .prepare = unary_prepare,
    .enqueue = unary_enqueue,
    .release = free,
};

/* ---- Binary with broadcasting ----------------------------------------- */

#define MAX_STEPS 32

typedef struct binary_step {
    cl_kernel kernel;
    cl_mem meta;      /* NULL on the same-shape fast path */
    int from_output;  /* operand a is the output itself (variadic ops) */
    size_t b_input;   /* which node input is operand b */
} binary_step;

typedef struct binary_state {
    binary_step steps[MAX_STEPS];
    size_t count;
    size_t local;
    int copy_only;    /* one-input Max/Min/Sum: y = x */
} binary_state;

static const char *const binary_ops[] = {"Add", "Sub", "Mul", "Div", "Max", "Min", "Sum",
                                         "PRelu", NULL};

/* Collapsed broadcast geometry of a and b into out: dims and strides
 * (0 where broadcast). Returns the rank; 0 means same shape everywhere. */
static int collapse(const weft_shape *out, const weft_shape *a, const weft_shape *b,
                    int dims[WEFT_MAX_RANK], int sa[WEFT_MAX_RANK], int sb[WEFT_MAX_RANK])
{
    int64_t d[WEFT_MAX_RANK], xa[WEFT_MAX_RANK], xb[WEFT_MAX_RANK];
    int rank = 0;
    int64_t stride_a = 1, stride_b = 1;
    int64_t ta[WEFT_MAX_RANK], tb[WEFT_MAX_RANK];
    for (int i = out->rank - 1; i >= 0; i--) {
        int ia = i - (out->rank - a->rank), ib = i - (out->rank - b->rank);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        ta[i] = da == 1 ? 0 : stride_a;
        tb[i] = db == 1 ? 0 : stride_b;
        stride_a *= da;
        stride_b *= db;
    }
    for (int i = 0; i < out->rank; i++) {
        if (out->dims[i] == 1)
            continue;
        if (rank > 0 && xa[rank - 1] == ta[i] * out->dims[i] && xb[rank - 1] == tb[i] * out->dims[i]) {
            d[rank - 1] *= out->dims[i];
            xa[rank - 1] = ta[i];
            xb[rank - 1] = tb[i];
            continue;
        }
        d[rank] = out->dims[i];
        xa[rank] = ta[i];
        xb[rank] = tb[i];
        rank++;
    }
    if (rank == 0 || (rank == 1 && xa[0] == 1 && xb[0] == 1))
        return 0;
    for (int i = 0; i < rank; i++) {
        dims[i] = (int)d[i];
        sa[i] = (int)xa[i];
        sb[i] = (int)xb[i];
    }
    return rank;
}

/* Every input and the output int64, for the integer ops (two inputs or
 * more: the one-input copy is float32's). */
static int all_int64(const weft_graph *g, const weft_node *n)
{
    const weft_value *y = weft_node_output(g, n, 0);
    if (!y || y->dtype != WEFT_INT64 || strcmp(n->op, "PRelu") == 0 || n->input_count < 2)
        return 0;
    for (size_t k = 0; k < n->input_count; k++) {
        const weft_value *v = weft_node_input(g, n, k);
        if (!v || v->dtype != WEFT_INT64)
            return 0;
    }
    return 1;
}

static int binary_supports(const weft_graph *g, const weft_node *n, const weft_device_info *d,
                           char *why, size_t cap)
{
    (void)d;
    if (!all_int64(g, n) && !all_float32(g, n, why, cap))
        return 0;
    if (n->input_count > MAX_STEPS) {
        snprintf(why, cap, "more than %d inputs", MAX_STEPS);
        return 0;
    }
    const weft_value *y = weft_node_output(g, n, 0);
    if (weft_shape_numel(&y->shape) > (int64_t)INT32_MAX) {
        snprintf(why, cap, "more than 2^31 elements");
        return 0;
    }
    return 1;
}

static weft_status binary_prepare(weft_prepare *p)
{
    const weft_node *n = p->node;
    binary_state *s = calloc(1, sizeof *s);
    if (!s)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for node '%s'", n->name);
    p->state = s;
    int code = op_code(n->op);
    int int64 = p->outputs[0].dtype == WEFT_INT64;
    const weft_shape *out = &p->outputs[0].shape;
    weft_status st = WEFT_OK;
    if (n->input_count == 1) {
        s->copy_only = 1;
        weft_options o;
        weft_options_init(&o);
        weft_options_define_int(&o, "OP", OP_IDENTITY);
        s->count = 1;
        s->steps[0].b_input = 0;
        st = weft_op_kernel(p, "eltwise", &o, "unary_f32", &s->steps[0].kernel);
    }
    for (size_t k = 1; k < n->input_count && st == WEFT_OK; k++) {
        binary_step *step = &s->steps[s->count++];
        step->from_output = k > 1;
        step->b_input = k;
        const weft_shape *a = k > 1 ? out : &p->inputs[0].shape;
        int dims[WEFT_MAX_RANK], sa[WEFT_MAX_RANK], sb[WEFT_MAX_RANK];
        int rank = collapse(out, a, &p->inputs[k].shape, dims, sa, sb);
        weft_options o;
        weft_options_init(&o);
        weft_options_define_int(&o, "OP", code);
        if (int64)
            weft_options_define_int(&o, "INT64", 1);
        if (rank > 0) {
            weft_options_define_int(&o, "RANK", rank);
            int meta[3 * WEFT_MAX_RANK];
            memcpy(meta, dims, (size_t)rank * sizeof *meta);
            memcpy(meta + rank, sa, (size_t)rank * sizeof *meta);
            memcpy(meta + 2 * rank, sb, (size_t)rank * sizeof *meta);
            st = weft_op_upload(p, meta, 3 * (size_t)rank * sizeof *meta, &step->meta);
        } else {
            int unused = 0;
            st = weft_op_upload(p, &unused, sizeof unused, &step->meta);
        }
        if (st == WEFT_OK)
            st = weft_op_kernel(p, "eltwise", &o, int64 ? "binary_i64" : "binary_f32",
                                &step->kernel);
    }
    if (st == WEFT_OK)
        s->local = weft_op_local_size(p, s->steps[0].kernel, 64);
    return st;
}

static weft_status binary_enqueue(weft_run *r)
{
    binary_state *s = r->state;
    cl_uint n = (cl_uint)weft_shape_numel(&r->outputs[0].shape);
    weft_status st = WEFT_OK;
    if (s->copy_only) {
        float zero = 0;
        weft_arg args[] = {WEFT_ARG(r->inputs[0].mem), WEFT_ARG(r->outputs[0].mem), WEFT_ARG(n),
                           WEFT_ARG(zero), WEFT_ARG(zero)};
        st = weft_op_set_args(r, s->steps[0].kernel, args, 5);
        return st != WEFT_OK ? st : weft_op_launch_1d(r, s->steps[0].kernel, n, s->local);
    }
    for (size_t i = 0; i < s->count && st == WEFT_OK; i++) {
        binary_step *step = &s->steps[i];
        cl_mem a = step->from_output ? r->outputs[0].mem : r->inputs[0].mem;
        weft_arg args[] = {WEFT_ARG(a), WEFT_ARG(r->inputs[step->b_input].mem),
                           WEFT_ARG(r->outputs[0].mem), WEFT_ARG(n), WEFT_ARG(step->meta)};
        st = weft_op_set_args(r, step->kernel, args, 5);
        if (st == WEFT_OK)
            st = weft_op_launch_1d(r, step->kernel, n, s->local);
    }
    return st;
}

const weft_op_impl weft_impl_binary = {
    .name = "binary",
    .ops = binary_ops,
    .inplace = 1,
    .supports = binary_supports,
    .cost = bandwidth_cost,
    .prepare = binary_prepare,
    .enqueue = binary_enqueue,
    .release = free,
};
