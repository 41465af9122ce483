/*
 * Resize and Upsample (cl/resize.cl), float32, with the semantics of the
 * reference (src/ref/ref_resize.c): nearest (every nearest_mode), N-linear
 * and N-cubic over any axes, N and C included; every
 * coordinate_transformation_mode; antialias, exclude_outside and
 * extrapolation_value.
 *
 * prepare reads the node through graph/resize_params.h and turns each
 * resized axis into a table, one row per output coordinate: the input
 * offsets of its taps (clamped index times the axis' stride) and their
 * weights. The rows are computed here in double with ONNX's formulas: a
 * kernel computing x_original in float32 would round differently near
 * the half-way points and pick other elements for nearest (scale 0.6 in
 * float32 and y = 1 under half_pixel give x_original = 1.99999990 in
 * double, exactly 2 in float32; floor then differs). The tables are small
 * (the sum over resized axes of output size times taps), computed once
 * per session. The kernel is specialised per node by -D: collapsed rank,
 * which axes are resized, the taps of each (nearest folds ONNX's two taps
 * into the one it picks), whether weights and extrapolation apply.
 *
 * One work-item per output element, the last axis along dimension 0 of a
 * 3-D launch so that neighbouring work-items write neighbouring elements
 * and no division is needed for up to three collapsed axes.
 *
 * resize_nearest_rows, for CPU-class devices: nearest upsampling of the
 * last two axes by integer factors (where the tables pick input y / f),
 * a work-item per input row writing its output rows as straight copies.
 *
 * For tests, WEFT_TEST_RESIZE_PATH=rows|table (read by the cost of
 * resize_nearest_rows) prefers one of the two where both apply, and
 * prepare reads WEFT_TEST_MAX_LOCAL=N (unset in normal use),
 * which caps work-groups at N >= 1 items.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "graph/op_params.h"
#include "graph/resize_params.h"
#include "ops/op.h"

/* Terms of one output element (the product of the taps of its axes)
 * beyond which the kernel is not used: an antialiasing filter grows as
 * 1 / scale on each downsampled axis. */
#define RESIZE_MAX_TERMS 4096

/* WEFT_TEST_MAX_LOCAL as a number >= 1, or 0 when unset or malformed. */
static size_t test_max_local(void)
{
    const char *s = getenv("WEFT_TEST_MAX_LOCAL");
    if (!s || !*s)
        return 0;
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    return *end == '\0' && v >= 1 ? (size_t)v : 0;
}

static weft_status read_params(const weft_graph *g, const weft_node *n, weft_resize_params *p,
                               char *why, size_t cap)
{
    const weft_value *in[4] = {0};
    size_t count = n->input_count < 4 ? n->input_count : 4;
    weft_params_inputs(g, n, in, count);
    return weft_params_resize(n, in, count, p, why, cap);
}

/* ---- Per-axis filters ------------------------------------------------------ */

/* Taps per output coordinate of a resized axis: nearest keeps only the
 * tap it picks; linear 2 and cubic 4, or the antialiasing filter's
 * footprint when downsampling (2 / scale or 4 / scale, rounded to even). */
static int64_t axis_taps(const weft_resize_params *p, const weft_resize_axis *a)
{
    if (p->mode == WEFT_RESIZE_NEAREST)
        return 1;
    int64_t reach = p->mode == WEFT_RESIZE_CUBIC ? 2 : 1;
    if (!p->antialias || a->scale >= 1.0)
        return 2 * reach;
    double taps = -2.0 * floor(-(double)reach / a->scale);
    return taps > 1e9 ? (int64_t)1e9 : (int64_t)taps; /* past any limit, never overflowing */
}

/* The source position of output coordinate y, in double: the
 * coordinate_transformation_mode formulas of the ONNX spec with the
 * scale and (maybe fractional) width of resize_params.h. *outside for a
 * tf_crop_and_resize position beyond the input. */
