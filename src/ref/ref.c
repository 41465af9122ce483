/*
 * The reference op table (from ref_ops.inc) and the host graph runner:
 * every node in topological order, each output in a fresh host buffer of
 * its inferred size, each intermediate freed after its last reader.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "ref/ref_util.h"

static const struct {
    const char *op;
    weft_ref_fn fn;
} ref_table[] = {
#define X(op, fn) {#op, fn},
#include "ref/ref_ops.inc"
#undef X
};

weft_ref_fn weft_ref_find(const char *op)
{
    if (!op)
        return NULL;
    for (size_t i = 0; i < sizeof ref_table / sizeof ref_table[0]; i++)
        if (strcmp(ref_table[i].op, op) == 0)
            return ref_table[i].fn;
    return NULL;
}

/* ---- Running a graph ---------------------------------------------------------- */

static size_t value_bytes(const weft_value *v)
{
    return (size_t)weft_shape_numel(&v->shape) * weft_dtype_size(v->dtype);
}

/* The host buffers of the values while a graph runs. */
typedef struct run_state {
    const weft_graph *g;
    void **data;   /* per value: its elements; NULL while not computed */
    char *owned;   /* per value: data was malloc'd here */
    int *last_use; /* per value: position in the order of its last reader, -1 if none */
} run_state;

/* Matches the caller's tensors to the graph inputs, as weft_session_run
 * does: by name, each once, with the declared dtype and shape. */
static weft_status bind_inputs(run_state *r, const weft_tensor *inputs, size_t input_count)
{
    static char no_elements; /* data of a given tensor of zero elements */
    const weft_graph *g = r->g;
    if (input_count != g->input_count)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT,
                         "weft_ref_run_graph: %zu inputs given, the graph has %zu", input_count,
                         g->input_count);
    for (size_t i = 0; i < input_count; i++) {
        const weft_tensor *t = &inputs[i];
        int v = -1;
        for (size_t k = 0; t->name && k < g->input_count && v < 0; k++)
            if (strcmp(g->values[g->inputs[k]].name, t->name) == 0)
                v = g->inputs[k];
        if (v < 0)
            return weft_fail(WEFT_ERR_INVALID_ARGUMENT,
                             "weft_ref_run_graph: input %zu ('%s') is not a graph input", i,
                             t->name ? t->name : "(null)");
        if (r->data[v])
            return weft_fail(WEFT_ERR_INVALID_ARGUMENT,
                             "weft_ref_run_graph: input '%s' is given twice", t->name);
        const weft_value *val = &g->values[v];
        weft_shape given = {.rank = t->rank};
        for (int d = 0; d < t->rank && d < WEFT_MAX_RANK; d++)
            given.dims[d] = t->dims[d];
        if (t->rank < 0 || t->rank > WEFT_MAX_RANK || t->dtype != val->dtype ||
            !weft_shape_equal(&given, &val->shape))
            return weft_fail(WEFT_ERR_SHAPE, "input '%s': given %s%s, the graph expects %s%s",
                             t->name, weft_dtype_name(t->dtype),
                             t->rank < 0 || t->rank > WEFT_MAX_RANK ? "(bad rank)"
                                                                    : weft_shape_str(&given).s,
                             weft_dtype_name(val->dtype), weft_shape_str(&val->shape).s);
        if (!t->data && value_bytes(val) > 0)
            return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "input '%s' has no data", t->name);
        r->data[v] = t->data ? t->data : &no_elements;
    }
    return WEFT_OK;
}

/* Frees a value's buffer once nothing reads it any more (graph outputs
 * stay until they are copied out). */
static void release_if_done(run_state *r, int v, size_t pos)
{
    if (v < 0 || !r->owned[v] || r->g->values[v].is_output)
        return;
    if (r->last_use[v] < 0 || (size_t)r->last_use[v] <= pos) {
        free(r->data[v]);
        r->data[v] = NULL;
        r->owned[v] = 0;
    }
}

