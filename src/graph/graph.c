/* Building, copying and ordering graphs. Validation is in validate.c. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/util.h"
#include "graph/graph.h"
#include "graph/op_kind.h"

weft_status weft_graph_create(weft_graph **graph)
{
    if (!graph)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_graph_create: graph is NULL");
    *graph = calloc(1, sizeof **graph);
    return *graph ? WEFT_OK : weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for a graph");
}

/* A constant's data, counted: a session's copy of the graph shares the
 * weights with the caller's graph instead of copying them (tens of MB for
 * a large model). Passes never write into a constant's data; they make
 * new constants. The count is atomic since sessions may be created from
 * one graph on several threads. */
struct weft_data_share {
    atomic_size_t refs;
};

static void value_drop_data(weft_value *v)
{
    if (v->share) {
        if (atomic_fetch_sub(&v->share->refs, 1) == 1) {
            free(v->share);
            free(v->data);
        }
    } else {
        free(v->data);
    }
    v->share = NULL;
    v->data = NULL;
}

static void node_free(weft_node *n)
{
    free(n->name);
    free(n->op);
    free(n->inputs);
    free(n->outputs);
    weft_attrs_clear(&n->attrs);
}

void weft_graph_release(weft_graph *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->value_count; i++) {
        free(g->values[i].name);
        value_drop_data(&g->values[i]);
    }
    for (size_t i = 0; i < g->node_count; i++)
        node_free(&g->nodes[i]);
    free(g->values);
    free(g->nodes);
    free(g->inputs);
    free(g->outputs);
    free(g);
}

int weft_graph_find_value(const weft_graph *g, const char *name)
{
    /* Linear: graphs of a few thousand values are built once per session. */
    for (size_t i = 0; i < g->value_count; i++)
        if (strcmp(g->values[i].name, name) == 0)
            return (int)i;
    return -1;
}

int weft_graph_intern_value(weft_graph *g, const char *name)
{
    int at = weft_graph_find_value(g, name);
    if (at >= 0)
        return at;
    if (g->value_count >= (size_t)INT32_MAX) {
        weft_fail(WEFT_ERR_GRAPH, "too many values");
        return -1;
    }
    if (g->value_count == g->value_capacity) {
        size_t cap = g->value_capacity ? 2 * g->value_capacity : 32;
        weft_value *grown = realloc(g->values, cap * sizeof *grown);
        if (!grown) {
            weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for value '%s'", name);
            return -1;
        }
        g->values = grown;
        g->value_capacity = cap;
    }
    weft_value *v = &g->values[g->value_count];
    memset(v, 0, sizeof *v);
    v->producer = -1;
    v->dtype = WEFT_FLOAT32;
    if (!(v->name = weft_strdup(name))) {
        weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for value '%s'", name);
        return -1;
    }
    return (int)g->value_count++;
}

static weft_status push_index(int **list, size_t *count, int index)
{
    int *grown = realloc(*list, (*count + 1) * sizeof *grown);
    if (!grown)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for the graph");
    grown[(*count)++] = index;
    *list = grown;
    return WEFT_OK;
}

static weft_status check_shape_args(const char *fn, const char *name, weft_dtype dtype, int rank,
                                    const int64_t *dims, weft_shape *shape)
{
    if (!name || !*name)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "%s: name is NULL or empty", fn);
    if (weft_dtype_size(dtype) == 0)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "%s: '%s' has unknown data type %d", fn, name,
                         (int)dtype);
    if (rank < 0 || rank > WEFT_MAX_RANK)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "%s: '%s' has rank %d, outside 0..%d", fn,
                         name, rank, WEFT_MAX_RANK);
    if (rank > 0 && !dims)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "%s: '%s' has rank %d but dims is NULL", fn,
                         name, rank);
    shape->rank = rank;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0)
            return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "%s: '%s' has negative dimension %d: %lld",
                             fn, name, i, (long long)dims[i]);
        shape->dims[i] = dims[i];
    }
    if (weft_shape_numel(shape) < 0)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "%s: the size of '%s' overflows", fn, name);
    return WEFT_OK;
}

