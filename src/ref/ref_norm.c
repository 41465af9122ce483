/*
 * Reference of the normalizations (ONNX semantics): BatchNormalization in
 * its inference form, LRN across channels, InstanceNormalization,
 * LayerNormalization and GroupNormalization.
 *
 * Statistics are computed in double with two passes — the mean first, then
 * the mean of squared deviations from it — so a large common offset in the
 * data (1e4 + noise) costs no accuracy; every result is rounded once to
 * float32 at the store. The variance is the population variance (divided
 * by the count, not count - 1), as ONNX's function definitions state
 * (ReduceMean of the squared deviations).
 *
 * stash_type (LayerNormalization, GroupNormalization) names the precision
 * ONNX computes the statistics in; the reference always uses double, at
 * least as accurate as any stash type. Shape inference refuses the Mean
 * and InvStdDev outputs of a stash type other than float32.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graph/infer_util.h"
#include "ref/ref_util.h"

/* ---- Shared checks and statistics ------------------------------------------ */

/* Inputs [first, last] must be present float32 tensors (ONNX names in
 * names[]); an absent one is an error only when required. */
static weft_status require_floats(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                                  size_t first, size_t last, const char *const *names)
{
    for (size_t i = first; i <= last; i++) {
        weft_status st = ref_require_input(n, in, in_count, i, names[i]);
        if (st == WEFT_OK)
            st = ref_require_float(n, in, i, names[i]);
        if (st != WEFT_OK)
            return st;
    }
    return WEFT_OK;
}

/* Input i must hold exactly `count` elements in one axis: the per-channel
 * (or per-group) parameters. */
static weft_status require_vector(const weft_node *n, const weft_host_tensor *in, size_t i,
                                  const char *what, int64_t count)
{
    if (in[i].shape.rank != 1 || in[i].shape.dims[0] != count)
        return weft_node_fail(n, WEFT_ERR_SHAPE, "input %zu ('%s') has shape %s, expected [%lld]",
                              i, what, weft_shape_str(&in[i].shape).s, (long long)count);
    return WEFT_OK;
}

static weft_status require_rank(const weft_node *n, const weft_host_tensor *x, int min_rank)
{
    if (x->shape.rank < min_rank)
        return weft_node_fail(n, WEFT_ERR_SHAPE, "input 'X' has shape %s; %s needs rank >= %d",
                              weft_shape_str(&x->shape).s, n->op, min_rank);
    return WEFT_OK;
}

/* The checks every normalization opens with, in this order: inputs
 * [0, last] present and float32, X of rank >= min_rank, then (eps not
 * NULL) attribute 'epsilon', 1e-5 by default. */
static weft_status norm_begin(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                              size_t last, const char *const *names, int min_rank, float *eps)
{
    weft_status st = require_floats(n, in, in_count, 0, last, names);
    if (st == WEFT_OK)
        st = require_rank(n, &in[0], min_rank);
    if (st == WEFT_OK && eps)
        st = weft_node_attr_float(n, "epsilon", 1e-5f, eps);
    return st;
}

/* Mean and population variance of x[0], x[step], ... (len elements),
 * two-pass in double. len 0 gives NaN for both. */
static void moments(const float *x, int64_t len, int64_t step, double *mean, double *var)
{
    if (len == 0) {
        *mean = *var = NAN;
        return;
    }
    double sum = 0;
    for (int64_t k = 0; k < len; k++)
        sum += x[k * step];
    double m = sum / (double)len, sq = 0;
    for (int64_t k = 0; k < len; k++) {
        double d = x[k * step] - m;
        sq += d * d;
    }
    *mean = m;
    *var = sq / (double)len;
}

/* Y of `segments` runs of per * spatial adjacent elements (per channels
 * of `spatial` elements), each normalized with its own moments. Run g is
 * of group g % groups, whose scale and b are scale[group] and b[group]
 * (per_group) or, per channel, those of its channel group * per + k /
 * spatial. */
