/*
 * The plain C reference of every op: ONNX semantics written for clarity,
 * never tuned. It is the oracle of the kernel tests and of `weft check`.
 *
 * A reference op reads its attributes from the node (weft_node_attr_*),
 * its inputs from `in` (data NULL for an absent optional input) and writes
 * every present output, whose shape and dtype the caller has set from
 * shape inference and whose data it has allocated.
 */
#ifndef WEFT_REF_REF_H
#define WEFT_REF_REF_H

#include "graph/graph.h"

typedef struct weft_host_tensor {
    weft_dtype dtype;
    weft_shape shape;
    void *data;
} weft_host_tensor;

typedef weft_status (*weft_ref_fn)(const weft_node *n, const weft_host_tensor *in,
                                   size_t in_count, weft_host_tensor *out, size_t out_count);

/* The reference of an op type, or NULL when there is none yet. */
weft_ref_fn weft_ref_find(const char *op);

/* Runs a validated graph on the host, node by node in topological order.
 * inputs are matched to graph inputs by name; outputs receive malloc'd
 * data (the caller frees each outputs[i].data) in graph output order. */
weft_status weft_ref_run_graph(const weft_graph *g, const weft_tensor *inputs, size_t input_count,
                               weft_host_tensor *outputs, size_t output_count);

#endif
