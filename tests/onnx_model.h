/*
 * Building ONNX models as protobuf bytes in a test, with the protobuf-c
 * code generated from src/onnx/onnx.proto: a model, its graph inputs and
 * outputs, initializers, nodes and attributes, each a few lines, so that a
 * test states exactly what the file holds. Header-only (static inline),
 * cmocka failures when memory runs out. Used by tests/test_onnx.c.
 */
#ifndef WEFT_TEST_ONNX_MODEL_H
#define WEFT_TEST_ONNX_MODEL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph.h"
#include "onnx.pb-c.h"
#include "onnx/onnx_tensor.h"
#include "test_common.h"

/* ---- Model builder: every allocation is kept and freed with the model -- */

typedef struct mb {
    WeftOnnx__ModelProto m;
    WeftOnnx__GraphProto g;
    void **owned;
    size_t n_owned;
} mb;

static inline void *keep(mb *b, void *p)
{
    assert_non_null(p);
    b->owned = realloc(b->owned, (b->n_owned + 1) * sizeof *b->owned);
    assert_non_null(b->owned);
    b->owned[b->n_owned++] = p;
    return p;
}

static inline void *alloc(mb *b, size_t bytes)
{
    return keep(b, calloc(1, bytes ? bytes : 1));
}

static inline char *str(mb *b, const char *s)
{
    return keep(b, strdup(s));
}

/* Appends p to the pointer array *arr of *n entries. */
static inline void push(mb *b, void ***arr, size_t *n, void *p)
{
    void **grown = alloc(b, (*n + 1) * sizeof *grown);
    if (*n)
        memcpy(grown, *arr, *n * sizeof *grown);
    grown[(*n)++] = p;
    *arr = grown;
}

#define PUSH(b, arr, n, p) push((b), (void ***)&(arr), &(n), (p))

static inline mb *mb_new(int64_t opset)
{
    mb *b = calloc(1, sizeof *b);
    assert_non_null(b);
    weft_onnx__model_proto__init(&b->m);
    weft_onnx__graph_proto__init(&b->g);
    b->m.has_ir_version = 1;
    b->m.ir_version = 8;
    b->m.graph = &b->g;
    WeftOnnx__OperatorSetIdProto *o = alloc(b, sizeof *o);
    weft_onnx__operator_set_id_proto__init(o);
    o->domain = str(b, "");
    o->has_version = 1;
    o->version = opset;
    PUSH(b, b->m.opset_import, b->m.n_opset_import, o);
    return b;
}

static inline void mb_free(mb *b)
{
    for (size_t i = 0; i < b->n_owned; i++)
        free(b->owned[i]);
    free(b->owned);
    free(b);
}

static inline WeftOnnx__ValueInfoProto *value_info(mb *b, const char *name, int32_t elem, int rank,
                                            const int64_t *dims)
{
    WeftOnnx__ValueInfoProto *vi = alloc(b, sizeof *vi);
    weft_onnx__value_info_proto__init(vi);
    vi->name = str(b, name);
    WeftOnnx__TypeProto *tp = alloc(b, sizeof *tp);
    weft_onnx__type_proto__init(tp);
    WeftOnnx__TypeProto__Tensor *tt = alloc(b, sizeof *tt);
    weft_onnx__type_proto__tensor__init(tt);
    tt->has_elem_type = 1;
    tt->elem_type = elem;
    WeftOnnx__TensorShapeProto *sp = alloc(b, sizeof *sp);
    weft_onnx__tensor_shape_proto__init(sp);
    for (int d = 0; d < rank; d++) {
        WeftOnnx__TensorShapeProto__Dimension *dim = alloc(b, sizeof *dim);
        weft_onnx__tensor_shape_proto__dimension__init(dim);
        dim->value_case = WEFT_ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        dim->dim_value = dims[d];
        PUSH(b, sp->dim, sp->n_dim, dim);
    }
    tt->shape = sp;
    tp->value_case = WEFT_ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    vi->type = tp;
    return vi;
}

static inline WeftOnnx__ValueInfoProto *mb_input(mb *b, const char *name, int rank, const int64_t *dims)
{
    WeftOnnx__ValueInfoProto *vi = value_info(b, name, WEFT_ONNX_FLOAT, rank, dims);
    PUSH(b, b->g.input, b->g.n_input, vi);
    return vi;
}

static inline void mb_output(mb *b, const char *name)
{
    WeftOnnx__ValueInfoProto *vi = alloc(b, sizeof *vi);
    weft_onnx__value_info_proto__init(vi);
    vi->name = str(b, name);
    PUSH(b, b->g.output, b->g.n_output, vi);
}

static inline WeftOnnx__TensorProto *tensor(mb *b, const char *name, int32_t type, int rank,
                                     const int64_t *dims)
{
    WeftOnnx__TensorProto *t = alloc(b, sizeof *t);
    weft_onnx__tensor_proto__init(t);
    t->name = str(b, name);
    t->has_data_type = 1;
    t->data_type = type;
    t->n_dims = (size_t)rank;
    t->dims = alloc(b, (size_t)rank * sizeof *t->dims);
    for (int d = 0; d < rank; d++)
        t->dims[d] = dims[d];
    return t;
}

static inline void set_raw(mb *b, WeftOnnx__TensorProto *t, const void *data, size_t bytes)
{
    t->has_raw_data = 1;
    t->raw_data.len = bytes;
    t->raw_data.data = alloc(b, bytes);
    if (bytes)
        memcpy(t->raw_data.data, data, bytes);
}

static inline WeftOnnx__TensorProto *mb_init(mb *b, WeftOnnx__TensorProto *t)
{
    PUSH(b, b->g.initializer, b->g.n_initializer, t);
    return t;
}