/* A new value of a given kind; a name already in use is an error. */
static weft_status define_value(weft_graph *g, const char *fn, const char *name,
                                weft_value_kind kind, int *index)
{
    int at = weft_graph_find_value(g, name);
    if (at >= 0 && g->values[at].kind != WEFT_VALUE_UNDEFINED)
        return weft_fail(WEFT_ERR_GRAPH, "%s: value '%s' is already defined", fn, name);
    if (at < 0 && (at = weft_graph_intern_value(g, name)) < 0)
        return WEFT_ERR_OUT_OF_MEMORY;
    g->values[at].kind = kind;
    *index = at;
    return WEFT_OK;
}

weft_status weft_graph_add_input(weft_graph *g, const char *name, weft_dtype dtype, int rank,
                                 const int64_t *dims)
{
    if (!g)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_graph_add_input: graph is NULL");
    weft_shape shape;
    weft_status st = check_shape_args("weft_graph_add_input", name, dtype, rank, dims, &shape);
    int at;
    if (st == WEFT_OK)
        st = define_value(g, "weft_graph_add_input", name, WEFT_VALUE_INPUT, &at);
    if (st == WEFT_OK && (st = push_index(&g->inputs, &g->input_count, at)) != WEFT_OK)
        g->values[at].kind = WEFT_VALUE_UNDEFINED;
    if (st != WEFT_OK)
        return st;
    weft_value *v = &g->values[at];
    v->dtype = dtype;
    v->shape = shape;
    v->shape_known = 1;
    return WEFT_OK;
}

/* The checks of weft_graph_add_constant; *bytes is the data's size. */
static weft_status check_constant(weft_graph *g, const char *name, weft_dtype dtype, int rank,
                                  const int64_t *dims, const void *data, weft_shape *shape,
                                  size_t *bytes)
{
    if (!g)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_graph_add_constant: graph is NULL");
    weft_status st = check_shape_args("weft_graph_add_constant", name, dtype, rank, dims, shape);
    if (st != WEFT_OK)
        return st;
    *bytes = (size_t)weft_shape_numel(shape) * weft_dtype_size(dtype);
    if (*bytes && !data)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_graph_add_constant: '%s' has no data",
                         name);
    return WEFT_OK;
}

static weft_status define_constant(weft_graph *g, const char *name, weft_dtype dtype,
                                   const weft_shape *shape, void *data)
{
    struct weft_data_share *share = malloc(sizeof *share);
    if (!share)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for constant '%s'", name);
    atomic_init(&share->refs, 1);
    int at;
    weft_status st = define_value(g, "weft_graph_add_constant", name, WEFT_VALUE_CONSTANT, &at);
    if (st != WEFT_OK) {
        free(share);
        return st;
    }
    weft_value *v = &g->values[at];
    v->share = share;
    v->dtype = dtype;
    v->shape = *shape;
    v->shape_known = 1;
    v->data = data;
    return WEFT_OK;
}

weft_status weft_graph_add_constant(weft_graph *g, const char *name, weft_dtype dtype, int rank,
                                    const int64_t *dims, const void *data)
{
    weft_shape shape;
    size_t bytes;
    weft_status st = check_constant(g, name, dtype, rank, dims, data, &shape, &bytes);
    if (st != WEFT_OK)
        return st;
    void *copy = malloc(bytes ? bytes : 1);
    if (!copy)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for the %zu bytes of constant '%s'",
                         bytes, name);
    if (bytes)
        memcpy(copy, data, bytes);
    if ((st = define_constant(g, name, dtype, &shape, copy)) != WEFT_OK)
        free(copy);
    return st;
}

weft_status weft_graph_add_constant_owned(weft_graph *g, const char *name, weft_dtype dtype,
                                          int rank, const int64_t *dims, void *data)
{
    weft_shape shape;
    size_t bytes;
    weft_status st = check_constant(g, name, dtype, rank, dims, data, &shape, &bytes);
    if (st == WEFT_OK && !data && !(data = malloc(1)))
        st = weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for constant '%s'", name);
    if (st == WEFT_OK)
        st = define_constant(g, name, dtype, &shape, data);
    if (st != WEFT_OK)
        free(data);
    return st;
}

