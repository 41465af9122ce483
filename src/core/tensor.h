/*
 * Shapes and data types, shared by the graph, the reference ops and the
 * runtime. A shape is a small fixed array: ranks above WEFT_MAX_RANK are
 * refused where shapes enter weft (builder, importer).
 */
#ifndef WEFT_CORE_TENSOR_H
#define WEFT_CORE_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "weft.h"

typedef struct weft_shape {
    int rank;
    int64_t dims[WEFT_MAX_RANK];
} weft_shape;

/* Bytes of one element; 0 for an unknown type. */
size_t weft_dtype_size(weft_dtype dtype);
const char *weft_dtype_name(weft_dtype dtype);

/* Number of elements (1 for rank 0); -1 when a dim is negative or the
 * product overflows int64 or SIZE_MAX bytes of 8-byte elements. */
int64_t weft_shape_numel(const weft_shape *s);
int weft_shape_equal(const weft_shape *a, const weft_shape *b);
/* numpy broadcasting of a and b; WEFT_ERR_SHAPE (no message: the caller
 * names the node) when they do not broadcast. */
weft_status weft_shape_broadcast(const weft_shape *a, const weft_shape *b, weft_shape *out);
/* "[1,3,224,224]" into buf; returns buf. */
char *weft_shape_format(const weft_shape *s, char *buf, size_t cap);

/* The same, usable inline as a printf argument for messages:
 * weft_shape_str(&v->shape).s lives until the end of the full expression. */
typedef struct weft_shape_text {
    char s[8 + WEFT_MAX_RANK * 22];
} weft_shape_text;

static inline weft_shape_text weft_shape_str(const weft_shape *shape)
{
    weft_shape_text t;
    weft_shape_format(shape, t.s, sizeof t.s);
    return t;
}
/* Row-major strides in elements. */
void weft_shape_strides(const weft_shape *s, int64_t strides[WEFT_MAX_RANK]);
/* Product of dims [from, to) of s: 1 when the range is empty. */
static inline int64_t weft_shape_product(const weft_shape *s, int from, int to)
{
    int64_t p = 1;
    for (int d = from; d < to; d++)
        p *= s->dims[d];
    return p;
}

#endif
