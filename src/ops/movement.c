/*
 * Data movement (cl/movement.cl): Concat, Split, Slice, Transpose,
 * constant-mode Pad, DepthToSpace and SpaceToDepth, for float32 and int64
 * (kernels copy bit patterns, so the element size is all they need).
 *
 * Each op's geometry is worked out on the host by one function that both
 * supports() and prepare() call, so whatever supports() accepts, prepare()
 * can build:
 *   - Concat and Split see the tensor as [outer, axis * inner] rows and
 *     launch one block copy per input (Concat) or output (Split);
 *   - Slice, Transpose, DepthToSpace and SpaceToDepth are one strided
 *     gather: a view of the input in the output's index order (extents,
 *     signed strides, a base offset), collapsed — size-1 dims dropped,
 *     neighbours merged when the input walks them contiguously — so a
 *     NCHW->NHWC transpose is rank 3 and a contiguous slice rank 1;
 *   - Pad is a gather with bounds checks, collapsed over unpadded dims.
 * Slice's, Pad's and Transpose's parameters are read by graph/op_params.h,
 * by the same rules as shape inference and the reference.
 * Indices are 32-bit on the device: tensors above 2^31 - 1 elements are
 * refused.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "graph/op_params.h"
#include "ops/op.h"

#define MAX_VIEW 8  /* gather ranks: Transpose up to WEFT_MAX_RANK, depth/space 6 */

/* ---- Shared helpers -------------------------------------------------------- */

static int fits_int32(int64_t v)
{
    return v >= -(int64_t)INT32_MAX && v <= INT32_MAX;
}

/* The data inputs [0, data_inputs) that are present and every output hold
 * float32 or int64 and at most INT32_MAX elements (not counting zero dims),
 * so that every offset fits the kernels' 32-bit indices. */
static int check_tensors(const weft_graph *g, const weft_node *n, size_t data_inputs, char *why,
                         size_t cap)
{
    for (size_t k = 0; k < n->input_count + n->output_count; k++) {
        int is_in = k < n->input_count;
        if (is_in && k >= data_inputs)
            continue;
        size_t at = is_in ? k : k - n->input_count;
        const weft_value *v = is_in ? weft_node_input(g, n, at) : weft_node_output(g, n, at);
        if (!v)
            continue;
        if (v->dtype != WEFT_FLOAT32 && v->dtype != WEFT_INT64)
            return weft_op_refuse(why, cap, "%s '%s' is %s; float32 and int64 are supported",
                                  is_in ? "input" : "output", v->name, weft_dtype_name(v->dtype));
        /* Zero dims left out: offsets of empty tensors are computed too. */
        int64_t numel = 1;
        for (int d = 0; d < v->shape.rank && numel <= INT32_MAX; d++) {
            int64_t dim = v->shape.dims[d];
            numel = dim > INT32_MAX ? dim : numel * (dim > 0 ? dim : 1);
        }
        if (numel > INT32_MAX)
            return weft_op_refuse(why, cap, "%s '%s' has more than 2^31 - 1 elements",
                                  is_in ? "input" : "output", v->name);
    }
    return 1;
}

/* Every output must be present: their sizes place each other (Split). */
static int all_outputs(const weft_graph *g, const weft_node *n, char *why, size_t cap)
{
    for (size_t k = 0; k < n->output_count; k++)
        if (!weft_node_output(g, n, k))
            return weft_op_refuse(why, cap, "output %zu is unused; weft needs every output", k);
    return 1;
}

static double bandwidth_cost(const weft_graph *g, const weft_node *n, const weft_device_info *d)
{
    (void)d;
    /* Memory-bound: every element read and written once, at ~10 GB/s. */
    double bytes = 0;
    for (size_t k = 0; k < n->output_count; k++) {
        const weft_value *y = weft_node_output(g, n, k);
        if (y)
            bytes += 2.0 * (double)weft_shape_numel(&y->shape) * (double)weft_dtype_size(y->dtype);
    }
    return bytes / 10e9;
}

/* Kernel `name` of cl/movement.cl for elements of `dtype` (ELEM: copies
 * move bit patterns of the element's size) and, when rank > 0, RANK; with
 * its work-group size. */
