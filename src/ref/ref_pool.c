/*
 * Reference of the pools: MaxPool (with its optional Indices output),
 * AveragePool, LpPool over 1 to 3 spatial axes, GlobalMaxPool,
 * GlobalAveragePool, GlobalLpPool over any number of them, and MaxUnpool.
 *
 * Every window is walked tap by tap in row-major order over the kernel
 * (the first spatial axis outermost), tap a of axis i at input position
 * out_i * stride_i - pad_begin_i + a * dilation_i. Taps outside the input
 * read nothing. The window geometry is read from the attributes here,
 * independently of shape inference, and the output shape it gives is
 * checked against the one the caller set.
 *
 * Semantics, with ONNX (opset 22) as the contract and its reference
 * evaluator (onnx/reference/ops/op_max_pool.py, op_pool_common.py,
 * op_max_unpool.py) and its node tests where the spec text is silent:
 *  - output sizes: explicit pads give floor((in + pads - dk) / s) + 1, or
 *    with ceil_mode the ceiling, minus one when the last window would
 *    start in the end padding (AveragePool-22 spec: "Sliding windows that
 *    would start in the right padded region are ignored"); VALID gives
 *    floor((in - dk) / s) + 1 and SAME_* ceil(in / s), with ceil_mode
 *    giving the same sizes. dk = (k - 1) * dilation + 1.
 *  - SAME_UPPER / SAME_LOWER pad (out - 1) * s + dk - in in total, never
 *    less than 0, the odd one at the end (UPPER) or the beginning (LOWER).
 *  - MaxPool: the first tap of the window in scan order starts the
 *    maximum and a later one replaces it only when strictly greater or
 *    when it is the first NaN: ties go to the first tap in scan order (as
 *    in op_max_pool.py) and NaN propagates, as numpy's max and weft's
 *    GlobalMaxPool do (the spec says nothing of NaN; the ONNX reference
 *    keeps a NaN only when it is the window's first tap, which would make
 *    the result depend on the scan order). A window with no tap inside the
 *    input (possible with pads >= the kernel extent or with dilations)
 *    gives -inf and index -1.
 *  - Indices: flattened over the whole input, batch and channel included:
 *    (n * C + c) * (D1 * ... * Dk) + the spatial offset, row-major over the
 *    spatial axes with storage_order 0 and column-major (first spatial
 *    axis fastest) with storage_order 1, as op_max_pool.py computes.
 *  - AveragePool: the sum of the taps inside the input divided by, with
 *    count_include_pad 0, their number (NaN when there are none), and with
 *    count_include_pad 1 the number of taps inside the padded extent
 *    [-pad_begin, in + pad_end): a ceil_mode window that overhangs the end
 *    padding counts only its taps up to the end of the padding (the ONNX
 *    node test averagepool_3d_dilations_large_count_include_pad_is_1_
 *    ceil_mode_is_True has such windows and agrees).
 *  - LpPool and GlobalLpPool: (sum |x|^p)^(1/p) over the taps inside the
 *    input (the spec's formula; padding adds zeros, which add nothing).
 *  - GlobalMaxPool propagates NaN (numpy max, as the ONNX reference);
 *    GlobalAveragePool of an empty plane is NaN, GlobalMaxPool -inf and
 *    GlobalLpPool 0.
 *  - MaxUnpool: the output is zero except at the indices in I, which are
 *    flattened over the whole output tensor (batch and channel included),
 *    whether its shape comes from 'output_shape' or from (in - 1) * s + k
 *    - pads; MaxPool's Indices (storage_order 0) then put every maximum
 *    back where it was. Where indices repeat, the last element of X in
 *    row-major order wins. An index outside the output is an error.
 *    With 'output_shape' larger than the default shape, the ONNX reference
 *    evaluator instead scatters over the default shape and copies that
 *    into the corner of the output; weft follows the spec's statement
 *    that the indices address the output (MaxUnpool-22; onnx/onnx#2398,
 *    microsoft/onnxruntime#2193), so the node test
 *    maxunpool_export_with_output_shape differs by design.
 * Sums are accumulated in double and rounded once at the store.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref/ref_util.h"

#define SPATIAL_MAX 3

/* One pool's geometry over sp spatial axes. */
typedef struct pool_geom {
    int sp;
    int64_t in[SPATIAL_MAX], out[SPATIAL_MAX];
    int64_t k[SPATIAL_MAX], s[SPATIAL_MAX], d[SPATIAL_MAX];
    int64_t begin[SPATIAL_MAX], end[SPATIAL_MAX]; /* padding applied */
} pool_geom;

