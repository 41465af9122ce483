/*
 * Resize and Upsample (src/ops/resize.c, cl/resize.cl) against the
 * reference (src/ref/ref_resize.c), and both on the cases of
 * tests/data/resize_reference_cases.inc (outputs computed by the ONNX
 * Python reference, gen_resize_reference_cases.py). The ONNX node
 * conformance cases run on the device and on the reference in
 * tests/test_conformance.c.
 *
 * Grids, on random data in [-2, 2):
 *  - scales up and down (2, 0.5, 1.7, 0.6 per axis) x every
 *    coordinate_transformation_mode x nearest (every nearest_mode),
 *    linear and cubic, on NCHW inputs with 1 and 3 channels and odd sizes;
 *  - sizes instead of scales, keep_aspect_ratio_policy with 'axes'
 *    (opset 18, negative axes too), empty constants standing for absent
 *    roi and scales;
 *  - linear, nearest and cubic on 1, 2 and 3 spatial axes, and resizing N
 *    and C;
 *  - exclude_outside, antialias, extrapolation_value, cubic_coeff_a;
 *  - the opset 10 form (X, scales) and Upsample (opset 7 attribute, opset
 *    9 input);
 *  - work-groups capped at 1 and 3 items (WEFT_TEST_MAX_LOCAL);
 *  - integer-factor nearest upsampling with each of its two kernels
 *    preferred (WEFT_TEST_RESIZE_PATH);
 *  - error paths: their status and message.
 * Also run under oclgrind; the larger cases run only outside it.
 *
 * Tolerances, |got - want| <= atol + rtol * |want|:
 *  - nearest copies an input element: exact (atol 1e-30, rtol 0), which
 *    also proves that the kernel's host tables pick the element ONNX's
 *    double arithmetic picks, ties included;
 *  - linear and cubic: the reference sums in double and rounds once; the
 *    kernel rounds each weight to float32, multiplies one weight per
 *    resized axis (k roundings for k axes) and adds T terms in float32.
 *    Each rounding is at most 2^-24 relative of a partial result bounded
 *    by sum |w x| <= max|x| * S, S = (sum of |weights| per axis)^k (1 for
 *    linear and linear antialias, 1.375 per axis for Keys' cubic with
 *    a = -0.75, at most 1.5 for the a values used here), so
 *    atol = 2 * (k + T + 1) * 2^-24 * max|x| * S, twice the bound for
 *    margin; rtol 0.
 *  - the ONNX Python reference's cases against the reference: exact for
 *    nearest, 1e-6 relative and absolute for linear (computed in float64
 *    like the reference and rounded once), 1e-5 for cubic: its evaluator
 *    hands cubic_coeff_a over as a float32 scalar, so numpy computes the
 *    cubic weights in float32 (about 1e-6 relative off the double weights
 *    of weft's reference, 2.4e-6 seen).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph.h"
#include "op_test.h"
#include "ref/ref.h"
#include "test_common.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define EXACT 1e-30f
#define X_MAX 2.0f

/* ---- Cases ------------------------------------------------------------------ */

enum { FORM_11 = 0, FORM_10 = 10, FORM_UPSAMPLE_7 = 7, FORM_UPSAMPLE_9 = 9 };

typedef struct rz_spec {
    int rank;
    int64_t dims[WEFT_MAX_RANK];
    int nscales;              /* > 0: scales input (or Upsample-7 attribute) */
    float scales[WEFT_MAX_RANK];
    int nsizes;               /* > 0: sizes input */
    int64_t sizes[WEFT_MAX_RANK];
    int nroi;                 /* > 0: roi input */
    float roi[2 * WEFT_MAX_RANK];
    const char *mode, *coord, *nearest, *policy; /* NULL: attribute left out */
    int exclude_outside, antialias;
    float cubic_a;            /* 0: attribute left out (-0.75) */
    float extrapolation;      /* 0: attribute left out */
    int naxes;                /* > 0: attribute 'axes' */
    int64_t axes[WEFT_MAX_RANK];
    int form;
    int empty_for_absent;     /* absent roi / scales as empty constants */
} rz_spec;

static const int64_t no_ints[1] = {0};
static const float no_floats[1] = {0};

