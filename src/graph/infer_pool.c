/*
 * Shape inference of pooling and sampling: MaxPool, AveragePool, LpPool,
 * the global pools, MaxUnpool, Resize (opsets 10 to 19) and Upsample
 * (opsets 7 and 9).
 */
#include <math.h>
#include <string.h>

#include "graph/infer_util.h"
#include "graph/op_kind.h"

weft_status weft_infer_pool(weft_graph *g, weft_node *n)
{
    const weft_value *x = weft_node_input(g, n, 0);
    infer_window w;
    int64_t ceil_mode, flag;
    weft_status st;
    if ((st = infer_require_float(n, x, "X")) != WEFT_OK ||
        (st = infer_spatial(n, x, "X", &w.spatial)) != WEFT_OK)
        return st;
    if (!weft_node_attr(n, "kernel_shape"))
        return weft_node_fail(n, WEFT_ERR_GRAPH, "attribute 'kernel_shape' is required");
    if ((st = infer_attr_ints_fixed(n, "kernel_shape", (size_t)w.spatial, "one per spatial axis",
                                    1, 1, INFER_ATTR_MAX, w.kernel, NULL)) != WEFT_OK ||
        (st = infer_window_attrs(n, 1, &w)) != WEFT_OK ||
        (st = infer_attr_int_range(n, "ceil_mode", 0, 0, 1, &ceil_mode)) != WEFT_OK)
        return st;
    if (strcmp(n->op, "MaxPool") == 0)
        st = infer_attr_int_range(n, "storage_order", 0, 0, 1, &flag);
    else if (strcmp(n->op, "AveragePool") == 0)
        st = infer_attr_int_range(n, "count_include_pad", 0, 0, 1, &flag);
    else
        st = infer_attr_int_range(n, "p", 2, 1, INFER_ATTR_MAX, &flag);
    if (st != WEFT_OK)
        return st;
    weft_shape out = x->shape;
    for (int i = 0; i < w.spatial; i++)
        if ((st = infer_window_out(n, &w, i, x->shape.dims[2 + i], (int)ceil_mode,
                                   &out.dims[2 + i])) != WEFT_OK)
            return st;
    infer_set_output(g, n, 0, x->dtype, &out);
    infer_set_output(g, n, 1, WEFT_INT64, &out); /* MaxPool's Indices */
    return WEFT_OK;
}

weft_status weft_infer_global_pool(weft_graph *g, weft_node *n)
{
    const weft_value *x = weft_node_input(g, n, 0);
    weft_status st = infer_require_float(n, x, "X");
    if (st != WEFT_OK)
        return st;
    if (x->shape.rank < 3)
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "input 'X' ('%s') has shape %s; %s needs N, C and spatial axes",
                              x->name, weft_shape_str(&x->shape).s, n->op);
    if (strcmp(n->op, "GlobalLpPool") == 0) {
        int64_t p;
        if ((st = infer_attr_int_range(n, "p", 2, 1, INFER_ATTR_MAX, &p)) != WEFT_OK)
            return st;
    }
    weft_shape out = x->shape;
    for (int i = 2; i < out.rank; i++)
        out.dims[i] = 1;
    infer_set_output(g, n, 0, x->dtype, &out);
    return WEFT_OK;
}

