/*
 * Shape inference of the data-movement ops: Concat, Split, Slice, Flatten,
 * Reshape, Transpose, Squeeze, Unsqueeze, Pad, DepthToSpace, SpaceToDepth,
 * ReduceMean, Shape and Constant. Where ONNX moved an attribute to an input
 * (Split 'split', Slice 'starts'..., Squeeze/Unsqueeze/ReduceMean 'axes',
 * Pad 'pads'), both forms are read; the input must then be a constant.
 * Those lists, axes, and the geometry of Slice, Pad and Transpose come from
 * graph/op_params.h, which the reference and the kernels read them with.
 */
#include <string.h>

#include "graph/infer_util.h"
#include "graph/op_kind.h"

weft_status weft_infer_concat(weft_graph *g, weft_node *n)
{
    const weft_value *first = NULL;
    weft_status st = infer_require_input(g, n, 0, "inputs", &first);
    if (st != WEFT_OK)
        return st;
    int64_t axis;
    int ax = 0;
    if (!weft_node_attr(n, "axis"))
        return weft_node_fail(n, WEFT_ERR_GRAPH, "attribute 'axis' is required");
    if ((st = weft_node_attr_int(n, "axis", 0, &axis)) != WEFT_OK)
        return st;
    if (first->shape.rank == 0)
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "input 0 ('%s') is a scalar; Concat needs rank >= 1", first->name);
    if ((st = weft_params_axis(n, "attribute 'axis'", axis, first->shape.rank, &ax, NULL, 0)) !=
        WEFT_OK)
        return st;
    weft_shape out = first->shape;
    for (size_t i = 1; i < n->input_count; i++) {
        const weft_value *v = NULL;
        if ((st = infer_require_input(g, n, i, "inputs", &v)) != WEFT_OK)
            return st;
        if (v->dtype != first->dtype)
            return weft_node_fail(n, WEFT_ERR_GRAPH,
                                  "input %zu ('%s') is %s but input 0 ('%s') is %s; they must "
                                  "have the same data type",
                                  i, v->name, weft_dtype_name(v->dtype), first->name,
                                  weft_dtype_name(first->dtype));
        int differs = v->shape.rank != first->shape.rank;
        for (int d = 0; d < first->shape.rank && !differs; d++)
            differs = d != ax && v->shape.dims[d] != first->shape.dims[d];
        if (differs)
            return weft_node_fail(n, WEFT_ERR_SHAPE,
                                  "input %zu ('%s') of shape %s does not match input 0 ('%s') of "
                                  "shape %s: only axis %d (attribute 'axis') may differ",
                                  i, v->name, weft_shape_str(&v->shape).s, first->name,
                                  weft_shape_str(&first->shape).s, ax);
        if (!infer_add(out.dims[ax], v->shape.dims[ax], &out.dims[ax]))
            return weft_node_fail(n, WEFT_ERR_SHAPE, "the size of axis %d overflows", ax);
    }
    infer_set_output(g, n, 0, first->dtype, &out);
    return WEFT_OK;
}