/* The op_case of a spec; its inputs point into s. */
static op_case make_case(const rz_spec *s)
{
    op_case c = {.op = s->form == FORM_UPSAMPLE_7 || s->form == FORM_UPSAMPLE_9 ? "Upsample"
                                                                                  : "Resize"};
    c.in[0] = (op_input){.rank = s->rank, .lo = -X_MAX, .hi = X_MAX};
    memcpy(c.in[0].dims, s->dims, sizeof s->dims);
    op_input absent = {.rank = -1};
    if (s->empty_for_absent)
        absent = (op_input){.rank = 1, .dims = {0}, .constant = 1, .f32 = no_floats};
    op_input scales = {.rank = 1, .dims = {s->nscales}, .constant = 1, .f32 = s->scales};
    op_input sizes = {.rank = 1, .dims = {s->nsizes}, .constant = 1, .dtype = WEFT_INT64,
                      .i64 = s->nsizes ? s->sizes : no_ints};
    op_input roi = {.rank = 1, .dims = {s->nroi}, .constant = 1, .f32 = s->roi};
    int a = 0;
    switch (s->form) {
    case FORM_UPSAMPLE_7:
        c.inputs = 1;
        c.attrs[a] = (op_attr){.name = "scales", .type = 'F', .count = s->nscales};
        memcpy(c.attrs[a++].floats, s->scales, sizeof s->scales);
        break;
    case FORM_UPSAMPLE_9:
    case FORM_10:
        c.inputs = 2;
        c.in[1] = scales;
        break;
    default:
        c.in[1] = s->nroi ? roi : absent;
        c.in[2] = s->nscales ? scales : absent;
        c.inputs = 3;
        if (s->nsizes) {
            c.in[3] = sizes;
            c.inputs = 4;
        }
    }
    if (s->mode)
        c.attrs[a++] = (op_attr){.name = "mode", .type = 's', .s = s->mode};
    if (s->coord)
        c.attrs[a++] = (op_attr){.name = "coordinate_transformation_mode", .type = 's',
                                 .s = s->coord};
    if (s->nearest)
        c.attrs[a++] = (op_attr){.name = "nearest_mode", .type = 's', .s = s->nearest};
    if (s->policy)
        c.attrs[a++] = (op_attr){.name = "keep_aspect_ratio_policy", .type = 's', .s = s->policy};
    if (s->exclude_outside)
        c.attrs[a++] = (op_attr){.name = "exclude_outside", .type = 'i', .i = 1};
    if (s->antialias)
        c.attrs[a++] = (op_attr){.name = "antialias", .type = 'i', .i = 1};
    if (s->cubic_a != 0.0f)
        c.attrs[a++] = (op_attr){.name = "cubic_coeff_a", .type = 'f', .f = s->cubic_a};
    if (s->extrapolation != 0.0f)
        c.attrs[a++] = (op_attr){.name = "extrapolation_value", .type = 'f',
                                 .f = s->extrapolation};
    if (s->naxes) {
        c.attrs[a] = (op_attr){.name = "axes", .type = 'I', .count = s->naxes};
        memcpy(c.attrs[a++].ints, s->axes, sizeof s->axes);
    }
    return c;
}

/* The tolerance of the header for spec s: exact for nearest, else from
 * the number of resized axes k and of terms T per output element. */
static void tolerance(const rz_spec *s, float *atol, float *rtol)
{
    *rtol = 0.0f;
    if (!s->mode || strcmp(s->mode, "nearest") == 0) {
        *atol = EXACT;
        return;
    }
    int cubic = strcmp(s->mode, "cubic") == 0;
    double terms = 1, k = 0, spread = 1;
    for (int d = 0; d < s->rank; d++) {
        double scale = 1.0;
        if (s->nsizes && !s->naxes)
            scale = (double)s->sizes[d] / (double)s->dims[d];
        else if (s->nscales && !s->naxes)
            scale = s->scales[d];
        else
            for (int i = 0; i < s->naxes; i++)
                if ((s->axes[i] + s->rank) % s->rank == d)
                    scale = s->nsizes ? (double)s->sizes[i] / (double)s->dims[d] : s->scales[i];
        if (scale == 1.0 && s->nroi == 0)
            continue;
        double stretch = s->antialias && scale < 1.0 ? scale : 1.0;
        k += 1;
        terms *= -2.0 * floor((cubic ? -2.0 : -1.0) / stretch);
        spread *= cubic ? 1.5 : 1.0;
    }
    *atol = (float)(2.0 * (k + terms + 1.0) * ldexp(1.0, -24) * X_MAX * spread);
}

static void run_spec(void **state, const rz_spec *s, const char *label)
{
    op_case c = make_case(s);
    tolerance(s, &c.atol, &c.rtol);
    run_op_case(*state, &c, label);
}

static const char *const coords[] = {"half_pixel",         "half_pixel_symmetric",
                                     "pytorch_half_pixel", "align_corners",
                                     "asymmetric",         "tf_half_pixel_for_nn",
                                     "tf_crop_and_resize"};
static const char *const roundings[] = {"round_prefer_floor", "round_prefer_ceil", "floor",
                                        "ceil"};

/* roi for 4-D inputs: N and C whole, H from 0.2 to 0.9, W from -0.1 to 1.2
 * (both ends of W extrapolate). */
static const float roi_4d[8] = {0, 0, 0.2f, -0.1f, 1, 1, 0.9f, 1.2f};

/* ---- Scales and every coordinate mode ------------------------------------------ */

