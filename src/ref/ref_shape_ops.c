/*
 * Reference of the data-movement ops (Identity, Dropout, Concat, Split,
 * Slice, Flatten, Reshape, Transpose, Squeeze, Unsqueeze, Pad,
 * DepthToSpace, SpaceToDepth), ReduceMean, Shape and Constant.
 *
 * Data movement copies elements of any type by their size, so every op
 * here runs on float32 and int64 alike. Each op computes its output shape
 * from its attributes and inputs and checks it against the shape the
 * caller set (from shape inference), so a disagreement is reported instead
 * of read or written past a buffer.
 *
 * Where ONNX moved an attribute to an input over the opsets (Split
 * 'split', Slice 'starts'/'ends'/'axes', Squeeze/Unsqueeze/ReduceMean
 * 'axes', Pad 'pads'), both forms are read; giving both is an error. Those
 * lists, axes, and the geometry of Slice, Pad and Transpose are read by
 * graph/op_params.h, the rules shape inference and the kernels use too.
 */
#include <stdlib.h>
#include <string.h>

#include "ref/ref_util.h"

/* Bytes of element i of a tensor with elements of size es. */
static const char *elem(const void *data, int64_t i, size_t es)
{
    return (const char *)data + (size_t)i * es;
}

static char *elem_mut(void *data, int64_t i, size_t es)
{
    return (char *)data + (size_t)i * es;
}

/* The output is the input's elements in the same order, under shape
 * `want` (Identity, Dropout, Flatten, Reshape, Squeeze, Unsqueeze). */
static weft_status copy_as(const weft_node *n, const weft_host_tensor *in,
                           weft_host_tensor *out, size_t out_count, const weft_shape *want)
{
    weft_status st = ref_check_output(n, out, out_count, 0, in[0].dtype, want);
    if (st != WEFT_OK)
        return st;
    int64_t count = weft_shape_numel(want);
    if (count != weft_shape_numel(&in[0].shape))
        return weft_node_fail(n, WEFT_ERR_SHAPE, "output shape %s does not hold the %lld elements "
                              "of input shape %s",
                              weft_shape_str(want).s, (long long)weft_shape_numel(&in[0].shape),
                              weft_shape_str(&in[0].shape).s);
    if (count > 0)
        memcpy(out[0].data, in[0].data, (size_t)count * weft_dtype_size(in[0].dtype));
    return WEFT_OK;
}

weft_status weft_ref_identity(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                              weft_host_tensor *out, size_t out_count)
{
    weft_status st = ref_require_input(n, in, in_count, 0, "input");
    return st != WEFT_OK ? st : copy_as(n, in, out, out_count, &in[0].shape);
}

/* Inference: the input, unchanged (ONNX Dropout with training_mode
 * false). The ratio does not matter then. */
weft_status weft_ref_dropout(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                             weft_host_tensor *out, size_t out_count)
{
    weft_status st = ref_require_input(n, in, in_count, 0, "data");
    if (st != WEFT_OK)
        return st;
    if (ref_present(in, in_count, 2) && weft_shape_numel(&in[2].shape) == 1) {
        int on = in[2].dtype == WEFT_INT64 ? ((const int64_t *)in[2].data)[0] != 0
                                           : ((const float *)in[2].data)[0] != 0.0f;
        if (on)
            return weft_node_fail(n, WEFT_ERR_UNSUPPORTED,
                                  "input 'training_mode' is true; the reference runs Dropout in "
                                  "inference mode only");
    }
    if (out_count > 1 && out[1].data)
        return weft_node_fail(n, WEFT_ERR_UNSUPPORTED,
                              "output 'mask' is a bool tensor, a type weft does not have");
    return copy_as(n, in, out, out_count, &in[0].shape);
}

/* ---- Flatten, Reshape, Squeeze, Unsqueeze: new shape, same elements ---------- */

/* [d0 * ... * d(axis-1), d(axis) * ... * d(rank-1)]; axis in [-rank, rank],
 * default 1. */
weft_status weft_ref_flatten(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                             weft_host_tensor *out, size_t out_count)
{
    weft_status st = ref_require_input(n, in, in_count, 0, "input");
    if (st != WEFT_OK)
        return st;
    const weft_shape *s = &in[0].shape;
    int64_t axis;
    if ((st = weft_node_attr_int(n, "axis", 1, &axis)) != WEFT_OK)
        return st;
    if (axis < -(int64_t)s->rank || axis > s->rank)
        return weft_node_fail(n, WEFT_ERR_GRAPH,
                              "attribute 'axis' = %lld is out of range [%d, %d]", (long long)axis,
                              -s->rank, s->rank);
    int ax = (int)(axis < 0 ? axis + s->rank : axis);
    weft_shape want = {.rank = 2,
                       .dims = {weft_shape_product(s, 0, ax), weft_shape_product(s, ax, s->rank)}};
    return copy_as(n, in, out, out_count, &want);
}

