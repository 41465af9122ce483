/*
 * Reference of the convolution family and the dense layers: Conv and
 * ConvTranspose (N, C and 1 to 3 spatial axes), Gemm and MatMul. Float32
 * only; every sum is accumulated in double and rounded once at the store.
 *
 * Each op is its ONNX formula written as a gather: the loop runs over the
 * output elements, and each one sums the products that reach it, so every
 * output element is written exactly once. Index arithmetic goes through
 * multi-indices (ref_unravel/ref_ravel) for every product; nothing here is
 * meant to be fast.
 *
 * Attribute lists are read by the rules of shape inference
 * (graph/infer_util.h), but sizes are computed here, separately from it
 * (src/graph/infer_conv.c): the output shape this file computes is checked
 * against the one the caller allocated, so the two implementations of the
 * ONNX size rules check each other. Semantics (onnx.ai/onnx/operators):
 *  - Conv-22: output = floor((in + pad_begin + pad_end - dk) / stride) + 1
 *    with dk = (kernel - 1) * dilation + 1. auto_pad SAME_UPPER/SAME_LOWER
 *    give ceil(in / stride) outputs; the total padding that needs,
 *    max(0, (out - 1) * stride + dk - in), is split evenly, the odd one at
 *    the end for SAME_UPPER and at the beginning for SAME_LOWER. VALID is
 *    no padding.
 *  - ConvTranspose-22: W is [C, M / group, k...]; output = stride * (in - 1)
 *    + output_padding + dk - pad_begin - pad_end. When output_shape is
 *    given (or auto_pad is SAME_*, which asks for in * stride), the pads
 *    are generated from total = stride * (in - 1) + output_padding + dk -
 *    output: SAME_UPPER puts floor(total / 2) at the beginning, anything
 *    else total - floor(total / 2). total may be negative (an output_shape
 *    larger than the natural size: onnx-node-tests
 *    test_convtranspose_output_shape), hence floor division; the output
 *    positions no input reaches are then just the bias. A 'pads'
 *    attribute given beside output_shape is not used: the spec says the
 *    pads are generated then. (ONNX's Python reference evaluator,
 *    onnx/reference/ops/op_conv_transpose.py, differs from the spec text
 *    for auto_pad NOTSET with output_shape: it keeps the pads at 0, i.e.
 *    it crops or extends at the end only. The two agree whenever total
 *    is 0 or -1, as in every ONNX node test; weft follows the spec.)
 *  - Gemm-13: Y = alpha * A' * B' + beta * C, with A' = A^T when transA,
 *    B' = B^T when transB, C optional and unidirectionally broadcast to
 *    [M, N].
 *  - MatMul-13: numpy.matmul. A 1-D A is a row [1, K] and a 1-D B a
 *    column [K, 1], the added axis dropped from the result; the leading
 *    (batch) axes broadcast.
 */
#include <stdint.h>
#include <string.h>

#include "graph/infer_util.h"
#include "ref/ref_util.h"

/* Attribute values that size windows stay below this, so that the size
 * arithmetic on them cannot overflow int64. */
#define WINDOW_ATTR_MAX ((int64_t)INT32_MAX)

/* "[1,3,224,224]" usable inline as a printf argument: the text lives
 * until the end of the full expression. */
typedef struct conv_text {
    char s[8 + WEFT_MAX_RANK * 22];
} conv_text;

static conv_text shape_text(const weft_shape *shape)
{
    conv_text t;
    weft_shape_format(shape, t.s, sizeof t.s);
    return t;
}

/* ---- Attributes of Conv and ConvTranspose ------------------------------------ */

typedef enum conv_pad_mode { PAD_NOTSET, PAD_SAME_UPPER, PAD_SAME_LOWER, PAD_VALID } conv_pad_mode;