weft_status weft_infer_split(weft_graph *g, weft_node *n)
{
    const weft_value *x = weft_node_input(g, n, 0);
    int rank = x->shape.rank;
    int64_t axis, num = 0;
    int ax = 0;
    weft_status st = weft_node_attr_int(n, "axis", 0, &axis);
    if (st != WEFT_OK)
        return st;
    if (rank == 0)
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "input 'input' ('%s') is a scalar; Split needs rank >= 1", x->name);
    if ((st = weft_params_axis(n, "attribute 'axis'", axis, rank, &ax, NULL, 0)) != WEFT_OK)
        return st;
    int has_num = weft_node_attr(n, "num_outputs") != NULL;
    if (has_num && (st = weft_node_attr_int(n, "num_outputs", 0, &num)) != WEFT_OK)
        return st;
    weft_ints split;
    if ((st = infer_ints_attr_or_input(g, n, "split", 1, &split)) != WEFT_OK)
        return st;
    size_t outs = n->output_count;
    int64_t dim = x->shape.dims[ax];
    weft_shape part = x->shape;
    if (split.present && split.count > 0) {
        if (has_num)
            return weft_node_fail(n, WEFT_ERR_GRAPH,
                                  "'split' and attribute 'num_outputs' are both given; give one");
        if (split.count != outs)
            return weft_node_fail(n, WEFT_ERR_GRAPH,
                                  "'split' has %zu values but the node has %zu outputs",
                                  split.count, outs);
        int64_t sum = 0;
        for (size_t i = 0; i < outs; i++) {
            if (split.v[i] < 0)
                return weft_node_fail(n, WEFT_ERR_GRAPH, "'split'[%zu] = %lld is negative", i,
                                      (long long)split.v[i]);
            if (!infer_add(sum, split.v[i], &sum))
                return weft_node_fail(n, WEFT_ERR_GRAPH, "the sizes in 'split' overflow");
        }
        if (sum != dim)
            return weft_node_fail(n, WEFT_ERR_SHAPE,
                                  "'split' %s adds up to %lld but axis %d of input '%s' has size "
                                  "%lld",
                                  weft_ints_str(split.v, split.count).s, (long long)sum, ax,
                                  x->name, (long long)dim);
        for (size_t i = 0; i < outs; i++) {
            part.dims[ax] = split.v[i];
            infer_set_output(g, n, i, x->dtype, &part);
        }
        return WEFT_OK;
    }
    if (has_num) {
        /* Opset 18: chunks of ceil(dim / num_outputs), the last smaller. */
        if (num < 1)
            return weft_node_fail(n, WEFT_ERR_GRAPH, "attribute 'num_outputs' = %lld must be >= 1",
                                  (long long)num);
        if ((size_t)num != outs)
            return weft_node_fail(n, WEFT_ERR_GRAPH,
                                  "attribute 'num_outputs' = %lld but the node has %zu outputs",
                                  (long long)num, outs);
        int64_t chunk = infer_ceil_div(dim, num);
        int64_t last = dim - chunk * (num - 1);
        if (last < 0)
            return weft_node_fail(n, WEFT_ERR_SHAPE,
                                  "axis %d of size %lld cannot be split into %lld chunks of %lld "
                                  "(attribute 'num_outputs')",
                                  ax, (long long)dim, (long long)num, (long long)chunk);
        for (size_t i = 0; i < outs; i++) {
            part.dims[ax] = i + 1 == outs ? last : chunk;
            infer_set_output(g, n, i, x->dtype, &part);
        }
        return WEFT_OK;
    }
    if (dim % (int64_t)outs != 0)
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "axis %d of size %lld does not split into %zu equal outputs; give "
                              "'split' or attribute 'num_outputs'",
                              ax, (long long)dim, outs);
    part.dims[ax] = dim / (int64_t)outs;
    for (size_t i = 0; i < outs; i++)
        infer_set_output(g, n, i, x->dtype, &part);
    return WEFT_OK;
}

weft_status weft_infer_slice(weft_graph *g, weft_node *n)
{
    const weft_value *x = weft_node_input(g, n, 0), *in[WEFT_SLICE_INPUTS];
    weft_params_inputs(g, n, in, WEFT_SLICE_INPUTS);
    weft_slice sl;
    weft_status st = weft_params_slice(n, in, &sl, NULL, 0);
    if (st != WEFT_OK)
        return st;
    weft_shape out = {.rank = x->shape.rank};
    for (int d = 0; d < out.rank; d++)
        out.dims[d] = sl.count[d];
    infer_set_output(g, n, 0, x->dtype, &out);
    return WEFT_OK;
}

