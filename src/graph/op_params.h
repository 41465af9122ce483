/*
 * Parameters of ops computed from attributes and constant inputs, shared by
 * shape inference (graph/infer_*.c), the reference (src/ref/) and the
 * kernels (src/ops/), so that all three read a node by the same rules:
 *   - axes made non-negative, repeats refused;
 *   - a list of ints given as an attribute (older opsets) or as a constant
 *     input (newer ones);
 *   - Transpose's perm, ReduceMean's reduced axes, Shape's range of dims;
 *   - Slice's first index, step and count on every axis;
 *   - Pad's begin and end amounts on every axis, and the padded shape.
 * Nothing here touches OpenCL.
 *
 * Inputs are graph values, NULL when absent; a value is known before
 * running when it is a constant. The reference dresses its host tensors as
 * constant values without names (ref_value in ref/ref_util.h).
 *
 * Every function that can fail takes `why` and `cap` last. With why NULL a
 * problem is reported with weft_node_fail (node and op in front), as shape
 * inference and the reference do; otherwise its message goes into why (cap
 * bytes) and nothing else changes, as an implementation's supports() needs.
 * Statuses follow graph/infer_util.h: WEFT_ERR_GRAPH for a malformed
 * attribute or input, WEFT_ERR_SHAPE for one that does not fit the data,
 * WEFT_ERR_UNSUPPORTED for an input weft needs constant that the graph
 * computes.
 */
#ifndef WEFT_GRAPH_OP_PARAMS_H
#define WEFT_GRAPH_OP_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "graph/graph.h"

/* Values of a constant int64 or float32 list. present is 0 when it is not
 * given; count may be 0 (an empty tensor). v points into the node's
 * attribute or into the input's data. */
typedef struct weft_ints {
    const int64_t *v;
    size_t count;
    int present;
} weft_ints;

typedef struct weft_floats {
    const float *v;
    size_t count;
    int present;
} weft_floats;

/* "[0,2,1]" usable inline as a printf argument, like weft_shape_str. */
typedef struct weft_ints_text {
    char s[160];
} weft_ints_text;

weft_ints_text weft_ints_str(const int64_t *v, size_t count);

/* Reports a problem with node n's parameters as the functions here do:
 * into why (cap bytes) when why is not NULL, else with weft_node_fail.
 * Returns status. */
weft_status weft_params_fail(const weft_node *n, char *why, size_t cap, weft_status status,
                             const char *fmt, ...) WEFT_PRINTF(5, 6);

/* Inputs [0, count) of node n as values, NULL where absent. */
static inline void weft_params_inputs(const weft_graph *g, const weft_node *n,
                                      const weft_value **in, size_t count)
{
    for (size_t i = 0; i < count; i++)
        in[i] = weft_node_input(g, n, i);
}

/* An axis in [-rank, rank-1] made non-negative; `what` names where it
 * came from ("attribute 'axis'", "'axes'"). */
weft_status weft_params_axis(const weft_node *n, const char *what, int64_t axis, int rank, int *out,
                             char *why, size_t cap);

/* A list of axes normalised into out[] (rank entries at most), with
 * repeats refused. */
weft_status weft_params_axes(const weft_node *n, const char *what, const int64_t *axes,
                             size_t count, int rank, int *out, char *why, size_t cap);

/* The same as flags: flags[d] is 1 for each named axis d, 0 for the
 * other axes below rank. */
weft_status weft_params_axis_flags(const weft_node *n, const char *what, const int64_t *axes,
                                   size_t count, int rank, int flags[WEFT_MAX_RANK], char *why,
                                   size_t cap);

/* Input v (ONNX name `what`), when present, must be a constant of `dtype`
 * and rank 0 or 1: gives its data and element count. */
weft_status weft_params_const(const weft_node *n, const weft_value *v, const char *what,
                              weft_dtype dtype, const void **data, size_t *count, int *present,
                              char *why, size_t cap);

/* weft_params_const for an int64 list. */
weft_status weft_params_const_ints(const weft_node *n, const weft_value *v, const char *what,
                                   weft_ints *out, char *why, size_t cap);

/* The ints of attribute `attr` (older opsets) or of v, the node's input i
 * (newer ones); both given is an error. */
weft_status weft_params_ints(const weft_node *n, const char *attr, size_t i, const weft_value *v,
                             weft_ints *out, char *why, size_t cap);

/* Transpose's 'perm' for input x: perm[i] is the input axis that output
 * axis i walks; without the attribute, the axes reversed. */
weft_status weft_params_perm(const weft_node *n, const weft_value *x, int perm[WEFT_MAX_RANK],
                             char *why, size_t cap);

/* ReduceMean's reduced axes (reduce[d] = 1 for d < rank): 'axes', the
 * attribute before opset 18 or v, constant input 1, since; when absent or
 * empty every axis, or none with noop (attribute noop_with_empty_axes). */
weft_status weft_params_reduce_axes(const weft_node *n, int rank, const weft_value *v, int64_t noop,
                                    int reduce[WEFT_MAX_RANK], char *why, size_t cap);

/* The range [start, end) of the dims a Shape node outputs for an input of
 * rank `rank` (opset 15: negative counts from the back, then clamped;
 * end >= start). */
weft_status weft_params_shape_range(const weft_node *n, int rank, int64_t *start, int64_t *end,
                                    char *why, size_t cap);

/* ---- Slice --------------------------------------------------------------- */

/* in[]: data, starts, ends, axes, steps. */
#define WEFT_SLICE_INPUTS 5

/* Per axis of the data: the first element taken, the step to the next and
 * how many are taken (the output's dim). Axes not sliced take everything:
 * first 0, step 1. first is 0 where nothing is taken. */
typedef struct weft_slice {
    int64_t first[WEFT_MAX_RANK];
    int64_t step[WEFT_MAX_RANK];
    int64_t count[WEFT_MAX_RANK];
} weft_slice;

/* starts, ends and axes (attributes before opset 10, constant inputs
 * since) and steps (a constant input), ONNX Slice-13 rules: negative
 * starts and ends count from the back, then with step > 0 both clamp to
 * [0, dim], with step < 0 start clamps to [0, dim - 1] and end to
 * [-1, dim - 1]. */
weft_status weft_params_slice(const weft_node *n, const weft_value *const in[WEFT_SLICE_INPUTS],
                              weft_slice *s, char *why, size_t cap);

/* ---- Pad ----------------------------------------------------------------- */

/* in[]: data, pads, constant_value, axes. */
#define WEFT_PAD_INPUTS 4

/* Per axis of the data: elements added before and after (negative ones
 * crop), and the padded shape. */
typedef struct weft_pad {
    int64_t begin[WEFT_MAX_RANK];
    int64_t end[WEFT_MAX_RANK];
    weft_shape out;
} weft_pad;

/* 'pads' (attribute before opset 11, a constant input since: all begins,
 * then all ends) over every axis, or over those of the constant input
 * 'axes' (opset 18). */
weft_status weft_params_pad(const weft_node *n, const weft_value *const in[WEFT_PAD_INPUTS],
                            weft_pad *p, char *why, size_t cap);

#endif