weft_status weft_infer_max_unpool(weft_graph *g, weft_node *n)
{
    const weft_value *x = weft_node_input(g, n, 0), *idx = weft_node_input(g, n, 1);
    infer_window w;
    weft_status st;
    if ((st = infer_require_float(n, x, "X")) != WEFT_OK ||
        (st = infer_spatial(n, x, "X", &w.spatial)) != WEFT_OK)
        return st;
    if (idx->dtype != WEFT_INT64)
        return weft_node_fail(n, WEFT_ERR_GRAPH, "input 'I' ('%s') is %s, expected int64",
                              idx->name, weft_dtype_name(idx->dtype));
    if (!weft_shape_equal(&idx->shape, &x->shape))
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "input 'I' ('%s') has shape %s but X ('%s') has shape %s; they must "
                              "be equal",
                              idx->name, weft_shape_str(&idx->shape).s, x->name,
                              weft_shape_str(&x->shape).s);
    if (!weft_node_attr(n, "kernel_shape"))
        return weft_node_fail(n, WEFT_ERR_GRAPH, "attribute 'kernel_shape' is required");
    size_t sp = (size_t)w.spatial;
    if ((st = infer_attr_ints_fixed(n, "kernel_shape", sp, "one per spatial axis", 1, 1,
                                    INFER_ATTR_MAX, w.kernel, NULL)) != WEFT_OK ||
        (st = infer_window_attrs(n, 0, &w)) != WEFT_OK)
        return st;
    weft_ints os;
    if ((st = infer_const_ints(g, n, 2, "output_shape", &os)) != WEFT_OK)
        return st;
    weft_shape out = x->shape;
    if (os.present) {
        /* The whole output shape; pads are then ignored. */
        if (os.count != (size_t)x->shape.rank)
            return weft_node_fail(n, WEFT_ERR_GRAPH,
                                  "input 'output_shape' ('%s') has %zu values, expected %d",
                                  infer_input_name(g, n, 2), os.count, x->shape.rank);
        for (size_t i = 0; i < os.count; i++) {
            if (os.v[i] < 0)
                return weft_node_fail(n, WEFT_ERR_GRAPH,
                                      "input 'output_shape' ('%s')[%zu] = %lld is negative",
                                      infer_input_name(g, n, 2), i, (long long)os.v[i]);
            if (i < 2 && os.v[i] != x->shape.dims[i])
                return weft_node_fail(n, WEFT_ERR_SHAPE,
                                      "input 'output_shape' ('%s') = [%lld,%lld,...] must keep N "
                                      "and C of X ('%s') %s",
                                      infer_input_name(g, n, 2), (long long)os.v[0],
                                      (long long)os.v[1], x->name, weft_shape_str(&x->shape).s);
            out.dims[i] = os.v[i];
        }
    } else {
        for (size_t i = 0; i < sp; i++) {
            /* (in - 1) * stride + kernel - pad_begin - pad_end */
            int64_t in = x->shape.dims[2 + i], o;
            if (in < 1)
                return weft_node_fail(n, WEFT_ERR_SHAPE,
                                      "input 'X' ('%s') of shape %s is empty on spatial axis %zu",
                                      x->name, weft_shape_str(&x->shape).s, i);
            if (!infer_mul(in - 1, w.strides[i], &o) || !infer_add(o, w.kernel[i], &o))
                return weft_node_fail(n, WEFT_ERR_SHAPE, "the output size overflows");
            o -= w.pads[i] + w.pads[i + sp];
            if (o < 1)
                return weft_node_fail(n, WEFT_ERR_SHAPE,
                                      "on spatial axis %zu attribute 'pads' (%lld + %lld) remove "
                                      "the whole output",
                                      i, (long long)w.pads[i], (long long)w.pads[i + sp]);
            out.dims[2 + i] = o;
        }
    }
    infer_set_output(g, n, 0, x->dtype, &out);
    return WEFT_OK;
}

/* floor(in * scale) as ONNX sizes a Resize or Upsample by scales. */
static weft_status scaled(const weft_node *n, const char *what, int axis, int64_t in, float scale,
                          int64_t *out)
{
    double v = floor((double)in * (double)scale);
    if (!(v < 4.0e18))
        return weft_node_fail(n, WEFT_ERR_SHAPE, "%s scales axis %d of size %lld beyond any size",
                              what, axis, (long long)in);
    *out = (int64_t)v;
    return WEFT_OK;
}

/* A constant input that is absent or empty counts as not given, whether
 * or not its (empty) data is known. */
static int given(const weft_graph *g, const weft_node *n, size_t i)
{
    const weft_value *v = weft_node_input(g, n, i);
    return v && weft_shape_numel(&v->shape) != 0;
}