static double source_position(const weft_resize_params *p, const weft_resize_axis *a, double y,
                              int *outside)
{
    *outside = 0;
    const double last = (double)(a->in - 1);
    switch (p->coord) {
    case WEFT_RESIZE_ASYMMETRIC:
        return y / a->scale;
    case WEFT_RESIZE_TF_HALF_PIXEL_FOR_NN:
        return (y + 0.5) / a->scale;
    case WEFT_RESIZE_ALIGN_CORNERS:
        return a->width == 1.0 ? 0.0 : y * last / (a->width - 1.0);
    case WEFT_RESIZE_PYTORCH_HALF_PIXEL:
        if (a->width == 1.0)
            return 0.0;
        return (y + 0.5) / a->scale - 0.5;
    case WEFT_RESIZE_HALF_PIXEL_SYMMETRIC: {
        double shift = (double)a->in / 2.0 * (1.0 - (double)a->out / a->width);
        return shift + (y + 0.5) / a->scale - 0.5;
    }
    case WEFT_RESIZE_TF_CROP_AND_RESIZE: {
        /* roi arithmetic in float32, as ONNX's numpy does on float32 roi */
        const float span = a->roi_end - a->roi_start, lastf = (float)(a->in - 1);
        double x = a->width == 1.0 ? (double)(span * lastf / 2.0f)
                                   : y * (double)span * last / (a->width - 1.0);
        x += (double)(a->roi_start * lastf);
        *outside = x < 0.0 || x > last;
        return x;
    }
    case WEFT_RESIZE_HALF_PIXEL:
    default:
        return (y + 0.5) / a->scale - 0.5;
    }
}

/* Weight of a tap at signed distance t (in input elements, times the
 * antialias stretch) for linear and cubic filters. */
static double filter(const weft_resize_params *p, double t)
{
    t = fabs(t);
    if (p->mode == WEFT_RESIZE_LINEAR)
        return t < 1.0 ? 1.0 - t : 0.0;
    const double A = (double)p->cubic_a, t2 = t * t, t3 = t * t2;
    if (t <= 1.0)
        return (A + 2.0) * t3 - (A + 3.0) * t2 + 1.0;
    if (t < 2.0)
        return A * t3 - 5.0 * A * t2 + 8.0 * A * t - 4.0 * A;
    return 0.0;
}

/* Which of its two neighbours nearest picks at fraction frac in (0, 1]:
 * 1 for the right one. */
static int nearest_right(const weft_resize_params *p, const weft_resize_axis *a, double frac)
{
    if (frac == 1.0) /* an integer position: itself, the right neighbour */
        return 1;
    switch (p->rounding) {
    case WEFT_RESIZE_ROUND_PREFER_FLOOR: return frac > 0.5;
    case WEFT_RESIZE_ROUND_PREFER_CEIL: return frac >= 0.5;
    case WEFT_RESIZE_FLOOR: return 0;
    case WEFT_RESIZE_CEIL: return 1;
    case WEFT_RESIZE_BEFORE_11: default: return a->scale < 1.0;
    }
}

/* One table row for output coordinate y: the taps' offsets (clamped index
 * times stride) and weights; offsets[0] = -1 marks an extrapolated
 * position. w is scratch for `taps` doubles. */