/* Input 'shape': -1 takes the remaining size (at most once); 0 copies the
 * input's dim at that position unless attribute allowzero = 1, when it
 * means a dim of size 0. */
weft_status weft_ref_reshape(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                             weft_host_tensor *out, size_t out_count)
{
    weft_status st = ref_require_input(n, in, in_count, 0, "data");
    if (st != WEFT_OK)
        return st;
    weft_ints shape;
    int64_t allowzero;
    if ((st = ref_ints_input(n, in, in_count, 1, "shape", &shape)) != WEFT_OK ||
        (st = weft_node_attr_int(n, "allowzero", 0, &allowzero)) != WEFT_OK)
        return st;
    if (!shape.present)
        return weft_node_fail(n, WEFT_ERR_INVALID_ARGUMENT, "input 1 ('shape') is absent");
    if (shape.count > WEFT_MAX_RANK)
        return weft_node_fail(n, WEFT_ERR_UNSUPPORTED, "input 'shape' asks for rank %zu",
                              shape.count);
    const weft_shape *s = &in[0].shape;
    weft_shape want = {.rank = (int)shape.count};
    int free_at = -1;
    int64_t known = 1;
    for (size_t i = 0; i < shape.count; i++) {
        int64_t d = shape.v[i];
        if (d == 0 && !allowzero) {
            if ((int)i >= s->rank)
                return weft_node_fail(n, WEFT_ERR_SHAPE,
                                      "input 'shape'[%zu] = 0 copies a dim the data %s lacks", i,
                                      weft_shape_str(s).s);
            d = s->dims[i];
        } else if (d == -1) {
            if (free_at >= 0)
                return weft_node_fail(n, WEFT_ERR_GRAPH, "input 'shape' has more than one -1");
            free_at = (int)i;
            continue;
        } else if (d < 0) {
            return weft_node_fail(n, WEFT_ERR_GRAPH, "input 'shape'[%zu] = %lld is invalid", i,
                                  (long long)d);
        }
        want.dims[i] = d;
        known *= d;
    }
    if (free_at >= 0) {
        int64_t numel = weft_shape_numel(s);
        if (known == 0 || numel % known != 0)
            return weft_node_fail(n, WEFT_ERR_SHAPE,
                                  "input 'shape' leaves no size for its -1 dim from data %s",
                                  weft_shape_str(s).s);
        want.dims[free_at] = numel / known;
    }
    return copy_as(n, in, out, out_count, &want);
}

/* Input 0 ('data') of Squeeze and Unsqueeze and their 'axes': an
 * attribute in older opsets, input 1 in newer ones. */
static weft_status data_and_axes(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                                 weft_ints *axes)
{
    weft_status st = ref_require_input(n, in, in_count, 0, "data");
    return st != WEFT_OK ? st : ref_ints_attr_or_input(n, in, in_count, "axes", 1, axes);
}

/* Drops the size-1 axes named by 'axes' (attribute before opset 13, input
 * since), or every size-1 axis when none are named. */
weft_status weft_ref_squeeze(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                             weft_host_tensor *out, size_t out_count)
{
    weft_ints axes;
    weft_status st = data_and_axes(n, in, in_count, &axes);
    if (st != WEFT_OK)
        return st;
    const weft_shape *s = &in[0].shape;
    int drop[WEFT_MAX_RANK];
    if (axes.count == 0) {
        for (int d = 0; d < s->rank; d++)
            drop[d] = s->dims[d] == 1;
    } else {
        if ((st = weft_params_axis_flags(n, "'axes'", axes.v, axes.count, s->rank, drop, NULL,
                                         0)) != WEFT_OK)
            return st;
        for (int d = 0; d < s->rank; d++)
            if (drop[d] && s->dims[d] != 1)
                return weft_node_fail(n, WEFT_ERR_SHAPE,
                                      "'axes' names axis %d of size %lld; only size-1 axes can "
                                      "be squeezed",
                                      d, (long long)s->dims[d]);
    }
    weft_shape want = {.rank = 0};
    for (int d = 0; d < s->rank; d++)
        if (!drop[d])
            want.dims[want.rank++] = s->dims[d];
    return copy_as(n, in, out, out_count, &want);
}

