/*
 * Softmax, LogSoftmax (src/ops/softmax.c, cl/softmax.cl) and ReduceMean
 * (src/ops/reduce.c, cl/reduce.cl) against src/ref. Softmax: ranks 1 to 4,
 * every axis (negative ones and the default too), axis length 1, odd
 * lengths (7, 33, 129, 1000), inputs with a large common offset (1e4),
 * NaN and infinities, and in place after another node. ReduceMean: ranks
 * 0 to 6 over single, trailing (global average pool), non-adjacent and
 * all axes, keepdims 0 and 1, axes as an attribute and as the opset-18
 * constant input, noop_with_empty_axes, empty tensors. Both kernels of
 * each op (one work-item per row, one work-group per row) also run with
 * work-groups capped at 1, 3, 64 and 128, as on devices that allow only
 * that many (WEFT_TEST_MAX_LOCAL and WEFT_TEST_REDUCE_PATH, read when a
 * session prepares). Also run under oclgrind; the larger cases run only
 * outside it.
 *
 * Tolerances, |got - want| <= atol + rtol * |want|:
 *  - Softmax, LogSoftmax: atol 1e-6, rtol 1e-5. OpenCL 1.2 allows exp and
 *    log 3 ulp and division 2.5 ulp (section 7.4); x - max is exact; the
 *    kernels sum in pairwise order (blocks of 8, then a tree), whose error
 *    is at most (8 + log2(len / 8)) ulp, 15 ulp ~ 1.8e-6 relative for
 *    len = 1000 in the worst case and far less in practice. Together under
 *    ~3e-6 relative worst case, so 1e-5 leaves room for the reference's
 *    own rounding; atol covers LogSoftmax outputs near 0.
 *  - ReduceMean: atol 2e-6, rtol 1e-5. A mean of values in [-2, 2) can
 *    cancel to near 0, so the bound is absolute: the pairwise sum's error
 *    is at most (8 + log2(n / 8)) ulp of the partial sums, below
 *    ~15 * 6e-8 * mean|x| ~ 1e-6, plus the division.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/random.h"
#include "op_test.h"
#include "ref/ref.h"
#include "runtime/session.h"
#include "test_common.h"

#define SOFTMAX_ATOL 1e-6f
#define SOFTMAX_RTOL 1e-5f
#define REDUCE_ATOL 2e-6f
#define REDUCE_RTOL 1e-5f

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Forcing the work-group size and the kernel ------------------------- */

static const char *const forced_locals[] = {"1", "3", "64", "128"};
static const char *const forced_paths[] = {NULL, "rows", "group"};

/* Runs `cases` under every pair of forced_locals and forced_paths; what
 * names the pair. */
static void for_each_forcing(void **state, void (*cases)(void **state, const char *what))
{
    for (size_t l = 0; l < COUNT(forced_locals); l++)
        for (size_t p = 0; p < COUNT(forced_paths); p++) {
            op_test_force(forced_locals[l], forced_paths[p]);
            char what[64];
            snprintf(what, sizeof what, "local<=%s path %s", forced_locals[l],
                     forced_paths[p] ? forced_paths[p] : "auto");
            cases(state, what);
        }
    op_test_force(NULL, NULL);
}

/* ---- Softmax and LogSoftmax --------------------------------------------- */

typedef struct softmax_shape {
    int rank;
    int64_t dims[4];
    float lo, hi;   /* input range; both 0: [-2, 2) */
} softmax_shape;

#define BIG 1e4f

