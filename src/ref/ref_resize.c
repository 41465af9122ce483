/*
 * Reference of Resize (ONNX opsets 10, 11, 13, 18 and 19) and Upsample
 * (opsets 7 and 9): nearest, N-linear and N-cubic interpolation over any
 * axes, N and C included, with antialias, exclude_outside and
 * extrapolation_value. Scales, sizes, modes and the axes left alone come
 * from graph/resize_params.h (shared with the kernel); the mapping of
 * output coordinates to input taps is written here on its own.
 *
 * It follows the ONNX operator spec and, where the spec leaves a
 * computation open, the ONNX Python reference (onnx/reference/ops/
 * op_resize.py), whose float64 arithmetic generated the conformance data:
 *  - the work is separable and done in double, one resized axis at a time
 *    in increasing order, rounded to float32 once at the end;
 *  - on each axis an output coordinate y maps to x_original by the
 *    coordinate_transformation_mode formula, in double with the scale and
 *    width of resize_params.h; the output is a weighted sum of the n input
 *    elements nearest x_original (ties to the smaller index; n = 2 for
 *    nearest and linear, 4 for cubic, more for antialias), reached with
 *    edge padding (clamped indices). The fraction of x_original is taken
 *    in (0, 1]: an integer x_original counts as 1 past its left neighbour;
 *  - nearest weighs one of its two taps 1, by nearest_mode on that
 *    fraction: round_prefer_floor takes the left one up to 0.5;
 *  - tf_crop_and_resize outside [0, in - 1] gives extrapolation_value.
 * Choices where the spec and the Python reference differ or are silent:
 *  - pytorch_half_pixel on an output of width 1 gives x_original = 0 as
 *    the spec says (the Python reference uses -0.5; the results only
 *    differ for cubic, antialias and exclude_outside);
 *  - tf_half_pixel_for_nn (opsets 11 and 13) is (y + 0.5) / scale;
 *  - with exclude_outside, weights that sum to 0 stay 0 (the output is 0),
 *    as in the Python reference.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graph/resize_params.h"
#include "ref/ref_util.h"

typedef weft_resize_params rs_params;
typedef weft_resize_axis rs_axis;

/* Largest number of taps one output element may take on one axis (an
 * antialiasing filter grows as 1 / scale). */
#define RS_MAX_TAPS (1 << 20)

/* ---- One axis: output coordinate -> taps ---------------------------------- */

/* x_original of output coordinate y; *outside set when tf_crop_and_resize
 * lands outside [0, in - 1] (the output is extrapolation_value then). */
static double rs_x_original(const rs_params *p, const rs_axis *a, int64_t y, int *outside)
{
    double yd = (double)y, x = 0.0;
    *outside = 0;
    switch (p->coord) {
    case WEFT_RESIZE_HALF_PIXEL: x = (yd + 0.5) / a->scale - 0.5; break;
    case WEFT_RESIZE_HALF_PIXEL_SYMMETRIC: {
        double adjustment = (double)a->out / a->width;
        double center = (double)a->in / 2.0;
        double offset = center * (1.0 - adjustment);
        x = offset + (yd + 0.5) / a->scale - 0.5;
        break;
    }
    case WEFT_RESIZE_PYTORCH_HALF_PIXEL:
        x = a->width == 1.0 ? 0.0 : (yd + 0.5) / a->scale - 0.5;
        break;
    case WEFT_RESIZE_ALIGN_CORNERS:
        x = a->width == 1.0 ? 0.0 : yd * (double)(a->in - 1) / (a->width - 1.0);
        break;
    case WEFT_RESIZE_ASYMMETRIC: x = yd / a->scale; break;
    case WEFT_RESIZE_TF_HALF_PIXEL_FOR_NN: x = (yd + 0.5) / a->scale; break;
    case WEFT_RESIZE_TF_CROP_AND_RESIZE: {
        /* The roi difference and roi_start * (in - 1) are float32 sums and
         * products, as numpy computes them from float32 roi values. */
        float span = a->roi_end - a->roi_start;
        double last = (double)(a->in - 1);
        if (a->width == 1.0)
            x = (double)(span * (float)(a->in - 1) / 2.0f);
        else
            x = yd * (double)span * last / (a->width - 1.0);
        x += (double)(a->roi_start * (float)(a->in - 1));
        *outside = x < 0.0 || x > last;
        break;
    }
    }
    return x;
}

/* The cubic convolution kernel of Keys (1981) with parameter A. */
static double rs_cubic(double x, double A)
{
    x = fabs(x);
    double x2 = x * x, x3 = x * x2;
    if (x <= 1.0)
        return (A + 2.0) * x3 - (A + 3.0) * x2 + 1.0;
    if (x < 2.0)
        return A * x3 - 5.0 * A * x2 + 8.0 * A * x - 4.0 * A;
    return 0.0;
}