static void axis_row(const weft_resize_params *p, const weft_resize_axis *a, int64_t stride,
                     int64_t taps, int64_t y, cl_int *offsets, cl_float *weights, double *w)
{
    int outside;
    const double x = source_position(p, a, (double)y, &outside);
    if (outside) {
        for (int64_t j = 0; j < taps; j++) {
            offsets[j] = j == 0 ? -1 : 0;
            weights[j] = 0.0f;
        }
        return;
    }
    /* ONNX takes the fraction in (0, 1]: an integer position counts as a
     * whole step past its left neighbour. The window of n taps holds the n
     * indices nearest x, ties to the smaller, found on x + n/2 (ONNX pads
     * the data by n/2 and searches there). */
    const double below = floor(x);
    const double frac = x == below ? 1.0 : x - below;
    const int64_t n = p->mode == WEFT_RESIZE_NEAREST ? 2 : taps, half = n / 2;
    const double shifted = x + (double)half, shifted_floor = floor(shifted);
    const int64_t first =
        (int64_t)shifted_floor - half + (shifted == shifted_floor ? -half : 1 - half);
    if (p->mode == WEFT_RESIZE_NEAREST) {
        /* ONNX weighs the picked neighbour 1 and the other 0; with
         * exclude_outside a picked one outside the input leaves weights
         * summing to 0, which ONNX divides by 1: the output is 0. */
        int64_t k = first + nearest_right(p, a, frac);
        weights[0] = p->exclude_outside && (k < 0 || k >= a->in) ? 0.0f : 1.0f;
        k = k < 0 ? 0 : k >= a->in ? a->in - 1 : k;
        offsets[0] = (cl_int)(k * stride);
        return;
    }
    if (!p->antialias && p->mode == WEFT_RESIZE_LINEAR) {
        w[0] = 1.0 - frac;
        w[1] = frac;
    } else if (!p->antialias) {
        /* Keys' cubic at distances 1 + frac, frac, 1 - frac, 2 - frac, in
         * the operation order of the ONNX reference's polynomials. */
        const double A = (double)p->cubic_a, r1 = frac + 1.0, q = 1.0 - frac, q1 = q + 1.0;
        w[0] = ((A * r1 - 5.0 * A) * r1 + 8.0 * A) * r1 - 4.0 * A;
        w[1] = ((A + 2.0) * frac - (A + 3.0)) * frac * frac + 1.0;
        w[2] = ((A + 2.0) * q - (A + 3.0)) * q * q + 1.0;
        w[3] = ((A * q1 - 5.0 * A) * q1 + 8.0 * A) * q1 - 4.0 * A;
    } else {
        /* The filter stretched by 1 / scale, normalised to sum 1. */
        const double s = a->scale < 1.0 ? a->scale : 1.0;
        double sum = 0.0;
        for (int64_t j = 0; j < n; j++) {
            w[j] = filter(p, ((double)(1 - half + j) - frac) * s);
            sum += w[j];
        }
        for (int64_t j = 0; j < n; j++)
            w[j] /= sum;
    }
    if (p->exclude_outside) {
        double sum = 0.0;
        for (int64_t j = 0; j < n; j++) {
            if (first + j < 0 || first + j >= a->in)
                w[j] = 0.0;
            sum += w[j];
        }
        for (int64_t j = 0; j < n; j++)
            w[j] /= sum == 0.0 ? 1.0 : sum;
    }
    for (int64_t j = 0; j < n; j++) {
        int64_t k = first + j;
        k = k < 0 ? 0 : k >= a->in ? a->in - 1 : k;
        offsets[j] = (cl_int)(k * stride);
        weights[j] = (cl_float)w[j];
    }
}

/* ---- The collapsed view ------------------------------------------------------ */

/* The tensor as the kernel sees it: copied axes of size 1 dropped, runs of
 * neighbouring copied axes merged, each resized axis on its own. */
typedef struct resize_view {
    int rank;
    int64_t out[WEFT_MAX_RANK];    /* output extents */
    int64_t stride[WEFT_MAX_RANK]; /* input element strides */
    int axis[WEFT_MAX_RANK];       /* the node's axis of a resized one; -1 when copied */
} resize_view;

static void collapse(const weft_resize_params *p, resize_view *v)
{
    int64_t stride = 1, strides[WEFT_MAX_RANK];
    for (int d = p->rank - 1; d >= 0; d--) {
        strides[d] = stride;
        stride *= p->axis[d].in;
    }
    v->rank = 0;
    for (int d = 0; d < p->rank; d++) {
        const weft_resize_axis *a = &p->axis[d];
        int r = v->rank;
        if (!a->resized && a->in == 1)
            continue;
        if (!a->resized && r > 0 && v->axis[r - 1] < 0) {
            v->out[r - 1] *= a->in;
            v->stride[r - 1] = strides[d];
            continue;
        }
        v->out[r] = a->out;
        v->stride[r] = strides[d];
        v->axis[r] = a->resized ? d : -1;
        v->rank++;
    }
    if (v->rank == 0) {
        v->rank = 1;
        v->out[0] = 1;
        v->stride[0] = 1;
        v->axis[0] = -1;
    }
}