weft_status weft_infer_flatten(weft_graph *g, weft_node *n)
{
    const weft_value *x = weft_node_input(g, n, 0);
    int rank = x->shape.rank;
    int64_t axis;
    weft_status st = weft_node_attr_int(n, "axis", 1, &axis);
    if (st != WEFT_OK)
        return st;
    if (axis < -(int64_t)rank || axis > rank)
        return weft_node_fail(n, WEFT_ERR_GRAPH,
                              "attribute 'axis' = %lld is out of range [%d, %d] for an input of "
                              "rank %d",
                              (long long)axis, -rank, rank, rank);
    if (axis < 0)
        axis += rank;
    weft_shape out = {.rank = 2, .dims = {1, 1}};
    for (int i = 0; i < rank; i++)
        if (!infer_mul(out.dims[i >= axis], x->shape.dims[i], &out.dims[i >= axis]))
            return weft_node_fail(n, WEFT_ERR_SHAPE, "the flattened size overflows");
    infer_set_output(g, n, 0, x->dtype, &out);
    return WEFT_OK;
}

weft_status weft_infer_reshape(weft_graph *g, weft_node *n)
{
    const weft_value *x = weft_node_input(g, n, 0);
    weft_ints shape;
    int64_t allowzero;
    weft_status st = infer_attr_int_range(n, "allowzero", 0, 0, 1, &allowzero);
    if (st != WEFT_OK || (st = infer_const_ints(g, n, 1, "shape", &shape)) != WEFT_OK)
        return st;
    if (shape.count > WEFT_MAX_RANK)
        return weft_node_fail(n, WEFT_ERR_UNSUPPORTED,
                              "input 'shape' ('%s') asks for rank %zu; weft supports up to %d",
                              infer_input_name(g, n, 1), shape.count, WEFT_MAX_RANK);
    weft_shape out = {.rank = (int)shape.count};
    int infer_at = -1, has_zero = 0;
    for (size_t i = 0; i < shape.count; i++) {
        int64_t d = shape.v[i];
        if (d == -1) {
            if (infer_at >= 0)
                return weft_node_fail(n, WEFT_ERR_GRAPH,
                                      "input 'shape' ('%s') = %s has more than one -1",
                                      infer_input_name(g, n, 1),
                                      weft_ints_str(shape.v, shape.count).s);
            infer_at = (int)i;
            out.dims[i] = 1;
        } else if (d < -1) {
            return weft_node_fail(n, WEFT_ERR_GRAPH, "input 'shape' ('%s')[%zu] = %lld is invalid",
                                  infer_input_name(g, n, 1), i, (long long)d);
        } else if (d == 0 && !allowzero) {
            if ((int)i >= x->shape.rank)
                return weft_node_fail(n, WEFT_ERR_SHAPE,
                                      "input 'shape' ('%s')[%zu] = 0 copies dim %zu of the data, "
                                      "which has rank %d",
                                      infer_input_name(g, n, 1), i, i, x->shape.rank);
            out.dims[i] = x->shape.dims[i];
        } else {
            has_zero |= d == 0;
            out.dims[i] = d;
        }
    }
    if (allowzero && has_zero && infer_at >= 0)
        return weft_node_fail(n, WEFT_ERR_GRAPH,
                              "input 'shape' ('%s') = %s has both 0 and -1, which attribute "
                              "'allowzero' = 1 forbids",
                              infer_input_name(g, n, 1), weft_ints_str(shape.v, shape.count).s);
    int64_t known = 1, numel = weft_shape_numel(&x->shape);
    for (int i = 0; i < out.rank; i++)
        if (!infer_mul(known, out.dims[i], &known))
            return weft_node_fail(n, WEFT_ERR_SHAPE, "input 'shape' ('%s') = %s overflows",
                                  infer_input_name(g, n, 1), weft_ints_str(shape.v, shape.count).s);
    if (infer_at >= 0) {
        if (known == 0 || numel % known != 0)
            return weft_node_fail(n, WEFT_ERR_SHAPE,
                                  "input 'shape' ('%s') = %s: no size for the -1 dim turns the "
                                  "%lld elements of data %s into that shape",
                                  infer_input_name(g, n, 1), weft_ints_str(shape.v, shape.count).s,
                                  (long long)numel, weft_shape_str(&x->shape).s);
        out.dims[infer_at] = numel / known;
    } else if (known != numel) {
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "input 'shape' ('%s') = %s has %lld elements but data %s has %lld",
                              infer_input_name(g, n, 1), weft_ints_str(shape.v, shape.count).s,
                              (long long)known, weft_shape_str(&x->shape).s, (long long)numel);
    }
    infer_set_output(g, n, 0, x->dtype, &out);
    return WEFT_OK;
}

