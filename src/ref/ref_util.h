/*
 * Helpers shared by the reference ops, header-only: the declarations of
 * every op function (from ref_ops.inc), checks of inputs and outputs with
 * messages that name the node, row-major index arithmetic, numpy
 * broadcasting, and host tensors handed to the parameter readers that the
 * reference shares with shape inference and the kernels (graph/op_params.h:
 * axes, int lists from attributes or inputs, Slice, Pad and Transpose).
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
#include "graph/op_params.h"
#include "ref/ref.h"

#define X(op, fn)                                                                          \
    weft_status fn(const weft_node *n, const weft_host_tensor *in, size_t in_count,        \
                   weft_host_tensor *out, size_t out_count);
#include "ref/ref_ops.inc"
#undef X

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
                              weft_shape_str(&out[i].shape).s, weft_shape_str(want).s);
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

/* ---- Attributes and constant inputs ---------------------------------------- */

/* Input i dressed as a constant value without a name, for the parameter
 * readers of graph/op_params.h (which the reference shares with shape
 * inference and the kernels); NULL when absent. The value lives in
 * *scratch, its data in the input. */
static inline const weft_value *ref_value(const weft_host_tensor *in, size_t in_count, size_t i,
                                          weft_value *scratch)
{
    if (!ref_present(in, in_count, i))
        return NULL;
    *scratch = (weft_value){.name = (char *)"",
                            .kind = WEFT_VALUE_CONSTANT,
                            .dtype = in[i].dtype,
                            .shape = in[i].shape,
                            .shape_known = 1,
                            .data = in[i].data,
                            .producer = -1};
    return scratch;
}

/* Inputs [0, count) as ref_value gives them, into v[]. */
static inline void ref_values(const weft_host_tensor *in, size_t in_count, weft_value *scratch,
                              const weft_value **v, size_t count)
{
    for (size_t i = 0; i < count; i++)
        v[i] = ref_value(in, in_count, i, &scratch[i]);
}

/* An int64 list from constant input i (ref_ints_input), or from
 * attribute `name` (older opsets) or input i (newer ones)
 * (ref_ints_attr_or_input). present is 0 when it is not given. */
static inline weft_status ref_ints_input(const weft_node *n, const weft_host_tensor *in,
                                         size_t in_count, size_t i, const char *what,
                                         weft_ints *out)
{
    weft_value scratch;
    return weft_params_const_ints(n, ref_value(in, in_count, i, &scratch), what, out, NULL, 0);
}

static inline weft_status ref_ints_attr_or_input(const weft_node *n, const weft_host_tensor *in,
                                                 size_t in_count, const char *name, size_t i,
                                                 weft_ints *out)
{
    weft_value scratch;
    return weft_params_ints(n, name, i, ref_value(in, in_count, i, &scratch), out, NULL, 0);
}

#endif