/* Everything a sliding window needs, per spatial axis. */
typedef struct conv_window {
    int spatial;
    int64_t group;
    conv_pad_mode mode;
    int64_t in[3];        /* input size */
    int64_t kernel[3];
    int64_t strides[3];
    int64_t dilations[3];
    int64_t pads[6];      /* the attribute: begins, then ends */
    int64_t pad_begin[3]; /* the padding in effect */
    int64_t out[3];       /* output size */
} conv_window;

/* An ints attribute of exactly `len` values, each in [lo, WINDOW_ATTR_MAX],
 * or `len` copies of `def` when absent. `unit` says what the values stand
 * for in messages. */
static weft_status read_ints(const weft_node *n, const char *name, size_t len, const char *unit,
                             int64_t def, int64_t lo, int64_t *out, int *present)
{
    return infer_attr_ints_fixed(n, name, len, unit, def, lo, WINDOW_ATTR_MAX, out, present);
}

/* Checks the types and ranks of X, W and the optional B of a Conv or
 * ConvTranspose and reads the attributes both share: group, kernel_shape
 * (which must agree with W), strides, dilations, pads and auto_pad; and
 * that group divides X's channels. W's channel counts differ between the
 * two ops and are checked by each. */
static weft_status conv_common(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                               conv_window *w)
{
    weft_status st;
    memset(w, 0, sizeof *w);
    if ((st = ref_require_input(n, in, in_count, 0, "X")) != WEFT_OK ||
        (st = ref_require_float(n, in, 0, "X")) != WEFT_OK ||
        (st = ref_require_input(n, in, in_count, 1, "W")) != WEFT_OK ||
        (st = ref_require_float(n, in, 1, "W")) != WEFT_OK)
        return st;
    if (ref_present(in, in_count, 2) &&
        ((st = ref_require_input(n, in, in_count, 2, "B")) != WEFT_OK ||
         (st = ref_require_float(n, in, 2, "B")) != WEFT_OK))
        return st;
    const weft_shape *xs = &in[0].shape, *ws = &in[1].shape;
    if (xs->rank < 3)
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "input 'X' has shape %s; %s needs N, C and 1 to 3 spatial axes",
                              shape_text(xs).s, n->op);
    if (xs->rank > 5)
        return weft_node_fail(n, WEFT_ERR_UNSUPPORTED,
                              "input 'X' has %d spatial axes; the reference runs %s with 1 to 3",
                              xs->rank - 2, n->op);
    if (ws->rank != xs->rank)
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "input 'W' has shape %s; with X %s it needs rank %d",
                              shape_text(ws).s, shape_text(xs).s, xs->rank);
    w->spatial = xs->rank - 2;
    size_t sp = (size_t)w->spatial;
    if ((st = weft_node_attr_int(n, "group", 1, &w->group)) != WEFT_OK)
        return st;
    if (w->group < 1 || w->group > WINDOW_ATTR_MAX)
        return weft_node_fail(n, WEFT_ERR_GRAPH,
                              "attribute 'group' = %lld is out of range [1, %lld]",
                              (long long)w->group, (long long)WINDOW_ATTR_MAX);
    int64_t ks[3];
    int ks_given;
    if ((st = read_ints(n, "kernel_shape", sp, "one per spatial axis", 1, 1, ks, &ks_given)) !=
        WEFT_OK)
        return st;
    for (size_t i = 0; i < sp; i++) {
        w->in[i] = xs->dims[2 + i];
        w->kernel[i] = ws->dims[2 + i];
        if (w->kernel[i] < 1 || w->kernel[i] > WINDOW_ATTR_MAX)
            return weft_node_fail(n, WEFT_ERR_SHAPE,
                                  "input 'W' of shape %s has a kernel size of %lld",
                                  shape_text(ws).s, (long long)w->kernel[i]);
        if (ks_given && ks[i] != w->kernel[i])
            return weft_node_fail(n, WEFT_ERR_SHAPE,
                                  "attribute 'kernel_shape'[%zu] = %lld but W of shape %s has a "
                                  "kernel of %lld there",
                                  i, (long long)ks[i], shape_text(ws).s, (long long)w->kernel[i]);
    }
    int pads_given;
    const char *mode;
    if ((st = read_ints(n, "strides", sp, "one per spatial axis", 1, 1, w->strides, NULL)) !=
            WEFT_OK ||
        (st = read_ints(n, "dilations", sp, "one per spatial axis", 1, 1, w->dilations, NULL)) !=
            WEFT_OK ||
        (st = read_ints(n, "pads", 2 * sp, "a begin and an end per spatial axis", 0, 0, w->pads,
                        &pads_given)) != WEFT_OK ||
        (st = weft_node_attr_string(n, "auto_pad", "NOTSET", &mode)) != WEFT_OK)
        return st;
    if (strcmp(mode, "NOTSET") == 0)
        w->mode = PAD_NOTSET;
    else if (strcmp(mode, "SAME_UPPER") == 0)
        w->mode = PAD_SAME_UPPER;
    else if (strcmp(mode, "SAME_LOWER") == 0)
        w->mode = PAD_SAME_LOWER;
    else if (strcmp(mode, "VALID") == 0)
        w->mode = PAD_VALID;
    else
        return weft_node_fail(n, WEFT_ERR_GRAPH,
                              "attribute 'auto_pad' = \"%s\" is not one of NOTSET, SAME_UPPER, "
                              "SAME_LOWER, VALID",
                              mode);
    if (w->mode != PAD_NOTSET && pads_given)
        for (size_t i = 0; i < 2 * sp; i++)
            if (w->pads[i] != 0)
                return weft_node_fail(n, WEFT_ERR_GRAPH,
                                      "attribute 'pads' cannot be used with attribute 'auto_pad' "
                                      "= \"%s\"",
                                      mode);
    if (in[0].shape.dims[1] % w->group != 0)
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "attribute 'group' = %lld does not divide the %lld channels of X",
                              (long long)w->group, (long long)in[0].shape.dims[1]);
    return WEFT_OK;
}