static const int64_t grid_shapes[][4] = {{1, 3, 7, 5}, {2, 1, 6, 9}};
static const float grid_scales[][2] = {{2.0f, 2.0f}, {0.5f, 0.5f}, {1.7f, 0.6f}, {0.6f, 1.7f}};

/* mode x nearest_mode: nearest with each rounding, linear, cubic */
static void grid_modes(void **state, rz_spec *s, const char *what)
{
    char label[256];
    for (size_t r = 0; r < COUNT(roundings); r++) {
        s->mode = "nearest";
        s->nearest = roundings[r];
        snprintf(label, sizeof label, "%s nearest %s", what, roundings[r]);
        run_spec(state, s, label);
    }
    s->nearest = NULL;
    s->mode = "linear";
    snprintf(label, sizeof label, "%s linear", what);
    run_spec(state, s, label);
    s->mode = "cubic";
    snprintf(label, sizeof label, "%s cubic", what);
    run_spec(state, s, label);
    s->mode = NULL;
}

static void test_scales_every_coordinate_mode(void **state)
{
    for (size_t sh = 0; sh < COUNT(grid_shapes); sh++)
        for (size_t sc = 0; sc < COUNT(grid_scales); sc++)
            for (size_t k = 0; k < COUNT(coords); k++) {
                rz_spec s = {.rank = 4, .nscales = 4, .coord = coords[k]};
                memcpy(s.dims, grid_shapes[sh], sizeof grid_shapes[sh]);
                s.scales[0] = s.scales[1] = 1.0f;
                s.scales[2] = grid_scales[sc][0];
                s.scales[3] = grid_scales[sc][1];
                if (strcmp(coords[k], "tf_crop_and_resize") == 0) {
                    s.nroi = 8;
                    memcpy(s.roi, roi_4d, sizeof roi_4d);
                    s.extrapolation = 0.5f;
                }
                char what[160];
                snprintf(what, sizeof what, "[%lld,%lld,%lld,%lld] scales %g,%g %s",
                         (long long)s.dims[0], (long long)s.dims[1], (long long)s.dims[2],
                         (long long)s.dims[3], (double)s.scales[2], (double)s.scales[3],
                         coords[k]);
                grid_modes(state, &s, what);
            }
}

/* ---- Sizes, axes, keep_aspect_ratio_policy, empty constants -------------------- */

static const int64_t size_targets[][2] = {{12, 3}, {3, 11}, {1, 1}, {7, 5}, {14, 10}, {4, 8}};

static void test_sizes(void **state)
{
    static const char *const some_coords[] = {"half_pixel", "align_corners", "asymmetric",
                                              "pytorch_half_pixel", "half_pixel_symmetric"};
    for (size_t t = 0; t < COUNT(size_targets); t++)
        for (size_t k = 0; k < COUNT(some_coords); k++) {
            rz_spec s = {.rank = 4, .dims = {1, 3, 7, 5}, .nsizes = 4, .coord = some_coords[k],
                         .sizes = {1, 3, size_targets[t][0], size_targets[t][1]}};
            char what[160];
            snprintf(what, sizeof what, "[1,3,7,5] sizes %lld,%lld %s",
                     (long long)s.sizes[2], (long long)s.sizes[3], some_coords[k]);
            grid_modes(state, &s, what);
        }
}

static void test_axes_and_policies(void **state)
{
    static const char *const policies[] = {NULL, "stretch", "not_larger", "not_smaller"};
    static const int64_t axes_sets[][2] = {{2, 3}, {3, 2}, {-1, -2}};
    for (size_t p = 0; p < COUNT(policies); p++)
        for (size_t a = 0; a < COUNT(axes_sets); a++)
            for (size_t t = 0; t < 3; t++) {
                rz_spec s = {.rank = 4, .dims = {2, 3, 5, 8}, .nsizes = 2, .naxes = 2,
                             .policy = policies[p], .coord = "half_pixel"};
                memcpy(s.axes, axes_sets[a], sizeof axes_sets[a]);
                s.sizes[0] = size_targets[t][0];
                s.sizes[1] = size_targets[t][1];
                char what[160];
                snprintf(what, sizeof what, "[2,3,5,8] axes %lld,%lld sizes %lld,%lld policy %s",
                         (long long)s.axes[0], (long long)s.axes[1], (long long)s.sizes[0],
                         (long long)s.sizes[1], policies[p] ? policies[p] : "(default)");
                grid_modes(state, &s, what);
            }
    /* scales over listed axes, and a single listed axis */
    rz_spec s = {.rank = 4, .dims = {1, 3, 7, 5}, .nscales = 2, .scales = {1.7f, 0.6f},
                 .naxes = 2, .axes = {3, 2}};
    grid_modes(state, &s, "[1,3,7,5] axes 3,2 scales 1.7,0.6");
    rz_spec one = {.rank = 4, .dims = {1, 3, 7, 5}, .nscales = 1, .scales = {2.5f}, .naxes = 1,
                   .axes = {-2}};
    grid_modes(state, &one, "[1,3,7,5] axes -2 scales 2.5");
    /* roi over listed axes */
    rz_spec crop = {.rank = 4, .dims = {1, 3, 7, 5}, .nsizes = 2, .sizes = {4, 6}, .naxes = 2,
                    .axes = {2, 3}, .nroi = 4, .roi = {0.1f, -0.2f, 0.8f, 1.1f},
                    .coord = "tf_crop_and_resize", .extrapolation = -3.0f};
    grid_modes(state, &crop, "[1,3,7,5] axes 2,3 tf_crop_and_resize roi");
}

