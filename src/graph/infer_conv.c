/*
 * Shape inference of Conv, ConvTranspose, Gemm and MatMul. Conv and
 * ConvTranspose take NCHW-style inputs with 1 to 3 spatial axes; the
 * window arithmetic is shared with the pools (infer_util.h).
 */
#include "graph/infer_util.h"
#include "graph/op_kind.h"

/* Checks X, W and optional B of a Conv/ConvTranspose: float32, W of X's
 * rank, the group attribute (dividing X's channels), kernel_shape against W's
 * spatial dims. */
static weft_status conv_common(const weft_graph *g, const weft_node *n, infer_window *w,
                               int64_t *group)
{
    const weft_value *x = weft_node_input(g, n, 0), *wt = weft_node_input(g, n, 1);
    const weft_value *b = weft_node_input(g, n, 2);
    weft_status st;
    if ((st = infer_require_float(n, x, "X")) != WEFT_OK ||
        (st = infer_require_float(n, wt, "W")) != WEFT_OK ||
        (b && (st = infer_require_float(n, b, "B")) != WEFT_OK) ||
        (st = infer_spatial(n, x, "X", &w->spatial)) != WEFT_OK ||
        (st = infer_attr_int_range(n, "group", 1, 1, INFER_ATTR_MAX, group)) != WEFT_OK)
        return st;
    if (wt->shape.rank != x->shape.rank)
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "input 'W' ('%s') has shape %s; with X ('%s') of shape %s it needs "
                              "rank %d",
                              wt->name, weft_shape_str(&wt->shape).s, x->name,
                              weft_shape_str(&x->shape).s, x->shape.rank);
    size_t sp = (size_t)w->spatial;
    int given;
    if ((st = infer_attr_ints_fixed(n, "kernel_shape", sp, "one per spatial axis", 1, 1,
                                    INFER_ATTR_MAX, w->kernel, &given)) != WEFT_OK)
        return st;
    for (size_t i = 0; i < sp; i++) {
        int64_t k = wt->shape.dims[2 + i];
        if (given && w->kernel[i] != k)
            return weft_node_fail(n, WEFT_ERR_SHAPE,
                                  "attribute 'kernel_shape'[%zu] = %lld but W ('%s') of shape %s "
                                  "has a kernel of %lld there",
                                  i, (long long)w->kernel[i], wt->name,
                                  weft_shape_str(&wt->shape).s, (long long)k);
        if (k < 1 || k > INFER_ATTR_MAX)
            return weft_node_fail(n, WEFT_ERR_SHAPE,
                                  "input 'W' ('%s') of shape %s has a kernel size of %lld",
                                  wt->name, weft_shape_str(&wt->shape).s, (long long)k);
        w->kernel[i] = k;
    }
    if ((st = infer_window_attrs(n, 1, w)) != WEFT_OK)
        return st;
    if (x->shape.dims[1] % *group != 0)
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "attribute 'group' = %lld does not divide the %lld channels of X "
                              "('%s')",
                              (long long)*group, (long long)x->shape.dims[1], x->name);
    return WEFT_OK;
}

/* Optional bias B: shape [M]. */
static weft_status check_bias(const weft_graph *g, const weft_node *n, int64_t m)
{
    const weft_value *b = weft_node_input(g, n, 2);
    if (b && (b->shape.rank != 1 || b->shape.dims[0] != m))
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "input 'B' ('%s') has shape %s, expected [%lld] (one per output "
                              "channel)",
                              b->name, weft_shape_str(&b->shape).s, (long long)m);
    return WEFT_OK;
}

/* Input 3, internal: the residual addend of a fused Add (src/graph/
 * pass_fuse_residual.c), allowed only on a node carrying the marker
 * _weft_residual = 1 that the pass sets, so that a model or a builder
 * graph with a fourth Conv input is refused as ONNX would refuse it. It
 * must be float32 of exactly the output's shape (no broadcasting). */