/* The activation a fusion pass attached to node n (_weft_activation,
 * src/graph/pass_fuse_activation.c), applied in place to its output, as
 * the kernels do in their epilogue. */
static weft_status apply_fused_activation(const weft_node *n, weft_host_tensor *out)
{
    const char *act = NULL;
    float alpha, beta;
    weft_status st = weft_node_attr_string(n, "_weft_activation", NULL, &act);
    if (st != WEFT_OK || !act)
        return st;
    weft_ref_fn fn = weft_ref_find(act);
    if (!fn || strcmp(act, n->op) == 0)
        return weft_node_fail(n, WEFT_ERR_GRAPH, "attribute '_weft_activation' = \"%s\" is not "
                              "an activation the reference applies", act);
    if ((st = weft_node_attr_float(n, "_weft_alpha", 0.01f, &alpha)) != WEFT_OK ||
        (st = weft_node_attr_float(n, "_weft_beta", INFINITY, &beta)) != WEFT_OK)
        return st;
    /* The activation as a node of its own, with its ONNX attributes. */
    weft_node a = {.name = n->name, .op = (char *)act};
    if (strcmp(act, "LeakyRelu") == 0)
        st = weft_attrs_set_float(&a.attrs, "alpha", alpha);
    else if (strcmp(act, "Clip") == 0 &&
             (st = weft_attrs_set_float(&a.attrs, "min", alpha)) == WEFT_OK)
        st = weft_attrs_set_float(&a.attrs, "max", beta);
    weft_host_tensor t = out[0];
    if (st == WEFT_OK)
        st = fn(&a, &t, 1, &t, 1);
    weft_attrs_clear(&a.attrs);
    return st;
}

/* Runs node n: gathers its inputs, allocates its outputs, calls the op. */
static weft_status run_node(run_state *r, const weft_node *n)
{
    const weft_graph *g = r->g;
    weft_ref_fn fn = weft_ref_find(n->op);
    if (!fn)
        return weft_node_fail(n, WEFT_ERR_UNSUPPORTED, "the C reference has no %s yet", n->op);
    weft_host_tensor *in = calloc(n->input_count ? n->input_count : 1, sizeof *in);
    weft_host_tensor *out = calloc(n->output_count ? n->output_count : 1, sizeof *out);
    weft_status st = WEFT_OK;
    if (!in || !out)
        st = weft_node_fail(n, WEFT_ERR_OUT_OF_MEMORY, "no memory to run the reference");
    for (size_t k = 0; k < n->input_count && st == WEFT_OK; k++) {
        int v = n->inputs[k];
        if (v < 0)
            continue; /* absent optional input: data NULL */
        if (!r->data[v])
            st = weft_node_fail(n, WEFT_ERR_INTERNAL,
                                "input '%s' has no value when the node runs (is the graph "
                                "validated?)",
                                g->values[v].name);
        else
            in[k] = (weft_host_tensor){g->values[v].dtype, g->values[v].shape, r->data[v]};
    }
    for (size_t k = 0; k < n->output_count && st == WEFT_OK; k++) {
        int v = n->outputs[k];
        if (v < 0)
            continue; /* unused optional output: data NULL */
        const weft_value *val = &g->values[v];
        if (!val->shape_known || weft_shape_numel(&val->shape) < 0) {
            st = weft_node_fail(n, WEFT_ERR_INTERNAL,
                                "output '%s' has no inferred shape; validate the graph first",
                                val->name);
            break;
        }
        size_t bytes = value_bytes(val);
        void *buf = malloc(bytes ? bytes : 1);
        if (!buf) {
            st = weft_node_fail(n, WEFT_ERR_OUT_OF_MEMORY, "no memory for the %zu bytes of '%s'",
                                bytes, val->name);
            break;
        }
        free(r->owned[v] ? r->data[v] : NULL);
        r->data[v] = buf;
        r->owned[v] = 1;
        out[k] = (weft_host_tensor){val->dtype, val->shape, buf};
    }
    if (st == WEFT_OK)
        st = fn(n, in, n->input_count, out, n->output_count);
    if (st == WEFT_OK && n->output_count > 0 && out[0].data)
        st = apply_fused_activation(n, out);
    free(in);
    free(out);
    return st;
}