/* An ints attribute of exactly `count` values, each >= lo; `def` for
 * every value when absent. */
static weft_status ints_attr(const weft_node *n, const char *name, size_t count, int64_t def,
                             int64_t lo, int64_t *out)
{
    const int64_t *v;
    size_t c;
    weft_status st = weft_node_attr_ints(n, name, &v, &c);
    if (st != WEFT_OK)
        return st;
    if (!weft_node_attr(n, name)) {
        for (size_t i = 0; i < count; i++)
            out[i] = def;
        return WEFT_OK;
    }
    if (c != count)
        return weft_node_fail(n, WEFT_ERR_GRAPH, "attribute '%s' has %zu values, expected %zu",
                              name, c, count);
    for (size_t i = 0; i < count; i++) {
        if (v[i] < lo || v[i] > INT32_MAX)
            return weft_node_fail(n, WEFT_ERR_GRAPH,
                                  "attribute '%s'[%zu] = %lld is out of range [%lld, %d]", name,
                                  i, (long long)v[i], (long long)lo, INT32_MAX);
        out[i] = v[i];
    }
    return WEFT_OK;
}

/* The spatial axes of X: 1 to 3 after N and C. */
static weft_status spatial_axes(const weft_node *n, const weft_shape *x, int *sp)
{
    if (x->rank < 3 || x->rank > 2 + SPATIAL_MAX)
        return weft_node_fail(n, WEFT_ERR_UNSUPPORTED,
                              "input 'X' has shape %s; the reference runs %s with N, C and 1 to "
                              "3 spatial axes",
                              weft_shape_str(x).s, n->op);
    *sp = x->rank - 2;
    return WEFT_OK;
}

/* MaxPool, AveragePool and LpPool: kernel_shape, strides, dilations,
 * pads, auto_pad and ceil_mode, and the output size they give. */
