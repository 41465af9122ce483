/*
 * Helpers shared by the reference ops, header-only: the declarations of
 * every op function (from ref_ops.inc), checks of inputs and outputs with
 * messages that name the node, row-major index arithmetic and numpy
 * broadcasting.
 *
 * Clarity over speed: element offsets are recomputed from multi-indices
 * for every element, by division. Nothing here is meant to be fast.
 */
#ifndef WEFT_REF_REF_UTIL_H
#define WEFT_REF_REF_UTIL_H

#include <stdint.h>
#include <string.h>

#include "core/error.h"
#include "core/tensor.h"
#include "graph/graph.h"
#include "ref/ref.h"

#define X(op, fn)                                                                          \
    weft_status fn(const weft_node *n, const weft_host_tensor *in, size_t in_count,        \
                   weft_host_tensor *out, size_t out_count);
#include "ref/ref_ops.inc"
#undef X

/* "[1,3,224,224]" usable inline as a printf argument. */
typedef struct ref_text {
    char s[8 + WEFT_MAX_RANK * 22];
} ref_text;

static inline ref_text ref_fmt(const weft_shape *shape)
{
    ref_text t;
    weft_shape_format(shape, t.s, sizeof t.s);
    return t;
}

/* ---- Inputs and outputs ---------------------------------------------------- */

/* Input i is given: inside in[] and with data (ref.h: data NULL means an
 * absent optional input). */
static inline int ref_present(const weft_host_tensor *in, size_t in_count, size_t i)
{
    return i < in_count && in[i].data != NULL;
}

/* Input i must be present; `what` is its ONNX name. A present tensor of
 * zero elements still has non-NULL data (ref.h). */
static inline weft_status ref_require_input(const weft_node *n, const weft_host_tensor *in,
                                            size_t in_count, size_t i, const char *what)
{
    if (!ref_present(in, in_count, i))
        return weft_node_fail(n, WEFT_ERR_INVALID_ARGUMENT, "input %zu ('%s') is absent", i, what);
    if (in[i].dtype != WEFT_FLOAT32 && in[i].dtype != WEFT_INT64)
        return weft_node_fail(n, WEFT_ERR_INVALID_ARGUMENT, "input %zu ('%s') has data type %d",
                              i, what, (int)in[i].dtype);
    return WEFT_OK;
}

/* Output i must exist, hold `dtype` and have the shape the reference
 * computed; a mismatch means shape inference and the reference disagree. */
static inline weft_status ref_check_output(const weft_node *n, const weft_host_tensor *out,
                                           size_t out_count, size_t i, weft_dtype dtype,
                                           const weft_shape *want)
{
    if (i >= out_count)
        return weft_node_fail(n, WEFT_ERR_INVALID_ARGUMENT, "output %zu is missing (%zu given)", i,
                              out_count);
    if (out[i].dtype != dtype)
        return weft_node_fail(n, WEFT_ERR_INTERNAL,
                              "output %zu is %s but the reference computes %s", i,
                              weft_dtype_name(out[i].dtype), weft_dtype_name(dtype));
    if (!weft_shape_equal(&out[i].shape, want))
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "output %zu has shape %s but the reference computes %s", i,
                              ref_fmt(&out[i].shape).s, ref_fmt(want).s);
    if (!out[i].data && weft_shape_numel(want) > 0)
        return weft_node_fail(n, WEFT_ERR_INVALID_ARGUMENT, "output %zu has no data", i);
    return WEFT_OK;
}

/* Input i must hold float32 (ops whose ONNX type is float only). */
static inline weft_status ref_require_float(const weft_node *n, const weft_host_tensor *in,
                                            size_t i, const char *what)
{
    if (in[i].dtype != WEFT_FLOAT32)
        return weft_node_fail(n, WEFT_ERR_GRAPH, "input %zu ('%s') is %s; %s takes float32", i,
                              what, weft_dtype_name(in[i].dtype), n->op);
    return WEFT_OK;
}

/* ---- Indices -------------------------------------------------------------- */

/* The multi-index of row-major linear index i in shape s. */
static inline void ref_unravel(const weft_shape *s, int64_t i, int64_t idx[WEFT_MAX_RANK])
{
    for (int d = s->rank - 1; d >= 0; d--) {
        int64_t dim = s->dims[d] > 0 ? s->dims[d] : 1;
        idx[d] = i % dim;
        i /= dim;
    }
}

