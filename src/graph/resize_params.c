/* Parameters of Resize and Upsample nodes (graph/resize_params.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "graph/op_params.h"
#include "graph/resize_params.h"

static const char *const mode_names[] = {"nearest", "linear", "cubic", NULL};
static const char *const coord_names[] = {
    "half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
    "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize", NULL};
static const char *const rounding_names[] = {"round_prefer_floor", "round_prefer_ceil", "floor",
                                             "ceil", NULL};
static const char *const policy_names[] = {"stretch", "not_larger", "not_smaller", NULL};

const char *weft_resize_mode_name(weft_resize_mode m)
{
    return (unsigned)m < 3 ? mode_names[m] : "?";
}

const char *weft_resize_coord_name(weft_resize_coord c)
{
    return (unsigned)c < 7 ? coord_names[c] : "?";
}

/* A string attribute that must be one of names[]; its index in *out. */
static weft_status choice(const weft_node *n, const char *attr, const char *def,
                          const char *const *names, int *out, char *why, size_t cap)
{
    const weft_attr *a = weft_node_attr(n, attr);
    const char *s = def;
    if (a && a->type != WEFT_ATTR_STRING)
        return weft_params_fail(n, why, cap, WEFT_ERR_GRAPH, "attribute '%s' is not a string",
                                attr);
    if (a)
        s = a->s;
    for (int i = 0; names[i]; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return WEFT_OK;
        }
    return weft_params_fail(n, why, cap, WEFT_ERR_GRAPH,
                            "attribute '%s' = \"%s\" is not supported by %s", attr, s, n->op);
}

static weft_status attr_int(const weft_node *n, const char *attr, int64_t def, int64_t lo,
                            int64_t hi, int64_t *out, char *why, size_t cap)
{
    const weft_attr *a = weft_node_attr(n, attr);
    if (a && a->type != WEFT_ATTR_INT)
        return weft_params_fail(n, why, cap, WEFT_ERR_GRAPH, "attribute '%s' is not an int", attr);
    *out = a ? a->i : def;
    if (*out < lo || *out > hi)
        return weft_params_fail(n, why, cap, WEFT_ERR_GRAPH,
                                "attribute '%s' = %lld is out of range [%lld, %lld]", attr,
                                (long long)*out, (long long)lo, (long long)hi);
    return WEFT_OK;
}

static weft_status attr_float(const weft_node *n, const char *attr, float def, float *out,
                              char *why, size_t cap)
{
    const weft_attr *a = weft_node_attr(n, attr);
    if (a && a->type != WEFT_ATTR_FLOAT)
        return weft_params_fail(n, why, cap, WEFT_ERR_GRAPH, "attribute '%s' is not a float", attr);
    *out = a ? a->f : def;
    return WEFT_OK;
}

/* Input v is given: present and not empty. */
static int given(const weft_value *v)
{
    return v && weft_shape_numel(&v->shape) > 0;
}

/* Scale, output size and roi of every axis from scales or sizes over the
 * listed axes ax[0..na). policy: 0 stretch, 1 not_larger, 2 not_smaller. */
