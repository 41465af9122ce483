/*
 * Helpers shared by the shape-inference functions (src/graph/infer_*.c).
 *
 * Statuses follow one rule so that users can act on them:
 *  - WEFT_ERR_GRAPH: an attribute or a constant input is malformed on its
 *    own (wrong type or length, a value out of range, an unknown string,
 *    a repeated axis), or an input has the wrong data type;
 *  - WEFT_ERR_SHAPE: well-formed attributes and inputs whose shapes do not
 *    fit together (group not dividing C, a kernel larger than the padded
 *    input, Concat dims that differ, a Reshape that changes the size);
 *  - WEFT_ERR_UNSUPPORTED: valid ONNX that weft does not run (a computed
 *    input where weft needs a constant, training outputs, ranks above
 *    WEFT_MAX_RANK, tensor-typed attributes).
 * Every message names the attribute or the input (by its ONNX name and
 * its value name); weft_node_fail() puts the node and op in front.
 */
#ifndef WEFT_GRAPH_INFER_UTIL_H
#define WEFT_GRAPH_INFER_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "graph/graph.h"
#include "graph/op_params.h"

/* Attribute values that size windows, strides and blocks stay below this,
 * so that shape arithmetic on them cannot overflow int64. */
#define INFER_ATTR_MAX ((int64_t)INT32_MAX)

/* The value name of input i, "" when absent. */
static inline const char *infer_input_name(const weft_graph *g, const weft_node *n, size_t i)
{
    const weft_value *v = weft_node_input(g, n, i);
    return v ? v->name : "";
}

/* Sets the type and shape of output i when the node has it. */
static inline void infer_set_output(weft_graph *g, const weft_node *n, size_t i, weft_dtype dtype,
                                    const weft_shape *shape)
{
    weft_value *v = weft_node_output(g, n, i);
    if (v) {
        weft_shape copy = *shape; /* shape may point into an input */
        v->dtype = dtype;
        v->shape = copy;
        v->shape_known = 1;
    }
}

/* Input i must be present (validation guarantees the required ones; this
 * covers variadic inputs left empty). */
static inline weft_status infer_require_input(const weft_graph *g, const weft_node *n, size_t i,
                                              const char *what, const weft_value **out)
{
    const weft_value *v = weft_node_input(g, n, i);
    if (!v)
        return weft_node_fail(n, WEFT_ERR_GRAPH, "input %zu (%s) is absent", i, what);
    *out = v;
    return WEFT_OK;
}

/* Input `v` (ONNX name `what`) must hold float32: ops with float-only
 * type constraints in ONNX. */
static inline weft_status infer_require_float(const weft_node *n, const weft_value *v,
                                              const char *what)
{
    if (v->dtype != WEFT_FLOAT32)
        return weft_node_fail(n, WEFT_ERR_GRAPH, "input '%s' ('%s') is %s; %s takes float32",
                              what, v->name, weft_dtype_name(v->dtype), n->op);
    return WEFT_OK;
}

/* Input `v` must have the data type of input `ref`. */
static inline weft_status infer_same_dtype(const weft_node *n, const weft_value *ref,
                                           const char *ref_what, const weft_value *v,
                                           const char *what)
{
    if (v->dtype != ref->dtype)
        return weft_node_fail(n, WEFT_ERR_GRAPH,
                              "input '%s' ('%s') is %s but input '%s' ('%s') is %s; they must "
                              "have the same data type",
                              what, v->name, weft_dtype_name(v->dtype), ref_what, ref->name,
                              weft_dtype_name(ref->dtype));
    return WEFT_OK;
}

/* An int attribute that must lie in [lo, hi]. */
static inline weft_status infer_attr_int_range(const weft_node *n, const char *name, int64_t def,
                                               int64_t lo, int64_t hi, int64_t *out)
{
    weft_status st = weft_node_attr_int(n, name, def, out);
    if (st != WEFT_OK)
        return st;
    if (*out < lo || *out > hi)
        return weft_node_fail(n, WEFT_ERR_GRAPH,
                              "attribute '%s' = %lld is out of range [%lld, %lld]", name,
                              (long long)*out, (long long)lo, (long long)hi);
    return WEFT_OK;
}

/* A required int attribute. */
static inline weft_status infer_attr_int_required(const weft_node *n, const char *name,
                                                  int64_t *out)
{
    if (!weft_node_attr(n, name))
        return weft_node_fail(n, WEFT_ERR_GRAPH, "attribute '%s' is required", name);
    return weft_node_attr_int(n, name, 0, out);
}

/* An ints attribute of exactly `len` values in [lo, hi], or `len` copies
 * of `def` when absent. `unit` says what one value stands for in
 * messages ("per spatial axis"). */
