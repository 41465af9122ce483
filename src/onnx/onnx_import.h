/*
 * The ONNX importer's internals, shared by the model walk (onnx_import.c:
 * structure checks, initializers, inputs, outputs) and the per-op
 * translation (onnx_opset.c: attributes, and old-opset forms rewritten
 * into the forms weft's shape inference, reference and kernels read).
 *
 * The importer ends in the same weft_graph the builder API makes; nothing
 * downstream knows a graph came from ONNX. The graph has no opset, so every
 * opset-dependent meaning is settled here.
 */
#ifndef WEFT_ONNX_ONNX_IMPORT_H
#define WEFT_ONNX_ONNX_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "graph/graph.h"
#include "onnx.pb-c.h"

/* The ai.onnx opsets weft reads. Newer ones load with a warning in the
 * log: their ops are read by the newest rules weft knows. */
#define WEFT_ONNX_MIN_OPSET 7
#define WEFT_ONNX_MAX_OPSET 25

/* A set of value names (the strings are borrowed), with, for a name that
 * is defined, the node that produces it (-1: a graph input or initializer). */
typedef struct weft_onnx_names {
    const char **keys;
    int *producer;
    size_t count, capacity;
} weft_onnx_names;

typedef struct weft_onnx_import {
    weft_graph *g;
    const WeftOnnx__ModelProto *model;
    const char *base_dir;     /* the model's folder; NULL for a model in memory */
    int64_t opset;            /* of the ai.onnx domain */
    weft_onnx_names mentioned; /* every name the model uses */
    char **owned;             /* names made up by translations */
    size_t owned_count, owned_capacity;
} weft_onnx_import;

/* Index of name in the set, or -1. */
long weft_onnx_names_find(const weft_onnx_names *s, const char *name);
/* Adds name (borrowed) with its producer; *added is 0 when it was there
 * already (the producer then stays). */
weft_status weft_onnx_names_add(weft_onnx_names *s, const char *name, int producer, int *added);
void weft_onnx_names_free(weft_onnx_names *s);

/* "node 'NAME' (OP)", or "node #INDEX (OP)" for an unnamed node. */
void weft_onnx_node_label(const WeftOnnx__NodeProto *np, size_t index, char *buf, size_t cap);

/* The opset of the node's domain, or -1 when the model imports none. */
int64_t weft_onnx_domain_opset(const WeftOnnx__ModelProto *m, const char *domain);

/* Whether weft can import node np: 0 when it can, else 1 with the reason
 * (op type, node, opset) written into why. */
int weft_onnx_node_unsupported(const weft_onnx_import *imp, const WeftOnnx__NodeProto *np,
                               size_t index, char *why, size_t cap);

/* Adds node np to the graph, rewritten for imp->opset where weft reads a
 * different form. Constant nodes become graph constants. */
weft_status weft_onnx_add_node(weft_onnx_import *imp, const WeftOnnx__NodeProto *np,
                               size_t index);

/* A value name no part of the model uses, made from base and suffix;
 * owned by imp. NULL when out of memory (message set). */
const char *weft_onnx_fresh_name(weft_onnx_import *imp, const char *base, const char *suffix);

#endif