weft_status weft_infer_resize(weft_graph *g, weft_node *n)
{
    const weft_value *x = weft_node_input(g, n, 0);
    int rank = x->shape.rank;
    static const char *const modes[] = {"nearest", "linear", "cubic", NULL};
    static const char *const coords[] = {"half_pixel",        "half_pixel_symmetric",
                                         "pytorch_half_pixel", "align_corners",
                                         "asymmetric",        "tf_half_pixel_for_nn",
                                         "tf_crop_and_resize", NULL};
    static const char *const nearest[] = {"round_prefer_floor", "round_prefer_ceil", "floor",
                                          "ceil", NULL};
    static const char *const policies[] = {"stretch", "not_larger", "not_smaller", NULL};
    const char *mode, *coord, *near, *policy;
    int64_t flag;
    float f;
    weft_status st;
    if ((st = infer_attr_choice(n, "mode", "nearest", modes, &mode)) != WEFT_OK ||
        (st = infer_attr_choice(n, "coordinate_transformation_mode", "half_pixel", coords,
                                &coord)) != WEFT_OK ||
        (st = infer_attr_choice(n, "nearest_mode", "round_prefer_floor", nearest, &near)) !=
            WEFT_OK ||
        (st = infer_attr_choice(n, "keep_aspect_ratio_policy", "stretch", policies, &policy)) !=
            WEFT_OK ||
        (st = infer_attr_int_range(n, "exclude_outside", 0, 0, 1, &flag)) != WEFT_OK ||
        (st = infer_attr_int_range(n, "antialias", 0, 0, 1, &flag)) != WEFT_OK ||
        (st = weft_node_attr_float(n, "cubic_coeff_a", -0.75f, &f)) != WEFT_OK ||
        (st = weft_node_attr_float(n, "extrapolation_value", 0.0f, &f)) != WEFT_OK)
        return st;
    /* axes (opset 18): the axes that scales and sizes refer to. */
    const int64_t *axes_attr;
    size_t naxes;
    int ax[WEFT_MAX_RANK];
    if ((st = weft_node_attr_ints(n, "axes", &axes_attr, &naxes)) != WEFT_OK)
        return st;
    if (weft_node_attr(n, "axes")) {
        if ((st = weft_params_axes(n, "attribute 'axes'", axes_attr, naxes, rank, ax, NULL, 0)) !=
            WEFT_OK)
            return st;
    } else {
        naxes = (size_t)rank;
        for (int i = 0; i < rank; i++)
            ax[i] = i;
    }
    /* Opset 10 has inputs (X, scales); 11+ has (X, roi, scales, sizes).
     * roi only moves sampling points and does not change the shape. */
    size_t at_scales = n->input_count == 2 ? 1 : 2, at_sizes = 3;
    weft_floats scales = {0};
    weft_ints sizes = {0};
    if (given(g, n, at_scales) &&
        (st = infer_const_floats(g, n, at_scales, "scales", &scales)) != WEFT_OK)
        return st;
    if (given(g, n, at_sizes) &&
        (st = infer_const_ints(g, n, at_sizes, "sizes", &sizes)) != WEFT_OK)
        return st;
    if (scales.present == sizes.present)
        return weft_node_fail(n, WEFT_ERR_GRAPH, "%s",
                              scales.present
                                  ? "inputs 'scales' and 'sizes' are both given; give one"
                                  : "give input 'scales' or input 'sizes' (a non-empty constant)");
    size_t count = scales.present ? scales.count : sizes.count;
    if (count != naxes)
        return weft_node_fail(n, WEFT_ERR_GRAPH, "input '%s' ('%s') has %zu values, expected %zu",
                              scales.present ? "scales" : "sizes",
                              infer_input_name(g, n, scales.present ? at_scales : at_sizes), count,
                              naxes);
    weft_shape out = x->shape;
    if (scales.present) {
        for (size_t i = 0; i < naxes; i++) {
            if (!(scales.v[i] > 0.0f) || isinf(scales.v[i]))
                return weft_node_fail(n, WEFT_ERR_GRAPH,
                                      "input 'scales' ('%s')[%zu] = %g must be positive",
                                      infer_input_name(g, n, at_scales), i, (double)scales.v[i]);
            if ((st = scaled(n, "input 'scales'", ax[i], x->shape.dims[ax[i]], scales.v[i],
                             &out.dims[ax[i]])) != WEFT_OK)
                return st;
        }
        infer_set_output(g, n, 0, x->dtype, &out);
        return WEFT_OK;
    }
    for (size_t i = 0; i < naxes; i++)
        if (sizes.v[i] < 0)
            return weft_node_fail(n, WEFT_ERR_GRAPH, "input 'sizes' ('%s')[%zu] = %lld is negative",
                                  infer_input_name(g, n, at_sizes), i, (long long)sizes.v[i]);
    if (strcmp(policy, "stretch") == 0) {
        for (size_t i = 0; i < naxes; i++)
            out.dims[ax[i]] = sizes.v[i];
        infer_set_output(g, n, 0, x->dtype, &out);
        return WEFT_OK;
    }
    /* not_larger / not_smaller: one scale for every listed axis, the
     * smallest or the largest of sizes / input, then rounded half up. */
    int larger = strcmp(policy, "not_smaller") == 0;
    double scale = 0.0;
    for (size_t i = 0; i < naxes; i++) {
        int64_t in = x->shape.dims[ax[i]];
        if (in == 0)
            return weft_node_fail(n, WEFT_ERR_SHAPE,
                                  "attribute 'keep_aspect_ratio_policy' = \"%s\" cannot keep the "
                                  "ratio of axis %d of size 0",
                                  policy, ax[i]);
        double s = (double)sizes.v[i] / (double)in;
        if (i == 0 || (larger ? s > scale : s < scale))
            scale = s;
    }
    for (size_t i = 0; i < naxes; i++) {
        double v = floor(scale * (double)x->shape.dims[ax[i]] + 0.5);
        if (!(v < 4.0e18))
            return weft_node_fail(n, WEFT_ERR_SHAPE, "the output size overflows");
        out.dims[ax[i]] = (int64_t)v;
    }
    infer_set_output(g, n, 0, x->dtype, &out);
    return WEFT_OK;
}