/* Each runs with every axis from -rank to rank - 1 and with the default. */
static const softmax_shape softmax_shapes[] = {
    {.rank = 1, .dims = {1}},
    {.rank = 1, .dims = {7}},
    {.rank = 1, .dims = {33}},
    {.rank = 1, .dims = {129}},
    {.rank = 1, .dims = {1000}},
    {.rank = 2, .dims = {3, 33}},
    {.rank = 2, .dims = {33, 1}},
    {.rank = 2, .dims = {7, 129}},
    {.rank = 2, .dims = {3, 1000}},
    {.rank = 3, .dims = {2, 7, 5}},
    {.rank = 3, .dims = {4, 1, 3}},
    {.rank = 3, .dims = {3, 33, 2}},
    {.rank = 4, .dims = {2, 3, 4, 5}},
    {.rank = 4, .dims = {1, 7, 1, 3}},
    {.rank = 4, .dims = {2, 33, 3, 3}},
    {.rank = 2, .dims = {0, 5}},      /* empty: nothing runs */
    /* A large common offset: exp(x) alone would overflow. */
    {.rank = 1, .dims = {1000}, .lo = BIG - 3, .hi = BIG + 3},
    {.rank = 2, .dims = {5, 129}, .lo = BIG - 3, .hi = BIG + 3},
    {.rank = 3, .dims = {3, 7, 4}, .lo = BIG - 3, .hi = BIG + 3},
    {.rank = 4, .dims = {2, 3, 4, 5}, .lo = -BIG - 3, .hi = -BIG + 3},
};

/* Larger rows and many rows: outside oclgrind only. */
static const softmax_shape softmax_big_shapes[] = {
    {.rank = 2, .dims = {64, 1000}},
    {.rank = 2, .dims = {4096, 7}},
    {.rank = 4, .dims = {2, 1000, 3, 3}},
    {.rank = 3, .dims = {8, 300, 50}},
    {.rank = 2, .dims = {4, 10000}, .lo = BIG - 3, .hi = BIG + 3},
};

static const char *const softmax_ops[] = {"Softmax", "LogSoftmax"};

/* has_axis 0: the attribute is left out (default -1). */
static void run_softmax(void **state, const char *op, const softmax_shape *sh, int has_axis,
                        int64_t axis, const char *what)
{
    op_case c = {
        .op = op,
        .inputs = 1,
        .in = {{.rank = sh->rank, .lo = sh->lo, .hi = sh->hi}},
        .atol = SOFTMAX_ATOL,
        .rtol = SOFTMAX_RTOL,
    };
    memcpy(c.in[0].dims, sh->dims, sizeof sh->dims);
    if (has_axis)
        c.attrs[0] = (op_attr){.name = "axis", .type = 'i', .i = axis};
    char label[160];
    snprintf(label, sizeof label, "%s [%lld,%lld,%lld,%lld](rank %d) axis %s%lld range [%g,%g] %s",
             op, (long long)sh->dims[0], (long long)sh->dims[1], (long long)sh->dims[2],
             (long long)sh->dims[3], sh->rank, has_axis ? "" : "default ",
             has_axis ? (long long)axis : -1LL, (double)sh->lo, (double)sh->hi, what);
    run_op_case(*state, &c, label);
}

static void softmax_every_axis(void **state, const softmax_shape *shapes, size_t count,
                               const char *what)
{
    for (size_t o = 0; o < COUNT(softmax_ops); o++)
        for (size_t s = 0; s < count; s++) {
            run_softmax(state, softmax_ops[o], &shapes[s], 0, -1, what);
            for (int64_t axis = -shapes[s].rank; axis < shapes[s].rank; axis++)
                run_softmax(state, softmax_ops[o], &shapes[s], 1, axis, what);
        }
}

static void test_softmax_every_axis(void **state)
{
    softmax_every_axis(state, softmax_shapes, COUNT(softmax_shapes), "");
}

static void test_softmax_big(void **state)
{
    if (test_under_oclgrind())
        skip();
    softmax_every_axis(state, softmax_big_shapes, COUNT(softmax_big_shapes), "big");
}

/* Each kernel with work-groups of 1, 3, 64 and 128 at most. */
static const struct {
    softmax_shape shape;
    int64_t axis;
} softmax_forced_cases[] = {
    {.shape = {.rank = 1, .dims = {1000}}, .axis = 0},
    {.shape = {.rank = 2, .dims = {3, 129}}, .axis = 1},
    {.shape = {.rank = 2, .dims = {3, 129}}, .axis = 0},
    {.shape = {.rank = 4, .dims = {2, 33, 3, 3}}, .axis = 1},
    {.shape = {.rank = 3, .dims = {2, 7, 5}}, .axis = -2},
    {.shape = {.rank = 2, .dims = {2, 1}}, .axis = 1},
    {.shape = {.rank = 2, .dims = {5, 129}, .lo = BIG - 3, .hi = BIG + 3}, .axis = -1},
};

