/*
 * Shape inference of element-wise ops: numpy broadcasting (Add ... Sum),
 * PRelu, unary activations, Clip, Dropout and Softmax/LogSoftmax.
 * Every output keeps the data type of the first input.
 */
#include <string.h>

#include "graph/infer_util.h"
#include "graph/op_kind.h"

weft_status weft_infer_broadcast(weft_graph *g, weft_node *n)
{
    const weft_value *first = NULL;
    weft_status st = infer_require_input(g, n, 0, "A", &first);
    if (st != WEFT_OK)
        return st;
    weft_shape out = first->shape;
    for (size_t i = 1; i < n->input_count; i++) {
        const weft_value *v = NULL;
        char what[32];
        snprintf(what, sizeof what, "input %zu", i);
        if ((st = infer_require_input(g, n, i, what, &v)) != WEFT_OK)
            return st;
        if (v->dtype != first->dtype)
            return weft_node_fail(n, WEFT_ERR_GRAPH,
                                  "input %zu ('%s') is %s but input 0 ('%s') is %s; they must "
                                  "have the same data type",
                                  i, v->name, weft_dtype_name(v->dtype), first->name,
                                  weft_dtype_name(first->dtype));
        weft_shape next;
        if (weft_shape_broadcast(&out, &v->shape, &next) != WEFT_OK) {
            if (i == 1)
                return weft_node_fail(n, WEFT_ERR_SHAPE,
                                      "input shapes %s ('%s') and %s ('%s') do not broadcast",
                                      weft_shape_str(&first->shape).s, first->name,
                                      weft_shape_str(&v->shape).s, v->name);
            return weft_node_fail(n, WEFT_ERR_SHAPE,
                                  "input %zu ('%s') of shape %s does not broadcast with the shape "
                                  "%s of the inputs before it",
                                  i, v->name, weft_shape_str(&v->shape).s, weft_shape_str(&out).s);
        }
        out = next;
    }
    infer_set_output(g, n, 0, first->dtype, &out);
    return WEFT_OK;
}

weft_status weft_infer_prelu(weft_graph *g, weft_node *n)
{
    const weft_value *x = weft_node_input(g, n, 0), *slope = weft_node_input(g, n, 1);
    weft_status st = infer_same_dtype(n, x, "X", slope, "slope");
    if (st != WEFT_OK)
        return st;
    if (!infer_unidirectional(&x->shape, &slope->shape))
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "input 'slope' ('%s') of shape %s does not broadcast to the shape %s "
                              "of X ('%s')",
                              slope->name, weft_shape_str(&slope->shape).s,
                              weft_shape_str(&x->shape).s, x->name);
    infer_set_output(g, n, 0, x->dtype, &x->shape);
    return WEFT_OK;
}

/* Unary ops whose ONNX type constraint is float only (the others also
 * take int64: Relu, Neg, Abs, Erf, Identity). */
static int unary_float_only(const char *op)
{
    static const char *const ops[] = {"LeakyRelu", "Elu",  "Selu",     "Sigmoid",
                                      "HardSigmoid", "HardSwish", "Tanh", "Gelu",
                                      "Softplus",  "Softsign", "Mish", "Sqrt",
                                      "Exp",       "Log"};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(op, ops[i]) == 0)
            return 1;
    return 0;
}

/* Reads every float attribute an activation declares, so that a wrong
 * attribute type is reported; ONNX puts no range on them. */
static weft_status check_float_attrs(const weft_node *n, const char *const *names)
{
    for (size_t i = 0; names[i]; i++) {
        float f;
        weft_status st = weft_node_attr_float(n, names[i], 0.0f, &f);
        if (st != WEFT_OK)
            return st;
    }
    return WEFT_OK;
}

weft_status weft_infer_unary(weft_graph *g, weft_node *n)
{
    const weft_value *x = weft_node_input(g, n, 0);
    weft_status st = WEFT_OK;
    if (unary_float_only(n->op) && (st = infer_require_float(n, x, "X")) != WEFT_OK)
        return st;
    static const char *const alpha[] = {"alpha", NULL};
    static const char *const alpha_beta[] = {"alpha", "beta", NULL};
    static const char *const alpha_gamma[] = {"alpha", "gamma", NULL};
    if (strcmp(n->op, "LeakyRelu") == 0 || strcmp(n->op, "Elu") == 0)
        st = check_float_attrs(n, alpha);
    else if (strcmp(n->op, "HardSigmoid") == 0)
        st = check_float_attrs(n, alpha_beta);
    else if (strcmp(n->op, "Selu") == 0)
        st = check_float_attrs(n, alpha_gamma);
    else if (strcmp(n->op, "Gelu") == 0) {
        static const char *const approx[] = {"none", "tanh", NULL};
        const char *s;
        st = infer_attr_choice(n, "approximate", "none", approx, &s);
    }
    if (st != WEFT_OK)
        return st;
    infer_set_output(g, n, 0, x->dtype, &x->shape);
    return WEFT_OK;
}