/* Taps per output element on axis a: 2 for nearest (one of them weighs 1)
 * and linear, 4 for cubic, more for an antialiasing filter. */
static int64_t rs_tap_count(const rs_params *p, const rs_axis *a)
{
    if (p->mode == WEFT_RESIZE_NEAREST || !p->antialias)
        return p->mode == WEFT_RESIZE_CUBIC ? 4 : 2;
    double s = a->scale < 1.0 ? a->scale : 1.0;
    double taps = 2.0 - 2.0 * (floor((p->mode == WEFT_RESIZE_CUBIC ? -2.0 : -1.0) / s) + 1.0);
    return taps > 2.0 * RS_MAX_TAPS ? 2 * (int64_t)RS_MAX_TAPS : (int64_t)taps;
}

/* Coefficients c[0..n) for the fractional position ratio in (0, 1]. */
static void rs_coeffs(const rs_params *p, const rs_axis *a, double ratio, int64_t n, double *c)
{
    if (p->mode == WEFT_RESIZE_NEAREST) {
        weft_resize_rounding r = p->rounding;
        if (r == WEFT_RESIZE_BEFORE_11)
            r = a->scale < 1.0 ? WEFT_RESIZE_CEIL : WEFT_RESIZE_FLOOR;
        int second = ratio == 1.0                          ? 1
                     : r == WEFT_RESIZE_ROUND_PREFER_FLOOR ? ratio > 0.5
                     : r == WEFT_RESIZE_ROUND_PREFER_CEIL  ? ratio >= 0.5
                                                           : r == WEFT_RESIZE_CEIL;
        c[0] = second ? 0.0 : 1.0;
        c[1] = second ? 1.0 : 0.0;
        return;
    }
    if (!p->antialias && p->mode == WEFT_RESIZE_LINEAR) {
        c[0] = 1.0 - ratio;
        c[1] = ratio;
        return;
    }
    double A = (double)p->cubic_a;
    if (!p->antialias) {
        double r1 = ratio + 1.0, q = 1.0 - ratio, q1 = q + 1.0;
        c[0] = ((A * r1 - 5.0 * A) * r1 + 8.0 * A) * r1 - 4.0 * A;
        c[1] = ((A + 2.0) * ratio - (A + 3.0)) * ratio * ratio + 1.0;
        c[2] = ((A + 2.0) * q - (A + 3.0)) * q * q + 1.0;
        c[3] = ((A * q1 - 5.0 * A) * q1 + 8.0 * A) * q1 - 4.0 * A;
        return;
    }
    /* Antialiasing: the filter stretched by 1 / scale when downsampling,
     * then normalised. Tap i sits at start + i relative to floor(x). */
    double s = a->scale < 1.0 ? a->scale : 1.0, sum = 0.0;
    int64_t start = 1 - n / 2;
    for (int64_t i = 0; i < n; i++) {
        double t = ((double)(start + i) - ratio) * s;
        if (p->mode == WEFT_RESIZE_LINEAR) {
            double v = 1.0 - fabs(t);
            c[i] = v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v;
        } else {
            c[i] = rs_cubic(t, A);
        }
        sum += c[i];
    }
    for (int64_t i = 0; i < n; i++)
        c[i] /= sum;
}

/* For output coordinate y of axis a: n clamped input indices and weights,
 * or *outside for an extrapolated coordinate. */
static void rs_taps(const rs_params *p, const rs_axis *a, int64_t y, int64_t n, int64_t *idx,
                    double *w, int *outside)
{
    double x = rs_x_original(p, a, y, outside);
    if (*outside)
        return;
    /* ratio in (0, 1]: an integer x_original takes the pixel on its left
     * as the first tap's neighbour, like the Python reference. */
    double fl = floor(x);
    double ratio = x == fl ? 1.0 : x - fl;
    rs_coeffs(p, a, ratio, n, w);
    /* The n indices nearest x, ties to the smaller: n is even, so the
     * window starts n/2 - 1 below floor(x), or n/2 below an integer x;
     * computed on x + n/2 as the reference pads the data by n/2. */
    int64_t half = n / 2;
    double xp = x + (double)half, pf = floor(xp);
    int64_t first = (int64_t)pf + (xp == pf ? -half : 1 - half) - half;
    if (p->exclude_outside) {
        double sum = 0.0;
        for (int64_t i = 0; i < n; i++) {
            if (first + i < 0 || first + i >= a->in)
                w[i] = 0.0;
            sum += w[i];
        }
        if (sum == 0.0)
            sum = 1.0;
        for (int64_t i = 0; i < n; i++)
            w[i] /= sum;
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t k = first + i;
        idx[i] = k < 0 ? 0 : k >= a->in ? a->in - 1 : k;
    }
}