/* Inserts size-1 axes at the positions 'axes' names in the output. */
weft_status weft_ref_unsqueeze(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                               weft_host_tensor *out, size_t out_count)
{
    weft_ints axes;
    weft_status st = data_and_axes(n, in, in_count, &axes);
    if (st != WEFT_OK)
        return st;
    if (!axes.present)
        return weft_node_fail(n, WEFT_ERR_GRAPH, "'axes' is required");
    const weft_shape *s = &in[0].shape;
    if ((size_t)s->rank + axes.count > WEFT_MAX_RANK)
        return weft_node_fail(n, WEFT_ERR_UNSUPPORTED, "'axes' makes rank %zu",
                              (size_t)s->rank + axes.count);
    weft_shape want = {.rank = s->rank + (int)axes.count};
    int insert[WEFT_MAX_RANK];
    if ((st = weft_params_axis_flags(n, "'axes'", axes.v, axes.count, want.rank, insert, NULL,
                                     0)) != WEFT_OK)
        return st;
    for (int d = 0, from = 0; d < want.rank; d++)
        want.dims[d] = insert[d] ? 1 : s->dims[from++];
    return copy_as(n, in, out, out_count, &want);
}

/* ---- Concat and Split -------------------------------------------------------- */

/* Seen as [outer, dim(axis) * inner], the inputs' rows are laid side by
 * side in the output's rows, input after input. */
weft_status weft_ref_concat(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                            weft_host_tensor *out, size_t out_count)
{
    if (in_count < 1)
        return weft_node_fail(n, WEFT_ERR_INVALID_ARGUMENT, "no inputs");
    weft_status st;
    for (size_t k = 0; k < in_count; k++)
        if ((st = ref_require_input(n, in, in_count, k, "inputs")) != WEFT_OK)
            return st;
    if (!weft_node_attr(n, "axis"))
        return weft_node_fail(n, WEFT_ERR_GRAPH, "attribute 'axis' is required");
    int64_t axis;
    int ax;
    const weft_shape *s0 = &in[0].shape;
    if ((st = weft_node_attr_int(n, "axis", 0, &axis)) != WEFT_OK ||
        (st = weft_params_axis(n, "attribute 'axis'", axis, s0->rank, &ax, NULL, 0)) != WEFT_OK)
        return st;
    weft_shape want = *s0;
    want.dims[ax] = 0;
    for (size_t k = 0; k < in_count; k++) {
        const weft_shape *s = &in[k].shape;
        int same = in[k].dtype == in[0].dtype && s->rank == s0->rank;
        for (int d = 0; d < s->rank && same; d++)
            same = d == ax || s->dims[d] == s0->dims[d];
        if (!same)
            return weft_node_fail(n, WEFT_ERR_SHAPE,
                                  "input %zu (%s %s) does not concatenate with input 0 (%s %s) "
                                  "on axis %d",
                                  k, weft_dtype_name(in[k].dtype), weft_shape_str(s).s,
                                  weft_dtype_name(in[0].dtype), weft_shape_str(s0).s, ax);
        want.dims[ax] += s->dims[ax];
    }
    if ((st = ref_check_output(n, out, out_count, 0, in[0].dtype, &want)) != WEFT_OK)
        return st;
    size_t es = weft_dtype_size(in[0].dtype);
    int64_t outer = weft_shape_product(s0, 0, ax), inner = weft_shape_product(s0, ax + 1, s0->rank);
    int64_t at = 0; /* next output element */
    for (int64_t o = 0; o < outer; o++)
        for (size_t k = 0; k < in_count; k++) {
            int64_t row = in[k].shape.dims[ax] * inner;
            if (row > 0)
                memcpy(elem_mut(out[0].data, at, es), elem(in[k].data, o * row, es),
                       (size_t)row * es);
            at += row;
        }
    return WEFT_OK;
}

/* How Split cuts its axis: sizes from 'split' (attribute before opset 13,
 * input since), else ceil(dim / num_outputs) with a smaller last part
 * (opset 18), else equal parts. */
typedef struct split_plan {
    const int64_t *sizes; /* 'split', or NULL */
    int64_t chunk, last;  /* otherwise: every part but the last, and the last */
} split_plan;

static int64_t split_size(const split_plan *p, size_t k, size_t parts)
{
    return p->sizes ? p->sizes[k] : k + 1 == parts ? p->last : p->chunk;
}