/* Terms per output element: the product of the resized axes' taps. */
static int64_t terms_of(const weft_resize_params *p)
{
    int64_t terms = 1;
    for (int d = 0; d < p->rank; d++)
        if (p->axis[d].resized) {
            int64_t t = axis_taps(p, &p->axis[d]);
            if (t > RESIZE_MAX_TERMS)
                return RESIZE_MAX_TERMS + 1;
            terms *= t;
            if (terms > RESIZE_MAX_TERMS)
                return RESIZE_MAX_TERMS + 1;
        }
    return terms;
}

/* ---- The implementation ---------------------------------------------------- */

typedef struct resize_state {
    cl_kernel kernel;
    cl_mem tap_at, tap_w, meta;
    size_t global[3], local[3];
} resize_state;

static const char *const resize_ops[] = {"Resize", "Upsample", NULL};

static int resize_supports(const weft_graph *g, const weft_node *n, const weft_device_info *d,
                           char *why, size_t cap)
{
    (void)d;
    const weft_value *x = weft_node_input(g, n, 0), *y = weft_node_output(g, n, 0);
    if (!x || !y)
        return weft_op_refuse(why, cap, "input X or output Y is absent");
    if (x->dtype != WEFT_FLOAT32)
        return weft_op_refuse(why, cap, "input 'X' is %s; only float32 is supported",
                      weft_dtype_name(x->dtype));
    if (weft_shape_numel(&x->shape) > INT32_MAX || weft_shape_numel(&y->shape) > INT32_MAX)
        return weft_op_refuse(why, cap, "more than 2^31 - 1 elements (the kernel indexes with 32 bits)");
    weft_resize_params p;
    if (read_params(g, n, &p, why, cap) != WEFT_OK)
        return 0;
    if (weft_shape_numel(&y->shape) > 0 && terms_of(&p) > RESIZE_MAX_TERMS)
        return weft_op_refuse(why, cap,
                      "the antialiasing filter takes more than %d input elements per output "
                      "element at these scales",
                      RESIZE_MAX_TERMS);
    return 1;
}

static double resize_cost(const weft_graph *g, const weft_node *n, const weft_device_info *d)
{
    (void)d;
    const weft_value *x = weft_node_input(g, n, 0), *y = weft_node_output(g, n, 0);
    if (!x || !y)
        return 0;
    /* Memory-bound: every output written once, the input read about once
     * (neighbouring outputs share taps), at ~10 GB/s. */
    return ((double)weft_shape_numel(&y->shape) + (double)weft_shape_numel(&x->shape)) * 4.0 /
           10e9;
}

/* The tables of the resized axes of view v: rows of taps offsets and
 * weights; base[r] is the first entry of collapsed axis r. */