/* A float32 initializer in raw_data (little-endian on the test hosts). */
static inline void mb_init_floats(mb *b, const char *name, int rank, const int64_t *dims, const float *v,
                           size_t n)
{
    set_raw(b, mb_init(b, tensor(b, name, WEFT_ONNX_FLOAT, rank, dims)), v, n * sizeof *v);
}

static inline void mb_init_ints(mb *b, const char *name, const int64_t *v, size_t n)
{
    int64_t dims[1] = {(int64_t)n};
    WeftOnnx__TensorProto *t = mb_init(b, tensor(b, name, WEFT_ONNX_INT64, 1, dims));
    t->n_int64_data = n;
    t->int64_data = alloc(b, n * sizeof *v);
    memcpy(t->int64_data, v, n * sizeof *v);
}

/* A node; inputs and outputs end with NULL ("" is an absent one). */
static inline WeftOnnx__NodeProto *mb_node(mb *b, const char *op, const char *name, const char *const *in,
                                    const char *const *out)
{
    WeftOnnx__NodeProto *np = alloc(b, sizeof *np);
    weft_onnx__node_proto__init(np);
    np->op_type = str(b, op);
    if (name)
        np->name = str(b, name);
    for (size_t i = 0; in && in[i]; i++)
        PUSH(b, np->input, np->n_input, str(b, in[i]));
    for (size_t i = 0; out && out[i]; i++)
        PUSH(b, np->output, np->n_output, str(b, out[i]));
    PUSH(b, b->g.node, b->g.n_node, np);
    return np;
}

#define IN(...) ((const char *const[]){__VA_ARGS__, NULL})

static inline WeftOnnx__AttributeProto *attr(mb *b, WeftOnnx__NodeProto *np, const char *name,
                                      int32_t type)
{
    WeftOnnx__AttributeProto *a = alloc(b, sizeof *a);
    weft_onnx__attribute_proto__init(a);
    a->name = str(b, name);
    a->has_type = 1;
    a->type = type;
    PUSH(b, np->attribute, np->n_attribute, a);
    return a;
}

static inline void attr_int(mb *b, WeftOnnx__NodeProto *np, const char *name, int64_t v)
{
    WeftOnnx__AttributeProto *a = attr(b, np, name, 2);
    a->has_i = 1;
    a->i = v;
}

static inline void attr_float(mb *b, WeftOnnx__NodeProto *np, const char *name, float v)
{
    WeftOnnx__AttributeProto *a = attr(b, np, name, 1);
    a->has_f = 1;
    a->f = v;
}

static inline void attr_ints(mb *b, WeftOnnx__NodeProto *np, const char *name, const int64_t *v,
                      size_t n)
{
    WeftOnnx__AttributeProto *a = attr(b, np, name, 7);
    a->n_ints = n;
    a->ints = alloc(b, n * sizeof *v);
    memcpy(a->ints, v, n * sizeof *v);
}

static inline void attr_floats(mb *b, WeftOnnx__NodeProto *np, const char *name, const float *v,
                        size_t n)
{
    WeftOnnx__AttributeProto *a = attr(b, np, name, 6);
    a->n_floats = n;
    a->floats = alloc(b, n * sizeof *v);
    memcpy(a->floats, v, n * sizeof *v);
}

static inline void attr_string(mb *b, WeftOnnx__NodeProto *np, const char *name, const char *v)
{
    WeftOnnx__AttributeProto *a = attr(b, np, name, 3);
    a->has_s = 1;
    a->s.len = strlen(v);
    a->s.data = (uint8_t *)str(b, v);
}

/* The serialized model; malloc'd. */
static inline uint8_t *mb_pack(mb *b, size_t *size)
{
    *size = weft_onnx__model_proto__get_packed_size(&b->m);
    uint8_t *bytes = malloc(*size ? *size : 1);
    assert_non_null(bytes);
    weft_onnx__model_proto__pack(&b->m, bytes);
    return bytes;
}

/* Loads b; returns the status, the graph in *g when OK. */
static inline weft_status mb_load(mb *b, weft_graph **g)
{
    size_t size;
    uint8_t *bytes = mb_pack(b, &size);
    weft_status st = weft_graph_load_onnx_memory(bytes, size, g);
    free(bytes);
    if (st != WEFT_OK)
        assert_null(*g);
    return st;
}

/* Loads b and validates it; the shape of value `name`. */
static inline weft_graph *load_ok(mb *b)
{
    weft_graph *g = NULL;
    assert_weft_ok(mb_load(b, &g));
    assert_weft_ok(weft_graph_validate(g));
    return g;
}

static inline void assert_shape(weft_graph *g, const char *name, int rank, const int64_t *dims)
{
    int at = weft_graph_find_value(g, name);
    assert_true(at >= 0);
    const weft_value *v = &g->values[at];
    weft_shape want = {.rank = rank};
    for (int d = 0; d < rank; d++)
        want.dims[d] = dims[d];
    if (!weft_shape_equal(&v->shape, &want))
        fail_msg("'%s' has shape %s, expected %s", name, weft_shape_str(&v->shape).s,
                 weft_shape_str(&want).s);
}

#define DIMS(...) ((const int64_t[]){__VA_ARGS__})
#define NDIMS(...) (int)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t))
#define SHAPE(...) NDIMS(__VA_ARGS__), DIMS(__VA_ARGS__)

/* Expects status and a message part when loading b; frees b. */
static inline void expect_load(mb *b, weft_status status, const char *part)
{
    weft_graph *g = NULL;
    assert_weft_status(mb_load(b, &g), status, part);
    assert_null(g);
    mb_free(b);
}

#endif