/* A Clip bound given as an input: a scalar of X's type. */
static weft_status check_bound(const weft_graph *g, const weft_node *n, size_t i, const char *what,
                               const weft_value *x)
{
    const weft_value *v = weft_node_input(g, n, i);
    if (!v)
        return WEFT_OK;
    if (weft_node_attr(n, what))
        return weft_node_fail(n, WEFT_ERR_GRAPH,
                              "'%s' is given both as an attribute (opset < 11) and as input %zu "
                              "('%s'); give one",
                              what, i, v->name);
    weft_status st = infer_same_dtype(n, x, "input", v, what);
    if (st != WEFT_OK)
        return st;
    if (weft_shape_numel(&v->shape) != 1 || v->shape.rank > 1)
        return weft_node_fail(n, WEFT_ERR_SHAPE,
                              "input '%s' ('%s') has shape %s, expected a scalar", what, v->name,
                              weft_shape_str(&v->shape).s);
    return WEFT_OK;
}

weft_status weft_infer_clip(weft_graph *g, weft_node *n)
{
    const weft_value *x = weft_node_input(g, n, 0);
    static const char *const bounds[] = {"min", "max", NULL};
    weft_status st = check_float_attrs(n, bounds);
    if (st == WEFT_OK)
        st = check_bound(g, n, 1, "min", x);
    if (st == WEFT_OK)
        st = check_bound(g, n, 2, "max", x);
    if (st != WEFT_OK)
        return st;
    infer_set_output(g, n, 0, x->dtype, &x->shape);
    return WEFT_OK;
}

weft_status weft_infer_dropout(weft_graph *g, weft_node *n)
{
    const weft_value *x = weft_node_input(g, n, 0);
    weft_status st = infer_require_float(n, x, "data");
    if (st != WEFT_OK)
        return st;
    /* The ratio: an attribute up to opset 10, an optional scalar input
     * since 12. Only its range matters at inference. */
    float ratio;
    if ((st = weft_node_attr_float(n, "ratio", 0.5f, &ratio)) != WEFT_OK)
        return st;
    if (!(ratio >= 0.0f && ratio < 1.0f))
        return weft_node_fail(n, WEFT_ERR_GRAPH, "attribute 'ratio' = %g is out of range [0, 1)",
                              (double)ratio);
    const weft_value *r = weft_node_input(g, n, 1);
    if (r) {
        if (weft_node_attr(n, "ratio"))
            return weft_node_fail(n, WEFT_ERR_GRAPH,
                                  "'ratio' is given both as an attribute (opset < 12) and as input "
                                  "1 ('%s'); give one",
                                  r->name);
        if (r->dtype != WEFT_FLOAT32 || weft_shape_numel(&r->shape) != 1 || r->shape.rank > 1)
            return weft_node_fail(n, WEFT_ERR_GRAPH,
                                  "input 'ratio' ('%s') is %s %s, expected a float32 scalar",
                                  r->name, weft_dtype_name(r->dtype), weft_shape_str(&r->shape).s);
        const float *rv = infer_const_data(r);
        if (rv && !(rv[0] >= 0.0f && rv[0] < 1.0f))
            return weft_node_fail(n, WEFT_ERR_GRAPH,
                                  "input 'ratio' ('%s') = %g is out of range [0, 1)", r->name,
                                  (double)rv[0]);
    }
    /* training_mode is a bool tensor in ONNX; weft runs inference only and
     * accepts it only as a constant false (zero). */
    const weft_value *t = weft_node_input(g, n, 2);
    if (t) {
        const void *d = infer_const_data(t);
        int64_t count = weft_shape_numel(&t->shape);
        int on = !d || count != 1;
        if (!on)
            on = t->dtype == WEFT_INT64 ? ((const int64_t *)d)[0] != 0
                                        : ((const float *)d)[0] != 0.0f;
        if (on)
            return weft_node_fail(n, WEFT_ERR_UNSUPPORTED,
                                  "input 'training_mode' ('%s') must be a constant false: weft "
                                  "runs Dropout in inference mode only",
                                  t->name);
    }
    const weft_value *mask = weft_node_output(g, n, 1);
    if (mask)
        return weft_node_fail(n, WEFT_ERR_UNSUPPORTED,
                              "output 'mask' ('%s') is a bool tensor, a type weft does not have; "
                              "leave the mask output unnamed",
                              mask->name);
    infer_set_output(g, n, 0, x->dtype, &x->shape);
    return WEFT_OK;
}

weft_status weft_infer_softmax(weft_graph *g, weft_node *n)
{
    const weft_value *x = weft_node_input(g, n, 0);
    weft_status st = infer_require_float(n, x, "input");
    if (st != WEFT_OK)
        return st;
    int64_t axis;
    int ax = 0;
    if ((st = weft_node_attr_int(n, "axis", -1, &axis)) != WEFT_OK ||
        (st = weft_params_axis(n, "attribute 'axis'", axis, x->shape.rank, &ax, NULL, 0)) !=
            WEFT_OK)
        return st;
    infer_set_output(g, n, 0, x->dtype, &x->shape);
    return WEFT_OK;
}