weft_status weft_ref_split(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                           weft_host_tensor *out, size_t out_count)
{
    weft_status st = ref_require_input(n, in, in_count, 0, "input");
    if (st != WEFT_OK)
        return st;
    const weft_shape *s = &in[0].shape;
    int64_t axis, num = 0;
    int ax, has_num = weft_node_attr(n, "num_outputs") != NULL;
    weft_ints split;
    if ((st = weft_node_attr_int(n, "axis", 0, &axis)) != WEFT_OK ||
        (st = weft_params_axis(n, "attribute 'axis'", axis, s->rank, &ax, NULL, 0)) != WEFT_OK ||
        (st = weft_node_attr_int(n, "num_outputs", 0, &num)) != WEFT_OK ||
        (st = ref_ints_attr_or_input(n, in, in_count, "split", 1, &split)) != WEFT_OK)
        return st;
    if (out_count < 1)
        return weft_node_fail(n, WEFT_ERR_INVALID_ARGUMENT, "no outputs");
    int64_t dim = s->dims[ax];
    split_plan plan = {0};
    if (split.count > 0) {
        if (has_num)
            return weft_node_fail(n, WEFT_ERR_GRAPH,
                                  "'split' and attribute 'num_outputs' are both given");
        if (split.count != out_count)
            return weft_node_fail(n, WEFT_ERR_GRAPH, "'split' has %zu values for %zu outputs",
                                  split.count, out_count);
        int64_t sum = 0;
        for (size_t k = 0; k < split.count; k++) {
            if (split.v[k] < 0 || split.v[k] > dim)
                return weft_node_fail(n, WEFT_ERR_GRAPH, "'split'[%zu] = %lld is out of range",
                                      k, (long long)split.v[k]);
            sum += split.v[k];
        }
        if (sum != dim)
            return weft_node_fail(n, WEFT_ERR_SHAPE,
                                  "'split' adds up to %lld but axis %d has size %lld",
                                  (long long)sum, ax, (long long)dim);
        plan.sizes = split.v;
    } else if (has_num) {
        if (num < 1 || (size_t)num != out_count)
            return weft_node_fail(n, WEFT_ERR_GRAPH,
                                  "attribute 'num_outputs' = %lld but the node has %zu outputs",
                                  (long long)num, out_count);
        plan.chunk = (dim + num - 1) / num;
        plan.last = dim - plan.chunk * (num - 1);
        if (plan.last < 0)
            return weft_node_fail(n, WEFT_ERR_SHAPE,
                                  "axis %d of size %lld cannot be cut into %lld parts of %lld", ax,
                                  (long long)dim, (long long)num, (long long)plan.chunk);
    } else {
        if (dim % (int64_t)out_count != 0)
            return weft_node_fail(n, WEFT_ERR_SHAPE,
                                  "axis %d of size %lld does not split into %zu equal parts", ax,
                                  (long long)dim, out_count);
        plan.chunk = plan.last = dim / (int64_t)out_count;
    }
    /* Part k is, in every row of the view [outer, dim * inner], the run of
     * size_k * inner elements after the parts before it. */
    size_t es = weft_dtype_size(in[0].dtype);
    int64_t outer = weft_shape_product(s, 0, ax), inner = weft_shape_product(s, ax + 1, s->rank);
    int64_t offset = 0; /* along the axis */
    for (size_t k = 0; k < out_count; k++) {
        int64_t size = split_size(&plan, k, out_count);
        weft_shape want = *s;
        want.dims[ax] = size;
        if (out[k].data) { /* an unused output has no buffer */
            if ((st = ref_check_output(n, out, out_count, k, in[0].dtype, &want)) != WEFT_OK)
                return st;
            for (int64_t o = 0; o < outer && size * inner > 0; o++)
                memcpy(elem_mut(out[k].data, o * size * inner, es),
                       elem(in[0].data, (o * dim + offset) * inner, es),
                       (size_t)(size * inner) * es);
        }
        offset += size;
    }
    return WEFT_OK;
}

/* ---- Gathers: Slice, Transpose, Pad, DepthToSpace, SpaceToDepth ---------------- */

/* Where output element y (a multi-index) comes from: sets x, the input
 * multi-index, and returns 1; or returns 0 for an element outside the
 * input (Pad's padding). `how` is the op's own description. */
typedef int (*source_fn)(const void *how, const weft_shape *in, const int64_t *y, int64_t *x);

/* Output 0, of shape `want`, element by element from input 0 where
 * `source` says, or `fill` (one element) where it names none. */