static weft_status build_tables(weft_prepare *pr, const weft_resize_params *p,
                                const resize_view *v, cl_int *base, int *weighted,
                                int *extrapolates, resize_state *s)
{
    int64_t entries = 0, widest = 1;
    for (int r = 0; r < v->rank; r++)
        if (v->axis[r] >= 0) {
            int64_t t = axis_taps(p, &p->axis[v->axis[r]]);
            base[r] = (cl_int)entries;
            entries += v->out[r] * t;
            widest = t > widest ? t : widest;
        } else {
            base[r] = 0;
        }
    cl_int *at = malloc((size_t)(entries ? entries : 1) * sizeof *at);
    cl_float *w = malloc((size_t)(entries ? entries : 1) * sizeof *w);
    double *scratch = malloc((size_t)widest * sizeof *scratch);
    weft_status st = WEFT_OK;
    if (!at || !w || !scratch)
        st = weft_node_fail(pr->node, WEFT_ERR_OUT_OF_MEMORY,
                            "no memory for the %lld table entries of the resized axes",
                            (long long)entries);
    *weighted = 0;
    *extrapolates = 0;
    for (int r = 0; r < v->rank && st == WEFT_OK; r++) {
        if (v->axis[r] < 0)
            continue;
        const weft_resize_axis *a = &p->axis[v->axis[r]];
        int64_t taps = axis_taps(p, a);
        for (int64_t y = 0; y < v->out[r]; y++) {
            cl_int *ro = at + base[r] + y * taps;
            cl_float *rw = w + base[r] + y * taps;
            axis_row(p, a, v->stride[r], taps, y, ro, rw, scratch);
            *extrapolates |= ro[0] < 0;
            for (int64_t j = 0; j < taps; j++)
                *weighted |= rw[j] != 1.0f;
        }
    }
    if (st == WEFT_OK)
        st = weft_op_upload(pr, at, (size_t)entries * sizeof *at, &s->tap_at);
    if (st == WEFT_OK)
        st = weft_op_upload(pr, w, (size_t)entries * sizeof *w, &s->tap_w);
    free(at);
    free(w);
    free(scratch);
    return st;
}

static weft_status resize_prepare(weft_prepare *pr)
{
    const weft_node *n = pr->node;
    weft_resize_params p;
    weft_status st = read_params(pr->graph, n, &p, NULL, 0);
    if (st != WEFT_OK)
        return st;
    for (int d = 0; d < p.rank; d++)
        if (p.axis[d].out != pr->outputs[0].shape.dims[d])
            return weft_node_fail(n, WEFT_ERR_INTERNAL,
                                  "axis %d resizes to %lld but the output has %lld", d,
                                  (long long)p.axis[d].out,
                                  (long long)pr->outputs[0].shape.dims[d]);
    resize_state *s = calloc(1, sizeof *s);
    if (!s)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for node '%s'", n->name);
    pr->state = s;
    if (weft_shape_numel(&pr->outputs[0].shape) == 0)
        return WEFT_OK; /* global stays 0: enqueue runs nothing */
    resize_view v;
    collapse(&p, &v);
    cl_int base[WEFT_MAX_RANK], meta[4 * WEFT_MAX_RANK];
    int weighted, extrapolates;
    if ((st = build_tables(pr, &p, &v, base, &weighted, &extrapolates, s)) != WEFT_OK)
        return st;
    int mask = 0;
    for (int r = 0; r < v.rank; r++) {
        meta[r] = (cl_int)v.out[r];
        meta[v.rank + r] = (cl_int)v.stride[r];
        meta[2 * v.rank + r] = base[r];
        /* The dims after r that launch dimension 2 flattens (those before
         * the last two), at least 1: nothing runs when one is 0. */
        int64_t inner = 1;
        for (int k = r + 1; k + 2 < v.rank; k++)
            inner *= v.out[k] > 0 ? v.out[k] : 1;
        meta[3 * v.rank + r] = (cl_int)inner;
        mask |= (v.axis[r] >= 0) << r;
    }
    if ((st = weft_op_upload(pr, meta, 4 * (size_t)v.rank * sizeof *meta, &s->meta)) != WEFT_OK)
        return st;

    weft_options o;
    weft_options_init(&o);
    weft_options_define_int(&o, "RANK", v.rank);
    weft_options_define_int(&o, "RESIZED", mask);
    int nr = 0;
    for (int r = 0; r < v.rank; r++)
        if (v.axis[r] >= 0) {
            char name[16];
            snprintf(name, sizeof name, "TAPS%d", r);
            weft_options_define_int(&o, name, axis_taps(&p, &p.axis[v.axis[r]]));
            if (nr < 3) {
                snprintf(name, sizeof name, "AX%d", nr);
                weft_options_define_int(&o, name, r);
            }
            nr++;
        }
    weft_options_define_int(&o, "NR", nr);
    weft_options_define_int(&o, "WEIGHTED", weighted);
    weft_options_define_int(&o, "EXTRAPOLATE", extrapolates);
    if (extrapolates)
        weft_options_define_float(&o, "EXTRAPOLATION", p.extrapolation);
    if ((st = weft_op_kernel(pr, "resize", &o, "resize_f32", &s->kernel)) != WEFT_OK)
        return st;

    /* Work-groups along the last axis: up to 256 work-items, fewer when
     * that axis is short so that few of them idle. */
    size_t last = (size_t)v.out[v.rank - 1], local = weft_op_max_local(pr, s->kernel);
    size_t forced = test_max_local();
    if (forced && forced < local)
        local = forced;
    if (local > 256)
        local = 256;
    size_t fit = 1;
    while (fit < last && fit < local)
        fit *= 2;
    if (fit < local)
        local = fit;
    s->local[0] = local;
    s->local[1] = s->local[2] = 1;
    s->global[0] = (last + local - 1) / local * local;
    s->global[1] = v.rank >= 2 ? (size_t)v.out[v.rank - 2] : 1;
    s->global[2] = 1;
    for (int r = 0; r + 2 < v.rank; r++)
        s->global[2] *= (size_t)v.out[r];
    return WEFT_OK;
}