/* Optional B: [m], one per output channel. */
static weft_status check_bias(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                              int64_t m)
{
    if (!ref_present(in, in_count, 2))
        return WEFT_OK;
    const weft_shape *bs = &in[2].shape;
    if (bs->rank != 1 || bs->dims[0] != m)
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "input 'B' has shape %s, expected [%lld] (one per output channel)",
                              shape_text(bs).s, (long long)m);
    return WEFT_OK;
}

/* The dilated kernel extent of axis i. */
static int64_t dilated(const conv_window *w, int i)
{
    return (w->kernel[i] - 1) * w->dilations[i] + 1;
}

/* ---- Conv ----------------------------------------------------------------------- */

/* Pads in effect and output size of each axis of a Conv. */
static weft_status conv_sizes(const weft_node *n, conv_window *w)
{
    for (int i = 0; i < w->spatial; i++) {
        int64_t in = w->in[i], s = w->strides[i], dk = dilated(w, i), begin, end;
        if (w->mode == PAD_SAME_UPPER || w->mode == PAD_SAME_LOWER) {
            /* ceil(in / stride) outputs, padded as little as that needs */
            int64_t out = (in + s - 1) / s;
            int64_t total = (out - 1) * s + dk - in;
            if (total < 0)
                total = 0;
            begin = w->mode == PAD_SAME_UPPER ? total / 2 : total - total / 2;
            w->pad_begin[i] = begin;
            w->out[i] = out;
            continue;
        }
        begin = w->mode == PAD_VALID ? 0 : w->pads[i];
        end = w->mode == PAD_VALID ? 0 : w->pads[i + w->spatial];
        if (in + begin + end < dk)
            return weft_node_fail(n, WEFT_ERR_SHAPE,
                                  "on spatial axis %d the kernel spans %lld (kernel %lld, "
                                  "attribute 'dilations' %lld), more than the padded input: %lld "
                                  "(size %lld, attribute 'pads' %lld + %lld)",
                                  i, (long long)dk, (long long)w->kernel[i],
                                  (long long)w->dilations[i], (long long)(in + begin + end),
                                  (long long)in, (long long)begin, (long long)end);
        w->pad_begin[i] = begin;
        w->out[i] = (in + begin + end - dk) / s + 1;
    }
    return WEFT_OK;
}

