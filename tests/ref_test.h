/*
 * The node builders the reference tests (test_ref, test_ref_conv) share:
 * a node of one op with attributes set in place, failing the test on an
 * error. static inline: each test is one translation unit.
 */
#ifndef WEFT_TEST_REF_TEST_H
#define WEFT_TEST_REF_TEST_H

#include <string.h>

#include "graph/graph.h"
#include "test_common.h"

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

#endif