static weft_status resize_enqueue(weft_run *r)
{
    resize_state *s = r->state;
    if (s->global[0] == 0 || s->global[1] == 0 || s->global[2] == 0)
        return WEFT_OK; /* an empty output */
    weft_arg args[] = {WEFT_ARG(r->inputs[0].mem), WEFT_ARG(r->outputs[0].mem),
                       WEFT_ARG(s->tap_at), WEFT_ARG(s->tap_w), WEFT_ARG(s->meta)};
    weft_status st = weft_op_set_args(r, s->kernel, args, sizeof args / sizeof args[0]);
    return st != WEFT_OK ? st : weft_op_launch(r, s->kernel, 3, s->global, s->local);
}

const weft_op_impl weft_impl_resize = {
    .name = "resize",
    .ops = resize_ops,
    .supports = resize_supports,
    .cost = resize_cost,
    .prepare = resize_prepare,
    .enqueue = resize_enqueue,
    .release = free,
};

/* ---- resize_nearest_rows: integer-factor nearest upsampling ------------------ */

/* The factors and extents of cl/resize.cl's resize_nearest_rows_f32. */
typedef struct nearest_rows {
    int64_t fh, fw;   /* factors of the last two axes */
    int64_t rows, in_w;
} nearest_rows;

/* Whether axis a picks input y / f for every output y (f = out / in, an
 * integer): the table rows say so, whatever the modes that made them. */
static int integer_axis(const weft_resize_params *p, const weft_resize_axis *a, int64_t *f)
{
    if (!a->resized) {
        *f = 1;
        return 1;
    }
    if (a->in < 1 || a->out < a->in || a->out % a->in)
        return 0;
    *f = a->out / a->in;
    for (int64_t y = 0; y < a->out; y++) {
        cl_int at;
        cl_float w;
        double scratch[1];
        axis_row(p, a, 1, 1, y, &at, &w, scratch);
        if (at != y / *f || w != 1.0f)
            return 0;
    }
    return 1;
}

/* Nearest, only the last two axes resized, each by an integer factor up
 * to 16 that picks input y / f. */