/* Y's shape [N, m, out...] into want, checked against the caller's Y. */
static weft_status conv_output(const weft_node *n, const weft_shape *xs, const conv_window *w,
                               int64_t m, const weft_host_tensor *out, size_t out_count,
                               weft_shape *want)
{
    *want = (weft_shape){.rank = xs->rank, .dims = {xs->dims[0], m}};
    for (int i = 0; i < w->spatial; i++)
        want->dims[2 + i] = w->out[i];
    return ref_check_output(n, out, out_count, 0, WEFT_FLOAT32, want);
}

/* Where kernel offset k of output position o reads X on spatial axis a,
 * into *i; 0 when that is outside X. Conv reads i = o*stride - pad_begin
 * + k*dilation; ConvTranspose, whose input position i writes there,
 * reads i = (o + pad_begin - k*dilation) / stride when that divides. */
static int tap_input(const conv_window *w, int transposed, int a, int64_t o, int64_t k,
                     int64_t *i)
{
    if (!transposed) {
        *i = o * w->strides[a] - w->pad_begin[a] + k * w->dilations[a];
        return *i >= 0 && *i < w->in[a];
    }
    int64_t pos = o + w->pad_begin[a] - k * w->dilations[a];
    *i = pos >= 0 && pos % w->strides[a] == 0 ? pos / w->strides[a] : 0;
    return pos >= 0 && pos % w->strides[a] == 0 && *i < w->in[a];
}

/* The gather of both ops: Y[e] = the sum over the cg channels of its
 * group and the kernel offsets of X * W at the taps inside X, + B[m], +
 * the residual res[e] when given. Conv's W is [M, C/group, k...],
 * ConvTranspose's [C, M/group, k...] (mg output channels per group). */
static void conv_gather(const conv_window *w, int transposed, const weft_host_tensor *in,
                        size_t in_count, const float *res, const weft_shape *want, int64_t cg,
                        int64_t mg, float *y)
{
    const weft_shape *xs = &in[0].shape, *ws = &in[1].shape;
    const float *x = in[0].data, *wt = in[1].data;
    const float *bias = ref_present(in, in_count, 2) ? in[2].data : NULL;
    weft_shape kshape = {.rank = w->spatial};
    for (int i = 0; i < w->spatial; i++)
        kshape.dims[i] = w->kernel[i];
    int64_t count = weft_shape_numel(want), taps = weft_shape_numel(&kshape);
    for (int64_t e = 0; e < count; e++) {
        int64_t yi[WEFT_MAX_RANK], ki[WEFT_MAX_RANK];
        ref_unravel(want, e, yi);
        int64_t mo = yi[1], g = mo / mg;
        double acc = 0.0;
        for (int64_t cl = 0; cl < cg; cl++) {
            for (int64_t t = 0; t < taps; t++) {
                ref_unravel(&kshape, t, ki);
                int64_t xi[WEFT_MAX_RANK] = {yi[0], g * cg + cl};
                int64_t wi[WEFT_MAX_RANK] = {transposed ? g * cg + cl : mo,
                                             transposed ? mo % mg : cl};
                int inside = 1;
                for (int a = 0; a < w->spatial; a++) {
                    inside = tap_input(w, transposed, a, yi[2 + a], ki[a], &xi[2 + a]) && inside;
                    wi[2 + a] = ki[a];
                }
                if (inside)
                    acc += (double)x[ref_ravel(xs, xi)] * (double)wt[ref_ravel(ws, wi)];
            }
        }
        /* A sum that starts at +0 is never -0: an absent term's + 0.0 changes nothing. */
        y[e] = (float)(acc + (bias ? (double)bias[mo] : 0.0) + (res ? (double)res[e] : 0.0));
    }
}