static void normalize_groups(const float *x, const float *scale, const float *b, float *y,
                             int64_t segments, int64_t groups, int64_t per, int64_t spatial,
                             int per_group, float eps)
{
    int64_t len = per * spatial;
    for (int64_t g = 0; g < segments; g++) {
        double mean, var;
        moments(x + g * len, len, 1, &mean, &var);
        double inv = 1.0 / sqrt(var + (double)eps);
        int64_t group = g % groups;
        for (int64_t k = 0; k < len; k++) {
            int64_t p = per_group ? group : group * per + k / spatial;
            y[g * len + k] = (float)((x[g * len + k] - mean) * inv * scale[p] + b[p]);
        }
    }
}

/* ---- BatchNormalization ------------------------------------------------------ */

/* Inference form (training_mode 0, the default; spatial 1):
 *   Y = (X - input_mean) / sqrt(input_var + epsilon) * scale + B
 * per channel (axis 1), every parameter of shape [C]. */
weft_status weft_ref_batch_norm(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                                weft_host_tensor *out, size_t out_count)
{
    static const char *const names[] = {"X", "scale", "B", "input_mean", "input_var"};
    int64_t training, spatial;
    float eps;
    weft_status st = norm_begin(n, in, in_count, 4, names, 2, &eps);
    if (st == WEFT_OK)
        st = weft_node_attr_int(n, "training_mode", 0, &training);
    if (st == WEFT_OK)
        st = weft_node_attr_int(n, "spatial", 1, &spatial);
    if (st != WEFT_OK)
        return st;
    if (training != 0 || spatial != 1)
        return weft_node_fail(n, WEFT_ERR_UNSUPPORTED,
                              "attribute '%s' = %lld: the reference runs BatchNormalization in "
                              "inference mode with spatial statistics only",
                              training != 0 ? "training_mode" : "spatial",
                              (long long)(training != 0 ? training : spatial));
    for (size_t i = 1; i < out_count; i++)
        if (out[i].data)
            return weft_node_fail(n, WEFT_ERR_UNSUPPORTED,
                                  "output %zu (a running statistic) exists only in training mode",
                                  i);
    const weft_shape *s = &in[0].shape;
    int64_t c = s->dims[1];
    for (size_t i = 1; i < 5 && st == WEFT_OK; i++)
        st = require_vector(n, in, i, names[i], c);
    if (st == WEFT_OK)
        st = ref_check_output(n, out, out_count, 0, WEFT_FLOAT32, s);
    if (st != WEFT_OK)
        return st;
    const float *x = in[0].data, *scale = in[1].data, *b = in[2].data, *mean = in[3].data,
                *var = in[4].data;
    float *y = out[0].data;
    int64_t batch = s->dims[0], inner = weft_shape_product(s, 2, s->rank);
    for (int64_t i = 0; i < batch; i++)
        for (int64_t ch = 0; ch < c; ch++) {
            double inv = 1.0 / sqrt((double)var[ch] + (double)eps);
            for (int64_t k = 0; k < inner; k++) {
                int64_t at = (i * c + ch) * inner + k;
                y[at] = (float)((x[at] - (double)mean[ch]) * inv * scale[ch] + b[ch]);
            }
        }
    return WEFT_OK;
}

/* ---- LRN ---------------------------------------------------------------------- */

/* Across channels: for element (n, c, d...),
 *   square_sum = sum of X[n, i, d...]^2 over
 *                max(0, c - floor((size-1)/2)) <= i <= min(C-1, c + ceil((size-1)/2))
 *   Y = X / (bias + alpha / size * square_sum) ^ beta
 * size is required; alpha 1e-4, beta 0.75 and bias 1 by default. */