weft_status weft_graph_add_output(weft_graph *g, const char *name)
{
    if (!g || !name || !*name)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_graph_add_output: %s",
                         !g ? "graph is NULL" : "name is NULL or empty");
    int at = weft_graph_intern_value(g, name);
    if (at < 0)
        return WEFT_ERR_OUT_OF_MEMORY;
    if (g->values[at].is_output)
        return weft_fail(WEFT_ERR_GRAPH, "weft_graph_add_output: '%s' is already an output", name);
    weft_status st = push_index(&g->outputs, &g->output_count, at);
    if (st == WEFT_OK)
        g->values[at].is_output = 1;
    return st;
}

weft_status weft_graph_add_node(weft_graph *g, const char *op_type, const char *node_name,
                                const char *const *inputs, size_t input_count,
                                const weft_attrs *attrs, const char *const *outputs,
                                size_t output_count)
{
    if (!g || !op_type || (!inputs && input_count) || (!outputs && output_count))
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_graph_add_node: %s",
                         !g ? "graph is NULL" : !op_type ? "op_type is NULL"
                         : (!inputs && input_count) ? "inputs is NULL" : "outputs is NULL");
    if (input_count > 1024 || output_count > 1024)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_graph_add_node: %zu inputs and %zu outputs",
                         input_count, output_count);
    if (!weft_op_kind_find(op_type))
        return weft_fail(WEFT_ERR_UNSUPPORTED, "node '%s': op type '%s' is not supported",
                         node_name ? node_name : "(unnamed)", op_type);
    if (g->node_count == g->node_capacity) {
        size_t cap = g->node_capacity ? 2 * g->node_capacity : 32;
        weft_node *grown = realloc(g->nodes, cap * sizeof *grown);
        if (!grown)
            return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for a node");
        g->nodes = grown;
        g->node_capacity = cap;
    }
    weft_node n = {0};
    char made_up[64];
    if (!node_name || !*node_name) {
        snprintf(made_up, sizeof made_up, "%s_%zu", op_type, g->node_count);
        node_name = made_up;
    }
    n.name = weft_strdup(node_name);
    n.op = weft_strdup(op_type);
    n.inputs = malloc((input_count ? input_count : 1) * sizeof *n.inputs);
    n.outputs = malloc((output_count ? output_count : 1) * sizeof *n.outputs);
    weft_status st = WEFT_OK;
    if (!n.name || !n.op || !n.inputs || !n.outputs)
        st = weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for node '%s'", node_name);
    if (st == WEFT_OK)
        st = weft_attrs_copy(&n.attrs, attrs);
    for (size_t i = 0; i < input_count && st == WEFT_OK; i++) {
        n.inputs[i] = -1;
        if (inputs[i] && *inputs[i] && (n.inputs[i] = weft_graph_intern_value(g, inputs[i])) < 0)
            st = WEFT_ERR_OUT_OF_MEMORY;
    }
    n.input_count = input_count;
    for (size_t i = 0; i < output_count && st == WEFT_OK; i++) {
        n.outputs[i] = -1;
        if (outputs[i] && *outputs[i] &&
            (n.outputs[i] = weft_graph_intern_value(g, outputs[i])) < 0)
            st = WEFT_ERR_OUT_OF_MEMORY;
    }
    n.output_count = output_count;
    if (st != WEFT_OK) {
        node_free(&n);
        return st;
    }
    int index = (int)g->node_count;
    for (size_t i = 0; i < output_count; i++) {
        if (n.outputs[i] < 0)
            continue;
        weft_value *v = &g->values[n.outputs[i]];
        if (v->kind == WEFT_VALUE_UNDEFINED) {
            v->kind = WEFT_VALUE_NODE;
            v->producer = index;
        } else {
            v->produced_twice = 1; /* validation names both producers */
        }
    }
    g->nodes[g->node_count++] = n;
    return WEFT_OK;
}

