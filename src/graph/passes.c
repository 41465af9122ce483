#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "graph/passes.h"
#include "ref/ref.h"

/* Replaces every use of value `from` as a node input by `to`. */
static void rewire(weft_graph *g, int from, int to)
{
    for (size_t i = 0; i < g->node_count; i++) {
        weft_node *n = &g->nodes[i];
        if (n->removed)
            continue;
        for (size_t k = 0; k < n->input_count; k++)
            if (n->inputs[k] == from)
                n->inputs[k] = to;
    }
}

size_t weft_value_uses(const weft_graph *g, int v)
{
    size_t count = g->values[v].is_output ? 1 : 0;
    for (size_t i = 0; i < g->node_count; i++) {
        const weft_node *n = &g->nodes[i];
        if (n->removed)
            continue;
        for (size_t k = 0; k < n->input_count; k++)
            count += n->inputs[k] == v;
    }
    return count;
}

static int is_used(const weft_graph *g, int v)
{
    return weft_value_uses(g, v) > 0;
}

weft_status weft_pass_remove_identity(weft_graph *g, size_t *changed)
{
    *changed = 0;
    for (size_t i = 0; i < g->node_count; i++) {
        weft_node *n = &g->nodes[i];
        if (n->removed || (strcmp(n->op, "Identity") != 0 && strcmp(n->op, "Dropout") != 0))
            continue;
        if (n->input_count < 1 || n->inputs[0] < 0 || n->outputs[0] < 0)
            continue;
        if (n->output_count > 1 && n->outputs[1] >= 0 && is_used(g, n->outputs[1]))
            continue; /* a used Dropout mask */
        if (g->values[n->outputs[0]].is_output)
            continue;
        rewire(g, n->outputs[0], n->inputs[0]);
        n->removed = 1;
        (*changed)++;
    }
    return WEFT_OK;
}

weft_status weft_pass_remove_dead(weft_graph *g, size_t *changed)
{
    *changed = 0;
    /* Removing a node can make its producers dead: repeat to a fixpoint. */
    for (int again = 1; again;) {
        again = 0;
        for (size_t i = g->node_count; i-- > 0;) {
            weft_node *n = &g->nodes[i];
            if (n->removed)
                continue;
            int live = 0;
            for (size_t k = 0; k < n->output_count && !live; k++)
                live = n->outputs[k] >= 0 && is_used(g, n->outputs[k]);
            if (!live) {
                n->removed = 1;
                (*changed)++;
                again = 1;
            }
        }
    }
    return WEFT_OK;
}

int weft_node_foldable(const weft_graph *g, const weft_node *n, size_t max_bytes)
{
    if (n->removed || !weft_ref_find(n->op) || n->input_count > 8 || n->output_count > 4)
        return 0;
    if (strcmp(n->op, "Shape") == 0) {
        if (n->input_count != 1 || n->inputs[0] < 0 || !g->values[n->inputs[0]].shape_known)
            return 0;
    } else {
        for (size_t k = 0; k < n->input_count; k++)
            if (n->inputs[k] >= 0 && g->values[n->inputs[k]].kind != WEFT_VALUE_CONSTANT)
                return 0;
    }
    size_t bytes = 0;
    for (size_t k = 0; k < n->output_count; k++) {
        const weft_value *v = weft_node_output(g, n, k);
        if (v && !v->shape_known)
            return 0;
        if (v)
            bytes += (size_t)weft_shape_numel(&v->shape) * weft_dtype_size(v->dtype);
    }
    return bytes <= max_bytes;
}

weft_status weft_fold_node(weft_graph *g, weft_node *n)
{
    weft_ref_fn ref = weft_ref_find(n->op);
    weft_host_tensor in[8] = {{0}}, out[4] = {{0}};
    for (size_t k = 0; k < n->input_count; k++) {
        const weft_value *v = weft_node_input(g, n, k);
        if (v)
            in[k] = (weft_host_tensor){v->dtype, v->shape, v->data};
    }
    weft_status st = WEFT_OK;
    for (size_t k = 0; k < n->output_count && st == WEFT_OK; k++) {
        const weft_value *v = weft_node_output(g, n, k);
        if (!v)
            continue;
        size_t bytes = (size_t)weft_shape_numel(&v->shape) * weft_dtype_size(v->dtype);
        out[k] = (weft_host_tensor){v->dtype, v->shape, malloc(bytes ? bytes : 1)};
        if (!out[k].data)
            st = weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory to fold node '%s'", n->name);
    }
    if (st == WEFT_OK)
        st = ref(n, in, n->input_count, out, n->output_count);
    if (st != WEFT_OK) {
        for (size_t k = 0; k < n->output_count; k++)
            free(out[k].data);
        return st;
    }
    for (size_t k = 0; k < n->output_count; k++) {
        weft_value *v = weft_node_output(g, n, k);
        if (!v)
            continue;
        v->kind = WEFT_VALUE_CONSTANT;
        v->producer = -1;
        v->data = out[k].data;
    }
    n->removed = 1;
    return WEFT_OK;
}

weft_status weft_pass_fold_constants(weft_graph *g, size_t max_bytes, size_t *changed)
{
    *changed = 0;
    int *order;
    size_t count;
    weft_status st = weft_graph_topo_order(g, &order, &count);
    if (st != WEFT_OK)
        return st;
    for (size_t i = 0; i < count && st == WEFT_OK; i++) {
        weft_node *n = &g->nodes[order[i]];
        if (!weft_node_foldable(g, n, max_bytes))
            continue;
        st = weft_fold_node(g, n);
        if (st == WEFT_OK)
            (*changed)++;
    }
    free(order);
    return st;
}

weft_status weft_graph_simplify(weft_graph *g)
{
    size_t changed;
    weft_status st = weft_graph_validate(g);
    if (st == WEFT_OK)
        st = weft_pass_remove_identity(g, &changed);
    if (st == WEFT_OK)
        st = weft_pass_fold_constants(g, WEFT_FOLD_MAX_BYTES, &changed);
    if (st == WEFT_OK)
        st = weft_pass_remove_dead(g, &changed);
    if (st == WEFT_OK)
        st = weft_pass_fold_batch_norm(g, &changed);
    if (st == WEFT_OK)
        st = weft_pass_fuse_residual(g, &changed);
    if (st == WEFT_OK)
        st = weft_pass_fuse_activation(g, &changed);
    if (st == WEFT_OK)
        st = weft_graph_compact(g);
    if (st == WEFT_OK)
        st = weft_graph_validate(g);
    return st;
}