weft_status weft_ref_lrn(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                         weft_host_tensor *out, size_t out_count)
{
    static const char *const names[] = {"X"};
    int64_t size;
    float alpha, beta, bias;
    weft_status st = norm_begin(n, in, in_count, 0, names, 2, NULL);
    if (st == WEFT_OK)
        st = infer_attr_int_required(n, "size", &size);
    if (st == WEFT_OK)
        st = weft_node_attr_float(n, "alpha", 1e-4f, &alpha);
    if (st == WEFT_OK)
        st = weft_node_attr_float(n, "beta", 0.75f, &beta);
    if (st == WEFT_OK)
        st = weft_node_attr_float(n, "bias", 1.0f, &bias);
    if (st == WEFT_OK && size < 1)
        st = weft_node_fail(n, WEFT_ERR_GRAPH, "attribute 'size' = %lld must be positive",
                            (long long)size);
    if (st == WEFT_OK)
        st = ref_check_output(n, out, out_count, 0, WEFT_FLOAT32, &in[0].shape);
    if (st != WEFT_OK)
        return st;
    const weft_shape *s = &in[0].shape;
    int64_t batch = s->dims[0], c = s->dims[1], inner = weft_shape_product(s, 2, s->rank);
    int64_t before = (size - 1) / 2, after = size / 2; /* floor and ceil of (size-1)/2 */
    const float *x = in[0].data;
    float *y = out[0].data;
    for (int64_t i = 0; i < batch; i++)
        for (int64_t ch = 0; ch < c; ch++)
            for (int64_t k = 0; k < inner; k++) {
                int64_t lo = ch - before > 0 ? ch - before : 0;
                int64_t hi = ch + after < c - 1 ? ch + after : c - 1;
                double sum = 0;
                for (int64_t j = lo; j <= hi; j++) {
                    double v = x[(i * c + j) * inner + k];
                    sum += v * v;
                }
                int64_t at = (i * c + ch) * inner + k;
                double den = pow((double)bias + (double)alpha / (double)size * sum, (double)beta);
                y[at] = (float)(x[at] / den);
            }
    return WEFT_OK;
}

/* ---- InstanceNormalization ------------------------------------------------------ */

/* Per (n, c) plane over the spatial axes:
 *   Y = scale[c] * (X - mean) / sqrt(var + epsilon) + B[c] */
weft_status weft_ref_instance_norm(const weft_node *n, const weft_host_tensor *in,
                                   size_t in_count, weft_host_tensor *out, size_t out_count)
{
    static const char *const names[] = {"input", "scale", "B"};
    float eps;
    weft_status st = norm_begin(n, in, in_count, 2, names, 3, &eps);
    if (st == WEFT_OK)
        st = require_vector(n, in, 1, names[1], in[0].shape.dims[1]);
    if (st == WEFT_OK)
        st = require_vector(n, in, 2, names[2], in[0].shape.dims[1]);
    if (st == WEFT_OK)
        st = ref_check_output(n, out, out_count, 0, WEFT_FLOAT32, &in[0].shape);
    if (st != WEFT_OK)
        return st;
    /* GroupNormalization with a group per channel */
    const weft_shape *s = &in[0].shape;
    int64_t c = s->dims[1];
    normalize_groups(in[0].data, in[1].data, in[2].data, out[0].data, s->dims[0] * c, c, 1,
                     weft_shape_product(s, 2, s->rank), 0, eps);
    return WEFT_OK;
}

/* ---- LayerNormalization ----------------------------------------------------------- */

/* Over the normalized axes [axis, rank) (axis -1 by default), for each
 * index of the leading axes:
 *   Mean = mean of X, InvStdDev = 1 / sqrt(var + epsilon)
 *   Y = (X - Mean) * InvStdDev * Scale + B
 * Scale and B broadcast to the normalized shape (numpy rules,
 * unidirectional). ONNX requires Scale; an absent one (which shape
 * inference lets through) counts as 1, an absent B as 0. Mean and
 * InvStdDev, when asked for, have X's shape with the normalized axes set
 * to 1. */