static weft_status gather(const weft_node *n, const weft_host_tensor *in, weft_host_tensor *out,
                          size_t out_count, const weft_shape *want, source_fn source,
                          const void *how, const void *fill)
{
    weft_status st = ref_check_output(n, out, out_count, 0, in[0].dtype, want);
    if (st != WEFT_OK)
        return st;
    const weft_shape *s = &in[0].shape;
    size_t es = weft_dtype_size(in[0].dtype);
    int64_t total = weft_shape_numel(want), y[WEFT_MAX_RANK], x[WEFT_MAX_RANK];
    for (int64_t j = 0; j < total; j++) {
        ref_unravel(want, j, y);
        const void *from = source(how, s, y, x) ? elem(in[0].data, ref_ravel(s, x), es) : fill;
        memcpy(elem_mut(out[0].data, j, es), from, es);
    }
    return WEFT_OK;
}

/* Output element j on each axis reads input element first + j * step. */
static int slice_source(const void *how, const weft_shape *in, const int64_t *y, int64_t *x)
{
    const weft_slice *sl = how;
    for (int d = 0; d < in->rank; d++)
        x[d] = sl->first[d] + y[d] * sl->step[d];
    return 1;
}

/* starts, ends, axes and steps as graph/op_params.h reads them (ONNX
 * Slice-13: negative starts and ends count from the back, then clamp). */
weft_status weft_ref_slice(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                           weft_host_tensor *out, size_t out_count)
{
    weft_status st = ref_require_input(n, in, in_count, 0, "data");
    if (st != WEFT_OK)
        return st;
    weft_value scratch[WEFT_SLICE_INPUTS];
    const weft_value *v[WEFT_SLICE_INPUTS];
    ref_values(in, in_count, scratch, v, WEFT_SLICE_INPUTS);
    weft_slice sl;
    if ((st = weft_params_slice(n, v, &sl, NULL, 0)) != WEFT_OK)
        return st;
    weft_shape want = {.rank = in[0].shape.rank};
    for (int d = 0; d < want.rank; d++)
        want.dims[d] = sl.count[d];
    return gather(n, in, out, out_count, &want, slice_source, &sl, NULL);
}

/* Output axis i walks input axis perm[i]. */
static int transpose_source(const void *how, const weft_shape *in, const int64_t *y, int64_t *x)
{
    const int *perm = how;
    for (int i = 0; i < in->rank; i++)
        x[perm[i]] = y[i];
    return 1;
}

/* perm defaults to the reversed axes. */
weft_status weft_ref_transpose(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                               weft_host_tensor *out, size_t out_count)
{
    weft_status st = ref_require_input(n, in, in_count, 0, "data");
    if (st != WEFT_OK)
        return st;
    weft_value scratch;
    int perm[WEFT_MAX_RANK];
    if ((st = weft_params_perm(n, ref_value(in, in_count, 0, &scratch), perm, NULL, 0)) != WEFT_OK)
        return st;
    const weft_shape *s = &in[0].shape;
    weft_shape want = {.rank = s->rank};
    for (int i = 0; i < s->rank; i++)
        want.dims[i] = s->dims[perm[i]];
    return gather(n, in, out, out_count, &want, transpose_source, perm, NULL);
}

/* Output element y reads input element y - begin, when inside the input. */
static int pad_source(const void *how, const weft_shape *in, const int64_t *y, int64_t *x)
{
    const weft_pad *pad = how;
    int inside = 1;
    for (int d = 0; d < in->rank; d++) {
        x[d] = y[d] - pad->begin[d];
        inside &= x[d] >= 0 && x[d] < in->dims[d];
    }
    return inside;
}

/* Constant mode. 'pads' (attribute before opset 11, input since) holds
 * all begins then all ends, for every axis or for those of input 'axes'
 * (opset 18), as graph/op_params.h reads them. A negative pad removes
 * elements. The value is input 'constant_value' (opset 11), or attribute
 * 'value' (opset 2), else 0. */