static void test_empty_constants(void **state)
{
    /* Opset 11/13 models write an empty tensor for an unused roi or
     * scales: it counts as absent. */
    rz_spec s = {.rank = 4, .dims = {1, 3, 7, 5}, .nsizes = 4, .sizes = {1, 3, 9, 4},
                 .empty_for_absent = 1};
    grid_modes(state, &s, "[1,3,7,5] empty roi and scales, sizes 9,4");
    rz_spec t = {.rank = 4, .dims = {1, 3, 7, 5}, .nscales = 4, .scales = {1, 1, 1.5f, 0.8f},
                 .empty_for_absent = 1, .coord = "align_corners"};
    grid_modes(state, &t, "[1,3,7,5] empty roi, scales 1.5,0.8");
}

/* ---- 1-D, 2-D and 3-D spatial; resizing N and C ------------------------------- */

static void test_spatial_ranks_and_nc(void **state)
{
    static const rz_spec specs[] = {
        {.rank = 3, .dims = {2, 3, 9}, .nscales = 3, .scales = {1, 1, 1.7f}},
        {.rank = 3, .dims = {1, 1, 11}, .nscales = 3, .scales = {1, 1, 0.6f}},
        {.rank = 3, .dims = {2, 3, 5}, .nsizes = 3, .sizes = {2, 3, 13}},
        {.rank = 4, .dims = {1, 3, 5, 7}, .nscales = 4, .scales = {1, 1, 2.0f, 3.0f}},
        {.rank = 5, .dims = {1, 2, 4, 5, 6}, .nscales = 5, .scales = {1, 1, 2.0f, 0.6f, 1.7f}},
        {.rank = 5, .dims = {2, 1, 3, 3, 3}, .nsizes = 5, .sizes = {2, 1, 5, 2, 4}},
        /* N and C resized */
        {.rank = 4, .dims = {2, 3, 4, 5}, .nscales = 4, .scales = {2.0f, 0.5f, 1, 1.7f}},
        {.rank = 4, .dims = {3, 4, 3, 3}, .nsizes = 4, .sizes = {2, 7, 3, 3}},
        {.rank = 2, .dims = {5, 7}, .nscales = 2, .scales = {0.6f, 1.7f}},
        {.rank = 1, .dims = {13}, .nscales = 1, .scales = {2.3f}},
        /* nothing resized: a copy */
        {.rank = 4, .dims = {2, 3, 4, 5}, .nscales = 4, .scales = {1, 1, 1, 1}},
        /* size-1 outputs and inputs */
        {.rank = 4, .dims = {1, 2, 1, 6}, .nsizes = 4, .sizes = {1, 2, 4, 1}},
        /* empty outputs: nothing runs, nothing fails (a scale so small
         * that an antialiasing filter would span 10^30 elements) */
        {.rank = 4, .dims = {1, 2, 3, 4}, .nsizes = 4, .sizes = {1, 2, 0, 5}},
        {.rank = 4, .dims = {1, 2, 3, 4}, .nscales = 4, .scales = {1, 1, 1e-30f, 1},
         .antialias = 1},
    };
    for (size_t i = 0; i < COUNT(specs); i++)
        for (size_t k = 0; k < COUNT(coords) - 1; k++) {
            rz_spec s = specs[i];
            s.coord = coords[k];
            char what[64];
            snprintf(what, sizeof what, "spec %zu rank %d %s", i, s.rank, coords[k]);
            grid_modes(state, &s, what);
        }
}

/* ---- exclude_outside, antialias, cubic_coeff_a, extrapolation ------------------ */