weft_status weft_ref_layer_norm(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                                weft_host_tensor *out, size_t out_count)
{
    static const char *const names[] = {"X", "Scale", "B"};
    int64_t axis;
    float eps;
    int ax = 0;
    weft_status st = norm_begin(n, in, in_count, 0, names, 1, &eps);
    if (st == WEFT_OK)
        st = weft_node_attr_int(n, "axis", -1, &axis);
    if (st == WEFT_OK)
        st = weft_params_axis(n, "attribute 'axis'", axis, in[0].shape.rank, &ax, NULL, 0);
    if (st != WEFT_OK)
        return st;
    const weft_shape *s = &in[0].shape;
    weft_shape normalized = {.rank = s->rank - ax};
    for (int d = 0; d < normalized.rank; d++)
        normalized.dims[d] = s->dims[ax + d];
    for (size_t i = 1; i < 3; i++) {
        if (!ref_present(in, in_count, i))
            continue;
        if ((st = ref_require_float(n, in, i, names[i])) != WEFT_OK)
            return st;
        const weft_shape *p = &in[i].shape;
        int fits = p->rank <= normalized.rank;
        for (int d = 0; fits && d < p->rank; d++) {
            int64_t want = normalized.dims[normalized.rank - p->rank + d];
            fits = p->dims[d] == want || p->dims[d] == 1;
        }
        if (!fits)
            return weft_node_fail(n, WEFT_ERR_SHAPE,
                                  "input %zu ('%s') of shape %s does not broadcast to the "
                                  "normalized shape %s",
                                  i, names[i], weft_shape_str(p).s,
                                  weft_shape_str(&normalized).s);
    }
    weft_shape stats = *s;
    for (int d = ax; d < stats.rank; d++)
        stats.dims[d] = 1;
    if ((st = ref_check_output(n, out, out_count, 0, WEFT_FLOAT32, s)) != WEFT_OK)
        return st;
    for (size_t i = 1; i < 3 && i < out_count; i++)
        if (out[i].data && (st = ref_check_output(n, out, out_count, i, WEFT_FLOAT32, &stats)) !=
                               WEFT_OK)
            return st;
    int64_t rows = weft_shape_product(s, 0, ax), len = weft_shape_numel(&normalized);
    const float *x = in[0].data;
    const float *scale = ref_present(in, in_count, 1) ? in[1].data : NULL;
    const float *b = ref_present(in, in_count, 2) ? in[2].data : NULL;
    float *y = out[0].data;
    float *mean_out = out_count > 1 ? out[1].data : NULL;
    float *inv_out = out_count > 2 ? out[2].data : NULL;
    int64_t idx[WEFT_MAX_RANK];
    for (int64_t r = 0; r < rows; r++) {
        double mean, var;
        moments(x + r * len, len, 1, &mean, &var);
        double inv = 1.0 / sqrt(var + (double)eps);
        if (mean_out)
            mean_out[r] = (float)mean;
        if (inv_out)
            inv_out[r] = (float)inv;
        for (int64_t k = 0; k < len; k++) {
            ref_unravel(&normalized, k, idx);
            double v = (x[r * len + k] - mean) * inv;
            if (scale)
                v *= scale[ref_broadcast_index(&in[1].shape, normalized.rank, idx)];
            if (b)
                v += b[ref_broadcast_index(&in[2].shape, normalized.rank, idx)];
            y[r * len + k] = (float)v;
        }
    }
    return WEFT_OK;
}

/* ---- GroupNormalization ------------------------------------------------------------ */

/* The C channels split into num_groups groups of C / num_groups
 * neighbours; per (n, group), over the group's channels and the spatial
 * axes:
 *   Y = scale * (X - mean) / sqrt(var + epsilon) + bias
 * with scale and bias per channel, [C] (opset 21), or per group,
 * [num_groups] (opset 18: the group's value for each of its channels). */
weft_status weft_ref_group_norm(const weft_node *n, const weft_host_tensor *in, size_t in_count,
                                weft_host_tensor *out, size_t out_count)
{
    static const char *const names[] = {"X", "scale", "bias"};
    int64_t groups;
    float eps;
    weft_status st = norm_begin(n, in, in_count, 2, names, 2, &eps);
    if (st == WEFT_OK)
        st = infer_attr_int_required(n, "num_groups", &groups);
    if (st != WEFT_OK)
        return st;
    const weft_shape *s = &in[0].shape;
    int64_t c = s->dims[1];
    if (groups < 1 || c % groups != 0)
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "attribute 'num_groups' = %lld does not divide the %lld channels",
                              (long long)groups, (long long)c);
    int per_group = in[1].shape.rank == 1 && in[1].shape.dims[0] == groups && groups != c;
    int64_t count = per_group ? groups : c;
    if ((st = require_vector(n, in, 1, names[1], count)) != WEFT_OK ||
        (st = require_vector(n, in, 2, names[2], count)) != WEFT_OK ||
        (st = ref_check_output(n, out, out_count, 0, WEFT_FLOAT32, s)) != WEFT_OK)
        return st;
    normalize_groups(in[0].data, in[1].data, in[2].data, out[0].data, s->dims[0] * groups, groups,
                     c / groups, weft_shape_product(s, 2, s->rank), per_group, eps);
    return WEFT_OK;
}