/* Y[b, m, o...] = B[m] + sum over the C/group channels c of m's group and
 * the kernel offsets k of W[m, c, k...] * X[b, g*C/group + c, o*stride -
 * pad_begin + k*dilation...], positions outside X reading 0; plus R[b, m, o...]
 * when the internal input 3 is given. */
weft_status weft_ref_conv(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                          weft_host_tensor *out, size_t out_count)
{
    conv_window w;
    weft_status st = conv_common(n, in, in_count, &w);
    if (st != WEFT_OK)
        return st;
    const weft_shape *xs = &in[0].shape, *ws = &in[1].shape;
    int64_t c = xs->dims[1], m = ws->dims[0];
    if (m % w.group != 0)
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "attribute 'group' = %lld does not divide the %lld output channels "
                              "of W %s",
                              (long long)w.group, (long long)m, shape_text(ws).s);
    int64_t cg = c / w.group, mg = m / w.group;
    if (ws->dims[1] != cg)
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "input 'W' of shape %s takes %lld channels per group, but X has "
                              "%lld channels in %lld groups (attribute 'group'): expected %lld",
                              shape_text(ws).s, (long long)ws->dims[1], (long long)c,
                              (long long)w.group, (long long)cg);
    if ((st = check_bias(n, in, in_count, m)) != WEFT_OK || (st = conv_sizes(n, &w)) != WEFT_OK)
        return st;
    weft_shape want;
    if ((st = conv_output(n, xs, &w, m, out, out_count, &want)) != WEFT_OK)
        return st;

    /* Input 3: the residual of a fused Add (src/graph/pass_fuse_residual.c),
     * shaped like Y, added after the bias; ref.c applies the fused
     * activation afterwards. */
    const float *res = NULL;
    if (ref_present(in, in_count, 3)) {
        if (in[3].dtype != WEFT_FLOAT32 || !weft_shape_equal(&in[3].shape, &want))
            return weft_node_fail(n, WEFT_ERR_SHAPE,
                                  "input 3 (the fused residual) has shape %s, expected float32 "
                                  "%s",
                                  shape_text(&in[3].shape).s, shape_text(&want).s);
        res = in[3].data;
    }
    conv_gather(&w, 0, in, in_count, res, &want, cg, mg, out[0].data);
    return WEFT_OK;
}

/* ---- ConvTranspose ------------------------------------------------------------ */

