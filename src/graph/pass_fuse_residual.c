/*
 * Fusing a residual Add into the Conv that produces one of its operands,
 * so that the conv's kernel adds the other operand as it stores (the
 * ResNet and MobileNetV2 blocks' skip connections: one pass over the
 * tensor fewer, and the Relu after the Add then fuses as the conv's
 * activation, pass_fuse_activation.c):
 *   Add(Conv(x, W, B), r)  or  Add(r, Conv(x, W, B))
 * becomes
 *   Conv(x, W, B, r)  with  _weft_residual = 1
 * which computes y = act(conv(x) + B + r): the residual after the bias,
 * before any activation fused later (src/ops/conv_geom.h; the reference
 * adds it in src/ref/ref_conv.c). Input 3 exists only with the marker:
 * shape inference refuses a fourth Conv input without it (infer_conv.c).
 *
 * It applies only when nothing else can see the difference: the Add has
 * two float32 operands of the same shape as its output (no broadcasting);
 * the chosen operand is output 0 of a Conv with no fused activation and
 * no residual yet, read by this Add alone (not by another node, not a
 * graph output). When both operands qualify (ResNet's downsampling block:
 * a 3x3 conv and a 1x1 strided conv), the first one the Add reads is
 * taken. The other operand must not depend on the chosen conv, or the
 * conv would read its own result; with the single-reader rule that cannot
 * happen (a path from the conv to r would run through the Add, which
 * reads r), but it is checked rather than assumed. Node order needs no
 * change: every consumer of the graph orders nodes by
 * weft_graph_topo_order, which places the conv after the producer of r.
 * The conv then writes the Add's output and the Add is marked removed;
 * run weft_graph_compact afterwards.
 */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "graph/passes.h"

/* Whether value v depends on node target (target's output reaches it
 * through producers). seen: node_count bytes of scratch, cleared here. */
static int depends_on(const weft_graph *g, int v, int target, char *seen, int *stack)
{
    memset(seen, 0, g->node_count);
    size_t top = 0;
    if (v < 0 || g->values[v].producer < 0)
        return 0;
    stack[top++] = g->values[v].producer;
    seen[g->values[v].producer] = 1;
    while (top > 0) {
        int p = stack[--top];
        if (p == target)
            return 1;
        const weft_node *n = &g->nodes[p];
        for (size_t k = 0; k < n->input_count; k++) {
            int u = n->inputs[k];
            int q = u >= 0 ? g->values[u].producer : -1;
            if (q >= 0 && !seen[q] && !g->nodes[q].removed) {
                seen[q] = 1;
                stack[top++] = q;
            }
        }
    }
    return 0;
}

/* The Conv producing value v when the residual may be fused into it;
 * -1 otherwise. */
static int fusable_conv(const weft_graph *g, int v)
{
    const weft_value *val = &g->values[v];
    if (val->kind != WEFT_VALUE_NODE || val->producer < 0 || val->dtype != WEFT_FLOAT32 ||
        weft_value_uses(g, v) != 1)
        return -1;
    const weft_node *c = &g->nodes[val->producer];
    if (c->removed || strcmp(c->op, "Conv") != 0 || c->output_count != 1 || c->outputs[0] != v ||
        c->input_count > 4 || (c->input_count == 4 && c->inputs[3] >= 0) ||
        weft_node_attr(c, "_weft_activation") || weft_node_attr(c, "_weft_residual"))
        return -1;
    return val->producer;
}

/* Whether Add node n is one the pass may fuse: two same-shape float32
 * operands and output. */
static int plain_add(const weft_graph *g, const weft_node *n)
{
    if (n->removed || strcmp(n->op, "Add") != 0 || n->input_count != 2 || n->output_count != 1 ||
        n->inputs[0] < 0 || n->inputs[1] < 0 || n->outputs[0] < 0)
        return 0;
    const weft_value *a = &g->values[n->inputs[0]], *b = &g->values[n->inputs[1]];
    const weft_value *z = &g->values[n->outputs[0]];
    return a->dtype == WEFT_FLOAT32 && b->dtype == WEFT_FLOAT32 && z->dtype == WEFT_FLOAT32 &&
           a->shape_known && b->shape_known && z->shape_known &&
           weft_shape_equal(&a->shape, &b->shape) && weft_shape_equal(&a->shape, &z->shape);
}

/* Conv ci takes r as its residual and writes the output of Add node ai. */
static weft_status fuse(weft_graph *g, int ci, size_t ai, int r)
{
    weft_node *c = &g->nodes[ci];
    if (c->input_count < 4) {
        int *grown = realloc(c->inputs, 4 * sizeof *grown);
        if (!grown)
            return weft_node_fail(c, WEFT_ERR_OUT_OF_MEMORY,
                                  "no memory to fuse a residual Add into it");
        for (size_t k = c->input_count; k < 4; k++)
            grown[k] = -1;
        c->inputs = grown;
        c->input_count = 4;
    }
    weft_status st = weft_attrs_set_int(&c->attrs, "_weft_residual", 1);
    if (st != WEFT_OK)
        return st;
    weft_node *add = &g->nodes[ai];
    int y = c->outputs[0], z = add->outputs[0];
    c->inputs[3] = r;
    /* The conv writes the Add's output; compaction drops the old one. */
    c->outputs[0] = z;
    g->values[z].producer = ci;
    g->values[z].kind = WEFT_VALUE_NODE;
    g->values[y].producer = -1;
    g->values[y].kind = WEFT_VALUE_UNDEFINED;
    add->removed = 1;
    return WEFT_OK;
}

weft_status weft_pass_fuse_residual(weft_graph *g, size_t *changed)
{
    *changed = 0;
    char *seen = malloc(g->node_count ? g->node_count : 1);
    int *stack = malloc((g->node_count ? g->node_count : 1) * sizeof *stack);
    weft_status st = WEFT_OK;
    if (!seen || !stack)
        st = weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory to fuse residual Adds");
    for (size_t i = 0; i < g->node_count && st == WEFT_OK; i++) {
        if (!plain_add(g, &g->nodes[i]))
            continue;
        for (int pick = 0; pick < 2; pick++) {
            int v = g->nodes[i].inputs[pick], r = g->nodes[i].inputs[1 - pick];
            int ci = fusable_conv(g, v);
            if (ci < 0 || depends_on(g, r, ci, seen, stack))
                continue;
            st = fuse(g, ci, i, r);
            if (st == WEFT_OK)
                (*changed)++;
            break;
        }
    }
    free(seen);
    free(stack);
    return st;
}