static weft_status movement_kernel(weft_prepare *p, const char *name, weft_dtype dtype, int rank,
                                   cl_kernel *kernel, size_t *local)
{
    weft_options o;
    weft_options_init(&o);
    weft_options_define(&o, "ELEM", weft_dtype_size(dtype) == 8 ? "uint2" : "uint");
    if (rank > 0)
        weft_options_define_int(&o, "RANK", rank);
    weft_status st = weft_op_kernel(p, "movement", &o, name, kernel);
    if (st == WEFT_OK)
        *local = weft_op_local_size(p, *kernel, 64);
    return st;
}

/* ---- Block copies: Concat and Split --------------------------------------- */

/* Both cut a whole tensor along `axis` into pieces: Concat's output into
 * its inputs, Split's input into its outputs. */
static int is_concat(const weft_node *n)
{
    return strcmp(n->op, "Concat") == 0;
}

/* One launch of copy_blocks: n elements in rows of `cols`. */
typedef struct block {
    cl_uint n, cols, x_row, x_off, y_row, y_off;
} block;

typedef struct blocks_state {
    cl_kernel kernel;
    size_t local;
    int concat;
    size_t count;
    block parts[]; /* one per Concat input or Split output */
} blocks_state;

/* Fills parts[k] for piece k of `count` placed along `axis` of the whole
 * tensor `whole`. */
static void plan_blocks(const weft_shape *whole, int axis, const weft_op_tensor *pieces,
                        size_t count, int concat, block *parts)
{
    int64_t outer = weft_shape_product(whole, 0, axis);
    int64_t inner = weft_shape_product(whole, axis + 1, whole->rank), at = 0;
    cl_uint whole_row = (cl_uint)(whole->dims[axis] * inner);
    for (size_t k = 0; k < count; k++) {
        int64_t size = pieces[k].shape.dims[axis];
        block *b = &parts[k];
        b->cols = (cl_uint)(size * inner);
        b->n = (cl_uint)(outer * size * inner);
        if (concat) {
            b->x_row = b->cols;
            b->x_off = 0;
            b->y_row = whole_row;
            b->y_off = (cl_uint)(at * inner);
        } else {
            b->x_row = whole_row;
            b->x_off = (cl_uint)(at * inner);
            b->y_row = b->cols;
            b->y_off = 0;
        }
        at += size;
    }
}

/* The pieces share every dim of the whole tensor but `axis` and add up to
 * it along `axis` (shape inference checked that; Split's output shapes,
 * inferred from 'split', num_outputs or equal parts, say where each
 * starts). */
static int blocks_geometry(const weft_graph *g, const weft_node *n, int *axis, char *why,
                           size_t cap)
{
    int concat = is_concat(n);
    const char *piece = concat ? "input" : "output", *whole_is = concat ? "output" : "input";
    const weft_value *whole = concat ? weft_node_output(g, n, 0) : weft_node_input(g, n, 0);
    size_t count = concat ? n->input_count : n->output_count;
    int64_t a;
    if (concat && !weft_node_attr(n, "axis"))
        return weft_op_refuse(why, cap, "attribute 'axis' is required");
    if (!concat && !all_outputs(g, n, why, cap))
        return 0;
    if (weft_node_attr_int(n, "axis", 0, &a) != WEFT_OK)
        return weft_op_refuse(why, cap, "attribute 'axis' is not an int");
    if (weft_params_axis(n, "attribute 'axis'", a, whole->shape.rank, axis, why, cap) != WEFT_OK)
        return 0;
    int64_t total = 0;
    for (size_t k = 0; k < count; k++) {
        const weft_value *v = concat ? weft_node_input(g, n, k) : weft_node_output(g, n, k);
        if (!v)
            return weft_op_refuse(why, cap, "%s %zu is absent", piece, k);
        int differs = v->shape.rank != whole->shape.rank || v->dtype != whole->dtype;
        for (int d = 0; d < whole->shape.rank && !differs; d++)
            differs = d != *axis && v->shape.dims[d] != whole->shape.dims[d];
        if (differs)
            return weft_op_refuse(why, cap, "%s %zu ('%s') does not match the %s", piece, k,
                                  v->name, whole_is);
        total += v->shape.dims[*axis];
    }
    if (total != whole->shape.dims[*axis])
        return weft_op_refuse(why, cap, "the %ss add up to %lld along axis %d, the %s has %lld",
                              piece, (long long)total, *axis, whole_is,
                              (long long)whole->shape.dims[*axis]);
    return 1;
}

