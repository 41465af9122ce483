/*
 * The graph inside weft: arrays of values and nodes that refer to each
 * other by index. Front ends (the builder API, the ONNX importer) append to
 * it; passes rewrite it; the planner reads it. Nothing here touches OpenCL.
 *
 * Values are created on first mention: a node input that names a value
 * nobody has defined yet gets a placeholder, and validation reports it if
 * no node ever produces it.
 */
#ifndef WEFT_GRAPH_GRAPH_H
#define WEFT_GRAPH_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/tensor.h"
#include "weft.h"

typedef enum weft_attr_type {
    WEFT_ATTR_INT,
    WEFT_ATTR_FLOAT,
    WEFT_ATTR_STRING,
    WEFT_ATTR_INTS,
    WEFT_ATTR_FLOATS
} weft_attr_type;

typedef struct weft_attr {
    char *name;
    weft_attr_type type;
    int64_t i;
    float f;
    char *s;
    int64_t *ints;
    float *floats;
    size_t count; /* of ints or floats */
} weft_attr;

struct weft_attrs {
    weft_attr *items;
    size_t count, capacity;
};

typedef enum weft_value_kind {
    WEFT_VALUE_UNDEFINED, /* named by a node input, produced by no one yet */
    WEFT_VALUE_INPUT,
    WEFT_VALUE_CONSTANT,
    WEFT_VALUE_NODE       /* output of node `producer` */
} weft_value_kind;

typedef struct weft_value {
    char *name;
    weft_value_kind kind;
    weft_dtype dtype;
    weft_shape shape;
    int shape_known;
    void *data;        /* constants: numel * dtype size bytes, owned (shared below) */
    struct weft_data_share *share; /* non-NULL: data is shared by the graph's
                                    * clones, freed with the last of them */
    int producer;      /* node index for WEFT_VALUE_NODE, else -1 */
    int produced_twice; /* set by the builder, reported by validation */
    int is_output;
} weft_value;

typedef struct weft_node {
    char *name;
    char *op;
    int *inputs;       /* value indices; -1 for an absent optional input */
    size_t input_count;
    int *outputs;      /* value indices; -1 for an unused optional output */
    size_t output_count;
    weft_attrs attrs;
    int removed;       /* set by passes; compacted by weft_graph_compact */
} weft_node;

struct weft_graph {
    weft_value *values;
    size_t value_count, value_capacity;
    weft_node *nodes;
    size_t node_count, node_capacity;
    int *inputs;       /* value indices, in declaration order */
    size_t input_count;
    int *outputs;
    size_t output_count;
};

/* Index of the value named `name`, or -1. */
int weft_graph_find_value(const weft_graph *g, const char *name);
/* The value named `name`, created as WEFT_VALUE_UNDEFINED when absent;
 * -1 when out of memory (message set). */
int weft_graph_intern_value(weft_graph *g, const char *name);
/* weft_graph_add_constant that keeps `data` (malloc'd, numel * dtype size
 * bytes) instead of copying it; data is freed on failure too. */
weft_status weft_graph_add_constant_owned(weft_graph *g, const char *name, weft_dtype dtype,
                                          int rank, const int64_t *dims, void *data);
/* A deep copy, for passes that must not change the caller's graph. */
weft_status weft_graph_clone(const weft_graph *g, weft_graph **copy);
/* Drops nodes marked removed and values nothing refers to any more. */
weft_status weft_graph_compact(weft_graph *g);
/* Node indices in an order where producers come first; WEFT_ERR_GRAPH
 * naming a node on a cycle otherwise. *order is malloc'd, node_count long
 * (removed nodes are left out and *count says how many are in). */
weft_status weft_graph_topo_order(const weft_graph *g, int **order, size_t *count);

/* weft_graph_validate's walk: structure checks, then shape inference in
 * topological order; with fold, nodes computable on the host (a Shape of
 * a known shape, ops on constants) become constants as the walk reaches
 * them, so the shapes that depend on them can be inferred. */
weft_status weft_graph_infer(weft_graph *g, int fold);

/* "int", "float", "string", "ints" or "floats", for messages. */
const char *weft_attr_type_name(weft_attr_type type);
/* Attribute lookup on a node: NULL when absent. */
const weft_attr *weft_node_attr(const weft_node *n, const char *name);
/* Typed lookups with a default when absent; a present attribute of the
 * wrong type is WEFT_ERR_GRAPH naming the node, op and attribute. */
weft_status weft_node_attr_int(const weft_node *n, const char *name, int64_t def, int64_t *out);
weft_status weft_node_attr_float(const weft_node *n, const char *name, float def, float *out);
weft_status weft_node_attr_string(const weft_node *n, const char *name, const char *def,
                                  const char **out);
/* ints: *out points into the node (valid while it lives), *count its
 * length; absent gives NULL and 0. */
weft_status weft_node_attr_ints(const weft_node *n, const char *name, const int64_t **out,
                                size_t *count);
weft_status weft_node_attr_floats(const weft_node *n, const char *name, const float **out,
                                  size_t *count);

/* weft_fail with "node 'NAME' (OP): " before the message. */
weft_status weft_node_fail(const weft_node *n, weft_status status, const char *fmt, ...)
    WEFT_PRINTF(3, 4);

/* weft_attrs internals, shared by the builder and the importer. */
void weft_attrs_clear(weft_attrs *a);
weft_status weft_attrs_copy(weft_attrs *dst, const weft_attrs *src);

/* Input i of node n, or NULL when absent or out of range. */
static inline weft_value *weft_node_input(const weft_graph *g, const weft_node *n, size_t i)
{
    return i < n->input_count && n->inputs[i] >= 0 ? &g->values[n->inputs[i]] : NULL;
}

static inline weft_value *weft_node_output(const weft_graph *g, const weft_node *n, size_t i)
{
    return i < n->output_count && n->outputs[i] >= 0 ? &g->values[n->outputs[i]] : NULL;
}

#endif