static weft_status check_residual(const weft_graph *g, const weft_node *n, const weft_shape *out)
{
    const weft_value *r = weft_node_input(g, n, 3);
    int64_t marker;
    weft_status st = weft_node_attr_int(n, "_weft_residual", 0, &marker);
    if (st != WEFT_OK)
        return st;
    if (n->input_count > 3 && marker != 1)
        return weft_node_fail(n, WEFT_ERR_GRAPH,
                              "%zu inputs, expected 2 to 3 (a fourth, the residual of a fused Add, "
                              "is internal to weft and needs attribute '_weft_residual' = 1)",
                              n->input_count);
    if (marker != 0 && marker != 1)
        return weft_node_fail(n, WEFT_ERR_GRAPH,
                              "attribute '_weft_residual' = %lld, expected 0 or 1",
                              (long long)marker);
    if (marker == 1 && !r)
        return weft_node_fail(n, WEFT_ERR_GRAPH,
                              "attribute '_weft_residual' = 1 but input 3 (the residual) is "
                              "absent");
    if (!r)
        return WEFT_OK;
    if ((st = infer_require_float(n, r, "R")) != WEFT_OK)
        return st;
    if (!weft_shape_equal(&r->shape, out))
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "input 3 (the fused residual, '%s') has shape %s, expected the "
                              "output's %s",
                              r->name, weft_shape_str(&r->shape).s, weft_shape_str(out).s);
    return WEFT_OK;
}

weft_status weft_infer_conv(weft_graph *g, weft_node *n)
{
    const weft_value *x = weft_node_input(g, n, 0), *wt = weft_node_input(g, n, 1);
    infer_window w;
    int64_t group;
    weft_status st = conv_common(g, n, &w, &group);
    if (st != WEFT_OK)
        return st;
    int64_t c = x->shape.dims[1], m = wt->shape.dims[0], cg = wt->shape.dims[1];
    if (m % group != 0)
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "attribute 'group' = %lld does not divide the %lld output channels "
                              "of W ('%s') %s",
                              (long long)group, (long long)m, wt->name,
                              weft_shape_str(&wt->shape).s);
    if (cg != c / group)
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "input 'W' ('%s') of shape %s takes %lld channels per group, but X "
                              "('%s') has %lld channels in %lld groups (attribute 'group'): "
                              "expected %lld",
                              wt->name, weft_shape_str(&wt->shape).s, (long long)cg, x->name,
                              (long long)c, (long long)group, (long long)(c / group));
    if ((st = check_bias(g, n, m)) != WEFT_OK)
        return st;
    weft_shape out = {.rank = x->shape.rank, .dims = {x->shape.dims[0], m}};
    for (int i = 0; i < w.spatial; i++)
        if ((st = infer_window_out(n, &w, i, x->shape.dims[2 + i], 0, &out.dims[2 + i])) !=
            WEFT_OK)
            return st;
    if ((st = check_residual(g, n, &out)) != WEFT_OK)
        return st;
    infer_set_output(g, n, 0, x->dtype, &out);
    return WEFT_OK;
}

