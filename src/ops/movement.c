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
 * Indices are 32-bit on the device: tensors above 2^31 - 1 elements are
 * refused.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "ops/op.h"

#define MAX_VIEW 8  /* gather ranks: Transpose up to WEFT_MAX_RANK, depth/space 6 */

/* ---- Shared helpers -------------------------------------------------------- */

/* Writes why the node is not supported; returns 0 for `return refuse(...)`. */
static int refuse(char *why, size_t cap, const char *fmt, ...) WEFT_PRINTF(3, 4);
static int refuse(char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    return 0;
}

static size_t round_up(size_t n, size_t m)
{
    return (n + m - 1) / m * m;
}

static size_t pick_local(const weft_prepare *p, cl_kernel kernel)
{
    size_t limit = weft_op_max_local(p, kernel);
    return limit < 64 ? limit : 64;
}

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
            return refuse(why, cap, "%s '%s' is %s; float32 and int64 are supported",
                          is_in ? "input" : "output", v->name, weft_dtype_name(v->dtype));
        /* Zero dims left out: offsets of empty tensors are computed too. */
        int64_t numel = 1;
        for (int d = 0; d < v->shape.rank && numel <= INT32_MAX; d++) {
            int64_t dim = v->shape.dims[d];
            numel = dim > INT32_MAX ? dim : numel * (dim > 0 ? dim : 1);
        }
        if (numel > INT32_MAX)
            return refuse(why, cap, "%s '%s' has more than 2^31 - 1 elements",
                          is_in ? "input" : "output", v->name);
    }
    return 1;
}

/* Every output must be present: their sizes place each other (Split). */
static int all_outputs(const weft_graph *g, const weft_node *n, char *why, size_t cap)
{
    for (size_t k = 0; k < n->output_count; k++)
        if (!weft_node_output(g, n, k))
            return refuse(why, cap, "output %zu is unused; weft needs every output", k);
    return 1;
}