static void test_filters(void **state)
{
    static const float aa_scales[][2] = {{0.5f, 0.5f}, {0.3f, 0.6f}, {0.6f, 2.0f}, {0.25f, 1.0f}};
    char label[200];
    for (size_t i = 0; i < COUNT(aa_scales); i++)
        for (size_t k = 0; k < COUNT(coords) - 1; k++)
            for (int cubic = 0; cubic < 2; cubic++) {
                rz_spec s = {.rank = 4, .dims = {1, 3, 9, 11}, .nscales = 4, .antialias = 1,
                             .scales = {1, 1, aa_scales[i][0], aa_scales[i][1]},
                             .mode = cubic ? "cubic" : "linear", .coord = coords[k]};
                snprintf(label, sizeof label, "antialias %s scales %g,%g %s",
                         s.mode, (double)s.scales[2], (double)s.scales[3], coords[k]);
                run_spec(state, &s, label);
            }
    static const float cubic_as[] = {-0.5f, -0.75f};
    for (size_t i = 0; i < COUNT(grid_scales); i++)
        for (size_t k = 0; k < COUNT(coords); k++)
            for (size_t a = 0; a < COUNT(cubic_as); a++) {
                rz_spec s = {.rank = 4, .dims = {1, 3, 6, 7}, .nscales = 4, .exclude_outside = 1,
                             .scales = {1, 1, grid_scales[i][0], grid_scales[i][1]},
                             .coord = coords[k], .cubic_a = cubic_as[a]};
                if (strcmp(coords[k], "tf_crop_and_resize") == 0) {
                    s.nroi = 8;
                    memcpy(s.roi, roi_4d, sizeof roi_4d);
                }
                snprintf(label, sizeof label, "exclude_outside a %g scales %g,%g %s",
                         (double)cubic_as[a], (double)s.scales[2], (double)s.scales[3],
                         coords[k]);
                grid_modes(state, &s, label);
            }
    /* pytorch_half_pixel onto one element, nearest with exclude_outside */
    rz_spec one = {.rank = 4, .dims = {1, 2, 5, 4}, .nsizes = 4, .sizes = {1, 2, 1, 1},
                   .coord = "pytorch_half_pixel", .exclude_outside = 1};
    grid_modes(state, &one, "pytorch_half_pixel to 1x1, exclude_outside");
}

/* ---- Opset 10 and Upsample --------------------------------------------------- */

static void test_opset10_and_upsample(void **state)
{
    static const float sc[][4] = {{1, 1, 2.0f, 3.0f}, {1, 1, 1.7f, 2.5f}, {1, 1, 0.6f, 0.5f},
                                  {1, 1, 0.6f, 1.7f}, {2.0f, 1, 1.5f, 1}};
    static const char *const modes[] = {"nearest", "linear"};
    char label[160];
    for (size_t i = 0; i < COUNT(sc); i++)
        for (size_t m = 0; m < COUNT(modes); m++) {
            rz_spec s = {.rank = 4, .dims = {1, 3, 5, 7}, .nscales = 4, .mode = modes[m],
                         .form = FORM_10};
            memcpy(s.scales, sc[i], sizeof sc[i]);
            snprintf(label, sizeof label, "Resize-10 %s scales %g,%g,%g,%g", modes[m],
                     (double)sc[i][0], (double)sc[i][1], (double)sc[i][2], (double)sc[i][3]);
            run_spec(state, &s, label);
            if (sc[i][2] < 1.0f || sc[i][3] < 1.0f)
                continue; /* Upsample takes scales >= 1 only */
            s.form = FORM_UPSAMPLE_7;
            snprintf(label, sizeof label, "Upsample-7 %s scales %g,%g,%g,%g", modes[m],
                     (double)sc[i][0], (double)sc[i][1], (double)sc[i][2], (double)sc[i][3]);
            run_spec(state, &s, label);
            s.form = FORM_UPSAMPLE_9;
            snprintf(label, sizeof label, "Upsample-9 %s scales %g,%g,%g,%g", modes[m],
                     (double)sc[i][0], (double)sc[i][1], (double)sc[i][2], (double)sc[i][3]);
            run_spec(state, &s, label);
        }
    /* The opset 10 form with attributes given explicitly */
    rz_spec s = {.rank = 4, .dims = {1, 3, 5, 7}, .nscales = 4, .scales = {1, 1, 0.6f, 1.7f},
                 .form = FORM_10, .coord = "half_pixel"};
    grid_modes(state, &s, "Resize-10 form with half_pixel");
}

/* ---- Work-group sizes and larger tensors -------------------------------------- */

static void test_forced_local(void **state)
{
    static const char *const locals[] = {"1", "3"};
    for (size_t l = 0; l < COUNT(locals); l++) {
        op_test_force(locals[l], NULL);
        char what[96];
        rz_spec a = {.rank = 4, .dims = {2, 3, 7, 5}, .nscales = 4, .scales = {1, 1, 1.7f, 2.3f}};
        snprintf(what, sizeof what, "local<=%s [2,3,7,5] 1.7,2.3", locals[l]);
        grid_modes(state, &a, what);
        rz_spec b = {.rank = 5, .dims = {1, 2, 3, 4, 5}, .nscales = 5,
                     .scales = {2.0f, 1, 0.7f, 1.5f, 1.3f}};
        snprintf(what, sizeof what, "local<=%s [1,2,3,4,5] 2,1,0.7,1.5,1.3", locals[l]);
        grid_modes(state, &b, what);
    }
    op_test_force(NULL, NULL);
}