/* The row-major linear index of multi-index idx in shape s. */
static inline int64_t ref_ravel(const weft_shape *s, const int64_t *idx)
{
    int64_t i = 0;
    for (int d = 0; d < s->rank; d++)
        i = i * s->dims[d] + idx[d];
    return i;
}

/* Numpy broadcasting: the linear index in `in` of the element paired with
 * the output multi-index idx (of rank out_rank). in's dims line up with
 * the output's last dims; a dim of size 1 always reads index 0. */
static inline int64_t ref_broadcast_index(const weft_shape *in, int out_rank, const int64_t *idx)
{
    int lead = out_rank - in->rank;
    int64_t i = 0;
    for (int d = 0; d < in->rank; d++)
        i = i * in->dims[d] + (in->dims[d] == 1 ? 0 : idx[lead + d]);
    return i;
}

/* Product of dims [from, to) of s. */
static inline int64_t ref_dims_product(const weft_shape *s, int from, int to)
{
    int64_t p = 1;
    for (int d = from; d < to; d++)
        p *= s->dims[d];
    return p;
}

/* ---- Attributes and constant inputs ---------------------------------------- */

/* An axis in [-rank, rank-1] made non-negative; `what` says where it came
 * from ("attribute 'axis'"). */
static inline weft_status ref_axis(const weft_node *n, const char *what, int64_t axis, int rank,
                                   int *out)
{
    *out = 0;
    if (axis < -(int64_t)rank || axis >= rank)
        return weft_node_fail(n, WEFT_ERR_GRAPH,
                              "%s = %lld is out of range [%d, %d] for an input of rank %d", what,
                              (long long)axis, -rank, rank - 1, rank);
    *out = (int)(axis < 0 ? axis + rank : axis);
    return WEFT_OK;
}

/* A list of axes normalised, without repeats; flags[d] set for each. */
static inline weft_status ref_axes(const weft_node *n, const char *what, const int64_t *axes,
                                   size_t count, int rank, int flags[WEFT_MAX_RANK])
{
    for (int d = 0; d < WEFT_MAX_RANK; d++)
        flags[d] = 0;
    for (size_t i = 0; i < count; i++) {
        int ax;
        weft_status st = ref_axis(n, what, axes[i], rank, &ax);
        if (st != WEFT_OK)
            return st;
        if (flags[ax])
            return weft_node_fail(n, WEFT_ERR_GRAPH, "%s names axis %d twice", what, ax);
        flags[ax] = 1;
    }
    return WEFT_OK;
}

/* Values of an int64 list given as attribute `name` (older opsets) or as
 * input i (newer ones). present is 0 when neither is given. */
typedef struct ref_ints {
    const int64_t *v;
    size_t count;
    int present;
} ref_ints;

static inline weft_status ref_ints_input(const weft_node *n, const weft_host_tensor *in,
                                         size_t in_count, size_t i, const char *what,
                                         ref_ints *out)
{
    out->v = NULL;
    out->count = 0;
    out->present = ref_present(in, in_count, i);
    if (!out->present)
        return WEFT_OK;
    if (in[i].dtype != WEFT_INT64 || in[i].shape.rank > 1)
        return weft_node_fail(n, WEFT_ERR_GRAPH, "input %zu ('%s') is %s %s, expected 1-D int64",
                              i, what, weft_dtype_name(in[i].dtype), ref_fmt(&in[i].shape).s);
    out->v = in[i].data;
    out->count = (size_t)weft_shape_numel(&in[i].shape);
    return WEFT_OK;
}

static inline weft_status ref_ints_attr_or_input(const weft_node *n, const weft_host_tensor *in,
                                                 size_t in_count, const char *name, size_t i,
                                                 ref_ints *out)
{
    if (weft_node_attr(n, name)) {
        if (ref_present(in, in_count, i))
            return weft_node_fail(n, WEFT_ERR_GRAPH,
                                  "'%s' is given both as an attribute (older opsets) and as input "
                                  "%zu; give one",
                                  name, i);
        out->present = 1;
        return weft_node_attr_ints(n, name, &out->v, &out->count);
    }
    return ref_ints_input(n, in, in_count, i, name, out);
}

#endif