/* ---- The separable resize ------------------------------------------------- */

/* Resizes axis d of cur (shape *shape, in double) into a new buffer. */
static weft_status rs_resize_axis(const weft_node *n, const rs_params *p, int d, double **cur,
                                  weft_shape *shape)
{
    const rs_axis *a = &p->axis[d];
    int64_t taps = rs_tap_count(p, a);
    int64_t outer = weft_shape_product(shape, 0, d),
            inner = weft_shape_product(shape, d + 1, shape->rank);
    weft_shape next = *shape;
    next.dims[d] = a->out;
    int64_t count = weft_shape_numel(&next);
    if (taps > RS_MAX_TAPS || (a->out > 0 && taps > INT64_MAX / 16 / a->out))
        return weft_node_fail(n, WEFT_ERR_UNSUPPORTED,
                              "axis %d takes %lld taps per output element; the reference stops "
                              "at %d",
                              d, (long long)taps, RS_MAX_TAPS);
    double *dst = malloc((size_t)(count ? count : 1) * sizeof *dst);
    int64_t *idx = malloc((size_t)(a->out * taps + 1) * sizeof *idx);
    double *w = malloc((size_t)(a->out * taps + 1) * sizeof *w);
    int *outside = malloc((size_t)(a->out + 1) * sizeof *outside);
    if (!dst || !idx || !w || !outside) {
        free(dst);
        free(idx);
        free(w);
        free(outside);
        return weft_node_fail(n, WEFT_ERR_OUT_OF_MEMORY, "no memory to resize axis %d", d);
    }
    for (int64_t y = 0; y < a->out; y++)
        rs_taps(p, a, y, taps, idx + y * taps, w + y * taps, &outside[y]);
    const double *src = *cur;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t y = 0; y < a->out; y++)
            for (int64_t i = 0; i < inner; i++) {
                double v = (double)p->extrapolation;
                if (!outside[y]) {
                    v = 0.0;
                    for (int64_t t = 0; t < taps; t++)
                        v += w[y * taps + t] * src[(o * a->in + idx[y * taps + t]) * inner + i];
                }
                dst[(o * a->out + y) * inner + i] = v;
            }
    free(idx);
    free(w);
    free(outside);
    free(*cur);
    *cur = dst;
    *shape = next;
    return WEFT_OK;
}

static weft_status rs_run(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                          weft_host_tensor *out, size_t out_count)
{
    weft_status st = ref_require_input(n, in, in_count, 0, "X");
    if (st == WEFT_OK)
        st = ref_require_float(n, in, 0, "X");
    if (st != WEFT_OK)
        return st;
    weft_value scratch[4];
    const weft_value *v[4];
    size_t nv = in_count < 4 ? in_count : 4;
    ref_values(in, nv, scratch, v, nv);
    rs_params p;
    if ((st = weft_params_resize(n, v, nv, &p, NULL, 0)) != WEFT_OK)
        return st;
    weft_shape want = in[0].shape;
    for (int d = 0; d < p.rank; d++)
        want.dims[d] = p.axis[d].out;
    if ((st = ref_check_output(n, out, out_count, 0, WEFT_FLOAT32, &want)) != WEFT_OK)
        return st;
    if (weft_shape_numel(&want) == 0)
        return WEFT_OK; /* nothing to write */
    int64_t count = weft_shape_numel(&in[0].shape);
    double *cur = malloc((size_t)(count ? count : 1) * sizeof *cur);
    if (!cur)
        return weft_node_fail(n, WEFT_ERR_OUT_OF_MEMORY, "no memory for a copy of X");
    const float *x = in[0].data;
    for (int64_t i = 0; i < count; i++)
        cur[i] = (double)x[i];
    weft_shape shape = in[0].shape;
    for (int d = 0; d < p.rank && st == WEFT_OK; d++)
        if (p.axis[d].resized)
            st = rs_resize_axis(n, &p, d, &cur, &shape);
    if (st == WEFT_OK) {
        float *y = out[0].data;
        int64_t total = weft_shape_numel(&want);
        for (int64_t i = 0; i < total; i++)
            y[i] = (float)cur[i];
    }
    free(cur);
    return st;
}

weft_status weft_ref_resize(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                            weft_host_tensor *out, size_t out_count)
{
    return rs_run(n, in, in_count, out, out_count);
}

weft_status weft_ref_upsample(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                              weft_host_tensor *out, size_t out_count)
{
    return rs_run(n, in, in_count, out, out_count);
}