/* Integer-factor nearest upsampling (resize_nearest_rows where its tables
 * pick y / factor) with each path preferred (WEFT_TEST_RESIZE_PATH): the
 * factors 2x2, 1x3 (W only), 3x1 (H only), 2x16 on 2-D to 5-D tensors, rows
 * wider than 16 and narrower, every nearest_mode under three coordinate
 * modes (some pick y / factor, some do not and take the tables), Upsample. */
static void test_nearest_rows(void **state)
{
    static const char *const paths[] = {"rows", "table"};
    static const char *const some_coords[] = {"asymmetric", "half_pixel", "align_corners"};
    const rz_spec shapes[] = {
        {.rank = 4, .dims = {1, 3, 5, 37}, .nscales = 4, .scales = {1, 1, 2, 2}},
        {.rank = 4, .dims = {2, 2, 3, 7}, .nscales = 4, .scales = {1, 1, 1, 3}},
        {.rank = 3, .dims = {2, 4, 9}, .nscales = 3, .scales = {1, 3, 1}},
        {.rank = 5, .dims = {1, 2, 2, 3, 4}, .nscales = 5, .scales = {1, 1, 1, 2, 16}},
        {.rank = 2, .dims = {3, 20}, .nscales = 2, .scales = {2, 2}},
    };
    for (size_t p = 0; p < COUNT(paths); p++) {
        setenv("WEFT_TEST_RESIZE_PATH", paths[p], 1);
        for (size_t i = 0; i < (test_under_oclgrind() ? 2 : COUNT(shapes)); i++)
            for (size_t k = 0; k < COUNT(some_coords); k++)
                for (size_t r = 0; r < COUNT(roundings); r++) {
                    if (test_under_oclgrind() && r != k)
                        continue;
                    rz_spec sp = shapes[i];
                    sp.mode = "nearest";
                    sp.coord = some_coords[k];
                    sp.nearest = roundings[r];
                    char label[200];
                    snprintf(label, sizeof label, "nearest rows %s shape %zu %s %s", paths[p],
                             i, some_coords[k], roundings[r]);
                    run_spec(state, &sp, label);
                }
        rz_spec up = {.rank = 4, .dims = {1, 2, 4, 18}, .nscales = 4, .scales = {1, 1, 2, 2},
                      .mode = "nearest", .form = FORM_UPSAMPLE_9};
        run_spec(state, &up, paths[p]);
    }
    unsetenv("WEFT_TEST_RESIZE_PATH");
}

static void test_big(void **state)
{
    if (test_under_oclgrind()) {
        printf("test_big: skipped under oclgrind (too slow to simulate)\n");
        skip();
    }
    static const rz_spec specs[] = {
        {.rank = 4, .dims = {1, 16, 64, 64}, .nscales = 4, .scales = {1, 1, 2, 2}},
        {.rank = 4, .dims = {2, 8, 75, 93}, .nscales = 4, .scales = {1, 1, 0.6f, 1.7f}},
        {.rank = 4, .dims = {1, 3, 224, 224}, .nsizes = 4, .sizes = {1, 3, 299, 150}},
        {.rank = 5, .dims = {1, 4, 16, 20, 24}, .nscales = 5, .scales = {1, 1, 2, 1.5f, 0.5f}},
        {.rank = 3, .dims = {4, 32, 1000}, .nscales = 3, .scales = {1, 1, 2.7f}},
    };
    for (size_t i = 0; i < COUNT(specs); i++) {
        char what[64];
        snprintf(what, sizeof what, "big spec %zu", i);
        rz_spec s = specs[i];
        grid_modes(state, &s, what);
        s.coord = "align_corners";
        snprintf(what, sizeof what, "big spec %zu align_corners", i);
        grid_modes(state, &s, what);
    }
    rz_spec aa = {.rank = 4, .dims = {1, 3, 200, 160}, .nscales = 4, .scales = {1, 1, 0.2f, 0.25f},
                  .antialias = 1, .mode = "cubic"};
    run_spec(state, &aa, "big antialias cubic 0.2,0.25");
}

/* ---- Cases from the ONNX Python reference ------------------------------------- */

typedef struct resize_node_test {
    const char *name;
    int opset;
    op_case c;
    int out_rank;
    int64_t out_dims[WEFT_MAX_RANK];
    const float *want;
} resize_node_test;

#include "data/resize_reference_cases.inc"

/* Runs case c (every input given: X fed, the others constants) through
 * the reference alone. status is the validation's or the reference's;
 * on success *out holds the output (the caller frees out->data). */