weft_status weft_ref_pad(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                         weft_host_tensor *out, size_t out_count)
{
    weft_status st = ref_require_input(n, in, in_count, 0, "data");
    if (st != WEFT_OK)
        return st;
    const char *mode;
    if ((st = weft_node_attr_string(n, "mode", "constant", &mode)) != WEFT_OK)
        return st;
    if (strcmp(mode, "reflect") == 0 || strcmp(mode, "edge") == 0 || strcmp(mode, "wrap") == 0)
        return weft_node_fail(n, WEFT_ERR_UNSUPPORTED,
                              "attribute 'mode' = \"%s\" is not supported; the reference pads in "
                              "\"constant\" mode only",
                              mode);
    if (strcmp(mode, "constant") != 0)
        return weft_node_fail(n, WEFT_ERR_GRAPH,
                              "attribute 'mode' = \"%s\" is not one of constant, reflect, edge, "
                              "wrap",
                              mode);
    weft_value scratch[WEFT_PAD_INPUTS];
    const weft_value *v[WEFT_PAD_INPUTS];
    ref_values(in, in_count, scratch, v, WEFT_PAD_INPUTS);
    weft_pad pad;
    if ((st = weft_params_pad(n, v, &pad, NULL, 0)) != WEFT_OK)
        return st;
    /* The pad value, as one element of the data's type. */
    union {
        float f;
        int64_t i;
    } value = {0};
    if (ref_present(in, in_count, 2)) {
        if (weft_node_attr(n, "value"))
            return weft_node_fail(n, WEFT_ERR_GRAPH,
                                  "the pad value is given both as attribute 'value' and as input "
                                  "'constant_value'");
        if (in[2].dtype != in[0].dtype || weft_shape_numel(&in[2].shape) != 1)
            return weft_node_fail(n, WEFT_ERR_GRAPH,
                                  "input 'constant_value' is %s %s, expected one %s",
                                  weft_dtype_name(in[2].dtype), weft_shape_str(&in[2].shape).s,
                                  weft_dtype_name(in[0].dtype));
        memcpy(&value, in[2].data, weft_dtype_size(in[0].dtype));
    } else {
        float f;
        if ((st = weft_node_attr_float(n, "value", 0.0f, &f)) != WEFT_OK)
            return st;
        if (in[0].dtype == WEFT_FLOAT32)
            value.f = f;
        else
            value.i = (int64_t)f;
    }
    return gather(n, in, out, out_count, &pad.out, pad_source, &pad, &value);
}

static weft_status read_blocksize(const weft_node *n, const weft_host_tensor *in, int64_t *b)
{
    if (!weft_node_attr(n, "blocksize"))
        return weft_node_fail(n, WEFT_ERR_GRAPH, "attribute 'blocksize' is required");
    weft_status st = weft_node_attr_int(n, "blocksize", 0, b);
    if (st != WEFT_OK)
        return st;
    if (*b < 1)
        return weft_node_fail(n, WEFT_ERR_GRAPH, "attribute 'blocksize' = %lld must be >= 1",
                              (long long)*b);
    if (in[0].shape.rank != 4)
        return weft_node_fail(n, WEFT_ERR_SHAPE, "input has shape %s, expected NCHW",
                              weft_shape_str(&in[0].shape).s);
    return WEFT_OK;
}

/* DepthToSpace and SpaceToDepth: blocksize and, for DepthToSpace, mode. */
typedef struct block_order {
    int64_t b;
    int crd;
} block_order;

/* y[n][c][h*b + i][w*b + j] =
 *   DCR: x[n][(i*b + j) * C' + c][h][w]   (C' = C / b^2)
 *   CRD: x[n][c * b^2 + i*b + j][h][w]
 * which is what the spec's reshape / transpose / reshape computes. */
static int depth_to_space_source(const void *how, const weft_shape *in, const int64_t *y,
                                 int64_t *x)
{
    const block_order *o = how;
    int64_t b = o->b, i = y[2] % b, j = y[3] % b; /* y = {n, c, oh, ow} */
    x[0] = y[0];
    x[1] = o->crd ? y[1] * b * b + i * b + j : (i * b + j) * (in->dims[1] / (b * b)) + y[1];
    x[2] = y[2] / b;
    x[3] = y[3] / b;
    return 1;
}

weft_status weft_ref_depth_to_space(const weft_node *n, const weft_host_tensor *in,
                                    size_t in_count, weft_host_tensor *out, size_t out_count)
{
    weft_status st = ref_require_input(n, in, in_count, 0, "input");
    block_order o;
    const char *mode;
    if (st != WEFT_OK || (st = read_blocksize(n, in, &o.b)) != WEFT_OK ||
        (st = weft_node_attr_string(n, "mode", "DCR", &mode)) != WEFT_OK)
        return st;
    o.crd = strcmp(mode, "CRD") == 0;
    if (!o.crd && strcmp(mode, "DCR") != 0)
        return weft_node_fail(n, WEFT_ERR_GRAPH, "attribute 'mode' = \"%s\" is not one of DCR, CRD",
                              mode);
    const weft_shape *s = &in[0].shape;
    int64_t b = o.b;
    if (s->dims[1] % (b * b) != 0)
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "%lld channels are not divisible by blocksize^2 = %lld",
                              (long long)s->dims[1], (long long)(b * b));
    weft_shape want = {.rank = 4, .dims = {s->dims[0], s->dims[1] / (b * b), s->dims[2] * b,
                                           s->dims[3] * b}};
    return gather(n, in, out, out_count, &want, depth_to_space_source, &o, NULL);
}