static weft_status pool_geometry(const weft_node *n, const weft_shape *x, pool_geom *g)
{
    memset(g, 0, sizeof *g);
    weft_status st = spatial_axes(n, x, &g->sp);
    if (st != WEFT_OK)
        return st;
    size_t sp = (size_t)g->sp;
    int64_t pads[2 * SPATIAL_MAX], ceil_mode;
    const char *auto_pad;
    if (!weft_node_attr(n, "kernel_shape"))
        return weft_node_fail(n, WEFT_ERR_GRAPH, "attribute 'kernel_shape' is required");
    if ((st = ints_attr(n, "kernel_shape", sp, 1, 1, g->k)) != WEFT_OK ||
        (st = ints_attr(n, "strides", sp, 1, 1, g->s)) != WEFT_OK ||
        (st = ints_attr(n, "dilations", sp, 1, 1, g->d)) != WEFT_OK ||
        (st = ints_attr(n, "pads", 2 * sp, 0, 0, pads)) != WEFT_OK ||
        (st = weft_node_attr_string(n, "auto_pad", "NOTSET", &auto_pad)) != WEFT_OK ||
        (st = weft_node_attr_int(n, "ceil_mode", 0, &ceil_mode)) != WEFT_OK)
        return st;
    int same_upper = strcmp(auto_pad, "SAME_UPPER") == 0;
    int same_lower = strcmp(auto_pad, "SAME_LOWER") == 0;
    int valid = strcmp(auto_pad, "VALID") == 0;
    if (!same_upper && !same_lower && !valid && strcmp(auto_pad, "NOTSET") != 0)
        return weft_node_fail(n, WEFT_ERR_GRAPH, "attribute 'auto_pad' = \"%s\" is not NOTSET, "
                              "SAME_UPPER, SAME_LOWER or VALID", auto_pad);
    if (ceil_mode != 0 && ceil_mode != 1)
        return weft_node_fail(n, WEFT_ERR_GRAPH, "attribute 'ceil_mode' = %lld is not 0 or 1",
                              (long long)ceil_mode);
    for (size_t i = 0; i < sp; i++) {
        int64_t in = x->dims[2 + i], s = g->s[i];
        int64_t dk = (g->k[i] - 1) * g->d[i] + 1;
        g->in[i] = in;
        if (same_upper || same_lower || valid) {
            if (pads[i] != 0 || pads[i + sp] != 0)
                return weft_node_fail(n, WEFT_ERR_GRAPH,
                                      "attribute 'pads' cannot be used with attribute 'auto_pad' "
                                      "= \"%s\"",
                                      auto_pad);
        }
        if (same_upper || same_lower) {
            g->out[i] = (in + s - 1) / s;
            int64_t total = (g->out[i] - 1) * s + dk - in;
            if (total < 0)
                total = 0;
            g->begin[i] = same_upper ? total / 2 : total - total / 2;
            g->end[i] = total - g->begin[i];
        } else {
            g->begin[i] = valid ? 0 : pads[i];
            g->end[i] = valid ? 0 : pads[i + sp];
            int64_t span = in + g->begin[i] + g->end[i] - dk;
            if (span < 0)
                return weft_node_fail(n, WEFT_ERR_SHAPE,
                                      "on spatial axis %zu the window spans %lld, more than the "
                                      "padded input %lld",
                                      i, (long long)dk, (long long)(span + dk));
            if (ceil_mode && !valid) {
                g->out[i] = (span + s - 1) / s + 1;
                /* The last window would start in the end padding. */
                if ((g->out[i] - 1) * s >= in + g->begin[i])
                    g->out[i]--;
            } else {
                g->out[i] = span / s + 1;
            }
        }
    }
    return WEFT_OK;
}

static int64_t product(const int64_t *v, int count)
{
    int64_t p = 1;
    for (int i = 0; i < count; i++)
        p *= v[i];
    return p;
}

/* The output shape: N, C and the pooled spatial sizes. */
static weft_shape pooled_shape(const weft_shape *x, const pool_geom *g)
{
    weft_shape y = *x;
    for (int i = 0; i < g->sp; i++)
        y.dims[2 + i] = g->out[i];
    return y;
}

/* The window of one output position: where its first tap lies on each
 * spatial axis. */
typedef struct window_walk {
    const pool_geom *g;
    int64_t start[SPATIAL_MAX];
} window_walk;

static void window_start(window_walk *w, const pool_geom *g, const int64_t *o)
{
    w->g = g;
    for (int i = 0; i < g->sp; i++)
        w->start[i] = o[i] * g->s[i] - g->begin[i];
}

/* Tap t (row-major over the kernel) of the window: its position in
 * pos[]; returns 1 when inside the input, and sets *in_padded when inside
 * the padded extent. */
static int window_tap(const window_walk *w, int64_t t, int64_t pos[SPATIAL_MAX], int *in_padded)
{
    const pool_geom *g = w->g;
    int inside = 1, padded = 1;
    for (int i = g->sp - 1; i >= 0; i--) {
        int64_t a = t % g->k[i];
        t /= g->k[i];
        pos[i] = w->start[i] + a * g->d[i];
        inside &= pos[i] >= 0 && pos[i] < g->in[i];
        padded &= pos[i] >= -g->begin[i] && pos[i] < g->in[i] + g->end[i];
    }
    *in_padded = padded;
    return inside;
}

