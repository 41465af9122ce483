/*
 * Conv and ConvTranspose geometry for the kernels (see conv_geom.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/infer_util.h"
#include "ops/conv_geom.h"
#include "ops/gemm_engine.h"

int conv_cpu_class(const weft_device_info *d)
{
    return d && d->type == WEFT_DEVICE_CPU;
}

static int read_epilogue(const weft_node *n, conv_epilogue *e, char *why, size_t cap)
{
    weft_gemm_act act;
    memset(e, 0, sizeof *e);
    if (!weft_fused_activation(n, &act, &e->alpha, &e->beta, why, cap))
        return 0;
    e->act = (int)act; /* the same codes (checked in conv_gemm.c) */
    return 1;
}

/* A float constant; C's "inf" is not an OpenCL C literal. */
static void define_float(weft_options *o, const char *name, float v)
{
    if (isinf(v))
        weft_options_define(o, name, v > 0 ? "INFINITY" : "(-INFINITY)");
    else
        weft_options_define_float(o, name, v);
}

void conv_epilogue_options(const conv_epilogue *e, weft_options *o)
{
    weft_options_define_int(o, "ACT", e->act);
    if (e->act == CONV_ACT_LEAKY_RELU || e->act == CONV_ACT_CLIP)
        define_float(o, "ACT_ALPHA", e->alpha);
    if (e->act == CONV_ACT_CLIP)
        define_float(o, "ACT_BETA", e->beta);
    if (e->residual)
        weft_options_define_int(o, "RESID", 1);
}

/* Input 3, the fused residual (conv_geom.h): float32 of Y's shape. */
static int read_residual(const weft_graph *g, const weft_node *n, const weft_shape *ys,
                         conv_epilogue *e, char *why, size_t cap)
{
    const weft_value *r = weft_node_input(g, n, 3);
    if (!r)
        return 1;
    if (r->dtype != WEFT_FLOAT32 || !r->shape_known || !weft_shape_equal(&r->shape, ys))
        return weft_op_refuse(why, cap, "the fused residual (input 3) must be float32 of Y's shape %s",
                           weft_shape_str(ys).s);
    e->residual = 1;
    return 1;
}

/* ConvTranspose's output size and beginning pad on one axis, the rules of
 * ConvTranspose-22 (see src/ref/ref_conv.c): pads generated from
 * output_shape or SAME_*, else the attribute's. */
static void transpose_axis(const infer_window *w, int i, int64_t in, int64_t out_pad,
                           const int64_t *os, int64_t *out, int64_t *begin)
{
    int64_t s = w->strides[i], dk = (w->kernel[i] - 1) * w->dilations[i] + 1;
    int64_t full = s * (in - 1) + out_pad + dk;
    if (os || w->auto_pad == INFER_PAD_SAME_UPPER || w->auto_pad == INFER_PAD_SAME_LOWER) {
        *out = os ? os[i] : in * s;
        int64_t total = full - *out;
        *begin = w->auto_pad == INFER_PAD_SAME_UPPER ? infer_floor_div(total, 2)
                                                     : total - infer_floor_div(total, 2);
        return;
    }
    int valid = w->auto_pad == INFER_PAD_VALID;
    *begin = valid ? 0 : w->pads[i];
    *out = full - *begin - (valid ? 0 : w->pads[i + w->spatial]);
}