weft_status weft_graph_clone(const weft_graph *g, weft_graph **copy)
{
    weft_graph *c = calloc(1, sizeof *c);
    if (!c)
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory to copy the graph");
    weft_status st = WEFT_OK;
    c->values = calloc(g->value_count ? g->value_count : 1, sizeof *c->values);
    c->nodes = calloc(g->node_count ? g->node_count : 1, sizeof *c->nodes);
    c->inputs = malloc((g->input_count ? g->input_count : 1) * sizeof *c->inputs);
    c->outputs = malloc((g->output_count ? g->output_count : 1) * sizeof *c->outputs);
    if (!c->values || !c->nodes || !c->inputs || !c->outputs) {
        weft_graph_release(c);
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory to copy the graph");
    }
    c->value_capacity = g->value_count ? g->value_count : 1;
    c->node_capacity = g->node_count ? g->node_count : 1;
    memcpy(c->inputs, g->inputs, g->input_count * sizeof *c->inputs);
    c->input_count = g->input_count;
    memcpy(c->outputs, g->outputs, g->output_count * sizeof *c->outputs);
    c->output_count = g->output_count;
    for (size_t i = 0; i < g->value_count && st == WEFT_OK; i++) {
        const weft_value *v = &g->values[i];
        weft_value *w = &c->values[i];
        *w = *v;
        w->name = weft_strdup(v->name);
        w->data = NULL;
        w->share = NULL;
        c->value_count = i + 1;
        if (!w->name) {
            st = WEFT_ERR_OUT_OF_MEMORY;
        } else if (v->share) {
            atomic_fetch_add(&v->share->refs, 1);
            w->share = v->share;
            w->data = v->data;
        } else if (v->data) {
            size_t bytes = (size_t)weft_shape_numel(&v->shape) * weft_dtype_size(v->dtype);
            if (!(w->data = malloc(bytes ? bytes : 1)))
                st = WEFT_ERR_OUT_OF_MEMORY;
            else if (bytes)
                memcpy(w->data, v->data, bytes);
        }
    }
    for (size_t i = 0; i < g->node_count && st == WEFT_OK; i++) {
        const weft_node *n = &g->nodes[i];
        weft_node *m = &c->nodes[i];
        c->node_count = i + 1;
        m->removed = n->removed;
        m->name = weft_strdup(n->name);
        m->op = weft_strdup(n->op);
        m->inputs = malloc((n->input_count ? n->input_count : 1) * sizeof *m->inputs);
        m->outputs = malloc((n->output_count ? n->output_count : 1) * sizeof *m->outputs);
        if (!m->name || !m->op || !m->inputs || !m->outputs) {
            st = WEFT_ERR_OUT_OF_MEMORY;
            break;
        }
        memcpy(m->inputs, n->inputs, n->input_count * sizeof *m->inputs);
        memcpy(m->outputs, n->outputs, n->output_count * sizeof *m->outputs);
        m->input_count = n->input_count;
        m->output_count = n->output_count;
        if (weft_attrs_copy(&m->attrs, &n->attrs) != WEFT_OK)
            st = WEFT_ERR_OUT_OF_MEMORY;
    }
    if (st != WEFT_OK) {
        weft_graph_release(c);
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory to copy the graph");
    }
    *copy = c;
    return WEFT_OK;
}