weft_status weft_infer_conv_transpose(weft_graph *g, weft_node *n)
{
    const weft_value *x = weft_node_input(g, n, 0), *wt = weft_node_input(g, n, 1);
    infer_window w;
    int64_t group;
    weft_status st = conv_common(g, n, &w, &group);
    if (st != WEFT_OK)
        return st;
    /* W is [C, M / group, k...]. */
    int64_t c = x->shape.dims[1], m;
    if (wt->shape.dims[0] != c)
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "input 'W' ('%s') of shape %s has %lld input channels but X ('%s') "
                              "has %lld (ConvTranspose weights are [C, M/group, k...])",
                              wt->name, weft_shape_str(&wt->shape).s, (long long)wt->shape.dims[0],
                              x->name, (long long)c);
    if (!infer_mul(wt->shape.dims[1], group, &m))
        return weft_node_fail(n, WEFT_ERR_SHAPE, "the number of output channels overflows");
    if ((st = check_bias(g, n, m)) != WEFT_OK)
        return st;
    size_t sp = (size_t)w.spatial;
    int64_t out_pad[WEFT_MAX_RANK];
    if ((st = infer_attr_ints_fixed(n, "output_padding", sp, "one per spatial axis", 0, 0,
                                    INFER_ATTR_MAX, out_pad, NULL)) != WEFT_OK)
        return st;
    /* output_shape: the spatial sizes, or (older exporters) the whole
     * shape, of which the spatial part is used. The pads then follow from
     * it and do not change the output shape. */
    const int64_t *os;
    size_t os_count;
    if ((st = weft_node_attr_ints(n, "output_shape", &os, &os_count)) != WEFT_OK)
        return st;
    if (os && os_count != sp && os_count != sp + 2)
        return weft_node_fail(n, WEFT_ERR_GRAPH,
                              "attribute 'output_shape' has %zu values, expected %zu (one per "
                              "spatial axis)",
                              os_count, sp);
    if (os)
        os += os_count - sp;
    weft_shape out = {.rank = x->shape.rank, .dims = {x->shape.dims[0], m}};
    for (size_t i = 0; i < sp; i++) {
        int64_t in = x->shape.dims[2 + i], s = w.strides[i], o;
        int64_t dk = (w.kernel[i] - 1) * w.dilations[i] + 1;
        if (os) {
            if (os[i] < 1)
                return weft_node_fail(n, WEFT_ERR_GRAPH,
                                      "attribute 'output_shape' = %lld on spatial axis %zu must be "
                                      ">= 1",
                                      (long long)os[i], i);
            o = os[i];
        } else if (in < 1) {
            return weft_node_fail(n, WEFT_ERR_SHAPE,
                                  "input 'X' ('%s') of shape %s is empty on spatial axis %zu",
                                  x->name, weft_shape_str(&x->shape).s, i);
        } else if (w.auto_pad == INFER_PAD_SAME_UPPER || w.auto_pad == INFER_PAD_SAME_LOWER) {
            if (!infer_mul(in, s, &o))
                return weft_node_fail(n, WEFT_ERR_SHAPE, "the output size overflows");
        } else {
            /* stride * (in - 1) + output_padding + dk - pad_begin - pad_end */
            if (!infer_mul(in - 1, s, &o) || !infer_add(o, out_pad[i] + dk, &o))
                return weft_node_fail(n, WEFT_ERR_SHAPE, "the output size overflows");
            o -= w.pads[i] + w.pads[i + sp];
            if (o < 1)
                return weft_node_fail(n, WEFT_ERR_SHAPE,
                                      "on spatial axis %zu attribute 'pads' (%lld + %lld) remove "
                                      "the whole output (%lld before padding)",
                                      i, (long long)w.pads[i], (long long)w.pads[i + sp],
                                      (long long)(o + w.pads[i] + w.pads[i + sp]));
        }
        out.dims[2 + i] = o;
    }
    infer_set_output(g, n, 0, x->dtype, &out);
    return WEFT_OK;
}