static int nearest_rows_plan(const weft_resize_params *p, nearest_rows *nr, char *why, size_t cap)
{
    if (p->mode != WEFT_RESIZE_NEAREST)
        return weft_op_refuse(why, cap, "not nearest");
    int last = p->rank - 1;
    for (int d = 0; d + 2 <= last; d++)
        if (p->axis[d].resized)
            return weft_op_refuse(why, cap, "axis %d (not one of the last two) is resized", d);
    nr->fh = 1;
    if (last < 0 || !integer_axis(p, &p->axis[last], &nr->fw) ||
        (last >= 1 && !integer_axis(p, &p->axis[last - 1], &nr->fh)))
        return weft_op_refuse(why, cap, "not an upsampling by integer factors that picks input "
                                "y / factor");
    if (nr->fh > 16 || nr->fw > 16)
        return weft_op_refuse(why, cap, "a factor above 16");
    nr->in_w = p->axis[last].in;
    nr->rows = 1;
    for (int d = 0; d < last; d++)
        nr->rows *= p->axis[d].in;
    return 1;
}

static int nearest_rows_supports(const weft_graph *g, const weft_node *n,
                                 const weft_device_info *d, char *why, size_t cap)
{
    weft_resize_params p;
    nearest_rows nr;
    return resize_supports(g, n, d, why, cap) && read_params(g, n, &p, why, cap) == WEFT_OK &&
           nearest_rows_plan(&p, &nr, why, cap);
}

static double nearest_rows_cost(const weft_graph *g, const weft_node *n,
                                const weft_device_info *d)
{
    /* rows of straight copies on CPU-class devices; elsewhere a work-item
     * per row leaves most lanes idle. For tests, WEFT_TEST_RESIZE_PATH=
     * rows|table makes it the first or the last choice on any device. */
    const char *force = getenv("WEFT_TEST_RESIZE_PATH");
    if (force && strcmp(force, "rows") == 0)
        return 0;
    if (force && strcmp(force, "table") == 0)
        return 1e30;
    return resize_cost(g, n, d) * (d && d->type == WEFT_DEVICE_CPU ? 0.5 : 8.0);
}

typedef struct nearest_rows_state {
    cl_kernel kernel;
    cl_uint rows, in_w;
    size_t local;
} nearest_rows_state;

static weft_status nearest_rows_prepare(weft_prepare *pr)
{
    const weft_node *n = pr->node;
    weft_resize_params p;
    char why[256];
    nearest_rows nr;
    if (read_params(pr->graph, n, &p, why, sizeof why) != WEFT_OK ||
        !nearest_rows_plan(&p, &nr, why, sizeof why))
        return weft_node_fail(n, WEFT_ERR_UNSUPPORTED, "%s", why);
    nearest_rows_state *s = calloc(1, sizeof *s);
    if (!s)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for node '%s'", n->name);
    pr->state = s;
    s->rows = weft_shape_numel(&pr->outputs[0].shape) ? (cl_uint)nr.rows : 0;
    s->in_w = (cl_uint)nr.in_w;
    weft_options o;
    weft_options_init(&o);
    weft_options_define_int(&o, "FH", nr.fh);
    weft_options_define_int(&o, "FW", nr.fw);
    weft_status st = weft_op_kernel(pr, "resize", &o, "resize_nearest_rows_f32", &s->kernel);
    if (st == WEFT_OK)
        s->local = weft_op_local_size(pr, s->kernel, 1);
    return st;
}

static weft_status nearest_rows_enqueue(weft_run *r)
{
    nearest_rows_state *s = r->state;
    if (s->rows == 0)
        return WEFT_OK;
    weft_arg args[] = {WEFT_ARG(r->inputs[0].mem), WEFT_ARG(r->outputs[0].mem),
                       WEFT_ARG(s->rows), WEFT_ARG(s->in_w)};
    weft_status st = weft_op_set_args(r, s->kernel, args, 4);
    return st != WEFT_OK ? st : weft_op_launch_1d(r, s->kernel, s->rows, s->local);
}

const weft_op_impl weft_impl_resize_nearest_rows = {
    .name = "resize_nearest_rows",
    .ops = resize_ops,
    .supports = nearest_rows_supports,
    .cost = nearest_rows_cost,
    .prepare = nearest_rows_prepare,
    .enqueue = nearest_rows_enqueue,
    .release = free,
};
