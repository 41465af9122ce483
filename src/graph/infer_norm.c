/*
 * Shape inference of the normalizations: BatchNormalization (inference
 * form), LRN, InstanceNormalization, LayerNormalization and
 * GroupNormalization. The output has the shape of X; per-channel inputs
 * are checked against X's channel axis (axis 1).
 */
#include <string.h>

#include "graph/infer_util.h"
#include "graph/op_kind.h"

/* X: float32 with N, C and at least `min_rank` - 2 more axes. */
static weft_status check_x(const weft_node *n, const weft_value *x, int min_rank)
{
    weft_status st = infer_require_float(n, x, "X");
    if (st != WEFT_OK)
        return st;
    if (x->shape.rank < min_rank)
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "input 'X' ('%s') has shape %s; %s needs rank >= %d", x->name,
                              weft_shape_str(&x->shape).s, n->op, min_rank);
    return WEFT_OK;
}

/* Input i (ONNX name `what`): float32 of shape [c], or of shape [alt]
 * when alt > 0. */
static weft_status check_per_channel(const weft_graph *g, const weft_node *n, size_t i,
                                     const char *what, int64_t c, int64_t alt)
{
    const weft_value *v = weft_node_input(g, n, i);
    if (!v)
        return WEFT_OK;
    weft_status st = infer_require_float(n, v, what);
    if (st != WEFT_OK)
        return st;
    if (v->shape.rank == 1 && (v->shape.dims[0] == c || (alt > 0 && v->shape.dims[0] == alt)))
        return WEFT_OK;
    if (alt > 0)
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "input '%s' ('%s') has shape %s, expected [%lld] (one per channel) "
                              "or [%lld] (one per group, opset 18)",
                              what, v->name, weft_shape_str(&v->shape).s, (long long)c,
                              (long long)alt);
    return weft_node_fail(n, WEFT_ERR_SHAPE,
                          "input '%s' ('%s') has shape %s, expected [%lld] (one per channel)",
                          what, v->name, weft_shape_str(&v->shape).s, (long long)c);
}

static weft_status check_epsilon(const weft_node *n)
{
    float eps;
    return weft_node_attr_float(n, "epsilon", 1e-5f, &eps);
}

/* stash_type: the precision of mean and variance, an ONNX float type. */
static weft_status check_stash_type(const weft_node *n, int64_t *t)
{
    weft_status st = weft_node_attr_int(n, "stash_type", 1, t);
    if (st == WEFT_OK && *t != 1 && *t != 10 && *t != 11 && *t != 16)
        return weft_node_fail(n, WEFT_ERR_GRAPH,
                              "attribute 'stash_type' = %lld is not a float type (1, 10, 11 or 16)",
                              (long long)*t);
    return st;
}

weft_status weft_infer_batch_norm(weft_graph *g, weft_node *n)
{
    const weft_value *x = weft_node_input(g, n, 0);
    int64_t training, spatial;
    float momentum;
    weft_status st;
    if ((st = check_x(n, x, 2)) != WEFT_OK || (st = check_epsilon(n)) != WEFT_OK ||
        (st = weft_node_attr_float(n, "momentum", 0.9f, &momentum)) != WEFT_OK ||
        (st = infer_attr_int_range(n, "training_mode", 0, 0, 1, &training)) != WEFT_OK ||
        (st = infer_attr_int_range(n, "spatial", 1, 0, 1, &spatial)) != WEFT_OK)
        return st;
    if (training)
        return weft_node_fail(n, WEFT_ERR_UNSUPPORTED,
                              "attribute 'training_mode' = 1: training outputs are not supported; "
                              "weft runs BatchNormalization in inference mode");
    for (size_t i = 1; i < n->output_count; i++)
        if (weft_node_output(g, n, i))
            return weft_node_fail(n, WEFT_ERR_UNSUPPORTED,
                                  "output %zu ('%s'): training outputs (running mean and variance) "
                                  "are not supported; weft runs BatchNormalization in inference "
                                  "mode",
                                  i, weft_node_output(g, n, i)->name);
    if (!spatial)
        return weft_node_fail(n, WEFT_ERR_UNSUPPORTED,
                              "attribute 'spatial' = 0 (per-activation statistics, opset < 9) is "
                              "not supported");
    static const char *const names[] = {"", "scale", "B", "input_mean", "input_var"};
    int64_t c = x->shape.dims[1];
    for (size_t i = 1; i < 5; i++)
        if ((st = check_per_channel(g, n, i, names[i], c, 0)) != WEFT_OK)
            return st;
    infer_set_output(g, n, 0, x->dtype, &x->shape);
    return WEFT_OK;
}

weft_status weft_infer_lrn(weft_graph *g, weft_node *n)
{
    const weft_value *x = weft_node_input(g, n, 0);
    int64_t size;
    float f;
    weft_status st;
    /* ONNX sums over floor((size-1)/2) channels before and ceil((size-1)/2)
     * after, so an even size is valid too. */
    if ((st = check_x(n, x, 2)) != WEFT_OK ||
        (st = infer_attr_int_required(n, "size", &size)) != WEFT_OK ||
        (st = weft_node_attr_float(n, "alpha", 1e-4f, &f)) != WEFT_OK ||
        (st = weft_node_attr_float(n, "beta", 0.75f, &f)) != WEFT_OK ||
        (st = weft_node_attr_float(n, "bias", 1.0f, &f)) != WEFT_OK)
        return st;
    if (size < 1 || size > INFER_ATTR_MAX)
        return weft_node_fail(n, WEFT_ERR_GRAPH, "attribute 'size' = %lld must be positive",
                              (long long)size);
    infer_set_output(g, n, 0, x->dtype, &x->shape);
    return WEFT_OK;
}