int conv_geom_read(const weft_graph *g, const weft_node *n, conv_geom *geo, char *why,
                   size_t cap)
{
    memset(geo, 0, sizeof *geo);
    const weft_value *x = weft_node_input(g, n, 0), *wt = weft_node_input(g, n, 1);
    const weft_value *y = weft_node_output(g, n, 0);
    if (!x || !wt || !y || !x->shape_known || !wt->shape_known || !y->shape_known)
        return weft_op_refuse(why, cap, "the shapes of X, W and Y must be known");
    const weft_shape *xs = &x->shape, *ws = &wt->shape, *ys = &y->shape;
    if (xs->rank < 3 || xs->rank > 5 || ws->rank != xs->rank || ys->rank != xs->rank)
        return weft_op_refuse(why, cap, "X %s, W %s and Y %s need N, C and 1 to 3 spatial axes",
                           weft_shape_str(xs).s, weft_shape_str(ws).s, weft_shape_str(ys).s);
    geo->transpose = strcmp(n->op, "ConvTranspose") == 0;
    geo->spatial = xs->rank - 2;
    geo->has_bias = weft_node_input(g, n, 2) != NULL;
    infer_window w = {.spatial = geo->spatial};
    int64_t group;
    const weft_attr *ga = weft_node_attr(n, "group");
    group = ga && ga->type == WEFT_ATTR_INT ? ga->i : 1;
    /* Validated graphs have these right; a node that was not validated is
     * refused here rather than reported. */
    if (group < 1 || group > INFER_ATTR_MAX || xs->dims[1] % group != 0)
        return weft_op_refuse(why, cap, "attribute 'group' does not divide the channels");
    for (int i = 0; i < geo->spatial; i++)
        w.kernel[i] = ws->dims[2 + i];
    if (infer_window_attrs(n, 1, &w) != WEFT_OK)
        return weft_op_refuse(why, cap, "malformed window attributes: %s", weft_last_error());
    geo->n = xs->dims[0];
    geo->c = xs->dims[1];
    geo->group = group;
    geo->cg = geo->c / group;
    geo->mg = geo->transpose ? ws->dims[1] : ws->dims[0] / group;
    geo->m = geo->mg * group;
    if ((geo->transpose ? ws->dims[0] != geo->c : ws->dims[1] != geo->cg) ||
        ys->dims[0] != geo->n || ys->dims[1] != geo->m)
        return weft_op_refuse(why, cap, "W %s does not fit X %s and Y %s with %lld groups",
                           weft_shape_str(ws).s, weft_shape_str(xs).s, weft_shape_str(ys).s,
                           (long long)group);
    const int64_t *os = NULL;
    int64_t out_pad[3] = {0, 0, 0};
    if (geo->transpose) {
        size_t os_count = 0;
        if (weft_node_attr_ints(n, "output_shape", &os, &os_count) != WEFT_OK ||
            infer_attr_ints_fixed(n, "output_padding", (size_t)geo->spatial, "", 0, 0,
                                  INFER_ATTR_MAX, out_pad, NULL) != WEFT_OK ||
            (os && os_count != (size_t)geo->spatial && os_count != (size_t)geo->spatial + 2))
            return weft_op_refuse(why, cap, "malformed 'output_shape' or 'output_padding'");
        if (os)
            os += os_count - (size_t)geo->spatial;
    }
    int lead = 3 - geo->spatial;
    for (int v = 0; v < 3; v++) {
        geo->in[v] = geo->out[v] = geo->k[v] = geo->s[v] = geo->d[v] = 1;
        geo->pad[v] = geo->pad_end[v] = 0;
    }
    for (int i = 0; i < geo->spatial; i++) {
        int v = lead + i;
        int64_t in = xs->dims[2 + i], out = 0, begin = 0;
        geo->in[v] = in;
        geo->k[v] = w.kernel[i];
        geo->s[v] = w.strides[i];
        geo->d[v] = w.dilations[i];
        int64_t dk = (w.kernel[i] - 1) * w.dilations[i] + 1;
        if (geo->transpose) {
            transpose_axis(&w, i, in, out_pad[i], os, &out, &begin);
        } else {
            if (infer_window_out(n, &w, i, in, 0, &out) != WEFT_OK)
                return weft_op_refuse(why, cap, "%s", weft_last_error());
            if (w.auto_pad == INFER_PAD_SAME_UPPER || w.auto_pad == INFER_PAD_SAME_LOWER) {
                /* the least total padding giving ceil(in / s) outputs, the
                 * odd one at the end (UPPER) or at the beginning (LOWER) */
                int64_t total = (out - 1) * w.strides[i] + dk - in;
                total = total > 0 ? total : 0;
                begin = w.auto_pad == INFER_PAD_SAME_UPPER ? total / 2 : total - total / 2;
            } else {
                begin = w.auto_pad == INFER_PAD_VALID ? 0 : w.pads[i];
            }
            /* what the last window reaches past the input */
            int64_t end = (out - 1) * w.strides[i] + dk - in - begin;
            geo->pad_end[v] = end > 0 ? end : 0;
        }
        geo->out[v] = out;
        geo->pad[v] = begin;
        if (out != ys->dims[2 + i])
            return weft_op_refuse(why, cap, "output shape %s disagrees with the window geometry "
                               "(%lld on spatial axis %d)",
                               weft_shape_str(ys).s, (long long)out, i);
        if (in > INT32_MAX / 4 || out > INT32_MAX / 4 || dk > INT32_MAX / 4 ||
            begin > INT32_MAX / 4 || begin < -(INT32_MAX / 4) || out * w.strides[i] > INT32_MAX / 4)
            return weft_op_refuse(why, cap, "extents above 2^29 on spatial axis %d", i);
    }
    int64_t xe = weft_shape_numel(xs), we = weft_shape_numel(ws), ye = weft_shape_numel(ys);
    if (xe < 0 || xe > INT32_MAX || we < 0 || we > INT32_MAX || ye < 0 || ye > INT32_MAX)
        return weft_op_refuse(why, cap, "tensors above 2^31 - 1 elements");
    return read_epilogue(n, &geo->epi, why, cap) && read_residual(g, n, ys, &geo->epi, why, cap);
}