static void softmax_forced(void **state, const char *what)
{
    for (size_t o = 0; o < COUNT(softmax_ops); o++)
        for (size_t i = 0; i < COUNT(softmax_forced_cases); i++)
            run_softmax(state, softmax_ops[o], &softmax_forced_cases[i].shape, 1,
                        softmax_forced_cases[i].axis, what);
}

static void test_softmax_forced_local(void **state)
{
    for_each_forcing(state, softmax_forced);
}

/* NaN and infinities, as the reference treats them: a NaN or a +inf in a
 * slice makes the whole slice NaN (inf - inf), so does a slice of -inf
 * only; a -inf among finite values gives 0 (Softmax). LogSoftmax would
 * give -inf there, which |got - want| cannot compare, so its rows leave
 * -inf out. */
static void test_softmax_special_values(void **state)
{
    static const float soft[4 * 5] = {
        1, NAN, 2, 3, 0,
        -INFINITY, 0, 1, 2, -INFINITY,
        INFINITY, 1, 2, 3, 4,
        -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY,
    };
    static const float logsoft[4 * 5] = {
        1, NAN, 2, 3, 0,
        -1, 0, 1, 2, -3,
        INFINITY, 1, 2, 3, 4,
        -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY,
    };
    for (size_t p = 0; p < COUNT(forced_paths); p++) {
        op_test_force("3", forced_paths[p]);
        for (size_t o = 0; o < COUNT(softmax_ops); o++) {
            op_case c = {
                .op = softmax_ops[o],
                .inputs = 1,
                .in = {{.rank = 2, .dims = {4, 5}, .f32 = o == 0 ? soft : logsoft}},
                .atol = SOFTMAX_ATOL,
                .rtol = SOFTMAX_RTOL,
            };
            char label[96];
            snprintf(label, sizeof label, "%s special values, path %s", softmax_ops[o],
                     forced_paths[p] ? forced_paths[p] : "auto");
            run_op_case(*state, &c, label);
        }
    }
    op_test_force(NULL, NULL);
}

/* In place: Neg's output dies at the Softmax, which then writes into the
 * same buffer (impl.inplace); the arena holding one tensor shows it did.
 * Under oclgrind this also checks that the group kernel's barriers order
 * every read of a row before the writes. */
static void run_in_place(void **state, const char *op, int rank, const int64_t *dims, int64_t axis,
                         const char *what)
{
    weft_graph *g;
    assert_weft_ok(weft_graph_create(&g));
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, rank, dims));
    const char *x[] = {"x"}, *t[] = {"t"}, *y[] = {"y"};
    assert_weft_ok(weft_graph_add_node(g, "Neg", "neg", x, 1, NULL, t, 1));
    weft_attrs *attrs;
    assert_weft_ok(weft_attrs_create(&attrs));
    assert_weft_ok(weft_attrs_set_int(attrs, "axis", axis));
    assert_weft_ok(weft_graph_add_node(g, op, "softmax", t, 1, attrs, y, 1));
    weft_attrs_release(attrs);
    assert_weft_ok(weft_graph_add_output(g, "y"));
    op_test_in_place(*state, g, rank, dims, 42, SOFTMAX_ATOL, SOFTMAX_RTOL, op, what);
}

static void test_softmax_in_place(void **state)
{
    static const int64_t row[] = {3, 129}, channels[] = {2, 33, 3, 3};
    for (size_t p = 0; p < COUNT(forced_paths); p++) {
        op_test_force("3", forced_paths[p]);
        const char *what = forced_paths[p] ? forced_paths[p] : "auto";
        for (size_t o = 0; o < COUNT(softmax_ops); o++) {
            run_in_place(state, softmax_ops[o], 2, row, -1, what);
            run_in_place(state, softmax_ops[o], 4, channels, 1, what);
        }
    }
    op_test_force(NULL, NULL);
}

/* ---- ReduceMean --------------------------------------------------------- */

