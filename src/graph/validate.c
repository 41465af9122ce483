/* Graph validation and shape inference, in one walk over the graph. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/error.h"
#include "graph/graph.h"
#include "graph/op_kind.h"
#include "graph/passes.h"

weft_status weft_node_fail(const weft_node *n, weft_status status, const char *fmt, ...)
{
    char detail[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return weft_fail(status, "node '%s' (%s): %s", n->name, n->op, detail);
}

static weft_status check_structure(const weft_graph *g)
{
    for (size_t i = 0; i < g->node_count; i++) {
        const weft_node *n = &g->nodes[i];
        if (n->removed)
            continue;
        const weft_op_kind *kind = weft_op_kind_find(n->op);
        if (!kind)
            return weft_node_fail(n, WEFT_ERR_UNSUPPORTED, "op type not supported");
        if ((int)n->input_count < kind->min_inputs ||
            (kind->max_inputs >= 0 && (int)n->input_count > kind->max_inputs))
            return kind->max_inputs >= 0
                       ? weft_node_fail(n, WEFT_ERR_GRAPH, "%zu inputs, expected %d to %d",
                                        n->input_count, kind->min_inputs, kind->max_inputs)
                       : weft_node_fail(n, WEFT_ERR_GRAPH, "%zu inputs, expected at least %d",
                                        n->input_count, kind->min_inputs);
        if ((int)n->output_count < kind->min_outputs ||
            (kind->max_outputs >= 0 && (int)n->output_count > kind->max_outputs))
            return kind->max_outputs >= 0
                       ? weft_node_fail(n, WEFT_ERR_GRAPH, "%zu outputs, expected %d to %d",
                                        n->output_count, kind->min_outputs, kind->max_outputs)
                       : weft_node_fail(n, WEFT_ERR_GRAPH, "%zu outputs, expected at least %d",
                                        n->output_count, kind->min_outputs);
        for (size_t k = 0; k < n->input_count; k++) {
            int v = n->inputs[k];
            if (v < 0 && (int)k < kind->min_inputs)
                return weft_node_fail(n, WEFT_ERR_GRAPH, "required input %zu is absent", k);
            if (v >= 0 && g->values[v].kind == WEFT_VALUE_UNDEFINED)
                return weft_node_fail(n, WEFT_ERR_GRAPH,
                                      "input '%s' is not a graph input, a constant or the output "
                                      "of any node",
                                      g->values[v].name);
        }
        if (n->output_count > 0 && n->outputs[0] < 0)
            return weft_node_fail(n, WEFT_ERR_GRAPH, "its first output has no name");
        for (size_t k = 0; k < n->output_count; k++) {
            int v = n->outputs[k];
            if (v < 0 || !g->values[v].produced_twice)
                continue;
            const weft_value *val = &g->values[v];
            if (val->kind == WEFT_VALUE_NODE && val->producer == (int)i)
                continue; /* the first producer: the second one reports */
            if (val->kind == WEFT_VALUE_NODE)
                return weft_node_fail(n, WEFT_ERR_GRAPH,
                                      "output '%s' is already produced by node '%s'", val->name,
                                      g->nodes[val->producer].name);
            return weft_node_fail(n, WEFT_ERR_GRAPH, "output '%s' is already %s", val->name,
                                  val->kind == WEFT_VALUE_INPUT      ? "a graph input"
                                  : val->kind == WEFT_VALUE_CONSTANT ? "a constant"
                                                                     : "produced twice");
        }
    }
    if (g->output_count == 0)
        return weft_fail(WEFT_ERR_GRAPH, "the graph has no outputs");
    for (size_t i = 0; i < g->output_count; i++) {
        const weft_value *v = &g->values[g->outputs[i]];
        if (v->kind == WEFT_VALUE_UNDEFINED)
            return weft_fail(WEFT_ERR_GRAPH,
                             "graph output '%s' is not produced by any node, input or constant",
                             v->name);
    }
    return WEFT_OK;
}

weft_status weft_graph_validate(weft_graph *g)
{
    if (!g)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_graph_validate: graph is NULL");
    return weft_graph_infer(g, 1);
}

weft_status weft_graph_infer(weft_graph *g, int fold)
{
    weft_status st = check_structure(g);
    if (st != WEFT_OK)
        return st;
    int *order;
    size_t count;
    st = weft_graph_topo_order(g, &order, &count);
    if (st != WEFT_OK)
        return st;
    for (size_t i = 0; i < count && st == WEFT_OK; i++) {
        weft_node *n = &g->nodes[order[i]];
        for (size_t k = 0; k < n->output_count; k++)
            if (n->outputs[k] >= 0)
                g->values[n->outputs[k]].shape_known = 0;
        st = weft_op_kind_find(n->op)->infer(g, n);
        for (size_t k = 0; k < n->output_count && st == WEFT_OK; k++) {
            const weft_value *v = weft_node_output(g, n, k);
            if (v && !v->shape_known)
                st = weft_node_fail(n, WEFT_ERR_INTERNAL, "shape of output '%s' not inferred",
                                    v->name);
            else if (v && weft_shape_numel(&v->shape) < 0)
                st = weft_node_fail(n, WEFT_ERR_SHAPE, "the size of output '%s' overflows",
                                    v->name);
        }
        if (st == WEFT_OK && fold && weft_node_foldable(g, n, WEFT_FOLD_MAX_BYTES))
            st = weft_fold_node(g, n);
    }
    free(order);
    return st;
}
