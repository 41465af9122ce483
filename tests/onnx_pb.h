/*
 * Reading the ONNX node conformance cases (onnx-node-tests/: model.onnx
 * and test_data_set_0/{input,output}_N.pb) in a test, without protobuf
 * libraries: a minimal reader for the handful of fields single-node
 * models and TensorProto files use. Test-only, header-only (static
 * inline), cmocka failures on anything unexpected.
 */
#ifndef WEFT_TEST_ONNX_PB_H
#define WEFT_TEST_ONNX_PB_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "op_test.h"
#include "test_common.h"

#define PB_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* A minimal protobuf reader for the fields these files use: TensorProto
 * dims (1), data_type (2), float_data (4), int64_data (7), raw_data (9);
 * ModelProto graph (7); GraphProto node (1), input (11), output (12);
 * NodeProto input (1), output (2), op_type (4), attribute (5);
 * AttributeProto name (1), f (2), i (3), s (4), floats (7), ints (8),
 * type (20); ValueInfoProto name (1). */
typedef struct pb {
    const unsigned char *p, *end;
} pb;

static inline int pb_varint(pb *b, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64 && b->p < b->end; shift += 7) {
        unsigned char c = *b->p++;
        *v |= (uint64_t)(c & 0x7f) << shift;
        if (c < 0x80)
            return 1;
    }
    return 0;
}

/* The next field: its number, wire type, and its value (varint, fixed)
 * or its bytes (length-delimited) in *sub. */
static inline int pb_next(pb *b, unsigned *field, unsigned *wire, uint64_t *v, pb *sub)
{
    uint64_t key;
    if (b->p >= b->end || !pb_varint(b, &key))
        return 0;
    *field = (unsigned)(key >> 3);
    *wire = (unsigned)(key & 7);
    *v = 0;
    switch (*wire) {
    case 0: return pb_varint(b, v);
    case 1:
    case 5: {
        size_t len = *wire == 1 ? 8 : 4;
        if ((size_t)(b->end - b->p) < len)
            return 0;
        memcpy(v, b->p, len); /* little-endian host, as the files */
        b->p += len;
        return 1;
    }
    case 2: {
        uint64_t len;
        if (!pb_varint(b, &len) || len > (uint64_t)(b->end - b->p))
            return 0;
        sub->p = b->p;
        sub->end = b->p + len;
        b->p += len;
        return 1;
    }
    default: return 0;
    }
}

static inline unsigned char *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    *size = 0;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *data = malloc(len > 0 ? (size_t)len : 1);
    if (data && len > 0 && fread(data, 1, (size_t)len, f) != (size_t)len) {
        free(data);
        data = NULL;
    }
    fclose(f);
    *size = len > 0 ? (size_t)len : 0;
    return data;
}

typedef struct pb_tensor {
    int rank;
    int64_t dims[WEFT_MAX_RANK];
    weft_dtype dtype;
    void *data;  /* malloc'd */
    size_t count;
} pb_tensor;

static inline void read_tensor(const char *path, pb_tensor *t)
{
    size_t size = 0;
    unsigned char *file = read_file(path, &size);
    if (!file)
        fail_msg("cannot read %s", path);
    memset(t, 0, sizeof *t);
    pb b = {file, file + size}, sub = {0};
    unsigned field, wire;
    uint64_t v;
    int type = 0;
    const unsigned char *raw = NULL;
    size_t raw_len = 0;
    float floats[64];
    int64_t ints[64];
    size_t nf = 0, ni = 0;
    while (pb_next(&b, &field, &wire, &v, &sub)) {
        if (field == 1 && wire == 0 && t->rank < WEFT_MAX_RANK) {
            t->dims[t->rank++] = (int64_t)v;
        } else if (field == 1 && wire == 2) {
            while (sub.p < sub.end && pb_varint(&sub, &v) && t->rank < WEFT_MAX_RANK)
                t->dims[t->rank++] = (int64_t)v;
        } else if (field == 2 && wire == 0) {
            type = (int)v;
        } else if (field == 9 && wire == 2) {
            raw = sub.p;
            raw_len = (size_t)(sub.end - sub.p);
        } else if (field == 4 && wire == 2) {
            for (; sub.end - sub.p >= 4 && nf < PB_COUNT(floats); sub.p += 4)
                memcpy(&floats[nf++], sub.p, 4);
        } else if (field == 4 && wire == 5 && nf < PB_COUNT(floats)) {
            memcpy(&floats[nf++], &v, 4);
        } else if (field == 7 && wire == 2) {
            while (sub.p < sub.end && pb_varint(&sub, &v) && ni < PB_COUNT(ints))
                ints[ni++] = (int64_t)v;
        } else if (field == 7 && wire == 0 && ni < PB_COUNT(ints)) {
            ints[ni++] = (int64_t)v;
        }
    }
    if (type != 1 && type != 7)
        fail_msg("%s: data type %d; only float (1) and int64 (7) are read", path, type);
    t->dtype = type == 1 ? WEFT_FLOAT32 : WEFT_INT64;
    size_t es = type == 1 ? 4 : 8;
    t->count = 1;
    for (int d = 0; d < t->rank; d++)
        t->count *= (size_t)t->dims[d];
    t->data = malloc(t->count ? t->count * es : 1);
    assert_non_null(t->data);
    if (raw && raw_len == t->count * es)
        memcpy(t->data, raw, raw_len);
    else if (type == 1 && nf == t->count)
        memcpy(t->data, floats, nf * es);
    else if (type == 7 && ni == t->count)
        memcpy(t->data, ints, ni * es);
    else
        fail_msg("%s: %zu elements expected, the data does not hold them", path, t->count);
    free(file);
}