typedef struct reduce_case {
    const char *label;
    int rank;
    int64_t dims[6];
    int naxes;          /* -1: no axes at all */
    int64_t axes[6];
    int keepdims;       /* -1: the default (1) */
    int noop;           /* noop_with_empty_axes */
    int axes_input;     /* opset 18: axes as a constant int64 input */
} reduce_case;

static const reduce_case reduce_cases[] = {
    /* Single axes */
    {.label = "1-D", .rank = 1, .dims = {7}, .naxes = 1, .axes = {0}, .keepdims = -1},
    {.label = "1-D 1000", .rank = 1, .dims = {1000}, .naxes = 1, .axes = {0}, .keepdims = 0},
    {.label = "axis 0", .rank = 4, .dims = {2, 3, 4, 5}, .naxes = 1, .axes = {0}, .keepdims = -1},
    {.label = "axis 1", .rank = 4, .dims = {2, 3, 4, 5}, .naxes = 1, .axes = {1}, .keepdims = 1},
    {.label = "axis 2", .rank = 4, .dims = {2, 3, 4, 5}, .naxes = 1, .axes = {2}, .keepdims = 0},
    {.label = "axis 3", .rank = 4, .dims = {2, 3, 4, 5}, .naxes = 1, .axes = {3}, .keepdims = -1},
    {.label = "axis -1", .rank = 4, .dims = {2, 3, 4, 5}, .naxes = 1, .axes = {-1}, .keepdims = 0},
    {.label = "axis -3", .rank = 4, .dims = {2, 3, 4, 5}, .naxes = 1, .axes = {-3}, .keepdims = 1},
    {.label = "long row", .rank = 2, .dims = {33, 129}, .naxes = 1, .axes = {1}, .keepdims = 1},
    {.label = "long column", .rank = 2, .dims = {129, 33}, .naxes = 1, .axes = {0}, .keepdims = 0},
    {.label = "middle 1000", .rank = 3, .dims = {3, 1000, 2}, .naxes = 1, .axes = {1}, .keepdims = 0},
    /* Trailing axes: a global average pool */
    {.label = "GAP", .rank = 4, .dims = {2, 3, 5, 7}, .naxes = 2, .axes = {2, 3}, .keepdims = 1},
    {.label = "GAP keepdims 0", .rank = 4, .dims = {2, 3, 5, 7}, .naxes = 2, .axes = {3, 2},
     .keepdims = 0},
    {.label = "GAP 33x33", .rank = 4, .dims = {1, 4, 33, 33}, .naxes = 2, .axes = {-2, -1},
     .keepdims = 1},
    {.label = "trailing 3", .rank = 4, .dims = {2, 3, 4, 5}, .naxes = 3, .axes = {1, 2, 3},
     .keepdims = 0},
    {.label = "leading 2", .rank = 4, .dims = {2, 3, 4, 5}, .naxes = 2, .axes = {0, 1},
     .keepdims = 1},
    /* Non-adjacent axes */
    {.label = "axes 0,2", .rank = 4, .dims = {2, 3, 4, 5}, .naxes = 2, .axes = {0, 2}, .keepdims = 1},
    {.label = "axes 0,2 keepdims 0", .rank = 4, .dims = {2, 3, 4, 5}, .naxes = 2, .axes = {2, 0},
     .keepdims = 0},
    {.label = "axes 1,3", .rank = 4, .dims = {2, 3, 4, 5}, .naxes = 2, .axes = {1, 3}, .keepdims = 0},
    {.label = "axes 0,3", .rank = 4, .dims = {2, 3, 4, 5}, .naxes = 2, .axes = {0, -1}, .keepdims = 1},
    {.label = "axes 0,2,4", .rank = 5, .dims = {2, 3, 4, 5, 6}, .naxes = 3, .axes = {0, 2, 4},
     .keepdims = 0},
    {.label = "axes 1,3,5 rank 6", .rank = 6, .dims = {2, 3, 2, 3, 2, 5}, .naxes = 3,
     .axes = {1, 3, 5}, .keepdims = 1},
    {.label = "axes 0,2,3,5 rank 6", .rank = 6, .dims = {3, 2, 5, 3, 2, 7}, .naxes = 4,
     .axes = {0, 2, 3, 5}, .keepdims = 0},
    {.label = "around size-1 dims", .rank = 5, .dims = {3, 1, 4, 1, 5}, .naxes = 2, .axes = {0, 4},
     .keepdims = 1},
    {.label = "only size-1 axes", .rank = 3, .dims = {3, 1, 5}, .naxes = 1, .axes = {1},
     .keepdims = 0},
    /* A scalar; empty tensors (the mean of nothing is NaN, which the NaN
     * poison cannot tell from an unwritten output: this checks that
     * nothing fails or reads out of bounds) */
    {.label = "scalar", .rank = 0, .naxes = -1, .keepdims = 1},
    {.label = "scalar keepdims 0", .rank = 0, .naxes = -1, .keepdims = 0},
    {.label = "empty reduced", .rank = 2, .dims = {3, 0}, .naxes = 1, .axes = {1}, .keepdims = 1},
    {.label = "empty kept", .rank = 2, .dims = {0, 3}, .naxes = 1, .axes = {1}, .keepdims = 1},
    /* All axes */
    {.label = "all (default)", .rank = 3, .dims = {3, 5, 7}, .naxes = -1, .keepdims = -1},
    {.label = "all keepdims 0", .rank = 3, .dims = {3, 5, 7}, .naxes = -1, .keepdims = 0},
    {.label = "all listed", .rank = 3, .dims = {3, 5, 7}, .naxes = 3, .axes = {0, 1, 2},
     .keepdims = 1},
    {.label = "all 1-D 1000 default", .rank = 1, .dims = {1000}, .naxes = -1, .keepdims = 0},
    {.label = "all 4-D", .rank = 4, .dims = {2, 3, 11, 13}, .naxes = -1, .keepdims = 1},
    /* noop_with_empty_axes with no axes: the identity */
    {.label = "noop, no axes", .rank = 3, .dims = {3, 5, 7}, .naxes = -1, .keepdims = 1,
     .noop = 1},
    /* Opset 18: axes as a constant int64 input */
    {.label = "input axis 1", .rank = 3, .dims = {3, 5, 7}, .naxes = 1, .axes = {1}, .keepdims = 1,
     .axes_input = 1},
    {.label = "input axes -1,0", .rank = 3, .dims = {3, 5, 7}, .naxes = 2, .axes = {-1, 0},
     .keepdims = 0, .axes_input = 1},
    {.label = "input GAP", .rank = 4, .dims = {2, 3, 5, 7}, .naxes = 2, .axes = {2, 3},
     .keepdims = 1, .axes_input = 1},
    {.label = "input empty axes: all", .rank = 3, .dims = {3, 5, 7}, .naxes = 0, .keepdims = 1,
     .axes_input = 1},
    {.label = "input empty axes, noop", .rank = 3, .dims = {3, 5, 7}, .naxes = 0, .keepdims = 1,
     .noop = 1, .axes_input = 1},
    {.label = "input empty axes, noop, keepdims 0", .rank = 2, .dims = {4, 9}, .naxes = 0,
     .keepdims = 0, .noop = 1, .axes_input = 1},
    {.label = "input axes with noop", .rank = 3, .dims = {3, 5, 7}, .naxes = 1, .axes = {2},
     .keepdims = 0, .noop = 1, .axes_input = 1},
};

