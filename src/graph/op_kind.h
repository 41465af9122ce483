/*
 * Op kinds: what the graph knows about each ONNX op type independently of
 * any device — how many inputs and outputs it takes and how to infer its
 * output types and shapes (checking its attributes on the way).
 *
 * A shape-inference function sets dtype, shape and shape_known on every
 * present output of the node. Its inputs' shapes are known when it is
 * called. It reads constant inputs (a Reshape's shape, a Slice's starts)
 * from their data; a non-constant input where a constant is needed is
 * WEFT_ERR_UNSUPPORTED. Errors name the node, the op and the attribute.
 */
#ifndef WEFT_GRAPH_OP_KIND_H
#define WEFT_GRAPH_OP_KIND_H

#include "graph/graph.h"

typedef weft_status (*weft_infer_fn)(weft_graph *g, weft_node *n);

typedef struct weft_op_kind {
    const char *name;
    int min_inputs, max_inputs;   /* max -1: unbounded */
    int min_outputs, max_outputs;
    weft_infer_fn infer;
} weft_op_kind;

extern const weft_op_kind weft_op_kinds[];
extern const size_t weft_op_kind_count;

/* The kind of an ONNX op type, or NULL. Case-sensitive, as ONNX is. */
const weft_op_kind *weft_op_kind_find(const char *op);

/* Declarations of every inference function named in op_kinds.inc. */
#define X(op, min_in, max_in, min_out, max_out, infer) \
    weft_status infer(weft_graph *g, weft_node *n);
#include "graph/op_kinds.inc"
#undef X

#endif