static weft_status ref_only(const op_case *c, weft_host_tensor *out)
{
    weft_graph *g;
    assert_weft_ok(weft_graph_create(&g));
    const char *names[OP_MAX_INPUTS];
    char buf[OP_MAX_INPUTS][16];
    weft_tensor feed = {0};
    for (int k = 0; k < c->inputs; k++) {
        const op_input *in = &c->in[k];
        names[k] = "";
        if (in->rank < 0)
            continue;
        snprintf(buf[k], sizeof buf[k], "in%d", k);
        names[k] = buf[k];
        weft_dtype dt = in->dtype ? in->dtype : WEFT_FLOAT32;
        const void *data = dt == WEFT_INT64 ? (const void *)in->i64 : (const void *)in->f32;
        if (in->constant) {
            assert_weft_ok(weft_graph_add_constant(g, buf[k], dt, in->rank, in->dims, data));
        } else {
            assert_weft_ok(weft_graph_add_input(g, buf[k], dt, in->rank, in->dims));
            feed = (weft_tensor){.name = buf[k], .dtype = dt, .rank = in->rank,
                                 .data = (void *)data,
                                 .size_bytes = op_test_numel(in->rank, in->dims) * sizeof(float)};
            memcpy(feed.dims, in->dims, sizeof in->dims);
        }
    }
    weft_attrs *attrs = op_test_attrs(c);
    const char *y = "y";
    weft_status st = weft_graph_add_node(g, c->op, "node", names, (size_t)c->inputs, attrs, &y, 1);
    weft_attrs_release(attrs);
    if (st == WEFT_OK)
        st = weft_graph_add_output(g, "y");
    if (st == WEFT_OK)
        st = weft_graph_validate(g);
    if (st == WEFT_OK)
        st = weft_ref_run_graph(g, &feed, 1, out, 1);
    weft_graph_release(g);
    return st;
}

/* The reference against ONNX's expected outputs, then the device against
 * the reference on the same data; returns how many cases matched (a
 * mismatch fails the test). */
static int check_golden(void **state, const resize_node_test *cases, size_t count)
{
    int matched = 0;
    for (size_t i = 0; i < count; i++) {
        const resize_node_test *t = &cases[i];
        weft_host_tensor out;
        if (ref_only(&t->c, &out) != WEFT_OK)
            fail_msg("%s: reference: %s", t->name, weft_last_error());
        assert_int_equal(out.shape.rank, t->out_rank);
        for (int d = 0; d < t->out_rank; d++)
            assert_int_equal(out.shape.dims[d], t->out_dims[d]);
        int nearest = 1, cubic = 0;
        for (int a = 0; a < OP_MAX_ATTRS && t->c.attrs[a].name; a++)
            if (strcmp(t->c.attrs[a].name, "mode") == 0) {
                nearest = strcmp(t->c.attrs[a].s, "nearest") == 0;
                cubic = strcmp(t->c.attrs[a].s, "cubic") == 0;
            }
        float tol = nearest ? 0.0f : cubic ? 1e-5f : 1e-6f;
        const float *got = out.data;
        size_t n = op_test_numel(t->out_rank, t->out_dims);
        for (size_t k = 0; k < n; k++)
            if (!(fabsf(got[k] - t->want[k]) <= tol + tol * fabsf(t->want[k])))
                fail_msg("%s: element %zu is %.9g, ONNX expects %.9g", t->name, k,
                         (double)got[k], (double)t->want[k]);
        free(out.data);
        /* The device against the reference on the same data: the
         * header's bound for up to 3 resized axes of cubic antialias. */
        op_case c = t->c;
        c.atol = nearest ? EXACT : 4e-5f;
        c.rtol = 0.0f;
        run_op_case(*state, &c, t->name);
        matched++;
    }
    return matched;
}

/* Cases computed by the ONNX Python reference for what the conformance
 * data leave out (cubic, exclude_outside, nearest modes, N and C ...). */
static void test_onnx_reference_cases(void **state)
{
    int matched = check_golden(state, resize_reference_cases, COUNT(resize_reference_cases));
    printf("ONNX Python reference: %d of %zu generated Resize cases match\n", matched,
           COUNT(resize_reference_cases));
}

/* ---- Errors ------------------------------------------------------------------ */

/* Validation passes; the reference fails with status and message part;
 * a session cannot be made either. */
