/*
 * Reference of the element-wise ops: arithmetic with numpy broadcasting
 * (Add, Sub, Mul, Div, and the variadic Max, Min, Sum), PRelu, the unary
 * activations, Clip, and Softmax/LogSoftmax (opset-13 form: one axis).
 *
 * Float32 math is done in double and rounded once to float32 at the
 * store, so the reference is at least as accurate as any kernel it
 * checks. int64 is supported where ONNX allows it and shape computations
 * use it: Add, Sub, Mul, Div, Max, Min, Sum, PRelu, Relu, Neg, Abs, Clip.
 * int64 arithmetic wraps around modulo 2^64 (numpy's behaviour) instead
 * of overflowing, and Div truncates toward zero like C: the semantics
 * ONNX states since onnx/onnx#7585 ("Fix Div integer semantics to use
 * trunc division", which also changed the ONNX reference evaluator) and
 * that ONNX Runtime and TensorRT implement (onnx/onnx#4016: -11 / 3 = -3).
 * Integer division by zero is an error (WEFT_ERR_INVALID_ARGUMENT).
 *
 * NaN propagates through every op here, as in numpy: comparisons are
 * written so that a NaN operand is never replaced by a bound.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref/ref_util.h"

/* ---- Broadcasting arithmetic ---------------------------------------------- */

/* One float step of a left fold over the inputs: acc = op(acc, b). */
typedef double (*float_op)(double acc, double b);
/* The int64 step; returns 0 when the operation is undefined (division by
 * zero). */
typedef int (*int_op)(int64_t acc, int64_t b, int64_t *r);

static double f_add(double a, double b) { return a + b; }
static double f_sub(double a, double b) { return a - b; }
static double f_mul(double a, double b) { return a * b; }
static double f_div(double a, double b) { return a / b; }
static double f_max(double a, double b) { return isnan(a) || isnan(b) ? NAN : a > b ? a : b; }
static double f_min(double a, double b) { return isnan(a) || isnan(b) ? NAN : a < b ? a : b; }

/* Through uint64_t: wraps modulo 2^64 where int64_t would overflow. */
static int i_add(int64_t a, int64_t b, int64_t *r)
{
    *r = (int64_t)((uint64_t)a + (uint64_t)b);
    return 1;
}

static int i_sub(int64_t a, int64_t b, int64_t *r)
{
    *r = (int64_t)((uint64_t)a - (uint64_t)b);
    return 1;
}

static int i_mul(int64_t a, int64_t b, int64_t *r)
{
    *r = (int64_t)((uint64_t)a * (uint64_t)b);
    return 1;
}

static int i_div(int64_t a, int64_t b, int64_t *r)
{
    if (b == 0)
        return 0;
    /* The one quotient that does not fit: wraps like the others. */
    *r = a == INT64_MIN && b == -1 ? INT64_MIN : a / b; /* C truncates toward zero */
    return 1;
}

static int i_max(int64_t a, int64_t b, int64_t *r)
{
    *r = a > b ? a : b;
    return 1;
}

static int i_min(int64_t a, int64_t b, int64_t *r)
{
    *r = a < b ? a : b;
    return 1;
}

/* out = in[0] op in[1] op ... in[k-1], left to right, every input
 * broadcast to the output shape (numpy rules, all inputs at once). */