static inline weft_status infer_attr_ints_fixed(const weft_node *n, const char *name, size_t len,
                                                const char *unit, int64_t def, int64_t lo,
                                                int64_t hi, int64_t *out, int *present)
{
    const int64_t *v;
    size_t count;
    weft_status st = weft_node_attr_ints(n, name, &v, &count);
    if (st != WEFT_OK)
        return st;
    if (present)
        *present = weft_node_attr(n, name) != NULL;
    if (!weft_node_attr(n, name)) {
        for (size_t i = 0; i < len; i++)
            out[i] = def;
        return WEFT_OK;
    }
    if (count != len)
        return weft_node_fail(n, WEFT_ERR_GRAPH, "attribute '%s' has %zu values, expected %zu (%s)",
                              name, count, len, unit);
    for (size_t i = 0; i < len; i++) {
        if (v[i] < lo || v[i] > hi)
            return weft_node_fail(n, WEFT_ERR_GRAPH,
                                  "attribute '%s'[%zu] = %lld is out of range [%lld, %lld]", name,
                                  i, (long long)v[i], (long long)lo, (long long)hi);
        out[i] = v[i];
    }
    return WEFT_OK;
}

/* A string attribute that must be one of a NULL-terminated list. */
static inline weft_status infer_attr_choice(const weft_node *n, const char *name, const char *def,
                                            const char *const *choices, const char **out)
{
    weft_status st = weft_node_attr_string(n, name, def, out);
    if (st != WEFT_OK)
        return st;
    for (size_t i = 0; choices[i]; i++)
        if (strcmp(*out, choices[i]) == 0)
            return WEFT_OK;
    char list[256] = "";
    size_t at = 0;
    for (size_t i = 0; choices[i] && at < sizeof list; i++) {
        int w = snprintf(list + at, sizeof list - at, "%s%s", i ? ", " : "", choices[i]);
        at += w > 0 ? (size_t)w : 0;
    }
    return weft_node_fail(n, WEFT_ERR_GRAPH, "attribute '%s' = \"%s\" is not one of %s", name,
                          *out, list);
}

/* ---- Constant inputs ---------------------------------------------------- */

/* The data of a constant value, or NULL. Validation folds Shape and
 * Constant nodes (and ops on constants) as it reaches them, so a value
 * computable before running is a constant by the time its consumers are
 * inferred. */
static inline const void *infer_const_data(const weft_value *v)
{
    return v->kind == WEFT_VALUE_CONSTANT ? v->data : NULL;
}

/* Constant input i of the node (graph/op_params.h), reported on the node. */
static inline weft_status infer_const_ints(const weft_graph *g, const weft_node *n, size_t i,
                                           const char *what, weft_ints *out)
{
    return weft_params_const_ints(n, weft_node_input(g, n, i), what, out, NULL, 0);
}

static inline weft_status infer_const_floats(const weft_graph *g, const weft_node *n, size_t i,
                                             const char *what, weft_floats *out)
{
    const void *d;
    weft_status st = weft_params_const(n, weft_node_input(g, n, i), what, WEFT_FLOAT32, &d,
                                       &out->count, &out->present, NULL, 0);
    out->v = d;
    return st;
}

/* The ints of attribute `name` (older opsets) or of input i (newer ones);
 * both given is an error. */
static inline weft_status infer_ints_attr_or_input(const weft_graph *g, const weft_node *n,
                                                   const char *name, size_t i, weft_ints *out)
{
    return weft_params_ints(n, name, i, weft_node_input(g, n, i), out, NULL, 0);
}

/* ---- Checked arithmetic on non-negative sizes ----------------------------- */

/* a * b and a + b for a, b >= 0; 0 when the result would exceed INT64_MAX. */
static inline int infer_mul(int64_t a, int64_t b, int64_t *r)
{
    if (a < 0 || b < 0 || (a != 0 && b > INT64_MAX / a))
        return 0;
    *r = a * b;
    return 1;
}

static inline int infer_add(int64_t a, int64_t b, int64_t *r)
{
    if ((b > 0 && a > INT64_MAX - b) || (b < 0 && a < INT64_MIN - b))
        return 0;
    *r = a + b;
    return 1;
}

/* floor(a / b) and ceil(a / b) for b > 0, any sign of a. */
static inline int64_t infer_floor_div(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

static inline int64_t infer_ceil_div(int64_t a, int64_t b)
{
    return a >= 0 ? (a + b - 1) / b : -((-a) / b);
}

/* b is unidirectionally broadcastable to a (numpy rules, b's dims
 * stretched to a's, never the other way). */
static inline int infer_unidirectional(const weft_shape *a, const weft_shape *b)
{
    if (b->rank > a->rank)
        return 0;
    for (int i = 0; i < b->rank; i++) {
        int64_t da = a->dims[a->rank - b->rank + i], db = b->dims[i];
        if (db != da && db != 1)
            return 0;
    }
    return 1;
}

/* ---- Sliding windows: Conv, ConvTranspose and the pools ------------------ */

typedef enum infer_auto_pad {
    INFER_PAD_NOTSET,
    INFER_PAD_SAME_UPPER,
    INFER_PAD_SAME_LOWER,
    INFER_PAD_VALID
} infer_auto_pad;

typedef struct infer_window {
    int spatial; /* number of spatial axes */
    int64_t kernel[WEFT_MAX_RANK];
    int64_t strides[WEFT_MAX_RANK];
    int64_t dilations[WEFT_MAX_RANK];
    int64_t pads[2 * WEFT_MAX_RANK]; /* [x1_begin, x2_begin, ..., x1_end, x2_end] */
    infer_auto_pad auto_pad;
} infer_window;

/* The spatial rank of input X (N, C, then 1 to 3 spatial axes). */
static inline weft_status infer_spatial(const weft_node *n, const weft_value *x, const char *what,
                                        int *spatial)
{
    if (x->shape.rank < 3)
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "input '%s' ('%s') has shape %s; %s needs N, C and 1 to 3 spatial "
                              "axes",
                              what, x->name, weft_shape_str(&x->shape).s, n->op);
    if (x->shape.rank > 5)
        return weft_node_fail(n, WEFT_ERR_UNSUPPORTED,
                              "input '%s' ('%s') has %d spatial axes; weft runs %s with 1 to 3",
                              what, x->name, x->shape.rank - 2, n->op);
    *spatial = x->shape.rank - 2;
    return WEFT_OK;
}