/* Larger reductions: outside oclgrind only. */
static const reduce_case reduce_big_cases[] = {
    {.label = "GAP 8x64x56x56", .rank = 4, .dims = {8, 64, 56, 56}, .naxes = 2, .axes = {2, 3},
     .keepdims = 1},
    {.label = "GAP 2x2048x7x7", .rank = 4, .dims = {2, 2048, 7, 7}, .naxes = 2, .axes = {2, 3},
     .keepdims = 1},
    {.label = "channels 4x512x30x30", .rank = 4, .dims = {4, 512, 30, 30}, .naxes = 1, .axes = {1},
     .keepdims = 1},
    {.label = "all 1e6", .rank = 1, .dims = {1000003}, .naxes = -1, .keepdims = 0},
    {.label = "axes 0,2 of 16x33x64x9", .rank = 4, .dims = {16, 33, 64, 9}, .naxes = 2,
     .axes = {0, 2}, .keepdims = 0},
};

static void run_reduce(void **state, const reduce_case *rc, const char *what)
{
    op_case c = {
        .op = "ReduceMean",
        .inputs = 1,
        .in = {{.rank = rc->rank}},
        .atol = REDUCE_ATOL,
        .rtol = REDUCE_RTOL,
    };
    memcpy(c.in[0].dims, rc->dims, sizeof rc->dims);
    int a = 0;
    if (rc->keepdims >= 0)
        c.attrs[a++] = (op_attr){.name = "keepdims", .type = 'i', .i = rc->keepdims};
    if (rc->noop)
        c.attrs[a++] = (op_attr){.name = "noop_with_empty_axes", .type = 'i', .i = 1};
    if (rc->naxes >= 0 && rc->axes_input) {
        c.inputs = 2;
        c.in[1] = (op_input){.rank = 1, .dims = {rc->naxes}, .constant = 1, .dtype = WEFT_INT64,
                             .i64 = rc->axes};
    } else if (rc->naxes >= 0) {
        op_attr axes = {.name = "axes", .type = 'I', .count = rc->naxes};
        memcpy(axes.ints, rc->axes, (size_t)rc->naxes * sizeof *rc->axes);
        c.attrs[a++] = axes;
    }
    char label[160];
    snprintf(label, sizeof label, "ReduceMean %s %s", rc->label, what);
    run_op_case(*state, &c, label);
}