static weft_status broadcast_fold(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                                  weft_host_tensor *out, size_t out_count, float_op ff, int_op fi)
{
    if (in_count < 1)
        return weft_node_fail(n, WEFT_ERR_INVALID_ARGUMENT, "no inputs");
    weft_status st;
    weft_shape shape = in[0].shape;
    for (size_t k = 0; k < in_count; k++) {
        if ((st = ref_require_input(n, in, in_count, k, k == 0 ? "A" : "B")) != WEFT_OK)
            return st;
        if (in[k].dtype != in[0].dtype)
            return weft_node_fail(n, WEFT_ERR_GRAPH, "input %zu is %s but input 0 is %s", k,
                                  weft_dtype_name(in[k].dtype), weft_dtype_name(in[0].dtype));
        weft_shape next;
        if (weft_shape_broadcast(&shape, &in[k].shape, &next) != WEFT_OK)
            return weft_node_fail(n, WEFT_ERR_SHAPE,
                                  "input %zu of shape %s does not broadcast with shape %s", k,
                                  weft_shape_str(&in[k].shape).s, weft_shape_str(&shape).s);
        shape = next;
    }
    if ((st = ref_check_output(n, out, out_count, 0, in[0].dtype, &shape)) != WEFT_OK)
        return st;
    int64_t count = weft_shape_numel(&shape);
    int64_t idx[WEFT_MAX_RANK];
    for (int64_t i = 0; i < count; i++) {
        ref_unravel(&shape, i, idx);
        if (in[0].dtype == WEFT_FLOAT32) {
            const float *a = in[0].data;
            double acc = a[ref_broadcast_index(&in[0].shape, shape.rank, idx)];
            for (size_t k = 1; k < in_count; k++) {
                const float *b = in[k].data;
                acc = ff(acc, b[ref_broadcast_index(&in[k].shape, shape.rank, idx)]);
            }
            ((float *)out[0].data)[i] = (float)acc;
        } else {
            const int64_t *a = in[0].data;
            int64_t acc = a[ref_broadcast_index(&in[0].shape, shape.rank, idx)];
            for (size_t k = 1; k < in_count; k++) {
                const int64_t *b = in[k].data;
                if (!fi(acc, b[ref_broadcast_index(&in[k].shape, shape.rank, idx)], &acc))
                    return weft_node_fail(n, WEFT_ERR_INVALID_ARGUMENT,
                                          "int64 division by zero at output element %lld",
                                          (long long)i);
            }
            ((int64_t *)out[0].data)[i] = acc;
        }
    }
    return WEFT_OK;
}

#define BROADCAST_OP(fn, ff, fi)                                                              \
    weft_status fn(const weft_node *n, const weft_host_tensor *in, size_t in_count,           \
                   weft_host_tensor *out, size_t out_count)                                   \
    {                                                                                         \
        return broadcast_fold(n, in, in_count, out, out_count, ff, fi);                       \
    }

BROADCAST_OP(weft_ref_add, f_add, i_add)
BROADCAST_OP(weft_ref_sub, f_sub, i_sub)
BROADCAST_OP(weft_ref_mul, f_mul, i_mul)
BROADCAST_OP(weft_ref_div, f_div, i_div)
BROADCAST_OP(weft_ref_max, f_max, i_max)
BROADCAST_OP(weft_ref_min, f_min, i_min)
BROADCAST_OP(weft_ref_sum, f_add, i_add)

/* PRelu: y = x < 0 ? slope * x : x, slope broadcast to x's shape (never
 * the other way: "unidirectional" broadcasting, ONNX PRelu-16). */
weft_status weft_ref_prelu(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                           weft_host_tensor *out, size_t out_count)
{
    weft_status st;
    if ((st = ref_require_input(n, in, in_count, 0, "X")) != WEFT_OK ||
        (st = ref_require_input(n, in, in_count, 1, "slope")) != WEFT_OK)
        return st;
    const weft_shape *xs = &in[0].shape, *ss = &in[1].shape;
    if (in[1].dtype != in[0].dtype)
        return weft_node_fail(n, WEFT_ERR_GRAPH, "input 'slope' is %s but 'X' is %s",
                              weft_dtype_name(in[1].dtype), weft_dtype_name(in[0].dtype));
    int fits = ss->rank <= xs->rank;
    for (int d = 0; d < ss->rank && fits; d++) {
        int64_t sd = ss->dims[d], xd = xs->dims[xs->rank - ss->rank + d];
        fits = sd == xd || sd == 1;
    }
    if (!fits)
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "input 'slope' of shape %s does not broadcast to the shape %s of X",
                              weft_shape_str(ss).s, weft_shape_str(xs).s);
    if ((st = ref_check_output(n, out, out_count, 0, in[0].dtype, xs)) != WEFT_OK)
        return st;
    int64_t count = weft_shape_numel(xs), idx[WEFT_MAX_RANK];
    for (int64_t i = 0; i < count; i++) {
        ref_unravel(xs, i, idx);
        int64_t j = ref_broadcast_index(ss, xs->rank, idx);
        if (in[0].dtype == WEFT_FLOAT32) {
            double x = ((const float *)in[0].data)[i], s = ((const float *)in[1].data)[j];
            ((float *)out[0].data)[i] = (float)(x < 0 ? s * x : x);
        } else {
            int64_t x = ((const int64_t *)in[0].data)[i], s = ((const int64_t *)in[1].data)[j], r;
            i_mul(s, x, &r);
            ((int64_t *)out[0].data)[i] = x < 0 ? r : x;
        }
    }
    return WEFT_OK;
}