/* The inverse of DepthToSpace in DCR order:
 * y[n][(i*b + j) * C + c][h][w] = x[n][c][h*b + i][w*b + j]. */
static int space_to_depth_source(const void *how, const weft_shape *in, const int64_t *y,
                                 int64_t *x)
{
    int64_t b = ((const block_order *)how)->b; /* y = {n, oc, h, w} */
    int64_t block = y[1] / in->dims[1], c = y[1] % in->dims[1];
    x[0] = y[0];
    x[1] = c;
    x[2] = y[2] * b + block / b;
    x[3] = y[3] * b + block % b;
    return 1;
}

weft_status weft_ref_space_to_depth(const weft_node *n, const weft_host_tensor *in,
                                    size_t in_count, weft_host_tensor *out, size_t out_count)
{
    weft_status st = ref_require_input(n, in, in_count, 0, "input");
    block_order o = {.crd = 0};
    if (st != WEFT_OK || (st = read_blocksize(n, in, &o.b)) != WEFT_OK)
        return st;
    const weft_shape *s = &in[0].shape;
    int64_t b = o.b;
    if (s->dims[2] % b != 0 || s->dims[3] % b != 0)
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "height and width of %s are not divisible by blocksize %lld",
                              weft_shape_str(s).s, (long long)b);
    weft_shape want = {.rank = 4, .dims = {s->dims[0], s->dims[1] * b * b, s->dims[2] / b,
                                           s->dims[3] / b}};
    return gather(n, in, out, out_count, &want, space_to_depth_source, &o, NULL);
}

/* ---- ReduceMean ---------------------------------------------------------------- */

/* The mean over 'axes' (attribute before opset 18, input since; none
 * given: every axis, or no axis when noop_with_empty_axes = 1). keepdims
 * (default 1) keeps reduced axes as size 1. Sums in double for float32;
 * int64 sums in int64 and divides truncating toward zero (see Div). */
weft_status weft_ref_reduce_mean(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                                 weft_host_tensor *out, size_t out_count)
{
    weft_status st = ref_require_input(n, in, in_count, 0, "data");
    int64_t keepdims, noop;
    if (st != WEFT_OK || (st = weft_node_attr_int(n, "keepdims", 1, &keepdims)) != WEFT_OK ||
        (st = weft_node_attr_int(n, "noop_with_empty_axes", 0, &noop)) != WEFT_OK)
        return st;
    if (keepdims != 0 && keepdims != 1)
        return weft_node_fail(n, WEFT_ERR_GRAPH, "attribute 'keepdims' = %lld is not 0 or 1",
                              (long long)keepdims);
    const weft_shape *s = &in[0].shape;
    weft_value scratch;
    int reduce[WEFT_MAX_RANK];
    if ((st = weft_params_reduce_axes(n, s->rank, ref_value(in, in_count, 1, &scratch), noop,
                                      reduce, NULL, 0)) != WEFT_OK)
        return st;
    weft_shape want = {.rank = 0};
    int64_t count = 1; /* elements averaged into each output element */
    for (int d = 0; d < s->rank; d++) {
        if (reduce[d])
            count *= s->dims[d];
        if (!reduce[d])
            want.dims[want.rank++] = s->dims[d];
        else if (keepdims)
            want.dims[want.rank++] = 1;
    }
    if ((st = ref_check_output(n, out, out_count, 0, in[0].dtype, &want)) != WEFT_OK)
        return st;
    int64_t outs = weft_shape_numel(&want), total = weft_shape_numel(s);
    if (in[0].dtype == WEFT_INT64 && count == 0 && outs > 0)
        return weft_node_fail(n, WEFT_ERR_INVALID_ARGUMENT,
                              "the int64 mean of zero elements is undefined");
    double *fsum = calloc(outs > 0 ? (size_t)outs : 1, sizeof *fsum);
    int64_t *isum = calloc(outs > 0 ? (size_t)outs : 1, sizeof *isum);
    if (!fsum || !isum) {
        free(fsum);
        free(isum);
        return weft_node_fail(n, WEFT_ERR_OUT_OF_MEMORY, "no memory for %lld sums",
                              (long long)outs);
    }
    int64_t idx[WEFT_MAX_RANK], to[WEFT_MAX_RANK];
    for (int64_t i = 0; i < total; i++) {
        ref_unravel(s, i, idx);
        int r = 0; /* the output index: reduced axes dropped or set to 0 */
        for (int d = 0; d < s->rank; d++)
            if (!reduce[d])
                to[r++] = idx[d];
            else if (keepdims)
                to[r++] = 0;
        int64_t j = ref_ravel(&want, to);
        if (in[0].dtype == WEFT_FLOAT32)
            fsum[j] += ((const float *)in[0].data)[i];
        else
            isum[j] = (int64_t)((uint64_t)isum[j] + (uint64_t)((const int64_t *)in[0].data)[i]);
    }
    for (int64_t j = 0; j < outs; j++) {
        if (in[0].dtype == WEFT_FLOAT32)
            ((float *)out[0].data)[j] = (float)(fsum[j] / (double)count); /* 0/0: NaN */
        else
            ((int64_t *)out[0].data)[j] = isum[j] / count;
    }
    free(fsum);
    free(isum);
    return WEFT_OK;
}