static int blocks_supports(const weft_graph *g, const weft_node *n, const weft_device_info *d,
                           char *why, size_t cap)
{
    (void)d;
    int axis;
    return check_tensors(g, n, is_concat(n) ? n->input_count : 1, why, cap) &&
           blocks_geometry(g, n, &axis, why, cap);
}

static weft_status blocks_prepare(weft_prepare *p)
{
    char why[256];
    int axis, concat = is_concat(p->node);
    if (!blocks_geometry(p->graph, p->node, &axis, why, sizeof why))
        return weft_node_fail(p->node, WEFT_ERR_GRAPH, "%s", why);
    const weft_op_tensor *whole = concat ? &p->outputs[0] : &p->inputs[0];
    const weft_op_tensor *pieces = concat ? p->inputs : p->outputs;
    size_t count = concat ? p->input_count : p->output_count;
    blocks_state *s = calloc(1, sizeof *s + count * sizeof s->parts[0]);
    if (!s)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for node '%s'", p->node->name);
    p->state = s;
    s->concat = concat;
    s->count = count;
    plan_blocks(&whole->shape, axis, pieces, count, concat, s->parts);
    return movement_kernel(p, "copy_blocks", whole->dtype, 0, &s->kernel, &s->local);
}

static weft_status blocks_enqueue(weft_run *r)
{
    blocks_state *s = r->state;
    weft_status st = WEFT_OK;
    for (size_t k = 0; k < s->count && st == WEFT_OK; k++) {
        const block *b = &s->parts[k];
        if (b->n == 0)
            continue; /* an empty piece: its buffer may not even exist */
        cl_mem x = s->concat ? r->inputs[k].mem : r->inputs[0].mem;
        cl_mem y = s->concat ? r->outputs[0].mem : r->outputs[k].mem;
        weft_arg args[] = {WEFT_ARG(x), WEFT_ARG(y), WEFT_ARG(b->n), WEFT_ARG(b->cols),
                           WEFT_ARG(b->x_row), WEFT_ARG(b->x_off), WEFT_ARG(b->y_row),
                           WEFT_ARG(b->y_off)};
        st = weft_op_set_args(r, s->kernel, args, sizeof args / sizeof args[0]);
        if (st == WEFT_OK)
            st = weft_op_launch_1d(r, s->kernel, b->n, s->local);
    }
    return st;
}

static const char *const concat_ops[] = {"Concat", NULL};

const weft_op_impl weft_impl_concat = {
    .name = "concat",
    .ops = concat_ops,
    .supports = blocks_supports,
    .cost = bandwidth_cost,
    .prepare = blocks_prepare,
    .enqueue = blocks_enqueue,
    .release = free,
};

static const char *const split_ops[] = {"Split", NULL};

const weft_op_impl weft_impl_split = {
    .name = "split",
    .ops = split_ops,
    .supports = blocks_supports,
    .cost = bandwidth_cost,
    .prepare = blocks_prepare,
    .enqueue = blocks_enqueue,
    .release = free,
};

/* ---- Strided gathers: Slice, Transpose, DepthToSpace, SpaceToDepth -------- */

/* The input seen in the output's row-major index order. */
typedef struct view {
    int rank;
    int64_t dims[MAX_VIEW];    /* output-order extents */
    int64_t strides[MAX_VIEW]; /* input elements per step, signed */
    int64_t base;              /* input element of coordinate 0 */
} view;