weft_status weft_graph_compact(weft_graph *g)
{
    /* Which values are still referred to. */
    char *used = calloc(g->value_count ? g->value_count : 1, 1);
    int *remap = malloc((g->value_count ? g->value_count : 1) * sizeof *remap);
    int *node_remap = malloc((g->node_count ? g->node_count : 1) * sizeof *node_remap);
    if (!used || !remap || !node_remap) {
        free(used);
        free(remap);
        free(node_remap);
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory to compact the graph");
    }
    for (size_t i = 0; i < g->input_count; i++)
        used[g->inputs[i]] = 1;
    for (size_t i = 0; i < g->output_count; i++)
        used[g->outputs[i]] = 1;
    for (size_t i = 0; i < g->node_count; i++) {
        const weft_node *n = &g->nodes[i];
        if (n->removed)
            continue;
        for (size_t k = 0; k < n->input_count; k++)
            if (n->inputs[k] >= 0)
                used[n->inputs[k]] = 1;
        for (size_t k = 0; k < n->output_count; k++)
            if (n->outputs[k] >= 0)
                used[n->outputs[k]] = 1;
    }
    size_t nodes = 0;
    for (size_t i = 0; i < g->node_count; i++) {
        if (g->nodes[i].removed) {
            node_free(&g->nodes[i]);
            node_remap[i] = -1;
            continue;
        }
        node_remap[i] = (int)nodes;
        g->nodes[nodes++] = g->nodes[i];
    }
    g->node_count = nodes;
    size_t values = 0;
    for (size_t i = 0; i < g->value_count; i++) {
        if (!used[i]) {
            free(g->values[i].name);
            value_drop_data(&g->values[i]);
            remap[i] = -1;
            continue;
        }
        remap[i] = (int)values;
        weft_value v = g->values[i];
        if (v.producer >= 0)
            v.producer = node_remap[v.producer];
        g->values[values++] = v;
    }
    g->value_count = values;
    for (size_t i = 0; i < g->input_count; i++)
        g->inputs[i] = remap[g->inputs[i]];
    for (size_t i = 0; i < g->output_count; i++)
        g->outputs[i] = remap[g->outputs[i]];
    for (size_t i = 0; i < g->node_count; i++) {
        weft_node *n = &g->nodes[i];
        for (size_t k = 0; k < n->input_count; k++)
            if (n->inputs[k] >= 0)
                n->inputs[k] = remap[n->inputs[k]];
        for (size_t k = 0; k < n->output_count; k++)
            if (n->outputs[k] >= 0)
                n->outputs[k] = remap[n->outputs[k]];
    }
    free(used);
    free(remap);
    free(node_remap);
    return WEFT_OK;
}

weft_status weft_graph_topo_order(const weft_graph *g, int **order, size_t *count)
{
    /* Kahn's algorithm over producer -> consumer edges; ties keep the
     * order nodes were added in. */
    size_t n = g->node_count;
    int *pending = calloc(n ? n : 1, sizeof *pending);
    int *out = malloc((n ? n : 1) * sizeof *out);
    int *queue = malloc((n ? n : 1) * sizeof *queue);
    if (!pending || !out || !queue) {
        free(pending);
        free(out);
        free(queue);
        return weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory to order the graph");
    }
    size_t live = 0;
    for (size_t i = 0; i < n; i++) {
        const weft_node *node = &g->nodes[i];
        if (node->removed)
            continue;
        live++;
        for (size_t k = 0; k < node->input_count; k++) {
            int v = node->inputs[k];
            if (v >= 0 && g->values[v].producer >= 0 && !g->nodes[g->values[v].producer].removed)
                pending[i]++;
        }
    }
    size_t head = 0, tail = 0, done = 0;
    for (size_t i = 0; i < n; i++)
        if (!g->nodes[i].removed && pending[i] == 0)
            queue[tail++] = (int)i;
    while (head < tail) {
        int i = queue[head++];
        out[done++] = i;
        /* Every consumer of each output loses one pending edge per use. */
        for (size_t j = 0; j < n; j++) {
            const weft_node *c = &g->nodes[j];
            if (c->removed)
                continue;
            for (size_t k = 0; k < c->input_count; k++) {
                int v = c->inputs[k];
                if (v < 0 || g->values[v].producer != i)
                    continue;
                if (--pending[j] == 0)
                    queue[tail++] = (int)j;
            }
        }
    }
    free(queue);
    if (done != live) {
        size_t stuck = 0;
        while (stuck < n && (g->nodes[stuck].removed || pending[stuck] == 0))
            stuck++;
        free(pending);
        free(out);
        return weft_fail(WEFT_ERR_GRAPH, "the graph has a cycle through node '%s' (%s)",
                         g->nodes[stuck].name, g->nodes[stuck].op);
    }
    free(pending);
    *order = out;
    *count = done;
    return WEFT_OK;
}