static void expect_failure(void **state, const rz_spec *s, weft_status status, const char *part,
                           const char *device_part)
{
    op_case c = make_case(s);
    float x[4096];
    for (size_t i = 0; i < COUNT(x); i++)
        x[i] = (float)i;
    c.in[0].f32 = x;
    weft_host_tensor out;
    assert_weft_status(ref_only(&c, &out), status, part);

    weft_graph *g;
    assert_weft_ok(weft_graph_create(&g));
    const char *names[OP_MAX_INPUTS];
    char buf[OP_MAX_INPUTS][16];
    for (int k = 0; k < c.inputs; k++) {
        names[k] = "";
        if (c.in[k].rank < 0)
            continue;
        snprintf(buf[k], sizeof buf[k], "in%d", k);
        names[k] = buf[k];
        weft_dtype dt = c.in[k].dtype ? c.in[k].dtype : WEFT_FLOAT32;
        if (c.in[k].constant)
            assert_weft_ok(weft_graph_add_constant(
                g, buf[k], dt, c.in[k].rank, c.in[k].dims,
                dt == WEFT_INT64 ? (const void *)c.in[k].i64 : (const void *)c.in[k].f32));
        else
            assert_weft_ok(weft_graph_add_input(g, buf[k], dt, c.in[k].rank, c.in[k].dims));
    }
    weft_attrs *attrs = op_test_attrs(&c);
    const char *y = "y";
    assert_weft_ok(weft_graph_add_node(g, c.op, "node", names, (size_t)c.inputs, attrs, &y, 1));
    weft_attrs_release(attrs);
    assert_weft_ok(weft_graph_add_output(g, "y"));
    weft_session *sess = NULL;
    weft_status st = weft_session_create(*state, g, NULL, &sess);
    if (st == WEFT_OK)
        fail_msg("a session was made for a node the reference refuses (%s)", part);
    if (!strstr(weft_last_error(), device_part))
        fail_msg("session message lacks '%s': %s", device_part, weft_last_error());
    weft_graph_release(g);
}

static void test_errors(void **state)
{
    /* tf_crop_and_resize without roi */
    rz_spec no_roi = {.rank = 4, .dims = {1, 1, 4, 4}, .nscales = 4, .scales = {1, 1, 2, 2},
                      .coord = "tf_crop_and_resize"};
    expect_failure(state, &no_roi, WEFT_ERR_GRAPH, "needs input 'roi'", "roi");
    /* roi of the wrong length */
    rz_spec bad_roi = no_roi;
    bad_roi.nroi = 6;
    expect_failure(state, &bad_roi, WEFT_ERR_GRAPH, "input 'roi' has 6 values, expected 8", "roi");
    /* an empty axis cannot grow */
    rz_spec empty = {.rank = 4, .dims = {1, 1, 0, 4}, .nsizes = 4, .sizes = {1, 1, 3, 4}};
    expect_failure(state, &empty, WEFT_ERR_SHAPE, "axis 2", "axis 2");
    /* an antialiasing filter too wide for the kernel (the reference runs it) */
    rz_spec wide = {.rank = 2, .dims = {1, 4096}, .nsizes = 2, .sizes = {1, 1}, .antialias = 1,
                    .mode = "linear"};
    op_case c = make_case(&wide);
    float *x = malloc(4096 * sizeof *x);
    assert_non_null(x);
    for (int i = 0; i < 4096; i++)
        x[i] = (float)(i % 7);
    c.in[0].f32 = x;
    weft_host_tensor out;
    assert_weft_ok(ref_only(&c, &out));
    /* A triangle 8192 wide over i % 7, edge-padded with zeros at both
     * ends: the ONNX Python reference (onnx 1.23) gives 2.249634. */
    if (!(fabsf(((float *)out.data)[0] - 2.249634f) < 1e-5f))
        fail_msg("wide antialias filter gives %.9g, ONNX's reference 2.249634",
                 (double)((float *)out.data)[0]);
    free(out.data);
    free(x);
}

static void test_wide_filter_unsupported(void **state)
{
    rz_spec wide = {.rank = 2, .dims = {1, 4096}, .nsizes = 2, .sizes = {1, 1}, .antialias = 1,
                    .mode = "linear"};
    op_case c = make_case(&wide);
    weft_graph *g;
    assert_weft_ok(weft_graph_create(&g));
    int64_t sz[2] = {1, 1};
    const char *names[4] = {"x", "", "", "sizes"};
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 2, wide.dims));
    int64_t two = 2;
    assert_weft_ok(weft_graph_add_constant(g, "sizes", WEFT_INT64, 1, &two, sz));
    weft_attrs *attrs = op_test_attrs(&c);
    const char *y = "y";
    assert_weft_ok(weft_graph_add_node(g, "Resize", "node", names, 4, attrs, &y, 1));
    weft_attrs_release(attrs);
    assert_weft_ok(weft_graph_add_output(g, "y"));
    weft_session *sess = NULL;
    assert_weft_status(weft_session_create(*state, g, NULL, &sess), WEFT_ERR_UNSUPPORTED,
                       "antialiasing filter");
    weft_graph_release(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_onnx_reference_cases),
        cmocka_unit_test(test_scales_every_coordinate_mode),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_axes_and_policies),
        cmocka_unit_test(test_empty_constants),
        cmocka_unit_test(test_spatial_ranks_and_nc),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_opset10_and_upsample),
        cmocka_unit_test_teardown(test_forced_local, op_test_unforce),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_wide_filter_unsupported),
        cmocka_unit_test(test_nearest_rows),
        cmocka_unit_test(test_big),
    };
    return cmocka_run_group_tests(tests, op_test_setup, op_test_teardown);
}
