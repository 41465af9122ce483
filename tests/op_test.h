/*
 * Running one op case on a device and on the C reference, for the op
 * tests (and bench/). A case names the op, its inputs (shapes; random
 * float data, or given int64/float constants), its attributes, and the
 * tolerance; run_op_case builds a one-node graph, runs it through a
 * session whose buffers are poisoned first, runs the same graph with
 * src/ref, and compares every output: |got - want| <= atol + rtol * |want|.
 */
#ifndef WEFT_TEST_OP_TEST_H
#define WEFT_TEST_OP_TEST_H

#include <stddef.h>
#include <stdint.h>

#include "weft.h"

struct weft_node;
struct weft_op_impl;

#define OP_MAX_INPUTS 6
#define OP_MAX_ATTRS 8

typedef struct op_input {
    int rank;                 /* -1: absent optional input */
    int64_t dims[WEFT_MAX_RANK];
    int constant;             /* a graph constant instead of a graph input */
    weft_dtype dtype;         /* 0 means float32 */
    const int64_t *i64;       /* int64 data (constant inputs) */
    const float *f32;         /* given float data; NULL: random */
    float lo, hi;             /* random range; both 0: [-2, 2) */
} op_input;

typedef struct op_attr {
    const char *name;
    char type;                /* 'i' int, 'f' float, 's' string, 'I' ints, 'F' floats */
    int64_t i;
    float f;
    const char *s;
    int64_t ints[16];
    float floats[16];
    int count;
} op_attr;

typedef struct op_case {
    const char *op;
    op_input in[OP_MAX_INPUTS];
    int inputs;
    op_attr attrs[OP_MAX_ATTRS];
    int outputs;              /* 0 means 1 */
    float atol, rtol;         /* both 0: 1e-5 and 1e-5 */
    const char *impl;         /* force this implementation ("op:impl") */
} op_case;

/* The case's attributes, as the node gets them; fails the test on a type
 * it does not know. */
weft_attrs *op_test_attrs(const op_case *c);

/* Elements of a tensor of these dims. */
size_t op_test_numel(int rank, const int64_t *dims);

/* 0 on success; else fails the cmocka test with a message naming the case
 * (label) and the first wrong element. */
void run_op_case(weft_context *ctx, const op_case *c, const char *label);

/* Runs graph g (input "x" of the given shape, random in [-3, 3) from
 * seed; output "y") on ctx and on the C reference, and fails unless the
 * session's arena holds under two tensors of x's size (so the op ran in
 * place) and every element matches within atol + rtol * |want|. Releases
 * g. op and what name the case. */
void op_test_in_place(weft_context *ctx, weft_graph *g, int rank, const int64_t *dims,
                      uint64_t seed, float atol, float rtol, const char *op, const char *what);

/* Runs the kernels as on a device that allows at most max_local work-items
 * per group (WEFT_TEST_MAX_LOCAL) and, for the reductions, forces the one
 * work-item or one work-group per row kernel (WEFT_TEST_REDUCE_PATH: "rows"
 * or "group"); NULL unsets. Read by prepare (src/ops/rows.h). */
void op_test_force(const char *max_local, const char *path);
/* op_test_force(NULL, NULL), as a cmocka teardown. */
int op_test_unforce(void **state);

/* The implementation `name` of op `op` in the registry (src/ops/impls.inc);
 * fails the test when there is none. */
const struct weft_op_impl *op_test_impl(const char *op, const char *name);

/* Fails the test unless impl's supports() refuses node n of g on dev with
 * a reason containing `part`. */
void op_test_expect_refusal(const weft_graph *g, const struct weft_node *n,
                            const struct weft_op_impl *impl, const weft_device_info *dev,
                            const char *part);

/* A session on g with op's nodes forced onto impl (force_impl "op:impl")
 * and every buffer poisoned with NaN; fails the test naming label and
 * impl when it cannot be created. */
weft_session *op_test_forced_session(weft_context *ctx, weft_graph *g, const char *op,
                                     const char *impl, const char *label);

/* For a test's main: a context on the default device, disk cache off, and
 * that device's description. Under oclgrind every buffer is its own
 * (WEFT_MEMORY_PLAN=off): oclgrind 21.10 loses track of writes through
 * the sub-buffers of the session's arena (src/runtime/session.c), where
 * the convolutions keep their workspaces. Prints why and returns nonzero
 * on failure. */
int op_test_open_device(weft_context **ctx, weft_device_info *dev);

/* A context on the default device, disk cache off (for group setup). */
int op_test_setup(void **state);
int op_test_teardown(void **state);

#endif