/* Pads in effect and output size of each axis of a ConvTranspose. */
static weft_status conv_transpose_sizes(const weft_node *n, conv_window *w)
{
    size_t sp = (size_t)w->spatial;
    int64_t out_pad[3];
    const int64_t *os;
    size_t os_count;
    weft_status st = read_ints(n, "output_padding", sp, "one per spatial axis", 0, 0, out_pad,
                               NULL);
    if (st == WEFT_OK)
        st = weft_node_attr_ints(n, "output_shape", &os, &os_count);
    if (st != WEFT_OK)
        return st;
    /* output_shape: the spatial sizes, or (older exporters) the whole
     * output shape, of which the spatial part counts. */
    if (os && os_count != sp && os_count != sp + 2)
        return weft_node_fail(n, WEFT_ERR_GRAPH,
                              "attribute 'output_shape' has %zu values, expected %zu (one per "
                              "spatial axis)",
                              os_count, sp);
    if (os)
        os += os_count - sp;
    for (size_t i = 0; i < sp; i++) {
        int64_t in = w->in[i], s = w->strides[i], dk = dilated(w, (int)i);
        if (in < 1 && !os)
            return weft_node_fail(n, WEFT_ERR_SHAPE,
                                  "input 'X' is empty on spatial axis %zu and attribute "
                                  "'output_shape' is not given",
                                  i);
        /* the size with no padding at all */
        int64_t full = s * (in - 1) + out_pad[i] + dk;
        if (os || w->mode == PAD_SAME_UPPER || w->mode == PAD_SAME_LOWER) {
            int64_t o = os ? os[i] : in * s;
            if (os && (os[i] < 1 || os[i] > WINDOW_ATTR_MAX))
                return weft_node_fail(n, WEFT_ERR_GRAPH,
                                      "attribute 'output_shape' = %lld on spatial axis %zu is out "
                                      "of range [1, %lld]",
                                      (long long)os[i], i, (long long)WINDOW_ATTR_MAX);
            int64_t total = full - o;
            w->pad_begin[i] = w->mode == PAD_SAME_UPPER ? infer_floor_div(total, 2)
                                                        : total - infer_floor_div(total, 2);
            w->out[i] = o;
            continue;
        }
        int64_t begin = w->mode == PAD_VALID ? 0 : w->pads[i];
        int64_t end = w->mode == PAD_VALID ? 0 : w->pads[i + sp];
        if (full - begin - end < 1)
            return weft_node_fail(n, WEFT_ERR_SHAPE,
                                  "on spatial axis %zu attribute 'pads' (%lld + %lld) remove the "
                                  "whole output (%lld before padding)",
                                  i, (long long)begin, (long long)end, (long long)full);
        w->pad_begin[i] = begin;
        w->out[i] = full - begin - end;
    }
    return WEFT_OK;
}

/* Input position i with kernel offset k lands on output position
 * i*stride - pad_begin + k*dilation. Gathered per output position o: the
 * sum over channels c of o's group and offsets k with
 * t = o + pad_begin - k*dilation a multiple of the stride and t/stride
 * inside X, of X[b, c, t/stride...] * W[c, m mod (M/group), k...]. */
weft_status weft_ref_conv_transpose(const weft_node *n, const weft_host_tensor *in,
                                    size_t in_count, weft_host_tensor *out, size_t out_count)
{
    conv_window w;
    weft_status st = conv_common(n, in, in_count, &w);
    if (st != WEFT_OK)
        return st;
    const weft_shape *xs = &in[0].shape, *ws = &in[1].shape;
    int64_t c = xs->dims[1], mg = ws->dims[1];
    if (ws->dims[0] != c)
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "input 'W' of shape %s has %lld input channels but X %s has %lld "
                              "(ConvTranspose weights are [C, M/group, k...])",
                              shape_text(ws).s, (long long)ws->dims[0], shape_text(xs).s,
                              (long long)c);
    if (mg > WINDOW_ATTR_MAX)
        return weft_node_fail(n, WEFT_ERR_SHAPE, "input 'W' of shape %s has too many channels",
                              shape_text(ws).s);
    int64_t cg = c / w.group, m = mg * w.group;
    if ((st = check_bias(n, in, in_count, m)) != WEFT_OK ||
        (st = conv_transpose_sizes(n, &w)) != WEFT_OK)
        return st;
    weft_shape want;
    if ((st = conv_output(n, xs, &w, m, out, out_count, &want)) != WEFT_OK)
        return st;

    conv_gather(&w, 1, in, in_count, NULL, &want, cg, mg, out[0].data);
    return WEFT_OK;
}

/* ---- Gemm and MatMul ------------------------------------------------------------ */

/* Input i (ONNX name `what`) of a dense op: float32. ONNX also defines
 * them on integers; the reference does not run those. */