/* Slice's view: the first element, step and count on every axis. */
static int slice_geometry(const weft_graph *g, const weft_node *n, view *v, char *why, size_t cap)
{
    const weft_value *in[WEFT_SLICE_INPUTS], *y = weft_node_output(g, n, 0);
    weft_params_inputs(g, n, in, WEFT_SLICE_INPUTS);
    weft_slice sl;
    if (weft_params_slice(n, in, &sl, why, cap) != WEFT_OK)
        return 0;
    const weft_shape *x = &in[0]->shape;
    int64_t strides[WEFT_MAX_RANK];
    weft_shape_strides(x, strides);
    v->rank = x->rank;
    v->base = 0;
    for (int i = 0; i < x->rank; i++) {
        if (sl.count[i] != y->shape.dims[i])
            return weft_op_refuse(why, cap, "axis %d takes %lld elements but the output has %lld",
                                  i, (long long)sl.count[i], (long long)y->shape.dims[i]);
        v->dims[i] = sl.count[i];
        /* One element or none: the step never applies (and may be huge). */
        v->strides[i] = sl.count[i] > 1 ? sl.step[i] * strides[i] : 0;
        if (sl.count[i] > 0)
            v->base += sl.first[i] * strides[i];
    }
    return 1;
}

/* Transpose's view: output dim i walks input dim perm[i]. */
static int transpose_geometry(const weft_graph *g, const weft_node *n, view *v, char *why,
                              size_t cap)
{
    const weft_value *x = weft_node_input(g, n, 0);
    int perm[WEFT_MAX_RANK];
    if (weft_params_perm(n, x, perm, why, cap) != WEFT_OK)
        return 0;
    int64_t strides[WEFT_MAX_RANK];
    weft_shape_strides(&x->shape, strides);
    v->rank = x->shape.rank;
    v->base = 0;
    for (int i = 0; i < v->rank; i++) {
        v->dims[i] = x->shape.dims[perm[i]];
        v->strides[i] = strides[perm[i]];
    }
    return 1;
}

/* DepthToSpace and SpaceToDepth as 6-D gathers (ONNX's reshape-transpose-
 * reshape definitions, with the reshapes folded into the strides).
 *   DepthToSpace: the output [N, C/b², H*b, W*b] is [N, C', H, b, W, b]
 *     (C' = C/b²), reading input channel (i*b + j)*C' + c (DCR) or
 *     c*b*b + i*b + j (CRD) for block row i and column j.
 *   SpaceToDepth: the output [N, C*b², H/b, W/b] is [N, b, b, C, H/b, W/b],
 *     reading input (n, c, h*b + i, w*b + j). */
static int space_geometry(const weft_graph *g, const weft_node *n, view *v, char *why, size_t cap)
{
    const weft_value *x = weft_node_input(g, n, 0);
    int to_space = strcmp(n->op, "DepthToSpace") == 0;
    int64_t b;
    const char *mode = "DCR";
    if (weft_node_attr_int(n, "blocksize", 0, &b) != WEFT_OK || b < 1 || b > 65536)
        return weft_op_refuse(why, cap, "attribute 'blocksize' is missing or out of range");
    if (to_space && weft_node_attr_string(n, "mode", "DCR", &mode) != WEFT_OK)
        return weft_op_refuse(why, cap, "attribute 'mode' is not a string");
    int crd = strcmp(mode, "CRD") == 0;
    if (!crd && strcmp(mode, "DCR") != 0)
        return weft_op_refuse(why, cap, "attribute 'mode' = \"%s\" is not DCR or CRD", mode);
    if (x->shape.rank != 4)
        return weft_op_refuse(why, cap, "the input has rank %d, expected NCHW", x->shape.rank);
    int64_t N = x->shape.dims[0], C = x->shape.dims[1], H = x->shape.dims[2],
            W = x->shape.dims[3];
    int64_t HW = H * W;
    v->rank = 6;
    v->base = 0;
    if (to_space) {
        if (C % (b * b) != 0)
            return weft_op_refuse(why, cap, "%lld channels do not divide by blocksize^2",
                                  (long long)C);
        int64_t Cb = C / (b * b);
        int64_t dims[6] = {N, Cb, H, b, W, b};
        int64_t dcr[6] = {C * HW, HW, W, b * Cb * HW, 1, Cb * HW};
        int64_t crd_s[6] = {C * HW, b * b * HW, W, b * HW, 1, HW};
        memcpy(v->dims, dims, sizeof dims);
        memcpy(v->strides, crd ? crd_s : dcr, sizeof dcr);
    } else {
        if (H % b != 0 || W % b != 0)
            return weft_op_refuse(why, cap,
                                  "height %lld and width %lld do not divide by blocksize %lld",
                                  (long long)H, (long long)W, (long long)b);
        int64_t dims[6] = {N, b, b, C, H / b, W / b};
        int64_t strides[6] = {C * HW, W, 1, HW, b * W, b};
        memcpy(v->dims, dims, sizeof dims);
        memcpy(v->strides, strides, sizeof strides);
    }
    return 1;
}