/* Spatial offset of pos: row-major, or column-major with col_major. */
static int64_t spatial_offset(const pool_geom *g, const int64_t *pos, int col_major)
{
    int64_t off = 0;
    if (col_major)
        for (int i = g->sp - 1; i >= 0; i--)
            off = off * g->in[i] + pos[i];
    else
        for (int i = 0; i < g->sp; i++)
            off = off * g->in[i] + pos[i];
    return off;
}

typedef enum pool_kind { POOL_MAX, POOL_AVG, POOL_LP } pool_kind;

static weft_status run_pool(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                            weft_host_tensor *out, size_t out_count, pool_kind kind)
{
    weft_status st = ref_require_input(n, in, in_count, 0, "X");
    if (st == WEFT_OK)
        st = ref_require_float(n, in, 0, "X");
    pool_geom g;
    if (st == WEFT_OK)
        st = pool_geometry(n, &in[0].shape, &g);
    int64_t flag = 0, p = 2;
    if (st == WEFT_OK && kind == POOL_MAX)
        st = weft_node_attr_int(n, "storage_order", 0, &flag);
    if (st == WEFT_OK && kind == POOL_AVG)
        st = weft_node_attr_int(n, "count_include_pad", 0, &flag);
    if (st == WEFT_OK && kind == POOL_LP)
        st = weft_node_attr_int(n, "p", 2, &p);
    if (st != WEFT_OK)
        return st;
    if (flag != 0 && flag != 1)
        return weft_node_fail(n, WEFT_ERR_GRAPH, "attribute '%s' = %lld is not 0 or 1",
                              kind == POOL_MAX ? "storage_order" : "count_include_pad",
                              (long long)flag);
    if (p < 1)
        return weft_node_fail(n, WEFT_ERR_GRAPH, "attribute 'p' = %lld must be at least 1",
                              (long long)p);
    weft_shape want = pooled_shape(&in[0].shape, &g);
    if ((st = ref_check_output(n, out, out_count, 0, WEFT_FLOAT32, &want)) != WEFT_OK)
        return st;
    int with_indices = out_count > 1 && out[1].data != NULL;
    if (with_indices && kind != POOL_MAX)
        return weft_node_fail(n, WEFT_ERR_GRAPH, "%s has one output", n->op);
    if (with_indices && (st = ref_check_output(n, out, out_count, 1, WEFT_INT64, &want)) != WEFT_OK)
        return st;

    const float *x = in[0].data;
    float *y = out[0].data;
    int64_t *indices = with_indices ? out[1].data : NULL;
    int64_t planes = in[0].shape.dims[0] * in[0].shape.dims[1];
    int64_t in_plane = product(g.in, g.sp), out_plane = product(g.out, g.sp);
    int64_t taps = product(g.k, g.sp);
    weft_shape out_spatial = {.rank = g.sp};
    memcpy(out_spatial.dims, g.out, (size_t)g.sp * sizeof g.out[0]);
    for (int64_t nc = 0; nc < planes; nc++) {
        const float *xp = x + nc * in_plane;
        for (int64_t o = 0; o < out_plane; o++) {
            int64_t oi[WEFT_MAX_RANK], pos[SPATIAL_MAX];
            ref_unravel(&out_spatial, o, oi);
            window_walk w;
            window_start(&w, &g, oi);
            double acc = 0;
            float best = -INFINITY;
            int64_t best_at = -1, inside_count = 0, padded_count = 0;
            for (int64_t t = 0; t < taps; t++) {
                int padded;
                int inside = window_tap(&w, t, pos, &padded);
                padded_count += padded;
                if (!inside)
                    continue;
                inside_count++;
                float v = xp[spatial_offset(&g, pos, 0)];
                if (kind == POOL_MAX) {
                    if (best_at < 0 || v > best || (isnan(v) && !isnan(best))) {
                        best = v;
                        best_at = spatial_offset(&g, pos, (int)flag);
                    }
                } else if (kind == POOL_AVG) {
                    acc += v;
                } else {
                    acc += pow(fabs((double)v), (double)p);
                }
            }
            int64_t at = nc * out_plane + o;
            if (kind == POOL_MAX) {
                y[at] = best;
                if (indices)
                    indices[at] = best_at < 0 ? -1 : nc * in_plane + best_at;
            } else if (kind == POOL_AVG) {
                int64_t count = flag ? padded_count : inside_count;
                y[at] = count > 0 ? (float)(acc / (double)count) : NAN;
            } else {
                y[at] = (float)pow(acc, 1.0 / (double)p);
            }
        }
    }
    return WEFT_OK;
}