static weft_status dense_input(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                               size_t i, const char *what)
{
    weft_status st = ref_require_input(n, in, in_count, i, what);
    if (st != WEFT_OK)
        return st;
    if (in[i].dtype != WEFT_FLOAT32)
        return weft_node_fail(n, WEFT_ERR_UNSUPPORTED,
                              "input %zu ('%s') is %s; the reference runs %s on float32 only", i,
                              what, weft_dtype_name(in[i].dtype), n->op);
    return WEFT_OK;
}

/* Y[i, j] = alpha * sum_k A'[i, k] * B'[k, j] + beta * C[i, j]. */
weft_status weft_ref_gemm(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                          weft_host_tensor *out, size_t out_count)
{
    int has_c = ref_present(in, in_count, 2);
    int64_t ta, tb;
    float alpha, beta;
    weft_status st;
    if ((st = dense_input(n, in, in_count, 0, "A")) != WEFT_OK ||
        (st = dense_input(n, in, in_count, 1, "B")) != WEFT_OK ||
        (has_c && (st = dense_input(n, in, in_count, 2, "C")) != WEFT_OK) ||
        (st = weft_node_attr_int(n, "transA", 0, &ta)) != WEFT_OK ||
        (st = weft_node_attr_int(n, "transB", 0, &tb)) != WEFT_OK ||
        (st = weft_node_attr_float(n, "alpha", 1.0f, &alpha)) != WEFT_OK ||
        (st = weft_node_attr_float(n, "beta", 1.0f, &beta)) != WEFT_OK)
        return st;
    if (ta != 0 && ta != 1)
        return weft_node_fail(n, WEFT_ERR_GRAPH, "attribute 'transA' = %lld must be 0 or 1",
                              (long long)ta);
    if (tb != 0 && tb != 1)
        return weft_node_fail(n, WEFT_ERR_GRAPH, "attribute 'transB' = %lld must be 0 or 1",
                              (long long)tb);
    const weft_shape *as = &in[0].shape, *bs = &in[1].shape;
    if (as->rank != 2 || bs->rank != 2)
        return weft_node_fail(n, WEFT_ERR_SHAPE, "inputs 'A' %s and 'B' %s must both be matrices",
                              shape_text(as).s, shape_text(bs).s);
    int64_t m = as->dims[ta ? 1 : 0], k = as->dims[ta ? 0 : 1];
    int64_t kb = bs->dims[tb ? 1 : 0], nn = bs->dims[tb ? 0 : 1];
    if (k != kb)
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "inner dimensions differ: A %s gives K = %lld (attribute 'transA' = "
                              "%lld), B %s gives K = %lld (attribute 'transB' = %lld)",
                              shape_text(as).s, (long long)k, (long long)ta, shape_text(bs).s,
                              (long long)kb, (long long)tb);
    weft_shape want = {.rank = 2, .dims = {m, nn}};
    if (has_c) {
        /* unidirectional: C's dims line up with [M, N] from the right and
         * are each 1 or equal */
        const weft_shape *cs = &in[2].shape;
        int fits = cs->rank <= 2;
        for (int d = 0; d < cs->rank && fits; d++)
            fits = cs->dims[d] == 1 || cs->dims[d] == want.dims[2 - cs->rank + d];
        if (!fits)
            return weft_node_fail(n, WEFT_ERR_SHAPE,
                                  "input 'C' of shape %s does not broadcast to the output %s",
                                  shape_text(cs).s, shape_text(&want).s);
    }
    if ((st = ref_check_output(n, out, out_count, 0, WEFT_FLOAT32, &want)) != WEFT_OK)
        return st;

    const float *a = in[0].data, *b = in[1].data, *cv = has_c ? in[2].data : NULL;
    float *y = out[0].data;
    for (int64_t i = 0; i < m; i++) {
        for (int64_t j = 0; j < nn; j++) {
            double acc = 0.0;
            for (int64_t p = 0; p < k; p++) {
                /* A is [M, K], or [K, M] when transposed; B likewise */
                double av = a[ta ? p * m + i : i * k + p];
                double bv = b[tb ? j * k + p : p * nn + j];
                acc += av * bv;
            }
            double r = (double)alpha * acc;
            if (cv) {
                int64_t idx[2] = {i, j};
                r += (double)beta * (double)cv[ref_broadcast_index(&in[2].shape, 2, idx)];
            }
            y[i * nn + j] = (float)r;
        }
    }
    return WEFT_OK;
}