weft_status weft_infer_transpose(weft_graph *g, weft_node *n)
{
    const weft_value *x = weft_node_input(g, n, 0);
    int perm[WEFT_MAX_RANK];
    weft_status st = weft_params_perm(n, x, perm, NULL, 0);
    if (st != WEFT_OK)
        return st;
    weft_shape out = {.rank = x->shape.rank};
    for (int i = 0; i < out.rank; i++)
        out.dims[i] = x->shape.dims[perm[i]];
    infer_set_output(g, n, 0, x->dtype, &out);
    return WEFT_OK;
}

weft_status weft_infer_squeeze(weft_graph *g, weft_node *n)
{
    const weft_value *x = weft_node_input(g, n, 0);
    int rank = x->shape.rank;
    weft_ints axes;
    weft_status st = infer_ints_attr_or_input(g, n, "axes", 1, &axes);
    if (st != WEFT_OK)
        return st;
    int drop[WEFT_MAX_RANK] = {0};
    if (!axes.present || axes.count == 0) {
        for (int i = 0; i < rank; i++)
            drop[i] = x->shape.dims[i] == 1;
    } else {
        int ax[WEFT_MAX_RANK];
        if ((st = weft_params_axes(n, "'axes'", axes.v, axes.count, rank, ax, NULL, 0)) != WEFT_OK)
            return st;
        for (size_t i = 0; i < axes.count; i++) {
            if (x->shape.dims[ax[i]] != 1)
                return weft_node_fail(n, WEFT_ERR_SHAPE,
                                      "'axes' names axis %d of input 'data' ('%s') %s, which has "
                                      "size %lld; only size-1 axes can be squeezed",
                                      ax[i], x->name, weft_shape_str(&x->shape).s,
                                      (long long)x->shape.dims[ax[i]]);
            drop[ax[i]] = 1;
        }
    }
    weft_shape out = {.rank = 0};
    for (int i = 0; i < rank; i++)
        if (!drop[i])
            out.dims[out.rank++] = x->shape.dims[i];
    infer_set_output(g, n, 0, x->dtype, &out);
    return WEFT_OK;
}

weft_status weft_infer_unsqueeze(weft_graph *g, weft_node *n)
{
    const weft_value *x = weft_node_input(g, n, 0);
    weft_ints axes;
    weft_status st = infer_ints_attr_or_input(g, n, "axes", 1, &axes);
    if (st != WEFT_OK)
        return st;
    if (!axes.present)
        return weft_node_fail(n, WEFT_ERR_GRAPH,
                              "'axes' is required (an input since opset 13, an attribute before)");
    if ((size_t)x->shape.rank + axes.count > WEFT_MAX_RANK)
        return weft_node_fail(n, WEFT_ERR_UNSUPPORTED,
                              "'axes' makes rank %zu; weft supports up to %d",
                              (size_t)x->shape.rank + axes.count, WEFT_MAX_RANK);
    int rank = x->shape.rank + (int)axes.count;
    int insert[WEFT_MAX_RANK];
    if ((st = weft_params_axis_flags(n, "'axes'", axes.v, axes.count, rank, insert, NULL, 0)) !=
        WEFT_OK)
        return st;
    weft_shape out = {.rank = rank};
    for (int i = 0, from = 0; i < rank; i++)
        out.dims[i] = insert[i] ? 1 : x->shape.dims[from++];
    infer_set_output(g, n, 0, x->dtype, &out);
    return WEFT_OK;
}