static void test_reduce_mean(void **state)
{
    for (size_t i = 0; i < COUNT(reduce_cases); i++)
        run_reduce(state, &reduce_cases[i], "");
}

static void test_reduce_mean_big(void **state)
{
    if (test_under_oclgrind())
        skip();
    for (size_t i = 0; i < COUNT(reduce_big_cases); i++)
        run_reduce(state, &reduce_big_cases[i], "big");
}

static const reduce_case reduce_forced_cases[] = {
    {.label = "GAP", .rank = 4, .dims = {2, 3, 5, 7}, .naxes = 2, .axes = {2, 3}, .keepdims = 1},
    {.label = "GAP 33x33", .rank = 4, .dims = {1, 2, 33, 33}, .naxes = 2, .axes = {2, 3},
     .keepdims = 0},
    {.label = "all 1000", .rank = 1, .dims = {1000}, .naxes = -1, .keepdims = 1},
    {.label = "long column", .rank = 2, .dims = {129, 33}, .naxes = 1, .axes = {0}, .keepdims = 0},
    {.label = "axes 0,2", .rank = 4, .dims = {2, 3, 4, 5}, .naxes = 2, .axes = {0, 2}, .keepdims = 1},
    {.label = "axes 0,2,4", .rank = 5, .dims = {2, 3, 4, 5, 6}, .naxes = 3, .axes = {0, 2, 4},
     .keepdims = 0},
    {.label = "only size-1 axes", .rank = 3, .dims = {3, 1, 5}, .naxes = 1, .axes = {1},
     .keepdims = 1},
};

static void reduce_mean_forced(void **state, const char *what)
{
    for (size_t i = 0; i < COUNT(reduce_forced_cases); i++)
        run_reduce(state, &reduce_forced_cases[i], what);
}

static void test_reduce_mean_forced_local(void **state)
{
    for_each_forcing(state, reduce_mean_forced);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_softmax_every_axis),
        cmocka_unit_test_teardown(test_softmax_forced_local, op_test_unforce),
        cmocka_unit_test_teardown(test_softmax_special_values, op_test_unforce),
        cmocka_unit_test_teardown(test_softmax_in_place, op_test_unforce),
        cmocka_unit_test(test_softmax_big),
        cmocka_unit_test(test_reduce_mean),
        cmocka_unit_test_teardown(test_reduce_mean_forced_local, op_test_unforce),
        cmocka_unit_test(test_reduce_mean_big),
    };
    return cmocka_run_group_tests(tests, op_test_setup, op_test_teardown);
}