/* numpy.matmul: over the broadcast batch, Y[..., i, j] = sum_k A[..., i, k]
 * * B[..., k, j], with 1-D operands promoted to matrices and the added axis
 * dropped. */
weft_status weft_ref_matmul(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                            weft_host_tensor *out, size_t out_count)
{
    weft_status st;
    if ((st = dense_input(n, in, in_count, 0, "A")) != WEFT_OK ||
        (st = dense_input(n, in, in_count, 1, "B")) != WEFT_OK)
        return st;
    const weft_shape *as = &in[0].shape, *bs = &in[1].shape;
    if (as->rank == 0 || bs->rank == 0)
        return weft_node_fail(n, WEFT_ERR_SHAPE, "input '%s' is a scalar; MatMul needs rank >= 1",
                              as->rank == 0 ? "A" : "B");
    /* the operands as (batch..., rows, cols) */
    weft_shape sa = *as, sb = *bs;
    if (sa.rank == 1) {
        sa = (weft_shape){.rank = 2, .dims = {1, as->dims[0]}};
    }
    if (sb.rank == 1) {
        sb = (weft_shape){.rank = 2, .dims = {bs->dims[0], 1}};
    }
    int64_t m = sa.dims[sa.rank - 2], k = sa.dims[sa.rank - 1];
    int64_t kb = sb.dims[sb.rank - 2], nn = sb.dims[sb.rank - 1];
    if (k != kb)
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "inner dimensions differ: A %s has K = %lld, B %s has K = %lld",
                              shape_text(as).s, (long long)k, shape_text(bs).s, (long long)kb);
    weft_shape batch_a = {.rank = sa.rank - 2}, batch_b = {.rank = sb.rank - 2}, batch;
    memcpy(batch_a.dims, sa.dims, sizeof(int64_t) * (size_t)batch_a.rank);
    memcpy(batch_b.dims, sb.dims, sizeof(int64_t) * (size_t)batch_b.rank);
    if (weft_shape_broadcast(&batch_a, &batch_b, &batch) != WEFT_OK)
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "the batch dimensions of A %s and B %s do not broadcast",
                              shape_text(as).s, shape_text(bs).s);
    /* full: batch + [M, N]; want: without the axes 1-D operands added (the
     * same elements in the same order) */
    weft_shape full = batch, want = batch;
    full.dims[full.rank++] = m;
    full.dims[full.rank++] = nn;
    if (as->rank > 1)
        want.dims[want.rank++] = m;
    if (bs->rank > 1)
        want.dims[want.rank++] = nn;
    if ((st = ref_check_output(n, out, out_count, 0, WEFT_FLOAT32, &want)) != WEFT_OK)
        return st;

    const float *a = in[0].data, *b = in[1].data;
    float *y = out[0].data;
    int64_t count = weft_shape_numel(&full);
    for (int64_t e = 0; e < count; e++) {
        int64_t idx[WEFT_MAX_RANK];
        ref_unravel(&full, e, idx);
        int64_t i = idx[batch.rank], j = idx[batch.rank + 1];
        /* the matrices of A and B paired with this batch index */
        int64_t a0 = ref_broadcast_index(&batch_a, batch.rank, idx) * m * k;
        int64_t b0 = ref_broadcast_index(&batch_b, batch.rank, idx) * k * nn;
        double acc = 0.0;
        for (int64_t p = 0; p < k; p++)
            acc += (double)a[a0 + i * k + p] * (double)b[b0 + p * nn + j];
        y[e] = (float)acc;
    }
    return WEFT_OK;
}