static weft_status axes_from(const weft_node *n, weft_resize_params *p, const weft_shape *x,
                             const int *ax, size_t na, const weft_floats *scales,
                             const weft_ints *sizes, const weft_floats *roi, int policy, char *why,
                             size_t cap)
{
    const char *what = scales->present ? "scales" : "sizes";
    size_t count = scales->present ? scales->count : sizes->count;
    if (count != na)
        return weft_params_fail(n, why, cap, WEFT_ERR_GRAPH,
                                "input '%s' has %zu values, expected %zu", what, count, na);
    for (int d = 0; d < p->rank; d++)
        p->axis[d] = (weft_resize_axis){.in = x->dims[d],
                                        .out = x->dims[d],
                                        .scale = 1.0,
                                        .width = (double)x->dims[d],
                                        .roi_end = 1.0f};
    if (roi->present) {
        if (roi->count != 2 * na)
            return weft_params_fail(
                n, why, cap, WEFT_ERR_GRAPH,
                "input 'roi' has %zu values, expected %zu (a start and an end per axis)",
                roi->count, 2 * na);
        for (size_t i = 0; i < 2 * na; i++)
            if (!isfinite(roi->v[i]))
                return weft_params_fail(n, why, cap, WEFT_ERR_GRAPH,
                                        "input 'roi'[%zu] = %g is not finite", i,
                                        (double)roi->v[i]);
    }
    double common = 0.0;
    for (size_t i = 0; i < na; i++) {
        weft_resize_axis *a = &p->axis[ax[i]];
        if (roi->present) {
            a->roi_start = roi->v[i];
            a->roi_end = roi->v[na + i];
        }
        if (scales->present) {
            float s = scales->v[i];
            if (!(s > 0.0f) || isinf(s))
                return weft_params_fail(n, why, cap, WEFT_ERR_GRAPH,
                                        "input 'scales'[%zu] = %g must be positive", i, (double)s);
            a->scale = (double)s;
            double o = floor((double)a->in * a->scale);
            if (!(o < 4.0e18))
                return weft_params_fail(n, why, cap, WEFT_ERR_SHAPE,
                                        "input 'scales'[%zu] = %g overflows axis %d", i, (double)s,
                                        ax[i]);
            a->out = (int64_t)o;
            continue;
        }
        if (sizes->v[i] < 0)
            return weft_params_fail(n, why, cap, WEFT_ERR_GRAPH,
                                    "input 'sizes'[%zu] = %lld is negative", i,
                                    (long long)sizes->v[i]);
        if (a->in == 0)
            return weft_params_fail(n, why, cap, WEFT_ERR_SHAPE,
                                    "input 'sizes' resizes axis %d of size 0", ax[i]);
        a->scale = (double)sizes->v[i] / (double)a->in;
        a->out = sizes->v[i];
        if (i == 0 || (policy == 1 && a->scale < common) || (policy == 2 && a->scale > common))
            common = a->scale;
    }
    if (!scales->present && policy != 0)
        for (size_t i = 0; i < na; i++) {
            weft_resize_axis *a = &p->axis[ax[i]];
            double o = floor(common * (double)a->in + 0.5); /* round half up */
            if (!(o < 4.0e18))
                return weft_params_fail(n, why, cap, WEFT_ERR_SHAPE,
                                        "the output size of axis %d overflows", ax[i]);
            a->scale = common;
            a->out = (int64_t)o;
        }
    for (size_t i = 0; i < na; i++) {
        weft_resize_axis *a = &p->axis[ax[i]];
        a->width = a->scale * (double)a->in;
        int plain_roi = p->coord != WEFT_RESIZE_TF_CROP_AND_RESIZE ||
                        (a->roi_start == 0.0f && a->roi_end == 1.0f);
        a->resized = !(a->scale == 1.0 && a->out == a->in && plain_roi);
        if (a->in == 0 && a->out > 0)
            return weft_params_fail(n, why, cap, WEFT_ERR_SHAPE,
                                    "axis %d of size 0 cannot grow to %lld", ax[i],
                                    (long long)a->out);
    }
    return WEFT_OK;
}

static weft_status read_floats(const weft_node *n, const weft_value *v, const char *what,
                               weft_floats *out, char *why, size_t cap)
{
    const void *data;
    weft_status st =
        weft_params_const(n, v, what, WEFT_FLOAT32, &data, &out->count, &out->present, why, cap);
    out->v = data;
    return st;
}

static weft_status read_resize(const weft_node *n, const weft_value *const *in, size_t in_count,
                               weft_resize_params *p, char *why, size_t cap)
{
    int mode, coord, rounding, policy;
    int64_t exclude, antialias;
    int before_11 = in_count == 2; /* opset 10: (X, scales) */
    weft_status st;
    if ((st = choice(n, "mode", "nearest", mode_names, &mode, why, cap)) != WEFT_OK ||
        (st = choice(n, "coordinate_transformation_mode", before_11 ? "asymmetric" : "half_pixel",
                     coord_names, &coord, why, cap)) != WEFT_OK ||
        (st = choice(n, "nearest_mode", "round_prefer_floor", rounding_names, &rounding, why,
                     cap)) != WEFT_OK ||
        (st = choice(n, "keep_aspect_ratio_policy", "stretch", policy_names, &policy, why, cap)) !=
            WEFT_OK ||
        (st = attr_int(n, "exclude_outside", 0, 0, 1, &exclude, why, cap)) != WEFT_OK ||
        (st = attr_int(n, "antialias", 0, 0, 1, &antialias, why, cap)) != WEFT_OK ||
        (st = attr_float(n, "cubic_coeff_a", -0.75f, &p->cubic_a, why, cap)) != WEFT_OK ||
        (st = attr_float(n, "extrapolation_value", 0.0f, &p->extrapolation, why, cap)) != WEFT_OK)
        return st;
    p->mode = (weft_resize_mode)mode;
    p->coord = (weft_resize_coord)coord;
    p->rounding = before_11 && !weft_node_attr(n, "nearest_mode") ? WEFT_RESIZE_BEFORE_11
                                                                  : (weft_resize_rounding)rounding;
    p->exclude_outside = exclude != 0;
    p->antialias = antialias != 0 && p->mode != WEFT_RESIZE_NEAREST;

    /* axes (opset 18): the axes that roi, scales and sizes refer to. */
    const weft_attr *axes = weft_node_attr(n, "axes");
    int ax[WEFT_MAX_RANK];
    size_t na = (size_t)p->rank;
    if (axes && axes->type != WEFT_ATTR_INTS)
        return weft_params_fail(n, why, cap, WEFT_ERR_GRAPH,
                                "attribute 'axes' is not a list of ints");
    if (axes) {
        na = axes->count;
        if ((st = weft_params_axes(n, "attribute 'axes'", axes->ints, na, p->rank, ax, why, cap)) !=
            WEFT_OK)
            return st;
    } else {
        for (int d = 0; d < p->rank; d++)
            ax[d] = d;
    }
    const weft_value *v_roi = before_11 ? NULL : in_count > 1 ? in[1] : NULL;
    const weft_value *v_scales = in_count > (before_11 ? 1u : 2u) ? in[before_11 ? 1 : 2] : NULL;
    const weft_value *v_sizes = !before_11 && in_count > 3 ? in[3] : NULL;
    weft_floats scales = {0}, roi = {0};
    weft_ints sizes = {0};
    if (given(v_scales) && (st = read_floats(n, v_scales, "scales", &scales, why, cap)) != WEFT_OK)
        return st;
    if (given(v_sizes) &&
        (st = weft_params_const_ints(n, v_sizes, "sizes", &sizes, why, cap)) != WEFT_OK)
        return st;
    if (scales.present == sizes.present)
        return weft_params_fail(
            n, why, cap, WEFT_ERR_GRAPH, "%s",
            scales.present ? "inputs 'scales' and 'sizes' are both given; give one"
                           : "give input 'scales' or input 'sizes' (a non-empty constant)");
    if (p->coord == WEFT_RESIZE_TF_CROP_AND_RESIZE) {
        if (!given(v_roi))
            return weft_params_fail(
                n, why, cap, WEFT_ERR_GRAPH,
                "attribute 'coordinate_transformation_mode' = \"tf_crop_and_resize\" "
                "needs input 'roi'");
        if ((st = read_floats(n, v_roi, "roi", &roi, why, cap)) != WEFT_OK)
            return st;
    }
    return axes_from(n, p, &in[0]->shape, ax, na, &scales, &sizes, &roi, policy, why, cap);
}