/* ---- Shape and Constant ---------------------------------------------------------- */

/* The input's dims [start, end) as int64 (graph/op_params.h: opset 15,
 * negative counts from the back, out of range clamps). Only the input's
 * shape is read: its data may be absent. */
weft_status weft_ref_shape(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                           weft_host_tensor *out, size_t out_count)
{
    if (in_count < 1)
        return weft_node_fail(n, WEFT_ERR_INVALID_ARGUMENT, "input 0 ('data') is absent");
    int64_t start, end;
    weft_status st = weft_params_shape_range(n, in[0].shape.rank, &start, &end, NULL, 0);
    if (st != WEFT_OK)
        return st;
    weft_shape want = {.rank = 1, .dims = {end - start}};
    if ((st = ref_check_output(n, out, out_count, 0, WEFT_INT64, &want)) != WEFT_OK)
        return st;
    for (int64_t d = start; d < end; d++)
        ((int64_t *)out[0].data)[d - start] = in[0].shape.dims[d];
    return WEFT_OK;
}

/* value_float / value_floats / value_int / value_ints; weft attributes
 * carry no tensors, so 'value' (a TensorProto) is not supported. */
weft_status weft_ref_constant(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                              weft_host_tensor *out, size_t out_count)
{
    (void)in, (void)in_count;
    static const char *const tensor_forms[] = {"value", "sparse_value", "value_string",
                                               "value_strings"};
    for (size_t i = 0; i < sizeof tensor_forms / sizeof tensor_forms[0]; i++)
        if (weft_node_attr(n, tensor_forms[i]))
            return weft_node_fail(n, WEFT_ERR_UNSUPPORTED, "attribute '%s' is not supported",
                                  tensor_forms[i]);
    const weft_attr *vf = weft_node_attr(n, "value_float");
    const weft_attr *vfs = weft_node_attr(n, "value_floats");
    const weft_attr *vi = weft_node_attr(n, "value_int"), *vis = weft_node_attr(n, "value_ints");
    if (!!vf + !!vfs + !!vi + !!vis != 1)
        return weft_node_fail(n, WEFT_ERR_GRAPH,
                              "give exactly one of the attributes value_float, value_floats, "
                              "value_int, value_ints");
    weft_status st;
    if (vf || vi) {
        weft_shape want = {.rank = 0};
        if ((st = ref_check_output(n, out, out_count, 0, vf ? WEFT_FLOAT32 : WEFT_INT64,
                                   &want)) != WEFT_OK)
            return st;
        if (vf)
            return weft_node_attr_float(n, "value_float", 0.0f, (float *)out[0].data);
        return weft_node_attr_int(n, "value_int", 0, (int64_t *)out[0].data);
    }
    const void *v;
    size_t count;
    if (vfs)
        st = weft_node_attr_floats(n, "value_floats", (const float **)&v, &count);
    else
        st = weft_node_attr_ints(n, "value_ints", (const int64_t **)&v, &count);
    if (st != WEFT_OK)
        return st;
    weft_dtype dtype = vfs ? WEFT_FLOAT32 : WEFT_INT64;
    weft_shape want = {.rank = 1, .dims = {(int64_t)count}};
    if ((st = ref_check_output(n, out, out_count, 0, dtype, &want)) != WEFT_OK)
        return st;
    if (count > 0)
        memcpy(out[0].data, v, count * weft_dtype_size(dtype));
    return WEFT_OK;
}