weft_status weft_ref_run_graph(const weft_graph *g, const weft_tensor *inputs, size_t input_count,
                               weft_host_tensor *outputs, size_t output_count)
{
    if (!g || (!inputs && input_count) || (!outputs && output_count))
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT, "weft_ref_run_graph: %s is NULL",
                         !g ? "graph" : !outputs && output_count ? "outputs" : "inputs");
    if (output_count != g->output_count)
        return weft_fail(WEFT_ERR_INVALID_ARGUMENT,
                         "weft_ref_run_graph: room for %zu outputs, the graph has %zu",
                         output_count, g->output_count);
    for (size_t i = 0; i < output_count; i++)
        memset(&outputs[i], 0, sizeof outputs[i]);
    size_t nv = g->value_count ? g->value_count : 1;
    run_state r = {g, calloc(nv, sizeof *r.data), calloc(nv, 1), malloc(nv * sizeof *r.last_use)};
    int *order = NULL;
    size_t count = 0;
    weft_status st = WEFT_OK;
    if (!r.data || !r.owned || !r.last_use)
        st = weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory to run the reference");
    if (st == WEFT_OK)
        st = bind_inputs(&r, inputs, input_count);
    if (st == WEFT_OK)
        st = weft_graph_topo_order(g, &order, &count);
    if (st == WEFT_OK) {
        for (size_t v = 0; v < g->value_count; v++) {
            r.last_use[v] = -1;
            if (g->values[v].kind == WEFT_VALUE_CONSTANT)
                r.data[v] = g->values[v].data;
        }
        for (size_t p = 0; p < count; p++) {
            const weft_node *n = &g->nodes[order[p]];
            for (size_t k = 0; k < n->input_count; k++)
                if (n->inputs[k] >= 0)
                    r.last_use[n->inputs[k]] = (int)p;
        }
    }
    for (size_t p = 0; p < count && st == WEFT_OK; p++) {
        const weft_node *n = &g->nodes[order[p]];
        st = run_node(&r, n);
        for (size_t k = 0; k < n->input_count && st == WEFT_OK; k++)
            release_if_done(&r, n->inputs[k], p);
        for (size_t k = 0; k < n->output_count && st == WEFT_OK; k++)
            release_if_done(&r, n->outputs[k], p);
    }
    /* Each output gets its own copy: one value may be listed as an output
     * and be a graph input or constant as well. */
    for (size_t i = 0; i < output_count && st == WEFT_OK; i++) {
        const weft_value *val = &g->values[g->outputs[i]];
        const void *src = r.data[g->outputs[i]];
        size_t bytes = value_bytes(val);
        void *copy = src ? malloc(bytes ? bytes : 1) : NULL;
        if (!src)
            st = weft_fail(WEFT_ERR_INTERNAL, "graph output '%s' was not computed", val->name);
        else if (!copy)
            st = weft_fail(WEFT_ERR_OUT_OF_MEMORY, "no memory for graph output '%s'", val->name);
        else {
            if (bytes)
                memcpy(copy, src, bytes);
            outputs[i] = (weft_host_tensor){val->dtype, val->shape, copy};
        }
    }
    if (st != WEFT_OK)
        for (size_t i = 0; i < output_count; i++) {
            free(outputs[i].data);
            memset(&outputs[i], 0, sizeof outputs[i]);
        }
    for (size_t v = 0; r.owned && v < g->value_count; v++)
        if (r.owned[v])
            free(r.data[v]);
    free(order);
    free(r.data);
    free(r.owned);
    free(r.last_use);
    return st;
}