weft_status weft_infer_upsample(weft_graph *g, weft_node *n)
{
    const weft_value *x = weft_node_input(g, n, 0);
    static const char *const modes[] = {"nearest", "linear", NULL};
    const char *mode;
    weft_status st = infer_attr_choice(n, "mode", "nearest", modes, &mode);
    if (st != WEFT_OK)
        return st;
    /* scales: an attribute in opset 7, an input since opset 9. */
    weft_floats scales = {0};
    const weft_attr *a = weft_node_attr(n, "scales");
    if (a && weft_node_input(g, n, 1))
        return weft_node_fail(n, WEFT_ERR_GRAPH,
                              "'scales' is given both as an attribute (opset 7) and as input 1 "
                              "('%s'); give one",
                              infer_input_name(g, n, 1));
    if (a) {
        scales.present = 1;
        st = weft_node_attr_floats(n, "scales", &scales.v, &scales.count);
    } else {
        st = infer_const_floats(g, n, 1, "scales", &scales);
    }
    if (st != WEFT_OK)
        return st;
    if (!scales.present)
        return weft_node_fail(n, WEFT_ERR_GRAPH,
                              "'scales' is required (an input since opset 9, an attribute before)");
    if (scales.count != (size_t)x->shape.rank)
        return weft_node_fail(n, WEFT_ERR_GRAPH,
                              "'scales' has %zu values but input 'X' ('%s') has rank %d",
                              scales.count, x->name, x->shape.rank);
    weft_shape out = x->shape;
    for (int i = 0; i < out.rank; i++) {
        if (!(scales.v[i] >= 1.0f) || isinf(scales.v[i]))
            return weft_node_fail(n, WEFT_ERR_GRAPH, "'scales'[%d] = %g must be >= 1", i,
                                  (double)scales.v[i]);
        if ((st = scaled(n, "'scales'", i, x->shape.dims[i], scales.v[i], &out.dims[i])) != WEFT_OK)
            return st;
    }
    infer_set_output(g, n, 0, x->dtype, &out);
    return WEFT_OK;
}