int64_t conv_geom_taps(const conv_geom *geo)
{
    return geo->k[0] * geo->k[1] * geo->k[2];
}

double conv_geom_macs(const conv_geom *geo)
{
    double pixels = (double)(geo->transpose ? geo->in[0] * geo->in[1] * geo->in[2]
                                            : geo->out[0] * geo->out[1] * geo->out[2]);
    return (double)geo->n * (double)geo->m * pixels * (double)geo->cg *
           (double)conv_geom_taps(geo);
}

int conv_geom_window_args(const conv_geom *geo, cl_int v[18])
{
    const int64_t *const parts[] = {geo->in, geo->out, geo->k, geo->s, geo->d, geo->pad};
    int a = 0;
    for (int p = 0; p < 6; p++)
        for (int i = 0; i < 3; i++)
            v[a++] = (cl_int)parts[p][i];
    return a;
}

weft_status conv_prepare_state(weft_prepare *p, size_t size, size_t geo_offset)
{
    const weft_node *n = p->node;
    char *s = calloc(1, size);
    if (!s)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for node '%s'", n->name);
    p->state = s;
    char why[256];
    if (!conv_geom_read(p->graph, n, (conv_geom *)(s + geo_offset), why, sizeof why))
        return weft_node_fail(n, WEFT_ERR_GRAPH, "%s", why);
    if (!p->inputs[1].host)
        return weft_node_fail(n, WEFT_ERR_UNSUPPORTED, "W must be a constant");
    p->host_only |= 1u << 1; /* every conv implementation packs W */
    return WEFT_OK;
}

int conv_supports_common(const weft_graph *g, const weft_node *n, conv_geom *geo, char *why,
                         size_t cap)
{
    const weft_value *x = weft_node_input(g, n, 0), *wt = weft_node_input(g, n, 1);
    const weft_value *b = weft_node_input(g, n, 2), *y = weft_node_output(g, n, 0);
    if (!x || !wt || !y || x->dtype != WEFT_FLOAT32 || wt->dtype != WEFT_FLOAT32 ||
        (b && b->dtype != WEFT_FLOAT32))
        return weft_op_refuse(why, cap, "only float32 X, W and B are supported");
    if (wt->kind != WEFT_VALUE_CONSTANT || !wt->data || (b && (b->kind != WEFT_VALUE_CONSTANT ||
                                                               !b->data)))
        return weft_op_refuse(why, cap, "W and B must be constants (they are packed once)");
    return conv_geom_read(g, n, geo, why, cap);
}

weft_status conv_pack_alloc(const weft_prepare *p, size_t wcount, size_t bcount, float **wp,
                            float **bp)
{
    *wp = calloc(wcount ? wcount : 1, sizeof **wp);
    *bp = calloc(bcount ? bcount : 1, sizeof **bp);
    if (*wp && *bp)
        return WEFT_OK;
    free(*wp);
    free(*bp);
    *wp = *bp = NULL;
    return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory to pack the weights of node '%s'",
                     p->node->name);
}

weft_status conv_pack_upload(weft_prepare *p, float *wp, size_t wcount, float *bp, size_t bcount,
                             cl_mem *w, cl_mem *b)
{
    weft_status st = weft_op_upload(p, wp, wcount * sizeof *wp, w);
    if (st == WEFT_OK)
        st = weft_op_upload(p, bp, bcount * sizeof *bp, b);
    free(wp);
    free(bp);
    return st;
}