static weft_status read_upsample(const weft_node *n, const weft_value *const *in, size_t in_count,
                                 weft_resize_params *p, char *why, size_t cap)
{
    static const char *const modes[] = {"nearest", "linear", NULL};
    int mode;
    weft_status st = choice(n, "mode", "nearest", modes, &mode, why, cap);
    if (st != WEFT_OK)
        return st;
    p->mode = (weft_resize_mode)mode;
    p->coord = WEFT_RESIZE_ASYMMETRIC;
    p->rounding = WEFT_RESIZE_BEFORE_11;
    /* scales: an attribute in opset 7, an input since opset 9. */
    const weft_attr *a = weft_node_attr(n, "scales");
    const weft_value *v = in_count > 1 ? in[1] : NULL;
    weft_floats scales = {0}, roi = {0};
    weft_ints sizes = {0};
    if (a && v)
        return weft_params_fail(
            n, why, cap, WEFT_ERR_GRAPH,
            "'scales' is given both as an attribute (opset 7) and as input 1; give one");
    if (a && a->type != WEFT_ATTR_FLOATS)
        return weft_params_fail(n, why, cap, WEFT_ERR_GRAPH,
                                "attribute 'scales' is not a list of floats");
    if (a)
        scales = (weft_floats){a->floats, a->count, 1};
    else if ((st = read_floats(n, v, "scales", &scales, why, cap)) != WEFT_OK)
        return st;
    if (!scales.present)
        return weft_params_fail(
            n, why, cap, WEFT_ERR_GRAPH,
            "'scales' is required (an input since opset 9, an attribute before)");
    for (size_t i = 0; i < scales.count; i++)
        if (!(scales.v[i] >= 1.0f))
            return weft_params_fail(n, why, cap, WEFT_ERR_GRAPH, "'scales'[%zu] = %g must be >= 1",
                                    i, (double)scales.v[i]);
    int ax[WEFT_MAX_RANK];
    for (int d = 0; d < p->rank; d++)
        ax[d] = d;
    return axes_from(n, p, &in[0]->shape, ax, (size_t)p->rank, &scales, &sizes, &roi, 0, why, cap);
}

weft_status weft_params_resize(const weft_node *n, const weft_value *const *in, size_t in_count,
                               weft_resize_params *p, char *why, size_t cap)
{
    memset(p, 0, sizeof *p);
    if (in_count < 1 || !in[0])
        return weft_params_fail(n, why, cap, WEFT_ERR_GRAPH, "input 'X' is absent");
    p->rank = in[0]->shape.rank;
    p->cubic_a = -0.75f;
    if (strcmp(n->op, "Upsample") == 0)
        return read_upsample(n, in, in_count, p, why, cap);
    return read_resize(n, in, in_count, p, why, cap);
}