/* ELEM for the kernels: copies move bit patterns of the element's size. */
static const char *elem_type(weft_dtype dtype)
{
    return weft_dtype_size(dtype) == 8 ? "uint2" : "uint";
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

/* A list of ints from attribute `attr` (older opsets; NULL when the op
 * has no attribute form) or from constant int64 input `k`. */
typedef struct int_list {
    int64_t v[2 * WEFT_MAX_RANK];
    size_t count;
    int present;
} int_list;

static int read_ints(const weft_graph *g, const weft_node *n, const char *attr, size_t k,
                     const char *what, int_list *out, char *why, size_t cap)
{
    out->count = 0;
    out->present = 0;
    const weft_attr *a = attr ? weft_node_attr(n, attr) : NULL;
    const weft_value *v = weft_node_input(g, n, k);
    if (a) {
        if (a->type != WEFT_ATTR_INTS)
            return refuse(why, cap, "attribute '%s' is not a list of ints", attr);
        if (a->count > sizeof out->v / sizeof out->v[0])
            return refuse(why, cap, "attribute '%s' has %zu values", attr, a->count);
        if (a->count)
            memcpy(out->v, a->ints, a->count * sizeof *out->v);
        out->count = a->count;
        out->present = 1;
        return 1;
    }
    if (!v)
        return 1;
    if (v->kind != WEFT_VALUE_CONSTANT || !v->data)
        return refuse(why, cap, "input '%s' ('%s') is computed by the graph; weft needs a constant",
                      what, v->name);
    if (v->dtype != WEFT_INT64)
        return refuse(why, cap, "input '%s' ('%s') is %s, expected int64", what, v->name,
                      weft_dtype_name(v->dtype));
    int64_t count = weft_shape_numel(&v->shape);
    if (v->shape.rank > 1 || count < 0 || (uint64_t)count > sizeof out->v / sizeof out->v[0])
        return refuse(why, cap, "input '%s' ('%s') is not a short 1-D list", what, v->name);
    if (count)
        memcpy(out->v, v->data, (size_t)count * sizeof *out->v);
    out->count = (size_t)count;
    out->present = 1;
    return 1;
}

/* An axis attribute in [-rank, rank-1], made non-negative. */
static int read_axis(const weft_node *n, int rank, int64_t def, int *axis, char *why, size_t cap)
{
    int64_t a;
    if (weft_node_attr_int(n, "axis", def, &a) != WEFT_OK)
        return refuse(why, cap, "attribute 'axis' is not an int");
    if (rank < 1 || a < -(int64_t)rank || a >= rank)
        return refuse(why, cap, "attribute 'axis' = %lld is out of range for rank %d",
                      (long long)a, rank);
    *axis = (int)(a < 0 ? a + rank : a);
    return 1;
}

/* Elements before and after `axis` of a shape. */
static void outer_inner(const weft_shape *s, int axis, int64_t *outer, int64_t *inner)
{
    *outer = *inner = 1;
    for (int i = 0; i < s->rank; i++) {
        if (i < axis)
            *outer *= s->dims[i];
        else if (i > axis)
            *inner *= s->dims[i];
    }
}

/* Row-major strides of the input shape, in elements. */
static void strides_of(const weft_shape *s, int64_t strides[WEFT_MAX_RANK])
{
    int64_t st = 1;
    for (int i = s->rank - 1; i >= 0; i--) {
        strides[i] = st;
        st *= s->dims[i];
    }
}

/* ---- Block copies: Concat and Split --------------------------------------- */

/* One launch of copy_blocks: n elements in rows of `cols`. */
typedef struct block {
    cl_uint n, cols, x_row, x_off, y_row, y_off;
} block;

typedef struct blocks_state {
    cl_kernel kernel;
    size_t local;
    size_t count;
    block parts[]; /* one per Concat input or Split output */
} blocks_state;

/* Fills parts[k] for tensor k of `count` (the inputs of Concat or the
 * outputs of Split) placed along `axis` of the whole tensor `whole`. */
static void plan_blocks(const weft_shape *whole, int axis, const weft_shape *const *pieces,
                        size_t count, int concat, block *parts)
{
    int64_t outer, inner, at = 0;
    outer_inner(whole, axis, &outer, &inner);
    cl_uint whole_row = (cl_uint)(whole->dims[axis] * inner);
    for (size_t k = 0; k < count; k++) {
        int64_t size = pieces[k]->dims[axis];
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

static weft_status blocks_prepare(weft_prepare *p, const weft_shape *whole, int axis,
                                  const weft_shape *const *pieces, size_t count, int concat)
{
    blocks_state *s = calloc(1, sizeof *s + count * sizeof s->parts[0]);
    if (!s)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for node '%s'", p->node->name);
    p->state = s;
    s->count = count;
    plan_blocks(whole, axis, pieces, count, concat, s->parts);
    weft_options o;
    weft_options_init(&o);
    weft_options_define(&o, "ELEM", elem_type(concat ? p->outputs[0].dtype : p->inputs[0].dtype));
    weft_status st = weft_op_kernel(p, "movement", &o, "copy_blocks", &s->kernel);
    if (st == WEFT_OK)
        s->local = pick_local(p, s->kernel);
    return st;
}

static weft_status blocks_enqueue(weft_run *r, int concat)
{
    blocks_state *s = r->state;
    weft_status st = WEFT_OK;
    for (size_t k = 0; k < s->count && st == WEFT_OK; k++) {
        const block *b = &s->parts[k];
        if (b->n == 0)
            continue; /* an empty piece: its buffer may not even exist */
        cl_mem x = concat ? r->inputs[k].mem : r->inputs[0].mem;
        cl_mem y = concat ? r->outputs[0].mem : r->outputs[k].mem;
        weft_arg args[] = {WEFT_ARG(x), WEFT_ARG(y), WEFT_ARG(b->n), WEFT_ARG(b->cols),
                           WEFT_ARG(b->x_row), WEFT_ARG(b->x_off), WEFT_ARG(b->y_row),
                           WEFT_ARG(b->y_off)};
        st = weft_op_set_args(r, s->kernel, args, sizeof args / sizeof args[0]);
        size_t global = round_up(b->n, s->local);
        if (st == WEFT_OK)
            st = weft_op_launch(r, s->kernel, 1, &global, &s->local);
    }
    return st;
}

/* Concat: inputs share every dim but `axis`; shape inference checked that. */
static int concat_geometry(const weft_graph *g, const weft_node *n, int *axis, char *why,
                           size_t cap)
{
    const weft_value *y = weft_node_output(g, n, 0);
    if (!weft_node_attr(n, "axis"))
        return refuse(why, cap, "attribute 'axis' is required");
    if (!read_axis(n, y->shape.rank, 0, axis, why, cap))
        return 0;
    int64_t total = 0;
    for (size_t k = 0; k < n->input_count; k++) {
        const weft_value *x = weft_node_input(g, n, k);
        if (!x)
            return refuse(why, cap, "input %zu is absent", k);
        int differs = x->shape.rank != y->shape.rank || x->dtype != y->dtype;
        for (int d = 0; d < y->shape.rank && !differs; d++)
            differs = d != *axis && x->shape.dims[d] != y->shape.dims[d];
        if (differs)
            return refuse(why, cap, "input %zu ('%s') does not match the output", k, x->name);
        total += x->shape.dims[*axis];
    }
    if (total != y->shape.dims[*axis])
        return refuse(why, cap, "the inputs add up to %lld along axis %d, the output has %lld",
                      (long long)total, *axis, (long long)y->shape.dims[*axis]);
    return 1;
}

static const char *const concat_ops[] = {"Concat", NULL};

static int concat_supports(const weft_graph *g, const weft_node *n, const weft_device_info *d,
                           char *why, size_t cap)
{
    (void)d;
    int axis;
    return check_tensors(g, n, n->input_count, why, cap) &&
           concat_geometry(g, n, &axis, why, cap);
}

static weft_status concat_prepare(weft_prepare *p)
{
    char why[256];
    int axis;
    if (!concat_geometry(p->graph, p->node, &axis, why, sizeof why))
        return weft_node_fail(p->node, WEFT_ERR_GRAPH, "%s", why);
    const weft_shape **pieces = malloc(p->input_count * sizeof *pieces);
    if (!pieces)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for node '%s'", p->node->name);
    for (size_t k = 0; k < p->input_count; k++)
        pieces[k] = &p->inputs[k].shape;
    weft_status st = blocks_prepare(p, &p->outputs[0].shape, axis, pieces, p->input_count, 1);
    free(pieces);
    return st;
}

static weft_status concat_enqueue(weft_run *r)
{
    return blocks_enqueue(r, 1);
}

const weft_op_impl weft_impl_concat = {
    .name = "concat",
    .ops = concat_ops,
    .supports = concat_supports,
    .cost = bandwidth_cost,
    .prepare = concat_prepare,
    .enqueue = concat_enqueue,
    .release = free,
};

/* Split: the output shapes (inferred from 'split', num_outputs or equal
 * parts) say where each output's block starts. */
static int split_geometry(const weft_graph *g, const weft_node *n, int *axis, char *why, size_t cap)
{
    const weft_value *x = weft_node_input(g, n, 0);
    if (!all_outputs(g, n, why, cap) || !read_axis(n, x->shape.rank, 0, axis, why, cap))
        return 0;
    int64_t total = 0;
    for (size_t k = 0; k < n->output_count; k++) {
        const weft_value *y = weft_node_output(g, n, k);
        int differs = y->shape.rank != x->shape.rank || y->dtype != x->dtype;
        for (int d = 0; d < x->shape.rank && !differs; d++)
            differs = d != *axis && x->shape.dims[d] != y->shape.dims[d];
        if (differs)
            return refuse(why, cap, "output %zu ('%s') does not match the input", k, y->name);
        total += y->shape.dims[*axis];
    }
    if (total != x->shape.dims[*axis])
        return refuse(why, cap, "the outputs add up to %lld along axis %d, the input has %lld",
                      (long long)total, *axis, (long long)x->shape.dims[*axis]);
    return 1;
}

static const char *const split_ops[] = {"Split", NULL};

static int split_supports(const weft_graph *g, const weft_node *n, const weft_device_info *d,
                          char *why, size_t cap)
{
    (void)d;
    int axis;
    return check_tensors(g, n, 1, why, cap) && split_geometry(g, n, &axis, why, cap);
}

static weft_status split_prepare(weft_prepare *p)
{
    char why[256];
    int axis;
    if (!split_geometry(p->graph, p->node, &axis, why, sizeof why))
        return weft_node_fail(p->node, WEFT_ERR_GRAPH, "%s", why);
    const weft_shape **pieces = malloc(p->output_count * sizeof *pieces);
    if (!pieces)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for node '%s'", p->node->name);
    for (size_t k = 0; k < p->output_count; k++)
        pieces[k] = &p->outputs[k].shape;
    weft_status st = blocks_prepare(p, &p->inputs[0].shape, axis, pieces, p->output_count, 0);
    free(pieces);
    return st;
}

static weft_status split_enqueue(weft_run *r)
{
    return blocks_enqueue(r, 0);
}

const weft_op_impl weft_impl_split = {
    .name = "split",
    .ops = split_ops,
    .supports = split_supports,
    .cost = bandwidth_cost,
    .prepare = split_prepare,
    .enqueue = split_enqueue,
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
        return refuse(why, cap, "offsets beyond 32 bits");
    for (int i = 0; i < v->rank; i++)
        if (!fits_int32(v->dims[i]) || !fits_int32(v->strides[i]))
            return refuse(why, cap, "offsets beyond 32 bits");
    return 1;
}

typedef struct gather_state {
    cl_kernel kernel;
    cl_mem meta;
    cl_uint n;
    cl_int base;
    size_t local;
} gather_state;

static weft_status gather_prepare(weft_prepare *p, view *v)
{
    char why[256];
    view_collapse(v);
    if (!view_check(v, why, sizeof why))
        return weft_node_fail(p->node, WEFT_ERR_UNSUPPORTED, "%s", why);
    gather_state *s = calloc(1, sizeof *s);
    if (!s)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for node '%s'", p->node->name);
    p->state = s;
    s->n = (cl_uint)weft_shape_numel(&p->outputs[0].shape);
    s->base = (cl_int)v->base;
    cl_int meta[3 * MAX_VIEW];
    int64_t inner = 1;
    for (int i = v->rank - 1; i >= 0; i--) {
        meta[i] = (cl_int)v->dims[i];
        meta[v->rank + i] = (cl_int)v->strides[i];
        meta[2 * v->rank + i] = (cl_int)inner;
        inner *= v->dims[i];
    }
    weft_status st = weft_op_upload(p, meta, 3 * (size_t)v->rank * sizeof *meta, &s->meta);
    weft_options o;
    weft_options_init(&o);
    weft_options_define(&o, "ELEM", elem_type(p->inputs[0].dtype));
    weft_options_define_int(&o, "RANK", v->rank);
    if (st == WEFT_OK)
        st = weft_op_kernel(p, "movement", &o, "gather", &s->kernel);
    if (st == WEFT_OK)
        s->local = pick_local(p, s->kernel);
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
    size_t global = round_up(s->n, s->local);
    return st != WEFT_OK ? st : weft_op_launch(r, s->kernel, 1, &global, &s->local);
}

/* Slice on one axis of size dim, ONNX rules: negative starts and ends
 * count from the back, then both are clamped ([0, dim] for positive
 * steps, [0, dim-1] and [-1, dim-1] for negative ones). Gives the first
 * index taken and how many. (weft_infer_slice applies the same rule to
 * get the output size.) */
static void slice_axis(int64_t dim, int64_t start, int64_t end, int64_t step, int64_t *first,
                       int64_t *count)
{
    *first = 0;
    *count = 0;
    if (start < 0)
        start += dim;
    if (end < 0)
        end += dim;
    if (step > 0) {
        start = start < 0 ? 0 : start > dim ? dim : start;
        end = end < 0 ? 0 : end > dim ? dim : end;
        if (end > start) {
            *first = start;
            *count = (end - start - 1) / step + 1;
        }
    } else if (dim > 0) {
        start = start < 0 ? 0 : start > dim - 1 ? dim - 1 : start;
        end = end < -1 ? -1 : end > dim - 1 ? dim - 1 : end;
        int64_t mag = step == INT64_MIN ? INT64_MAX : -step;
        if (start > end) {
            *first = start;
            *count = (start - end - 1) / mag + 1;
        }
    }
}

/* Slice's view: starts, ends, axes (attributes before opset 10, constant
 * inputs since) and steps (a constant input). */
static int slice_geometry(const weft_graph *g, const weft_node *n, view *v, char *why, size_t cap)
{
    const weft_value *x = weft_node_input(g, n, 0), *y = weft_node_output(g, n, 0);
    int rank = x->shape.rank;
    int_list starts, ends, axes, steps;
    if (!read_ints(g, n, "starts", 1, "starts", &starts, why, cap) ||
        !read_ints(g, n, "ends", 2, "ends", &ends, why, cap) ||
        !read_ints(g, n, "axes", 3, "axes", &axes, why, cap) ||
        !read_ints(g, n, NULL, 4, "steps", &steps, why, cap))
        return 0;
    size_t k = starts.count;
    if (!starts.present || !ends.present || ends.count != k || (axes.present && axes.count != k) ||
        (steps.present && steps.count != k) || k > (size_t)rank)
        return refuse(why, cap, "malformed starts, ends, axes or steps");
    int64_t first[WEFT_MAX_RANK], step[WEFT_MAX_RANK], count[WEFT_MAX_RANK];
    for (int i = 0; i < rank; i++) {
        first[i] = 0;
        step[i] = 1;
        count[i] = x->shape.dims[i];
    }
    int seen[WEFT_MAX_RANK] = {0};
    for (size_t i = 0; i < k; i++) {
        int64_t a = axes.present ? axes.v[i] : (int64_t)i;
        if (a < -(int64_t)rank || a >= rank)
            return refuse(why, cap, "axis %lld is out of range for rank %d", (long long)a, rank);
        int ax = (int)(a < 0 ? a + rank : a);
        if (seen[ax]++)
            return refuse(why, cap, "axis %d is sliced twice", ax);
        step[ax] = steps.present ? steps.v[i] : 1;
        if (step[ax] == 0)
            return refuse(why, cap, "'steps'[%zu] is 0", i);
        slice_axis(x->shape.dims[ax], starts.v[i], ends.v[i], step[ax], &first[ax], &count[ax]);
    }
    int64_t strides[WEFT_MAX_RANK];
    strides_of(&x->shape, strides);
    v->rank = rank;
    v->base = 0;
    for (int i = 0; i < rank; i++) {
        if (count[i] != y->shape.dims[i])
            return refuse(why, cap, "axis %d takes %lld elements but the output has %lld", i,
                          (long long)count[i], (long long)y->shape.dims[i]);
        v->dims[i] = count[i];
        /* One element or none: the step never applies (and may be huge). */
        v->strides[i] = count[i] > 1 ? step[i] * strides[i] : 0;
        if (count[i] > 0)
            v->base += first[i] * strides[i];
    }
    return 1;
}

static const char *const slice_ops[] = {"Slice", NULL};

static int slice_supports(const weft_graph *g, const weft_node *n, const weft_device_info *d,
                          char *why, size_t cap)
{
    (void)d;
    view v;
    if (!check_tensors(g, n, 1, why, cap) || !slice_geometry(g, n, &v, why, cap))
        return 0;
    view_collapse(&v);
    return view_check(&v, why, cap);
}

static weft_status slice_prepare(weft_prepare *p)
{
    char why[256];
    view v;
    if (!slice_geometry(p->graph, p->node, &v, why, sizeof why))
        return weft_node_fail(p->node, WEFT_ERR_GRAPH, "%s", why);
    return gather_prepare(p, &v);
}

const weft_op_impl weft_impl_slice = {
    .name = "slice",
    .ops = slice_ops,
    .supports = slice_supports,
    .cost = bandwidth_cost,
    .prepare = slice_prepare,
    .enqueue = gather_enqueue,
    .release = free,
};

/* Transpose's view: output dim i walks input dim perm[i] (default: the
 * dims reversed). */
static int transpose_geometry(const weft_graph *g, const weft_node *n, view *v, char *why,
                              size_t cap)
{
    const weft_value *x = weft_node_input(g, n, 0);
    int rank = x->shape.rank;
    int64_t perm[WEFT_MAX_RANK];
    const int64_t *given;
    size_t count;
    if (weft_node_attr_ints(n, "perm", &given, &count) != WEFT_OK)
        return refuse(why, cap, "attribute 'perm' is not a list of ints");
    if (!weft_node_attr(n, "perm")) {
        count = (size_t)rank;
        for (int i = 0; i < rank; i++)
            perm[i] = rank - 1 - i;
    } else if (count == (size_t)rank) {
        memcpy(perm, given, count * sizeof *perm);
    }
    int seen[WEFT_MAX_RANK] = {0};
    int ok = count == (size_t)rank;
    for (int i = 0; i < rank && ok; i++)
        ok = perm[i] >= 0 && perm[i] < rank && !seen[perm[i]]++;
    if (!ok)
        return refuse(why, cap, "attribute 'perm' is not a permutation of %d axes", rank);
    int64_t strides[WEFT_MAX_RANK];
    strides_of(&x->shape, strides);
    v->rank = rank;
    v->base = 0;
    for (int i = 0; i < rank; i++) {
        v->dims[i] = x->shape.dims[perm[i]];
        v->strides[i] = strides[perm[i]];
    }
    return 1;
}

static const char *const transpose_ops[] = {"Transpose", NULL};

static int transpose_supports(const weft_graph *g, const weft_node *n, const weft_device_info *d,
                              char *why, size_t cap)
{
    (void)d;
    view v;
    if (!check_tensors(g, n, 1, why, cap) || !transpose_geometry(g, n, &v, why, cap))
        return 0;
    view_collapse(&v);
    return view_check(&v, why, cap);
}

static weft_status transpose_prepare(weft_prepare *p)
{
    char why[256];
    view v;
    if (!transpose_geometry(p->graph, p->node, &v, why, sizeof why))
        return weft_node_fail(p->node, WEFT_ERR_GRAPH, "%s", why);
    return gather_prepare(p, &v);
}

const weft_op_impl weft_impl_transpose = {
    .name = "transpose",
    .ops = transpose_ops,
    .supports = transpose_supports,
    .cost = bandwidth_cost,
    .prepare = transpose_prepare,
    .enqueue = gather_enqueue,
    .release = free,
};

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
        return refuse(why, cap, "attribute 'blocksize' is missing or out of range");
    if (to_space && weft_node_attr_string(n, "mode", "DCR", &mode) != WEFT_OK)
        return refuse(why, cap, "attribute 'mode' is not a string");
    int crd = strcmp(mode, "CRD") == 0;
    if (!crd && strcmp(mode, "DCR") != 0)
        return refuse(why, cap, "attribute 'mode' = \"%s\" is not DCR or CRD", mode);
    if (x->shape.rank != 4)
        return refuse(why, cap, "the input has rank %d, expected NCHW", x->shape.rank);
    int64_t N = x->shape.dims[0], C = x->shape.dims[1], H = x->shape.dims[2],
            W = x->shape.dims[3];
    int64_t HW = H * W;
    v->rank = 6;
    v->base = 0;
    if (to_space) {
        if (C % (b * b) != 0)
            return refuse(why, cap, "%lld channels do not divide by blocksize^2", (long long)C);
        int64_t Cb = C / (b * b);
        int64_t dims[6] = {N, Cb, H, b, W, b};
        int64_t dcr[6] = {C * HW, HW, W, b * Cb * HW, 1, Cb * HW};
        int64_t crd_s[6] = {C * HW, b * b * HW, W, b * HW, 1, HW};
        memcpy(v->dims, dims, sizeof dims);
        memcpy(v->strides, crd ? crd_s : dcr, sizeof dcr);
    } else {
        if (H % b != 0 || W % b != 0)
            return refuse(why, cap, "height %lld and width %lld do not divide by blocksize %lld",
                          (long long)H, (long long)W, (long long)b);
        int64_t dims[6] = {N, b, b, C, H / b, W / b};
        int64_t strides[6] = {C * HW, W, 1, HW, b * W, b};
        memcpy(v->dims, dims, sizeof dims);
        memcpy(v->strides, strides, sizeof strides);
    }
    return 1;
}

static const char *const depth_to_space_ops[] = {"DepthToSpace", "SpaceToDepth", NULL};

static int space_supports(const weft_graph *g, const weft_node *n, const weft_device_info *d,
                          char *why, size_t cap)
{
    (void)d;
    view v;
    if (!check_tensors(g, n, 1, why, cap) || !space_geometry(g, n, &v, why, cap))
        return 0;
    view_collapse(&v);
    return view_check(&v, why, cap);
}

static weft_status space_prepare(weft_prepare *p)
{
    char why[256];
    view v;
    if (!space_geometry(p->graph, p->node, &v, why, sizeof why))
        return weft_node_fail(p->node, WEFT_ERR_GRAPH, "%s", why);
    return gather_prepare(p, &v);
}

const weft_op_impl weft_impl_depth_to_space = {
    .name = "depth_to_space",
    .ops = depth_to_space_ops,
    .supports = space_supports,
    .cost = bandwidth_cost,
    .prepare = space_prepare,
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

/* pads (attribute before opset 11, a constant input since: begins then
 * ends) over every axis or over the constant input 'axes' (opset 18). */
static int pad_geometry(const weft_graph *g, const weft_node *n, pad_view *pv, char *why,
                        size_t cap)
{
    const weft_value *x = weft_node_input(g, n, 0), *y = weft_node_output(g, n, 0);
    int rank = x->shape.rank;
    const char *mode;
    if (weft_node_attr_string(n, "mode", "constant", &mode) != WEFT_OK ||
        strcmp(mode, "constant") != 0)
        return refuse(why, cap, "only mode \"constant\" is supported");
    int_list pads, axes;
    if (!read_ints(g, n, "pads", 1, "pads", &pads, why, cap) ||
        !read_ints(g, n, NULL, 3, "axes", &axes, why, cap))
        return 0;
    int ax[WEFT_MAX_RANK];
    size_t count = axes.present ? axes.count : (size_t)rank;
    if (count > (size_t)rank)
        return refuse(why, cap, "input 'axes' has %zu values for rank %d", count, rank);
    if (!pads.present || pads.count != 2 * count)
        return refuse(why, cap, "'pads' is absent or has the wrong length");
    int64_t begin[WEFT_MAX_RANK] = {0}, end[WEFT_MAX_RANK] = {0};
    int seen[WEFT_MAX_RANK] = {0};
    for (size_t i = 0; i < count; i++) {
        int64_t a = axes.present ? axes.v[i] : (int64_t)i;
        if (a < -(int64_t)rank || a >= rank)
            return refuse(why, cap, "axis %lld is out of range for rank %d", (long long)a, rank);
        ax[i] = (int)(a < 0 ? a + rank : a);
        if (seen[ax[i]]++)
            return refuse(why, cap, "axis %d is padded twice", ax[i]);
        begin[ax[i]] = pads.v[i];
        end[ax[i]] = pads.v[i + count];
    }
    int64_t strides[WEFT_MAX_RANK];
    strides_of(&x->shape, strides);
    pv->rank = 0;
    for (int i = 0; i < rank; i++) {
        int64_t in = x->shape.dims[i], out = y->shape.dims[i];
        if (!fits_int32(begin[i]) || !fits_int32(end[i]) || in + begin[i] + end[i] != out)
            return refuse(why, cap, "pads %lld and %lld on axis %d do not give the output size %lld",
                          (long long)begin[i], (long long)end[i], i, (long long)out);
        if (in == 1 && out == 1 && begin[i] == 0)
            continue; /* untouched size-1 dim */
        int r = pv->rank;
        if (r > 0 && begin[i] == 0 && in == out && pv->stride[r - 1] == strides[i] * in) {
            /* An untouched inner dim folds into the dim before it. */
            pv->out[r - 1] *= out;
            pv->begin[r - 1] *= out;
            pv->in[r - 1] *= in;
            pv->stride[r - 1] = strides[i];
            continue;
        }
        pv->out[r] = out;
        pv->begin[r] = begin[i];
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
            return refuse(why, cap, "pads beyond 32-bit offsets");
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
        return refuse(why, cap, "input 'constant_value' is not one element of the data's type");
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
    weft_options o;
    weft_options_init(&o);
    weft_options_define(&o, "ELEM", elem_type(p->inputs[0].dtype));
    weft_options_define_int(&o, "RANK", r);
    if (st == WEFT_OK)
        st = weft_op_kernel(p, "movement", &o, "pad_constant", &s->kernel);
    if (st == WEFT_OK)
        s->local = pick_local(p, s->kernel);
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
    size_t global = round_up(s->n, s->local);
    return st != WEFT_OK ? st : weft_op_launch(r, s->kernel, 1, &global, &s->local);
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