weft_status weft_infer_pad(weft_graph *g, weft_node *n)
{
    const weft_value *x = weft_node_input(g, n, 0);
    const char *mode;
    static const char *const modes[] = {"constant", "reflect", "edge", "wrap", NULL};
    weft_status st = infer_attr_choice(n, "mode", "constant", modes, &mode);
    if (st != WEFT_OK)
        return st;
    if (strcmp(mode, "constant") != 0)
        return weft_node_fail(n, WEFT_ERR_UNSUPPORTED,
                              "attribute 'mode' = \"%s\" is not supported yet; weft pads in "
                              "\"constant\" mode only",
                              mode);
    float value;
    if ((st = weft_node_attr_float(n, "value", 0.0f, &value)) != WEFT_OK)
        return st;
    const weft_value *cv = weft_node_input(g, n, 2);
    if (cv) {
        if (weft_node_attr(n, "value"))
            return weft_node_fail(n, WEFT_ERR_GRAPH,
                                  "the pad value is given both as attribute 'value' (opset < 11) "
                                  "and as input 'constant_value' ('%s'); give one",
                                  cv->name);
        if ((st = infer_same_dtype(n, x, "data", cv, "constant_value")) != WEFT_OK)
            return st;
        if (weft_shape_numel(&cv->shape) != 1 || cv->shape.rank > 1)
            return weft_node_fail(n, WEFT_ERR_SHAPE,
                                  "input 'constant_value' ('%s') has shape %s, expected a scalar",
                                  cv->name, weft_shape_str(&cv->shape).s);
    }
    const weft_value *in[WEFT_PAD_INPUTS];
    weft_params_inputs(g, n, in, WEFT_PAD_INPUTS);
    weft_pad pad;
    if ((st = weft_params_pad(n, in, &pad, NULL, 0)) != WEFT_OK)
        return st;
    infer_set_output(g, n, 0, x->dtype, &pad.out);
    return WEFT_OK;
}

static weft_status blocksize(const weft_graph *g, const weft_node *n, int64_t *b)
{
    const weft_value *x = weft_node_input(g, n, 0);
    weft_status st = infer_attr_int_required(n, "blocksize", b);
    if (st != WEFT_OK)
        return st;
    if (*b < 1 || *b > 65536)
        return weft_node_fail(n, WEFT_ERR_GRAPH,
                              "attribute 'blocksize' = %lld is out of range [1, 65536]",
                              (long long)*b);
    if (x->shape.rank != 4)
        return weft_node_fail(n, WEFT_ERR_SHAPE, "input 'input' ('%s') has shape %s, expected NCHW",
                              x->name, weft_shape_str(&x->shape).s);
    return WEFT_OK;
}

weft_status weft_infer_depth_to_space(weft_graph *g, weft_node *n)
{
    const weft_value *x = weft_node_input(g, n, 0);
    int64_t b;
    const char *mode;
    static const char *const modes[] = {"DCR", "CRD", NULL};
    weft_status st = infer_attr_choice(n, "mode", "DCR", modes, &mode);
    if (st != WEFT_OK || (st = blocksize(g, n, &b)) != WEFT_OK)
        return st;
    weft_shape out = x->shape;
    if (out.dims[1] % (b * b) != 0)
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "the %lld channels of input '%s' are not divisible by blocksize^2 = "
                              "%lld (attribute 'blocksize')",
                              (long long)out.dims[1], x->name, (long long)(b * b));
    out.dims[1] /= b * b;
    if (!infer_mul(out.dims[2], b, &out.dims[2]) || !infer_mul(out.dims[3], b, &out.dims[3]))
        return weft_node_fail(n, WEFT_ERR_SHAPE, "the output size overflows");
    infer_set_output(g, n, 0, x->dtype, &out);
    return WEFT_OK;
}

weft_status weft_infer_space_to_depth(weft_graph *g, weft_node *n)
{
    const weft_value *x = weft_node_input(g, n, 0);
    int64_t b;
    weft_status st = blocksize(g, n, &b);
    if (st != WEFT_OK)
        return st;
    weft_shape out = x->shape;
    if (out.dims[2] % b != 0 || out.dims[3] % b != 0)
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "the height and width of input '%s' %s are not divisible by "
                              "attribute 'blocksize' = %lld",
                              x->name, weft_shape_str(&x->shape).s, (long long)b);
    out.dims[2] /= b;
    out.dims[3] /= b;
    if (!infer_mul(out.dims[1], b * b, &out.dims[1]))
        return weft_node_fail(n, WEFT_ERR_SHAPE, "the output size overflows");
    infer_set_output(g, n, 0, x->dtype, &out);
    return WEFT_OK;
}