/* The view of whichever gather node n is. */
static int gather_geometry(const weft_graph *g, const weft_node *n, view *v, char *why,
                           size_t cap)
{
    if (strcmp(n->op, "Slice") == 0)
        return slice_geometry(g, n, v, why, cap);
    if (strcmp(n->op, "Transpose") == 0)
        return transpose_geometry(g, n, v, why, cap);
    return space_geometry(g, n, v, why, cap);
}

/* Drops size-1 dims and merges a dim into the one before it when the
 * input walks them as one (outer stride = inner stride * inner extent). */
static void view_collapse(view *v)
{
    int r = 0;
    for (int i = 0; i < v->rank; i++) {
        if (v->dims[i] == 1)
            continue;
        if (r > 0 && v->strides[r - 1] == v->strides[i] * v->dims[i]) {
            v->dims[r - 1] *= v->dims[i];
            v->strides[r - 1] = v->strides[i];
            continue;
        }
        v->dims[r] = v->dims[i];
        v->strides[r] = v->strides[i];
        r++;
    }
    if (r == 0) { /* one element (or a scalar) */
        v->dims[0] = 1;
        v->strides[0] = 1;
        r = 1;
    }
    v->rank = r;
}

/* The collapsed view's table fits the kernel's int arguments. */
static int view_check(const view *v, char *why, size_t cap)
{
    if (!fits_int32(v->base))
        return weft_op_refuse(why, cap, "offsets beyond 32 bits");
    for (int i = 0; i < v->rank; i++)
        if (!fits_int32(v->dims[i]) || !fits_int32(v->strides[i]))
            return weft_op_refuse(why, cap, "offsets beyond 32 bits");
    return 1;
}

static int gather_supports(const weft_graph *g, const weft_node *n, const weft_device_info *d,
                           char *why, size_t cap)
{
    (void)d;
    view v;
    if (!check_tensors(g, n, 1, why, cap) || !gather_geometry(g, n, &v, why, cap))
        return 0;
    view_collapse(&v);
    return view_check(&v, why, cap);
}

typedef struct gather_state {
    cl_kernel kernel;
    cl_mem meta;
    cl_uint n;
    cl_int base;
    size_t local;
} gather_state;

static weft_status gather_prepare(weft_prepare *p)
{
    char why[256];
    view v;
    if (!gather_geometry(p->graph, p->node, &v, why, sizeof why))
        return weft_node_fail(p->node, WEFT_ERR_GRAPH, "%s", why);
    view_collapse(&v);
    if (!view_check(&v, why, sizeof why))
        return weft_node_fail(p->node, WEFT_ERR_UNSUPPORTED, "%s", why);
    gather_state *s = calloc(1, sizeof *s);
    if (!s)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for node '%s'", p->node->name);
    p->state = s;
    s->n = (cl_uint)weft_shape_numel(&p->outputs[0].shape);
    s->base = (cl_int)v.base;
    cl_int meta[3 * MAX_VIEW];
    int64_t inner = 1;
    for (int i = v.rank - 1; i >= 0; i--) {
        meta[i] = (cl_int)v.dims[i];
        meta[v.rank + i] = (cl_int)v.strides[i];
        meta[2 * v.rank + i] = (cl_int)inner;
        inner *= v.dims[i];
    }
    weft_status st = weft_op_upload(p, meta, 3 * (size_t)v.rank * sizeof *meta, &s->meta);
    if (st == WEFT_OK)
        st = movement_kernel(p, "gather", p->inputs[0].dtype, v.rank, &s->kernel, &s->local);
    return st;
}

static weft_status gather_enqueue(weft_run *r)
{
    gather_state *s = r->state;
    if (s->n == 0)
        return WEFT_OK;
    weft_arg args[] = {WEFT_ARG(r->inputs[0].mem), WEFT_ARG(r->outputs[0].mem), WEFT_ARG(s->n),
                       WEFT_ARG(s->base), WEFT_ARG(s->meta)};
    weft_status st = weft_op_set_args(r, s->kernel, args, sizeof args / sizeof args[0]);
    return st != WEFT_OK ? st : weft_op_launch_1d(r, s->kernel, s->n, s->local);
}