weft_status weft_infer_instance_norm(weft_graph *g, weft_node *n)
{
    const weft_value *x = weft_node_input(g, n, 0);
    weft_status st;
    if ((st = check_x(n, x, 3)) != WEFT_OK || (st = check_epsilon(n)) != WEFT_OK ||
        (st = check_per_channel(g, n, 1, "scale", x->shape.dims[1], 0)) != WEFT_OK ||
        (st = check_per_channel(g, n, 2, "B", x->shape.dims[1], 0)) != WEFT_OK)
        return st;
    infer_set_output(g, n, 0, x->dtype, &x->shape);
    return WEFT_OK;
}

weft_status weft_infer_layer_norm(weft_graph *g, weft_node *n)
{
    const weft_value *x = weft_node_input(g, n, 0);
    int64_t axis, stash;
    int ax = 0;
    weft_status st;
    if ((st = check_x(n, x, 1)) != WEFT_OK || (st = check_epsilon(n)) != WEFT_OK ||
        (st = check_stash_type(n, &stash)) != WEFT_OK ||
        (st = weft_node_attr_int(n, "axis", -1, &axis)) != WEFT_OK ||
        (st = weft_params_axis(n, "attribute 'axis'", axis, x->shape.rank, &ax, NULL, 0)) !=
            WEFT_OK)
        return st;
    /* Scale and B broadcast to the normalized shape X[axis:]. */
    weft_shape normalized = {.rank = x->shape.rank - ax};
    for (int i = 0; i < normalized.rank; i++)
        normalized.dims[i] = x->shape.dims[ax + i];
    static const char *const names[] = {"", "Scale", "B"};
    for (size_t i = 1; i < 3; i++) {
        const weft_value *v = weft_node_input(g, n, i);
        if (!v)
            continue;
        if ((st = infer_require_float(n, v, names[i])) != WEFT_OK)
            return st;
        if (!infer_unidirectional(&normalized, &v->shape))
            return weft_node_fail(n, WEFT_ERR_SHAPE,
                                  "input '%s' ('%s') of shape %s does not broadcast to the "
                                  "normalized shape %s (X[axis:], attribute 'axis' = %lld)",
                                  names[i], v->name, weft_shape_str(&v->shape).s,
                                  weft_shape_str(&normalized).s, (long long)axis);
    }
    /* Mean and InvStdDev: X's shape with the normalized axes set to 1, of
     * the stash type, which must then be float32. */
    for (size_t i = 1; i < 3; i++)
        if (stash != 1 && weft_node_output(g, n, i))
            return weft_node_fail(n, WEFT_ERR_UNSUPPORTED,
                                  "output %zu ('%s') would have the type of attribute "
                                  "'stash_type' = %lld; weft has float32 statistics only",
                                  i, weft_node_output(g, n, i)->name, (long long)stash);
    infer_set_output(g, n, 0, x->dtype, &x->shape);
    weft_shape stats = x->shape;
    for (int i = ax; i < stats.rank; i++)
        stats.dims[i] = 1;
    infer_set_output(g, n, 1, WEFT_FLOAT32, &stats);
    infer_set_output(g, n, 2, WEFT_FLOAT32, &stats);
    return WEFT_OK;
}

weft_status weft_infer_group_norm(weft_graph *g, weft_node *n)
{
    const weft_value *x = weft_node_input(g, n, 0);
    int64_t groups, stash;
    weft_status st;
    if ((st = check_x(n, x, 2)) != WEFT_OK || (st = check_epsilon(n)) != WEFT_OK ||
        (st = check_stash_type(n, &stash)) != WEFT_OK ||
        (st = infer_attr_int_required(n, "num_groups", &groups)) != WEFT_OK)
        return st;
    if (groups < 1)
        return weft_node_fail(n, WEFT_ERR_GRAPH, "attribute 'num_groups' = %lld must be positive",
                              (long long)groups);
    int64_t c = x->shape.dims[1];
    if (c % groups != 0)
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "attribute 'num_groups' = %lld does not divide the %lld channels of "
                              "X ('%s')",
                              (long long)groups, (long long)c, x->name);
    /* Opset 21 scales per channel; opset 18 per group. */
    if ((st = check_per_channel(g, n, 1, "scale", c, groups)) != WEFT_OK ||
        (st = check_per_channel(g, n, 2, "bias", c, groups)) != WEFT_OK)
        return st;
    const weft_value *s = weft_node_input(g, n, 1), *b = weft_node_input(g, n, 2);
    if (s->shape.dims[0] != b->shape.dims[0])
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "input 'scale' ('%s') %s and input 'bias' ('%s') %s differ",
                              s->name, weft_shape_str(&s->shape).s, b->name,
                              weft_shape_str(&b->shape).s);
    infer_set_output(g, n, 0, x->dtype, &x->shape);
    return WEFT_OK;
}