weft_status weft_infer_reduce(weft_graph *g, weft_node *n)
{
    const weft_value *x = weft_node_input(g, n, 0);
    int rank = x->shape.rank;
    int64_t keepdims, noop;
    int reduce[WEFT_MAX_RANK];
    weft_status st;
    if ((st = infer_attr_int_range(n, "keepdims", 1, 0, 1, &keepdims)) != WEFT_OK ||
        (st = infer_attr_int_range(n, "noop_with_empty_axes", 0, 0, 1, &noop)) != WEFT_OK ||
        (st = weft_params_reduce_axes(n, rank, weft_node_input(g, n, 1), noop, reduce, NULL, 0)) !=
            WEFT_OK)
        return st;
    weft_shape out = {.rank = 0};
    for (int i = 0; i < rank; i++) {
        if (!reduce[i])
            out.dims[out.rank++] = x->shape.dims[i];
        else if (keepdims)
            out.dims[out.rank++] = 1;
    }
    infer_set_output(g, n, 0, x->dtype, &out);
    return WEFT_OK;
}

weft_status weft_infer_shape_of(weft_graph *g, weft_node *n)
{
    const weft_value *x = weft_node_input(g, n, 0);
    int64_t start, end;
    weft_status st = weft_params_shape_range(n, x->shape.rank, &start, &end, NULL, 0);
    if (st != WEFT_OK)
        return st;
    weft_shape out = {.rank = 1, .dims = {end - start}};
    infer_set_output(g, n, 0, WEFT_INT64, &out);
    return WEFT_OK;
}

weft_status weft_infer_constant(weft_graph *g, weft_node *n)
{
    /* weft attributes carry no tensors: the scalar and list forms only. */
    static const char *const tensor_forms[] = {"value", "sparse_value", "value_string",
                                               "value_strings"};
    for (size_t i = 0; i < sizeof tensor_forms / sizeof tensor_forms[0]; i++)
        if (weft_node_attr(n, tensor_forms[i]))
            return weft_node_fail(n, WEFT_ERR_UNSUPPORTED,
                                  "attribute '%s' is not supported; give the value as "
                                  "value_float, value_floats, value_int or value_ints (or as a "
                                  "graph constant)",
                                  tensor_forms[i]);
    static const struct {
        const char *name;
        weft_attr_type type;
        weft_dtype dtype;
        int list;
    } forms[] = {
        {"value_float", WEFT_ATTR_FLOAT, WEFT_FLOAT32, 0},
        {"value_floats", WEFT_ATTR_FLOATS, WEFT_FLOAT32, 1},
        {"value_int", WEFT_ATTR_INT, WEFT_INT64, 0},
        {"value_ints", WEFT_ATTR_INTS, WEFT_INT64, 1},
    };
    const weft_attr *found = NULL;
    size_t which = 0;
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        const weft_attr *a = weft_node_attr(n, forms[i].name);
        if (!a)
            continue;
        if (found)
            return weft_node_fail(n, WEFT_ERR_GRAPH,
                                  "attributes '%s' and '%s' are both given; a Constant takes "
                                  "exactly one value",
                                  forms[which].name, forms[i].name);
        if (a->type != forms[i].type)
            return weft_node_fail(n, WEFT_ERR_GRAPH, "attribute '%s' has the wrong type",
                                  forms[i].name);
        found = a;
        which = i;
    }
    if (!found)
        return weft_node_fail(n, WEFT_ERR_GRAPH,
                              "no value: give one of the attributes value_float, value_floats, "
                              "value_int, value_ints");
    weft_shape out = {.rank = forms[which].list, .dims = {(int64_t)found->count}};
    infer_set_output(g, n, 0, forms[which].dtype, &out);
    return WEFT_OK;
}
