/*
 * The parameters of a Resize (ONNX opsets 10 to 19) or Upsample (7, 9)
 * node, read from its attributes and constant inputs by one set of rules
 * for the reference (src/ref/ref_resize.c) and the kernel
 * (src/ops/resize.c): the interpolation mode, the coordinate
 * transformation, the nearest rounding, and per axis the input and output
 * sizes, the scale of the coordinate formulas and the region of interest.
 * How an output coordinate maps to input taps is left to each of them, so
 * that the kernel's tables are checked against an independent reference.
 * Nothing here touches OpenCL. Conventions of graph/op_params.h: inputs
 * are values (NULL when absent), and why/cap route a problem into a
 * buffer for supports() instead of onto the node.
 *
 * Semantics (ONNX operator spec; the ONNX Python reference where the spec
 * is silent):
 *  - scales: scale = the float32 value, out = floor(in * scale) in double;
 *    sizes: scale = sizes[i] / in in double, out = sizes[i]; with
 *    keep_aspect_ratio_policy not_larger / not_smaller one scale for the
 *    listed axes (their smallest / largest), out = floor(scale * in + 0.5);
 *  - width = scale * in in double: ONNX's output_width, which the
 *    align_corners, pytorch_half_pixel, half_pixel_symmetric and
 *    tf_crop_and_resize formulas use and which may be fractional;
 *  - an axis is left alone (resized 0) when 'axes' does not list it, or
 *    when its scale is 1, its size stays and its roi is [0, 1] (the roi
 *    counts only for tf_crop_and_resize);
 *  - an empty constant for roi, scales or sizes counts as absent;
 *  - Resize in its opset 10 form (inputs X, scales) and Upsample have no
 *    coordinate_transformation_mode nor nearest_mode: they are asymmetric,
 *    and nearest rounds with WEFT_RESIZE_BEFORE_11 (floor when an axis is
 *    upsampled, ceil when it is downsampled, as ONNX Runtime runs opsets
 *    before 11); attributes given explicitly on a two-input Resize are
 *    honoured.
 */
#ifndef WEFT_GRAPH_RESIZE_PARAMS_H
#define WEFT_GRAPH_RESIZE_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "graph/graph.h"

typedef enum weft_resize_mode {
    WEFT_RESIZE_NEAREST,
    WEFT_RESIZE_LINEAR,
    WEFT_RESIZE_CUBIC
} weft_resize_mode;

typedef enum weft_resize_coord {
    WEFT_RESIZE_HALF_PIXEL,
    WEFT_RESIZE_HALF_PIXEL_SYMMETRIC,
    WEFT_RESIZE_PYTORCH_HALF_PIXEL,
    WEFT_RESIZE_ALIGN_CORNERS,
    WEFT_RESIZE_ASYMMETRIC,
    WEFT_RESIZE_TF_HALF_PIXEL_FOR_NN,
    WEFT_RESIZE_TF_CROP_AND_RESIZE
} weft_resize_coord;

typedef enum weft_resize_rounding {
    WEFT_RESIZE_ROUND_PREFER_FLOOR,
    WEFT_RESIZE_ROUND_PREFER_CEIL,
    WEFT_RESIZE_FLOOR,
    WEFT_RESIZE_CEIL,
    WEFT_RESIZE_BEFORE_11 /* floor on upsampled axes, ceil on downsampled ones */
} weft_resize_rounding;

typedef struct weft_resize_axis {
    int resized;              /* 0: the axis is copied unchanged */
    int64_t in, out;
    double scale;             /* of the coordinate formulas */
    double width;             /* scale * in, maybe fractional */
    float roi_start, roi_end; /* tf_crop_and_resize; 0 and 1 otherwise */
} weft_resize_axis;

typedef struct weft_resize_params {
    weft_resize_mode mode;
    weft_resize_coord coord;
    weft_resize_rounding rounding;
    int exclude_outside;
    int antialias;            /* linear and cubic only; 0 for nearest */
    float cubic_a;
    float extrapolation;      /* tf_crop_and_resize outside the input */
    int rank;
    weft_resize_axis axis[WEFT_MAX_RANK];
} weft_resize_params;

/* Names of the enums above, for messages and options. */
const char *weft_resize_mode_name(weft_resize_mode m);
const char *weft_resize_coord_name(weft_resize_coord c);

/* Reads node n (op Resize or Upsample); in[0..in_count) are its inputs as
 * values, NULL where absent; roi, scales and sizes must be constants, X's
 * shape known. WEFT_ERR_GRAPH for a malformed attribute or input,
 * WEFT_ERR_SHAPE for sizes that do not fit X (an empty axis that grows). */
weft_status weft_params_resize(const weft_node *n, const weft_value *const *in, size_t in_count,
                               weft_resize_params *p, char *why, size_t cap);

#endif