/* Reads strides, dilations (when the op has them), pads and auto_pad for
 * w->spatial axes. */
static inline weft_status infer_window_attrs(const weft_node *n, int has_dilations,
                                             infer_window *w)
{
    size_t sp = (size_t)w->spatial;
    static const char *const modes[] = {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID", NULL};
    const char *mode;
    int pads_given = 0;
    weft_status st = infer_attr_choice(n, "auto_pad", "NOTSET", modes, &mode);
    if (st == WEFT_OK)
        st = infer_attr_ints_fixed(n, "strides", sp, "one per spatial axis", 1, 1, INFER_ATTR_MAX,
                                   w->strides, NULL);
    if (st == WEFT_OK)
        st = infer_attr_ints_fixed(n, "pads", 2 * sp, "a begin and an end per spatial axis", 0, 0,
                                   INFER_ATTR_MAX, w->pads, &pads_given);
    if (st == WEFT_OK && has_dilations)
        st = infer_attr_ints_fixed(n, "dilations", sp, "one per spatial axis", 1, 1,
                                   INFER_ATTR_MAX, w->dilations, NULL);
    else
        for (size_t i = 0; i < sp; i++)
            w->dilations[i] = 1;
    if (st != WEFT_OK)
        return st;
    w->auto_pad = strcmp(mode, "SAME_UPPER") == 0   ? INFER_PAD_SAME_UPPER
                  : strcmp(mode, "SAME_LOWER") == 0 ? INFER_PAD_SAME_LOWER
                  : strcmp(mode, "VALID") == 0      ? INFER_PAD_VALID
                                                    : INFER_PAD_NOTSET;
    if (w->auto_pad != INFER_PAD_NOTSET && pads_given) {
        for (size_t i = 0; i < 2 * sp; i++)
            if (w->pads[i] != 0)
                return weft_node_fail(n, WEFT_ERR_GRAPH,
                                      "attribute 'pads' cannot be used with attribute 'auto_pad' "
                                      "= \"%s\"",
                                      mode);
    }
    if (w->auto_pad != INFER_PAD_NOTSET)
        for (size_t i = 0; i < 2 * sp; i++)
            w->pads[i] = 0;
    return WEFT_OK;
}

/* Output size of spatial axis i of a Conv or a pool over an input of size
 * `in`, with ONNX's rules: explicit pads (floor, or with ceil_mode ceil
 * where a last window starting in the end padding is dropped), SAME_* =
 * ceil(in / stride), VALID = no padding and ceil_mode ignored. */
static inline weft_status infer_window_out(const weft_node *n, const infer_window *w, int i,
                                           int64_t in, int ceil_mode, int64_t *out)
{
    int64_t s = w->strides[i], dk = (w->kernel[i] - 1) * w->dilations[i] + 1;
    if (w->auto_pad == INFER_PAD_SAME_UPPER || w->auto_pad == INFER_PAD_SAME_LOWER) {
        *out = infer_ceil_div(in, s);
        return WEFT_OK;
    }
    int64_t begin = w->pads[i], end = w->pads[i + w->spatial];
    int64_t padded = in + begin + end;
    if (padded < dk)
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "on spatial axis %d the kernel spans %lld (kernel_shape %lld, "
                              "dilation %lld), more than the padded input: %lld (size %lld, pads "
                              "%lld + %lld)",
                              i, (long long)dk, (long long)w->kernel[i],
                              (long long)w->dilations[i], (long long)padded, (long long)in,
                              (long long)begin, (long long)end);
    if (!ceil_mode || w->auto_pad == INFER_PAD_VALID) {
        /* ONNX's VALID size, ceil((in - dk + 1) / stride), is this too. */
        *out = (padded - dk) / s + 1;
        return WEFT_OK;
    }
    int64_t o = infer_ceil_div(padded - dk, s) + 1;
    if ((o - 1) * s >= in + begin) /* the last window would start in the end padding */
        o--;
    *out = o;
    return WEFT_OK;
}

#endif
