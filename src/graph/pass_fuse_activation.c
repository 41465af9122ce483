/*
 * Fusing an activation into the layer that produces its input, so that the
 * layer's kernel applies it as it stores (one pass over the tensor fewer):
 *   Conv / ConvTranspose / Gemm / MatMul  ->  Relu | LeakyRelu | Clip |
 *                                             Sigmoid | Tanh | HardSwish
 * becomes the layer alone with
 *   _weft_activation  the activation's op type
 *   _weft_alpha       LeakyRelu's alpha; Clip's min (absent: -inf)
 *   _weft_beta        Clip's max (absent: +inf)
 * (src/ops/conv_geom.h documents how the kernels read them; the reference
 * applies the same activation after the op, src/ref/ref.c). The names
 * start with "_weft_" so that they cannot clash with an ONNX attribute.
 *
 * It applies only when nothing else can see the difference: the layer's
 * output is float32, read by the activation alone (not by another node,
 * not a graph output), the layer has no fused activation yet, and Clip's
 * bounds, when inputs, are float32 scalar constants. The layer then writes
 * the activation's output and the activation is marked removed; run
 * weft_graph_compact afterwards.
 */
#include <math.h>
#include <string.h>

#include "graph/passes.h"

static int is_layer(const char *op)
{
    static const char *const layers[] = {"Conv", "ConvTranspose", "Gemm", "MatMul"};
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++)
        if (strcmp(op, layers[i]) == 0)
            return 1;
    return 0;
}

/* Clip's bound from input i (opset 11+) or attribute `name` (before):
 * def when absent; 0 when it is not a float32 scalar constant. */
static int clip_bound(const weft_graph *g, const weft_node *n, size_t i, const char *name,
                      float def, float *out)
{
    const weft_value *v = weft_node_input(g, n, i);
    *out = def;
    if (v) {
        if (v->kind != WEFT_VALUE_CONSTANT || v->dtype != WEFT_FLOAT32 || !v->data ||
            weft_shape_numel(&v->shape) != 1)
            return 0;
        *out = *(const float *)v->data;
        return 1;
    }
    return weft_node_attr_float(n, name, def, out) == WEFT_OK;
}

/* Whether node a is an activation the layers fuse, with its parameters. */
static int fusable(const weft_graph *g, const weft_node *a, float *alpha, float *beta)
{
    *alpha = 0.0f;
    *beta = 0.0f;
    if (strcmp(a->op, "LeakyRelu") == 0)
        return weft_node_attr_float(a, "alpha", 0.01f, alpha) == WEFT_OK;
    if (strcmp(a->op, "Clip") == 0)
        return clip_bound(g, a, 1, "min", -INFINITY, alpha) &&
               clip_bound(g, a, 2, "max", INFINITY, beta);
    static const char *const plain[] = {"Relu", "Sigmoid", "Tanh", "HardSwish"};
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
        if (strcmp(a->op, plain[i]) == 0)
            return 1;
    return 0;
}

/* The live node reading value v as its input 0, when it is the only
 * reader; NULL otherwise. */
static weft_node *only_reader(weft_graph *g, int v)
{
    if (weft_value_uses(g, v) != 1)
        return NULL;
    for (size_t i = 0; i < g->node_count; i++) {
        weft_node *n = &g->nodes[i];
        if (!n->removed && n->input_count > 0 && n->inputs[0] == v)
            return n;
    }
    return NULL;
}

weft_status weft_pass_fuse_activation(weft_graph *g, size_t *changed)
{
    *changed = 0;
    for (size_t i = 0; i < g->node_count; i++) {
        weft_node *layer = &g->nodes[i];
        if (layer->removed || !is_layer(layer->op) || layer->output_count != 1 ||
            layer->outputs[0] < 0 || weft_node_attr(layer, "_weft_activation"))
            continue;
        int y = layer->outputs[0];
        if (g->values[y].dtype != WEFT_FLOAT32)
            continue;
        weft_node *act = only_reader(g, y);
        float alpha, beta;
        if (!act || act->output_count != 1 || act->outputs[0] < 0 || !fusable(g, act, &alpha, &beta))
            continue;
        /* Only out of memory can fail here. */
        weft_status st = weft_attrs_set_string(&layer->attrs, "_weft_activation", act->op);
        if (st == WEFT_OK)
            st = weft_attrs_set_float(&layer->attrs, "_weft_alpha", alpha);
        if (st == WEFT_OK)
            st = weft_attrs_set_float(&layer->attrs, "_weft_beta", beta);
        if (st != WEFT_OK)
            return st;
        /* The layer writes the activation's output; compaction drops the
         * old one. */
        int z = act->outputs[0];
        layer->outputs[0] = z;
        g->values[z].producer = (int)i;
        g->values[y].producer = -1;
        g->values[y].kind = WEFT_VALUE_UNDEFINED;
        act->removed = 1;
        (*changed)++;
    }
    return WEFT_OK;
}