weft_status weft_ref_max_pool(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                              weft_host_tensor *out, size_t out_count)
{
    return run_pool(n, in, in_count, out, out_count, POOL_MAX);
}

weft_status weft_ref_average_pool(const weft_node *n, const weft_host_tensor *in,
                                  size_t in_count, weft_host_tensor *out, size_t out_count)
{
    return run_pool(n, in, in_count, out, out_count, POOL_AVG);
}

weft_status weft_ref_lp_pool(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                             weft_host_tensor *out, size_t out_count)
{
    return run_pool(n, in, in_count, out, out_count, POOL_LP);
}

/* ---- Global pools ------------------------------------------------------------ */

static weft_status run_global(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                              weft_host_tensor *out, size_t out_count, pool_kind kind)
{
    weft_status st = ref_require_input(n, in, in_count, 0, "X");
    if (st == WEFT_OK)
        st = ref_require_float(n, in, 0, "X");
    if (st != WEFT_OK)
        return st;
    const weft_shape *xs = &in[0].shape;
    if (xs->rank < 3)
        return weft_node_fail(n, WEFT_ERR_SHAPE, "input 'X' has shape %s; %s needs N, C and "
                              "spatial axes",
                              weft_shape_str(xs).s, n->op);
    int64_t p = 2;
    if (kind == POOL_LP && (st = weft_node_attr_int(n, "p", 2, &p)) != WEFT_OK)
        return st;
    if (p < 1)
        return weft_node_fail(n, WEFT_ERR_GRAPH, "attribute 'p' = %lld must be at least 1",
                              (long long)p);
    weft_shape want = *xs;
    for (int i = 2; i < want.rank; i++)
        want.dims[i] = 1;
    if ((st = ref_check_output(n, out, out_count, 0, WEFT_FLOAT32, &want)) != WEFT_OK)
        return st;
    const float *x = in[0].data;
    float *y = out[0].data;
    int64_t planes = xs->dims[0] * xs->dims[1], len = weft_shape_product(xs, 2, xs->rank);
    for (int64_t nc = 0; nc < planes; nc++) {
        const float *xp = x + nc * len;
        double acc = kind == POOL_MAX ? -INFINITY : 0.0;
        for (int64_t i = 0; i < len; i++) {
            double v = xp[i];
            if (kind == POOL_MAX)
                acc = isnan(acc) || isnan(v) ? NAN : v > acc ? v : acc;
            else if (kind == POOL_AVG)
                acc += v;
            else
                acc += pow(fabs(v), (double)p);
        }
        if (kind == POOL_AVG)
            acc = len > 0 ? acc / (double)len : NAN;
        else if (kind == POOL_LP)
            acc = pow(acc, 1.0 / (double)p);
        y[nc] = (float)acc;
    }
    return WEFT_OK;
}

weft_status weft_ref_global_max_pool(const weft_node *n, const weft_host_tensor *in,
                                     size_t in_count, weft_host_tensor *out, size_t out_count)
{
    return run_global(n, in, in_count, out, out_count, POOL_MAX);
}