static const char *const slice_ops[] = {"Slice", NULL};

const weft_op_impl weft_impl_slice = {
    .name = "slice",
    .ops = slice_ops,
    .supports = gather_supports,
    .cost = bandwidth_cost,
    .prepare = gather_prepare,
    .enqueue = gather_enqueue,
    .release = free,
};

static const char *const transpose_ops[] = {"Transpose", NULL};

const weft_op_impl weft_impl_transpose = {
    .name = "transpose",
    .ops = transpose_ops,
    .supports = gather_supports,
    .cost = bandwidth_cost,
    .prepare = gather_prepare,
    .enqueue = gather_enqueue,
    .release = free,
};

static const char *const depth_to_space_ops[] = {"DepthToSpace", "SpaceToDepth", NULL};

const weft_op_impl weft_impl_depth_to_space = {
    .name = "depth_to_space",
    .ops = depth_to_space_ops,
    .supports = gather_supports,
    .cost = bandwidth_cost,
    .prepare = gather_prepare,
    .enqueue = gather_enqueue,
    .release = free,
};

/* ---- Pad (constant mode) ---------------------------------------------------- */

/* Pad's geometry after collapsing: per dim the output extent, the begin
 * pad (negative crops), the input extent and stride. */
typedef struct pad_view {
    int rank;
    int64_t out[WEFT_MAX_RANK], begin[WEFT_MAX_RANK], in[WEFT_MAX_RANK], stride[WEFT_MAX_RANK];
} pad_view;

/* The begin and end pads of every axis (graph/op_params.h), collapsed. */
static int pad_geometry(const weft_graph *g, const weft_node *n, pad_view *pv, char *why,
                        size_t cap)
{
    const weft_value *inputs[WEFT_PAD_INPUTS], *y = weft_node_output(g, n, 0);
    weft_params_inputs(g, n, inputs, WEFT_PAD_INPUTS);
    const weft_shape *x = &inputs[0]->shape;
    const char *mode;
    if (weft_node_attr_string(n, "mode", "constant", &mode) != WEFT_OK ||
        strcmp(mode, "constant") != 0)
        return weft_op_refuse(why, cap, "only mode \"constant\" is supported");
    weft_pad pad;
    if (weft_params_pad(n, inputs, &pad, why, cap) != WEFT_OK)
        return 0;
    int64_t strides[WEFT_MAX_RANK];
    weft_shape_strides(x, strides);
    pv->rank = 0;
    for (int i = 0; i < x->rank; i++) {
        int64_t in = x->dims[i], out = y->shape.dims[i], begin = pad.begin[i], end = pad.end[i];
        if (!fits_int32(begin) || !fits_int32(end) || pad.out.dims[i] != out)
            return weft_op_refuse(why, cap,
                                  "pads %lld and %lld on axis %d do not give the output size %lld",
                                  (long long)begin, (long long)end, i, (long long)out);
        if (in == 1 && out == 1 && begin == 0)
            continue; /* untouched size-1 dim */
        int r = pv->rank;
        if (r > 0 && begin == 0 && in == out && pv->stride[r - 1] == strides[i] * in) {
            /* An untouched inner dim folds into the dim before it. */
            pv->out[r - 1] *= out;
            pv->begin[r - 1] *= out;
            pv->in[r - 1] *= in;
            pv->stride[r - 1] = strides[i];
            continue;
        }
        pv->out[r] = out;
        pv->begin[r] = begin;
        pv->in[r] = in;
        pv->stride[r] = strides[i];
        pv->rank++;
    }
    if (pv->rank == 0) {
        pv->out[0] = pv->in[0] = pv->stride[0] = 1;
        pv->begin[0] = 0;
        pv->rank = 1;
    }
    for (int i = 0; i < pv->rank; i++) {
        /* Kernel coordinates run over [-begin, out - begin) in int. */
        int64_t mag = pv->begin[i] < 0 ? -pv->begin[i] : pv->begin[i];
        if (!fits_int32(pv->begin[i]) || !fits_int32(pv->out[i] + mag))
            return weft_op_refuse(why, cap, "pads beyond 32-bit offsets");
    }
    return 1;
}