weft_status weft_infer_gemm(weft_graph *g, weft_node *n)
{
    const weft_value *a = weft_node_input(g, n, 0), *b = weft_node_input(g, n, 1);
    const weft_value *c = weft_node_input(g, n, 2);
    int64_t ta, tb;
    float alpha, beta;
    weft_status st;
    if ((st = infer_attr_int_range(n, "transA", 0, 0, 1, &ta)) != WEFT_OK ||
        (st = infer_attr_int_range(n, "transB", 0, 0, 1, &tb)) != WEFT_OK ||
        (st = weft_node_attr_float(n, "alpha", 1.0f, &alpha)) != WEFT_OK ||
        (st = weft_node_attr_float(n, "beta", 1.0f, &beta)) != WEFT_OK ||
        (st = infer_same_dtype(n, a, "A", b, "B")) != WEFT_OK ||
        (c && (st = infer_same_dtype(n, a, "A", c, "C")) != WEFT_OK))
        return st;
    if (a->shape.rank != 2 || b->shape.rank != 2)
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "inputs 'A' ('%s') %s and 'B' ('%s') %s must both be matrices",
                              a->name, weft_shape_str(&a->shape).s, b->name,
                              weft_shape_str(&b->shape).s);
    int64_t m = a->shape.dims[ta ? 1 : 0], k = a->shape.dims[ta ? 0 : 1];
    int64_t kb = b->shape.dims[tb ? 1 : 0], nn = b->shape.dims[tb ? 0 : 1];
    if (k != kb)
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "inner dimensions differ: A ('%s') %s gives K = %lld (transA = "
                              "%lld), B ('%s') %s gives K = %lld (transB = %lld)",
                              a->name, weft_shape_str(&a->shape).s, (long long)k, (long long)ta,
                              b->name, weft_shape_str(&b->shape).s, (long long)kb, (long long)tb);
    weft_shape out = {.rank = 2, .dims = {m, nn}};
    if (c && !infer_unidirectional(&out, &c->shape))
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "input 'C' ('%s') of shape %s does not broadcast to the output %s",
                              c->name, weft_shape_str(&c->shape).s, weft_shape_str(&out).s);
    infer_set_output(g, n, 0, a->dtype, &out);
    return WEFT_OK;
}

weft_status weft_infer_matmul(weft_graph *g, weft_node *n)
{
    const weft_value *a = weft_node_input(g, n, 0), *b = weft_node_input(g, n, 1);
    weft_status st = infer_same_dtype(n, a, "A", b, "B");
    if (st != WEFT_OK)
        return st;
    if (a->shape.rank == 0 || b->shape.rank == 0)
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "input '%s' ('%s') is a scalar; MatMul needs rank >= 1",
                              a->shape.rank == 0 ? "A" : "B",
                              a->shape.rank == 0 ? a->name : b->name);
    /* numpy.matmul: a 1-D A is a row [1, K], a 1-D B a column [K, 1]; the
     * added axis is dropped from the result. */
    weft_shape sa = a->shape, sb = b->shape;
    if (sa.rank == 1) {
        sa.rank = 2;
        sa.dims[1] = sa.dims[0];
        sa.dims[0] = 1;
    }
    if (sb.rank == 1) {
        sb.rank = 2;
        sb.dims[1] = 1;
    }
    int64_t k = sa.dims[sa.rank - 1], kb = sb.dims[sb.rank - 2];
    if (k != kb)
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "inner dimensions differ: A ('%s') %s has K = %lld, B ('%s') %s has "
                              "K = %lld",
                              a->name, weft_shape_str(&a->shape).s, (long long)k, b->name,
                              weft_shape_str(&b->shape).s, (long long)kb);
    weft_shape ba = {.rank = sa.rank - 2}, bb = {.rank = sb.rank - 2}, out;
    for (int i = 0; i < ba.rank; i++)
        ba.dims[i] = sa.dims[i];
    for (int i = 0; i < bb.rank; i++)
        bb.dims[i] = sb.dims[i];
    if (weft_shape_broadcast(&ba, &bb, &out) != WEFT_OK)
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "the batch dimensions of A ('%s') %s and B ('%s') %s do not "
                              "broadcast",
                              a->name, weft_shape_str(&a->shape).s, b->name,
                              weft_shape_str(&b->shape).s);
    if (a->shape.rank > 1)
        out.dims[out.rank++] = sa.dims[sa.rank - 2];
    if (b->shape.rank > 1)
        out.dims[out.rank++] = sb.dims[sb.rank - 1];
    infer_set_output(g, n, 0, a->dtype, &out);
    return WEFT_OK;
}