/* ---- Unary ------------------------------------------------------------------ */

/* Attribute values of an activation, in double. */
typedef struct unary_args {
    double alpha, beta, gamma;
    int tanh_approx; /* Gelu */
} unary_args;

typedef double (*unary_float)(double x, const unary_args *a);
typedef int64_t (*unary_int)(int64_t x);

/* y = f(x) element by element; fi NULL means float32 only (the ONNX type
 * constraint of the op). */
static weft_status run_unary(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                             weft_host_tensor *out, size_t out_count, unary_float ff,
                             unary_int fi, const unary_args *a)
{
    weft_status st = ref_require_input(n, in, in_count, 0, "X");
    if (st == WEFT_OK && !fi)
        st = ref_require_float(n, in, 0, "X");
    if (st == WEFT_OK)
        st = ref_check_output(n, out, out_count, 0, in[0].dtype, &in[0].shape);
    if (st != WEFT_OK)
        return st;
    int64_t count = weft_shape_numel(&in[0].shape);
    for (int64_t i = 0; i < count; i++) {
        if (in[0].dtype == WEFT_FLOAT32)
            ((float *)out[0].data)[i] = (float)ff(((const float *)in[0].data)[i], a);
        else
            ((int64_t *)out[0].data)[i] = fi(((const int64_t *)in[0].data)[i]);
    }
    return WEFT_OK;
}

/* Reads float attribute `name` (default def) into *out as a double. */
static weft_status attr_double(const weft_node *n, const char *name, float def, double *out)
{
    float f;
    weft_status st = weft_node_attr_float(n, name, def, &f);
    *out = f;
    return st;
}

/* log(1 + exp(x)) without overflow for large x: the same function,
 * rewritten as max(x, 0) + log1p(exp(-|x|)). */
static double softplus(double x) { return (x > 0 ? x : 0) + log1p(exp(-fabs(x))); }

/* min(1, max(0, v)), NaN kept. */
static double clamp01(double v) { return v < 0 ? 0 : v > 1 ? 1 : v; }

static double u_relu(double x, const unary_args *a) { (void)a; return x < 0 ? 0 : x; }
static double u_leaky_relu(double x, const unary_args *a) { return x < 0 ? a->alpha * x : x; }
/* Elu: alpha * (exp(x) - 1) for x < 0, x otherwise. */
static double u_elu(double x, const unary_args *a) { return x < 0 ? a->alpha * expm1(x) : x; }
/* Selu: gamma * (alpha * e^x - alpha) for x <= 0, gamma * x for x > 0. */
static double u_selu(double x, const unary_args *a)
{
    return x > 0 ? a->gamma * x : a->gamma * (a->alpha * exp(x) - a->alpha);
}
static double u_sigmoid(double x, const unary_args *a) { (void)a; return 1.0 / (1.0 + exp(-x)); }
/* HardSigmoid: max(0, min(1, alpha * x + beta)). */
static double u_hard_sigmoid(double x, const unary_args *a)
{
    return clamp01(a->alpha * x + a->beta);
}
/* HardSwish: x * max(0, min(1, alpha * x + beta)), alpha = 1/6, beta = 0.5. */
static double u_hard_swish(double x, const unary_args *a)
{
    (void)a;
    return x * clamp01(x / 6.0 + 0.5);
}
static double u_tanh(double x, const unary_args *a) { (void)a; return tanh(x); }
/* Gelu: 0.5 x (1 + erf(x / sqrt 2)), or with approximate = "tanh":
 * 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))). */