static inline void pb_string(const pb *s, char *out, size_t cap)
{
    size_t len = (size_t)(s->end - s->p);
    len = len < cap - 1 ? len : cap - 1;
    memcpy(out, s->p, len);
    out[len] = '\0';
}

/* The single node of a model: op type, input and output names,
 * attributes; and the graph's input and output names. */
typedef struct pb_model {
    char op[64];
    char node_in[OP_MAX_INPUTS][64], node_out[4][64];
    size_t n_node_in, n_node_out;
    char graph_in[OP_MAX_INPUTS][64], graph_out[4][64];
    size_t n_graph_in, n_graph_out;
    weft_attrs *attrs;
} pb_model;

static inline void read_attribute(pb a, weft_attrs *attrs)
{
    char name[64] = "";
    unsigned field, wire;
    uint64_t v;
    pb sub;
    int type = 0;
    int64_t i = 0;
    float f = 0;
    char s[64] = "";
    int64_t ints[16];
    size_t ni = 0;
    while (pb_next(&a, &field, &wire, &v, &sub)) {
        if (field == 1 && wire == 2)
            pb_string(&sub, name, sizeof name);
        else if (field == 20 && wire == 0)
            type = (int)v;
        else if (field == 3 && wire == 0)
            i = (int64_t)v;
        else if (field == 2 && wire == 5)
            memcpy(&f, &v, 4);
        else if (field == 4 && wire == 2)
            pb_string(&sub, s, sizeof s);
        else if (field == 8 && wire == 0 && ni < PB_COUNT(ints))
            ints[ni++] = (int64_t)v;
        else if (field == 8 && wire == 2)
            while (sub.p < sub.end && pb_varint(&sub, &v) && ni < PB_COUNT(ints))
                ints[ni++] = (int64_t)v;
    }
    switch (type) {
    case 1: assert_weft_ok(weft_attrs_set_float(attrs, name, f)); break;
    case 2: assert_weft_ok(weft_attrs_set_int(attrs, name, i)); break;
    case 3: assert_weft_ok(weft_attrs_set_string(attrs, name, s)); break;
    case 7: assert_weft_ok(weft_attrs_set_ints(attrs, name, ints, ni)); break;
    default: fail_msg("attribute '%s' has type %d, which this reader does not take", name, type);
    }
}

static inline void read_model(const char *path, pb_model *m)
{
    size_t size = 0;
    unsigned char *file = read_file(path, &size);
    if (!file)
        fail_msg("cannot read %s", path);
    memset(m, 0, sizeof *m);
    assert_weft_ok(weft_attrs_create(&m->attrs));
    pb b = {file, file + size}, graph = {0}, sub, sub2;
    unsigned field, wire;
    uint64_t v;
    while (pb_next(&b, &field, &wire, &v, &sub))
        if (field == 7 && wire == 2)
            graph = sub;
    int nodes = 0;
    while (pb_next(&graph, &field, &wire, &v, &sub)) {
        if (field == 1 && wire == 2) {
            nodes++;
            while (pb_next(&sub, &field, &wire, &v, &sub2)) {
                if (field == 1 && wire == 2 && m->n_node_in < OP_MAX_INPUTS)
                    pb_string(&sub2, m->node_in[m->n_node_in++], 64);
                else if (field == 2 && wire == 2 && m->n_node_out < 4)
                    pb_string(&sub2, m->node_out[m->n_node_out++], 64);
                else if (field == 4 && wire == 2)
                    pb_string(&sub2, m->op, sizeof m->op);
                else if (field == 5 && wire == 2)
                    read_attribute(sub2, m->attrs);
            }
        } else if ((field == 11 || field == 12) && wire == 2) {
            int is_in = field == 11;
            while (pb_next(&sub, &field, &wire, &v, &sub2))
                if (field == 1 && wire == 2) {
                    if (is_in && m->n_graph_in < OP_MAX_INPUTS)
                        pb_string(&sub2, m->graph_in[m->n_graph_in++], 64);
                    else if (!is_in && m->n_graph_out < 4)
                        pb_string(&sub2, m->graph_out[m->n_graph_out++], 64);
                }
        }
    }
    if (nodes != 1)
        fail_msg("%s: %d nodes; these cases have one", path, nodes);
    free(file);
}

#endif