/* The pad value when no 'constant_value' input gives it: attribute 'value'
 * (before opset 11), else 0; in the element's bit pattern. */
static void pad_value_bits(const weft_node *n, weft_dtype dtype, unsigned char bits[8])
{
    float f = 0;
    weft_node_attr_float(n, "value", 0.0f, &f);
    memset(bits, 0, 8);
    if (dtype == WEFT_INT64) {
        int64_t i = (int64_t)f;
        memcpy(bits, &i, sizeof i);
    } else {
        memcpy(bits, &f, sizeof f);
    }
}

static const char *const pad_ops[] = {"Pad", NULL};

static int pad_supports(const weft_graph *g, const weft_node *n, const weft_device_info *d,
                        char *why, size_t cap)
{
    (void)d;
    pad_view pv;
    const weft_value *x = weft_node_input(g, n, 0), *cv = weft_node_input(g, n, 2);
    if (cv && (cv->dtype != x->dtype || weft_shape_numel(&cv->shape) != 1))
        return weft_op_refuse(why, cap,
                              "input 'constant_value' is not one element of the data's type");
    return check_tensors(g, n, 1, why, cap) && pad_geometry(g, n, &pv, why, cap);
}

typedef struct pad_state {
    cl_kernel kernel;
    cl_mem meta;
    cl_mem value;  /* the pad value when input 'constant_value' is absent */
    cl_uint n;
    size_t local;
} pad_state;

static weft_status pad_prepare(weft_prepare *p)
{
    char why[256];
    pad_view pv;
    if (!pad_geometry(p->graph, p->node, &pv, why, sizeof why))
        return weft_node_fail(p->node, WEFT_ERR_GRAPH, "%s", why);
    pad_state *s = calloc(1, sizeof *s);
    if (!s)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for node '%s'", p->node->name);
    p->state = s;
    s->n = (cl_uint)weft_shape_numel(&p->outputs[0].shape);
    int r = pv.rank;
    cl_int meta[5 * WEFT_MAX_RANK];
    int64_t inner = 1;
    for (int i = r - 1; i >= 0; i--) {
        meta[i] = (cl_int)pv.out[i];
        meta[r + i] = (cl_int)pv.begin[i];
        meta[2 * r + i] = (cl_int)pv.in[i];
        meta[3 * r + i] = (cl_int)pv.stride[i];
        meta[4 * r + i] = (cl_int)inner;
        inner *= pv.out[i];
    }
    weft_status st = weft_op_upload(p, meta, 5 * (size_t)r * sizeof *meta, &s->meta);
    if (st == WEFT_OK && !weft_node_input(p->graph, p->node, 2)) {
        unsigned char bits[8];
        pad_value_bits(p->node, p->inputs[0].dtype, bits);
        st = weft_op_upload(p, bits, sizeof bits, &s->value);
    }
    if (st == WEFT_OK)
        st = movement_kernel(p, "pad_constant", p->inputs[0].dtype, r, &s->kernel, &s->local);
    return st;
}

static weft_status pad_enqueue(weft_run *r)
{
    pad_state *s = r->state;
    if (s->n == 0)
        return WEFT_OK;
    cl_mem value = s->value ? s->value : r->inputs[2].mem;
    /* An empty input is never read; its buffer may not exist. */
    cl_mem x = r->inputs[0].mem ? r->inputs[0].mem : value;
    weft_arg args[] = {WEFT_ARG(x), WEFT_ARG(r->outputs[0].mem), WEFT_ARG(s->n),
                       WEFT_ARG(s->meta), WEFT_ARG(value)};
    weft_status st = weft_op_set_args(r, s->kernel, args, sizeof args / sizeof args[0]);
    return st != WEFT_OK ? st : weft_op_launch_1d(r, s->kernel, s->n, s->local);
}

const weft_op_impl weft_impl_pad = {
    .name = "pad",
    .ops = pad_ops,
    .supports = pad_supports,
    .cost = bandwidth_cost,
    .prepare = pad_prepare,
    .enqueue = pad_enqueue,
    .release = free,
};