static double u_gelu(double x, const unary_args *a)
{
    const double pi = 3.14159265358979323846;
    if (a->tanh_approx)
        return 0.5 * x * (1.0 + tanh(sqrt(2.0 / pi) * (x + 0.044715 * x * x * x)));
    return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
}
static double u_softplus(double x, const unary_args *a) { (void)a; return softplus(x); }
static double u_softsign(double x, const unary_args *a) { (void)a; return x / (1.0 + fabs(x)); }
/* Mish: x * tanh(softplus(x)). */
static double u_mish(double x, const unary_args *a) { (void)a; return x * tanh(softplus(x)); }
static double u_erf(double x, const unary_args *a) { (void)a; return erf(x); }
static double u_sqrt(double x, const unary_args *a) { (void)a; return sqrt(x); }
static double u_exp(double x, const unary_args *a) { (void)a; return exp(x); }
static double u_log(double x, const unary_args *a) { (void)a; return log(x); }
static double u_neg(double x, const unary_args *a) { (void)a; return -x; }
static double u_abs(double x, const unary_args *a) { (void)a; return fabs(x); }

static int64_t i_relu(int64_t x) { return x < 0 ? 0 : x; }
/* -INT64_MIN wraps to INT64_MIN, as in numpy. */
static int64_t i_neg(int64_t x) { return (int64_t)(0 - (uint64_t)x); }
static int64_t i_abs(int64_t x) { return x < 0 ? i_neg(x) : x; }

/* An activation without attributes. */
#define UNARY_OP(fn, ff, fi)                                                                  \
    weft_status fn(const weft_node *n, const weft_host_tensor *in, size_t in_count,           \
                   weft_host_tensor *out, size_t out_count)                                   \
    {                                                                                         \
        unary_args a = {0};                                                                   \
        return run_unary(n, in, in_count, out, out_count, ff, fi, &a);                        \
    }

UNARY_OP(weft_ref_relu, u_relu, i_relu)
UNARY_OP(weft_ref_sigmoid, u_sigmoid, NULL)
UNARY_OP(weft_ref_hard_swish, u_hard_swish, NULL)
UNARY_OP(weft_ref_tanh, u_tanh, NULL)
UNARY_OP(weft_ref_softplus, u_softplus, NULL)
UNARY_OP(weft_ref_softsign, u_softsign, NULL)
UNARY_OP(weft_ref_mish, u_mish, NULL)
UNARY_OP(weft_ref_sqrt, u_sqrt, NULL)
UNARY_OP(weft_ref_exp, u_exp, NULL)
UNARY_OP(weft_ref_log, u_log, NULL)
UNARY_OP(weft_ref_neg, u_neg, i_neg)
UNARY_OP(weft_ref_abs, u_abs, i_abs)

/* ONNX Erf also takes integer tensors; the reference does not. */
weft_status weft_ref_erf(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                         weft_host_tensor *out, size_t out_count)
{
    if (ref_present(in, in_count, 0) && in[0].dtype == WEFT_INT64)
        return weft_node_fail(n, WEFT_ERR_UNSUPPORTED,
                              "Erf of an int64 tensor is not supported; cast it to float32");
    unary_args a = {0};
    return run_unary(n, in, in_count, out, out_count, u_erf, NULL, &a);
}

/* Defaults from the ONNX operator specs. */
weft_status weft_ref_leaky_relu(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                                weft_host_tensor *out, size_t out_count)
{
    unary_args a = {0};
    weft_status st = attr_double(n, "alpha", 0.01f, &a.alpha);
    return st != WEFT_OK ? st : run_unary(n, in, in_count, out, out_count, u_leaky_relu, NULL, &a);
}