weft_status weft_ref_global_average_pool(const weft_node *n, const weft_host_tensor *in,
                                         size_t in_count, weft_host_tensor *out,
                                         size_t out_count)
{
    return run_global(n, in, in_count, out, out_count, POOL_AVG);
}

weft_status weft_ref_global_lp_pool(const weft_node *n, const weft_host_tensor *in,
                                    size_t in_count, weft_host_tensor *out, size_t out_count)
{
    return run_global(n, in, in_count, out, out_count, POOL_LP);
}

/* ---- MaxUnpool --------------------------------------------------------------- */

weft_status weft_ref_max_unpool(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                                weft_host_tensor *out, size_t out_count)
{
    weft_status st = ref_require_input(n, in, in_count, 0, "X");
    if (st == WEFT_OK)
        st = ref_require_float(n, in, 0, "X");
    if (st == WEFT_OK)
        st = ref_require_input(n, in, in_count, 1, "I");
    if (st != WEFT_OK)
        return st;
    const weft_shape *xs = &in[0].shape;
    if (in[1].dtype != WEFT_INT64 || !weft_shape_equal(&in[1].shape, xs))
        return weft_node_fail(n, WEFT_ERR_GRAPH, "input 'I' is %s %s; expected int64 %s like X",
                              weft_dtype_name(in[1].dtype), weft_shape_str(&in[1].shape).s,
                              weft_shape_str(xs).s);
    int sp = 0;
    if ((st = spatial_axes(n, xs, &sp)) != WEFT_OK)
        return st;
    int64_t k[SPATIAL_MAX], s[SPATIAL_MAX], pads[2 * SPATIAL_MAX];
    if (!weft_node_attr(n, "kernel_shape"))
        return weft_node_fail(n, WEFT_ERR_GRAPH, "attribute 'kernel_shape' is required");
    if ((st = ints_attr(n, "kernel_shape", (size_t)sp, 1, 1, k)) != WEFT_OK ||
        (st = ints_attr(n, "strides", (size_t)sp, 1, 1, s)) != WEFT_OK ||
        (st = ints_attr(n, "pads", 2 * (size_t)sp, 0, 0, pads)) != WEFT_OK)
        return st;
    weft_shape want = *xs;
    if (ref_present(in, in_count, 2)) {
        /* The whole output shape; the pads do not matter then. */
        if (in[2].dtype != WEFT_INT64 || in[2].shape.rank != 1 ||
            in[2].shape.dims[0] != xs->rank)
            return weft_node_fail(n, WEFT_ERR_GRAPH,
                                  "input 'output_shape' is %s %s; expected %d int64 values",
                                  weft_dtype_name(in[2].dtype), weft_shape_str(&in[2].shape).s,
                                  xs->rank);
        const int64_t *os = in[2].data;
        for (int i = 0; i < xs->rank; i++)
            want.dims[i] = os[i];
    } else {
        for (int i = 0; i < sp; i++)
            want.dims[2 + i] = (xs->dims[2 + i] - 1) * s[i] + k[i] - pads[i] - pads[i + sp];
    }
    if ((st = ref_check_output(n, out, out_count, 0, WEFT_FLOAT32, &want)) != WEFT_OK)
        return st;
    int64_t total = weft_shape_numel(&want), count = weft_shape_numel(xs);
    const float *x = in[0].data;
    const int64_t *idx = in[1].data;
    float *y = out[0].data;
    for (int64_t j = 0; j < total; j++)
        y[j] = 0.0f;
    for (int64_t i = 0; i < count; i++) {
        if (idx[i] < 0 || idx[i] >= total)
            return weft_node_fail(n, WEFT_ERR_INVALID_ARGUMENT,
                                  "input 'I' element %lld is %lld, outside the output's %lld "
                                  "elements %s",
                                  (long long)i, (long long)idx[i], (long long)total,
                                  weft_shape_str(&want).s);
        y[idx[i]] = x[i]; /* in order: the last of repeated indices wins */
    }
    return WEFT_OK;
}
