/*
 * What the reference tests (test_ref, test_ref_conv) share: a node of one
 * op with attributes set in place, host tensors over given data, outputs
 * poisoned first (so an element the op forgets to write fails the
 * comparison), and running a node through its reference; each fails the
 * test on an error. static inline: each test is one translation unit.
 */
#ifndef WEFT_TEST_REF_TEST_H
#define WEFT_TEST_REF_TEST_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph.h"
#include "ref/ref.h"
#include "test_common.h"

#define POISON_I64 ((int64_t)0x5a5a5a5a5a5a5a5aLL)

static inline weft_node node(const char *op)
{
    weft_node n;
    memset(&n, 0, sizeof n);
    n.name = (char *)"n1";
    n.op = (char *)op;
    return n;
}

static inline void set_i(weft_node *n, const char *name, int64_t v)
{
    assert_weft_ok(weft_attrs_set_int(&n->attrs, name, v));
}

static inline void set_f(weft_node *n, const char *name, float v)
{
    assert_weft_ok(weft_attrs_set_float(&n->attrs, name, v));
}

static inline void set_s(weft_node *n, const char *name, const char *v)
{
    assert_weft_ok(weft_attrs_set_string(&n->attrs, name, v));
}

static inline void set_is(weft_node *n, const char *name, const int64_t *v, size_t count)
{
    assert_weft_ok(weft_attrs_set_ints(&n->attrs, name, v, count));
}

static inline weft_shape shape_of(int rank, const int64_t *dims)
{
    weft_shape s = {.rank = rank};
    for (int i = 0; i < rank; i++)
        s.dims[i] = dims[i];
    return s;
}

static inline weft_host_tensor in_f(int rank, const int64_t *dims, const float *data)
{
    return (weft_host_tensor){WEFT_FLOAT32, shape_of(rank, dims), (void *)data};
}

static inline weft_host_tensor in_i(int rank, const int64_t *dims, const int64_t *data)
{
    return (weft_host_tensor){WEFT_INT64, shape_of(rank, dims), (void *)data};
}

/* A malloc'd output buffer, every element poisoned: NaN for float32,
 * POISON_I64 for int64. */
static inline weft_host_tensor out_t(weft_dtype dtype, int rank, const int64_t *dims)
{
    weft_host_tensor t = {dtype, shape_of(rank, dims), NULL};
    size_t n = (size_t)weft_shape_numel(&t.shape);
    t.data = malloc(n ? n * (dtype == WEFT_FLOAT32 ? sizeof(float) : sizeof(int64_t)) : 1);
    assert_non_null(t.data);
    for (size_t i = 0; i < n; i++) {
        if (dtype == WEFT_FLOAT32)
            ((float *)t.data)[i] = NAN;
        else
            ((int64_t *)t.data)[i] = POISON_I64;
    }
    return t;
}

static inline weft_host_tensor out_f(int rank, const int64_t *dims)
{
    return out_t(WEFT_FLOAT32, rank, dims);
}

static inline weft_host_tensor out_i(int rank, const int64_t *dims)
{
    return out_t(WEFT_INT64, rank, dims);
}

static inline weft_status run(const weft_node *n, const weft_host_tensor *in, size_t nin,
                              weft_host_tensor *out, size_t nout)
{
    weft_ref_fn fn = weft_ref_find(n->op);
    if (!fn)
        fail_msg("no reference for %s", n->op);
    return fn(n, in, nin, out, nout);
}

#endif