weft_status weft_ref_elu(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                         weft_host_tensor *out, size_t out_count)
{
    unary_args a = {0};
    weft_status st = attr_double(n, "alpha", 1.0f, &a.alpha);
    return st != WEFT_OK ? st : run_unary(n, in, in_count, out, out_count, u_elu, NULL, &a);
}

weft_status weft_ref_selu(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                          weft_host_tensor *out, size_t out_count)
{
    unary_args a = {0};
    weft_status st = attr_double(n, "alpha", 1.67326319217681884765625f, &a.alpha);
    if (st == WEFT_OK)
        st = attr_double(n, "gamma", 1.05070102214813232421875f, &a.gamma);
    return st != WEFT_OK ? st : run_unary(n, in, in_count, out, out_count, u_selu, NULL, &a);
}

weft_status weft_ref_hard_sigmoid(const weft_node *n, const weft_host_tensor *in,
                                  size_t in_count, weft_host_tensor *out, size_t out_count)
{
    unary_args a = {0};
    weft_status st = attr_double(n, "alpha", 0.2f, &a.alpha);
    if (st == WEFT_OK)
        st = attr_double(n, "beta", 0.5f, &a.beta);
    return st != WEFT_OK ? st
                         : run_unary(n, in, in_count, out, out_count, u_hard_sigmoid, NULL, &a);
}

weft_status weft_ref_gelu(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                          weft_host_tensor *out, size_t out_count)
{
    unary_args a = {0};
    const char *approx;
    weft_status st = weft_node_attr_string(n, "approximate", "none", &approx);
    if (st != WEFT_OK)
        return st;
    if (strcmp(approx, "tanh") == 0)
        a.tanh_approx = 1;
    else if (strcmp(approx, "none") != 0)
        return weft_node_fail(n, WEFT_ERR_GRAPH,
                              "attribute 'approximate' = \"%s\" is not one of none, tanh", approx);
    return run_unary(n, in, in_count, out, out_count, u_gelu, NULL, &a);
}

/* ---- Clip ------------------------------------------------------------------- */

/* A Clip bound: input i (opset 11+, a scalar of X's type) or float
 * attribute `name` (opset 6). *has is 0 when neither is given: no bound. */
static weft_status clip_bound(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                              size_t i, const char *name, int *has, double *f, int64_t *v)
{
    *has = 0;
    if (ref_present(in, in_count, i)) {
        if (weft_node_attr(n, name))
            return weft_node_fail(n, WEFT_ERR_GRAPH,
                                  "'%s' is given both as an attribute (opset < 11) and as input "
                                  "%zu; give one",
                                  name, i);
        if (in[i].dtype != in[0].dtype || weft_shape_numel(&in[i].shape) != 1 ||
            in[i].shape.rank > 1)
            return weft_node_fail(n, WEFT_ERR_GRAPH,
                                  "input '%s' is %s %s, expected a scalar of X's type %s", name,
                                  weft_dtype_name(in[i].dtype), weft_shape_str(&in[i].shape).s,
                                  weft_dtype_name(in[0].dtype));
        *has = 1;
        if (in[0].dtype == WEFT_FLOAT32)
            *f = ((const float *)in[i].data)[0];
        else
            *v = ((const int64_t *)in[i].data)[0];
        return WEFT_OK;
    }
    if (weft_node_attr(n, name)) {
        if (in[0].dtype != WEFT_FLOAT32)
            return weft_node_fail(n, WEFT_ERR_GRAPH,
                                  "attribute '%s' (opset 6) needs a float32 input, X is %s", name,
                                  weft_dtype_name(in[0].dtype));
        float a;
        weft_status st = weft_node_attr_float(n, name, 0.0f, &a);
        *has = st == WEFT_OK;
        *f = a;
        return st;
    }
    return WEFT_OK;
}

/* y = min(max(x, min), max): with min > max every element becomes max, as
 * ONNX Clip-13 states. An absent bound clips nothing. */
weft_status weft_ref_clip(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                          weft_host_tensor *out, size_t out_count)
{
    weft_status st = ref_require_input(n, in, in_count, 0, "input");
    if (st != WEFT_OK)
        return st;
    int has_lo, has_hi;
    double flo = 0, fhi = 0;
    int64_t ilo = 0, ihi = 0;
    if ((st = clip_bound(n, in, in_count, 1, "min", &has_lo, &flo, &ilo)) != WEFT_OK ||
        (st = clip_bound(n, in, in_count, 2, "max", &has_hi, &fhi, &ihi)) != WEFT_OK ||
        (st = ref_check_output(n, out, out_count, 0, in[0].dtype, &in[0].shape)) != WEFT_OK)
        return st;
    int64_t count = weft_shape_numel(&in[0].shape);
    for (int64_t i = 0; i < count; i++) {
        if (in[0].dtype == WEFT_FLOAT32) {
            double y = ((const float *)in[0].data)[i];
            if (has_lo && y < flo)
                y = flo;
            if (has_hi && y > fhi)
                y = fhi;
            ((float *)out[0].data)[i] = (float)y;
        } else {
            int64_t y = ((const int64_t *)in[0].data)[i];
            if (has_lo && y < ilo)
                y = ilo;
            if (has_hi && y > ihi)
                y = ihi;
            ((int64_t *)out[0].data)[i] = y;
        }
    }
    return WEFT_OK;
}

/* ---- Softmax and LogSoftmax ----------------------------------------------------- */

/* Along attribute 'axis' (default -1), opset-13 semantics: each 1-D slice
 * along the axis is normalised on its own. Older opsets (1-11) flattened
 * the input to 2-D at the axis instead; an importer has to rewrite those.
 * Numerically stable: the slice's max is subtracted before exp. */
static weft_status softmax(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                           weft_host_tensor *out, size_t out_count, int log_form)
{
    weft_status st = ref_require_input(n, in, in_count, 0, "input");
    if (st == WEFT_OK)
        st = ref_require_float(n, in, 0, "input");
    if (st != WEFT_OK)
        return st;
    const weft_shape *s = &in[0].shape;
    int64_t axis;
    int ax;
    if ((st = weft_node_attr_int(n, "axis", -1, &axis)) != WEFT_OK ||
        (st = weft_params_axis(n, "attribute 'axis'", axis, s->rank, &ax, NULL, 0)) != WEFT_OK ||
        (st = ref_check_output(n, out, out_count, 0, WEFT_FLOAT32, s)) != WEFT_OK)
        return st;
    /* Element (o, a, i) of the view [outer, len, inner] is at (o * len + a) * inner + i. */
    int64_t outer = weft_shape_product(s, 0, ax), len = s->dims[ax];
    int64_t inner = weft_shape_product(s, ax + 1, s->rank);
    const float *x = in[0].data;
    float *y = out[0].data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            double max = -INFINITY, sum = 0;
            for (int64_t a = 0; a < len; a++) {
                double v = x[(o * len + a) * inner + i];
                if (isnan(v) || v > max)
                    max = v; /* a NaN stays: the slice becomes NaN */
            }
            for (int64_t a = 0; a < len; a++)
                sum += exp(x[(o * len + a) * inner + i] - max);
            for (int64_t a = 0; a < len; a++) {
                double d = x[(o * len + a) * inner + i] - max;
                y[(o * len + a) * inner + i] = (float)(log_form ? d - log(sum) : exp(d) / sum);
            }
        }
    return WEFT_OK;
}

weft_status weft_ref_softmax(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                             weft_host_tensor *out, size_t out_count)
{
    return softmax(n, in, in_count, out, out_count, 0);
}

weft_status weft_ref_log_softmax(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                                 weft_host_tensor *out, size_t out_count)
{
    return softmax(n, in, in_count, out, out_count, 1);
}
