/*
 * The normalizations (src/ops/norm.c, cl/norm.cl, src/ref/ref_norm.c) and
 * the BatchNormalization folding pass (src/graph/pass_fold_batch_norm.c).
 *
 * Kernels against src/ref on random data (run_op_case: device buffers
 * poisoned first):
 *  - BatchNormalization: ranks 2 to 5, channels 1, 3 and 33, planes 1x1 up
 *    to 127x129, epsilon default and 0.01, parameters as constants (folded
 *    on the host) and as graph inputs (formed in the kernel);
 *  - LRN: sizes 1 to 5 (even sizes too: ONNX sums floor((size-1)/2)
 *    channels before and ceil((size-1)/2) after), default and other alpha,
 *    beta, bias, channels 1 to 33; both implementations (lrn, lrn_walk);
 *  - InstanceNormalization, GroupNormalization (groups 1, some, C; scale
 *    and bias per channel [C] and per group [num_groups]), and
 *    LayerNormalization (1, 2, 3 trailing axes, a middle axis, axis 0;
 *    Scale and B full, broadcast and absent; the Mean and InvStdDev
 *    outputs), N 1 and 2, runs of 1 element up to 127x129: each also on
 *    inputs with a large common offset (1e4 + noise in [-1, 1)), where a
 *    float E[x^2] - E[x]^2 loses every digit;
 *  - every kernel with work-groups capped at 1, 3, 64 and 128 (and both
 *    normalize kernels, one work-group or one work-item per run), and in
 *    place after another node.
 * The ONNX node conformance cases of the five ops run on the device and
 * on the reference in tests/test_conformance.c.
 * The folding pass: the folded constants against values computed here,
 * the cases it must leave alone, and — when the C reference has the
 * producer op — the folded graph's outputs against the original's.
 * Also run under oclgrind; the larger cases run only outside it.
 *
 * Tolerances, |got - want| <= atol + rtol * |want| (OpenCL 1.2 section
 * 7.4: sqrt 3 ulp, rsqrt 2 ulp, division 2.5 ulp, pow 16 ulp; the
 * reference computes in double):
 *  - BatchNormalization: atol 1e-5, rtol 1e-5. y = x * a + b with a, b
 *    rounded to float on the host: at most ~3 roundings of terms up to
 *    |x a| + |b| <= 2 * 2.8 + 2 + 2 * 2.8 ~ 13 here (var >= 0.5), ~2.5e-6
 *    worst case even when y cancels to 0, hence an absolute bound; the
 *    in-kernel form adds sqrt and division (~6 ulp on a), still ~5e-6.
 *  - LRN: atol 1e-6, rtol 1e-5. y = x / d^beta: pow 16 ulp and the
 *    division 2.5 ulp (beta 0.75: rsqrt 2 ulp, sqrt 3 ulp and two
 *    products), plus the few-term square sum: ~20 ulp ~ 2.4e-6 relative in
 *    the worst case; y is proportional to x, so relative.
 *  - Instance, Layer, GroupNormalization: atol 1e-5, rtol 1e-5. The
 *    corrected two-pass variance with Kahan sums per work-item and a tree
 *    of at most 8 levels across work-items: ~1e-6 relative on the
 *    variance, so ~5e-7 on 1/sqrt(var + eps), times |z * scale| <=
 *    1.8 * 2 plus the final multiply-add: ~3e-6 absolute at worst, on the
 *    offset inputs too (x - mean is exact there, cl/norm.cl). A naive
 *    E[x^2] - E[x]^2 in float is off by O(1) on the offset inputs, far
 *    beyond these bounds.
 *  - Folded constants against the values computed here: relative 1e-6
 *    (one float rounding each side); folded graph against the original
 *    through the reference: atol 1e-5, rtol 1e-5 (the fold reorders one
 *    product per output).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/random.h"
#include "graph/graph.h"
#include "graph/passes.h"
#include "op_test.h"
#include "ref/ref.h"
#include "runtime/session.h"
#include "test_common.h"

#define BN_ATOL 1e-5f
#define BN_RTOL 1e-5f
#define LRN_ATOL 1e-6f
#define LRN_RTOL 1e-5f
#define NORM_ATOL 1e-5f
#define NORM_RTOL 1e-5f

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define BIG 1e4f


/* ---- Forcing the work-group size and the kernel ------------------------- */

static const char *const forced_locals[] = {"1", "3", "64", "128"};
static const char *const forced_paths[] = {NULL, "rows", "group"};

typedef struct shape {
    int rank;
    int64_t dims[5];
} shape;

static void format_shape(const shape *s, char *buf, size_t cap)
{
    size_t at = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < s->rank && at < cap; i++)
        at += (size_t)snprintf(buf + at, cap - at, "%s%lld", i ? "," : "", (long long)s->dims[i]);
    if (at < cap)
        snprintf(buf + at, cap - at, "]");
}

static op_input x_input(const shape *s, int offset)
{
    op_input in = {.rank = s->rank};
    memcpy(in.dims, s->dims, sizeof s->dims);
    if (offset) {
        in.lo = BIG - 1;
        in.hi = BIG + 1;
    }
    return in;
}

static op_input vector_input(int64_t n, int constant, float lo, float hi)
{
    return (op_input){.rank = 1, .dims = {n}, .constant = constant, .lo = lo, .hi = hi};
}

/* ---- BatchNormalization --------------------------------------------------- */

static const shape bn_shapes[] = {
    {2, {1, 1}},          {2, {2, 3}},        {2, {3, 33}},         {4, {1, 3, 1, 1}},
    {4, {2, 3, 5, 7}},    {4, {1, 33, 7, 9}}, {3, {2, 33, 17}},     {5, {2, 3, 4, 5, 6}},
    {4, {1, 1, 13, 11}},  {4, {0, 3, 2, 2}},  /* empty: nothing runs */
};

static const shape bn_big_shapes[] = {{4, {2, 33, 127, 129}}, {4, {1, 3, 127, 129}}};

static void run_bn(void **state, const shape *sh, int constant, int eps, const char *what)
{
    int64_t c = sh->dims[1];
    op_case k = {
        .op = "BatchNormalization",
        .inputs = 5,
        .in = {x_input(sh, 0), vector_input(c, constant, -2, 2), vector_input(c, constant, -2, 2),
               vector_input(c, constant, -2, 2), vector_input(c, constant, 0.5f, 2.5f)},
        .atol = BN_ATOL,
        .rtol = BN_RTOL,
    };
    if (eps)
        k.attrs[0] = (op_attr){.name = "epsilon", .type = 'f', .f = 0.01f};
    char dims[64], label[200];
    format_shape(sh, dims, sizeof dims);
    snprintf(label, sizeof label, "BatchNormalization %s params %s epsilon %s %s", dims,
             constant ? "constant" : "input", eps ? "0.01" : "default", what);
    run_op_case(*state, &k, label);
}

static void bn_grid(void **state, const shape *shapes, size_t count, const char *what)
{
    for (size_t i = 0; i < count; i++)
        for (int constant = 0; constant < 2; constant++)
            for (int eps = 0; eps < 2; eps++)
                run_bn(state, &shapes[i], constant, eps, what);
}

static void test_batch_norm(void **state)
{
    bn_grid(state, bn_shapes, COUNT(bn_shapes), "");
}

static void test_batch_norm_big(void **state)
{
    if (test_under_oclgrind()) {
        print_message("skipped under oclgrind: 127x129 planes take too long there\n");
        skip();
    }
    bn_grid(state, bn_big_shapes, COUNT(bn_big_shapes), "big");
}

/* ---- LRN --------------------------------------------------------------------- */

typedef struct lrn_attrs {
    int given;            /* 0: alpha, beta and bias left at their defaults */
    float alpha, beta, bias;
} lrn_attrs;

/* beta 0.75, 0.5 and 1 have kernels of their own (cl/norm.cl LRN_BETA);
 * 0.6 takes pow. */
static const lrn_attrs lrn_attr_sets[] = {
    {0, 0, 0, 0},
    /* Large alpha, so the window's every term moves y visibly. */
    {1, 0.5f, 0.75f, 2.0f},
    {1, 2.0f, 0.5f, 1.0f},
    {1, 1.0f, 1.0f, 1.5f},
    {1, 0.3f, 0.6f, 1.0f},
};

static const shape lrn_shapes[] = {
    {4, {1, 1, 1, 1}}, {4, {2, 3, 5, 7}}, {4, {1, 33, 7, 9}}, {2, {2, 7}}, {3, {2, 6, 9}},
    {5, {1, 5, 3, 4, 2}}, {4, {0, 3, 2, 2}},
};

static const shape lrn_big_shapes[] = {{4, {2, 33, 127, 129}}};

static void run_lrn(void **state, const shape *sh, int64_t size, const lrn_attrs *a,
                    const char *what)
{
    op_case k = {
        .op = "LRN",
        .inputs = 1,
        .in = {x_input(sh, 0)},
        .attrs = {{.name = "size", .type = 'i', .i = size}},
        .atol = LRN_ATOL,
        .rtol = LRN_RTOL,
    };
    if (a->given) {
        k.attrs[1] = (op_attr){.name = "alpha", .type = 'f', .f = a->alpha};
        k.attrs[2] = (op_attr){.name = "beta", .type = 'f', .f = a->beta};
        k.attrs[3] = (op_attr){.name = "bias", .type = 'f', .f = a->bias};
    }
    char dims[64], label[200];
    format_shape(sh, dims, sizeof dims);
    /* each implementation: lrn (one element per work-item) and lrn_walk
     * (16 positions per work-item: rows shorter, longer, not a multiple) */
    static const char *const impls[] = {"LRN:lrn", "LRN:lrn_walk"};
    for (size_t i = 0; i < COUNT(impls); i++) {
        k.impl = impls[i];
        snprintf(label, sizeof label, "LRN %s size %lld alpha %g beta %g bias %g %s [%s]", dims,
                 (long long)size, a->given ? (double)a->alpha : 1e-4,
                 a->given ? (double)a->beta : 0.75, a->given ? (double)a->bias : 1.0, what,
                 impls[i]);
        run_op_case(*state, &k, label);
    }
}

static void lrn_grid(void **state, const shape *shapes, size_t count, const char *what)
{
    for (size_t i = 0; i < count; i++)
        for (int64_t size = 1; size <= 5; size++)
            for (size_t a = 0; a < COUNT(lrn_attr_sets); a++)
                run_lrn(state, &shapes[i], size, &lrn_attr_sets[a], what);
}

static void test_lrn(void **state)
{
    lrn_grid(state, lrn_shapes, COUNT(lrn_shapes), "");
}

static void test_lrn_big(void **state)
{
    if (test_under_oclgrind()) {
        print_message("skipped under oclgrind: 127x129 planes take too long there\n");
        skip();
    }
    lrn_grid(state, lrn_big_shapes, COUNT(lrn_big_shapes), "big");
}

/* ---- InstanceNormalization ----------------------------------------------------- */

static const shape instance_shapes[] = {
    {3, {1, 1, 1}},        {3, {2, 3, 7}},       {4, {1, 1, 1, 1}},    {4, {2, 3, 1, 1}},
    {4, {1, 3, 5, 7}},     {4, {2, 33, 5, 7}},   {4, {1, 3, 33, 33}},  {5, {1, 3, 2, 3, 4}},
    {3, {2, 3, 300}},
    /* empty: no planes; planes of no elements */
    {4, {0, 3, 2, 2}},     {4, {2, 3, 0, 2}},
};

static const shape instance_big_shapes[] = {{4, {2, 33, 127, 129}}, {4, {1, 3, 127, 129}}};

static void run_instance(void **state, const shape *sh, int eps, int offset, int constant,
                         const char *what)
{
    int64_t c = sh->dims[1];
    op_case k = {
        .op = "InstanceNormalization",
        .inputs = 3,
        .in = {x_input(sh, offset), vector_input(c, constant, -2, 2),
               vector_input(c, constant, -2, 2)},
        .atol = NORM_ATOL,
        .rtol = NORM_RTOL,
    };
    if (eps)
        k.attrs[0] = (op_attr){.name = "epsilon", .type = 'f', .f = 0.01f};
    char dims[64], label[200];
    format_shape(sh, dims, sizeof dims);
    snprintf(label, sizeof label, "InstanceNormalization %s epsilon %s%s params %s %s", dims,
             eps ? "0.01" : "default", offset ? " offset 1e4" : "",
             constant ? "constant" : "input", what);
    run_op_case(*state, &k, label);
}

static void instance_grid(void **state, const shape *shapes, size_t count, const char *what)
{
    for (size_t i = 0; i < count; i++)
        for (int offset = 0; offset < 2; offset++) {
            run_instance(state, &shapes[i], 0, offset, 1, what);
            run_instance(state, &shapes[i], 1, offset, (int)(i & 1), what);
        }
}

static void test_instance_norm(void **state)
{
    instance_grid(state, instance_shapes, COUNT(instance_shapes), "");
}

static void test_instance_norm_big(void **state)
{
    if (test_under_oclgrind()) {
        print_message("skipped under oclgrind: 127x129 planes take too long there\n");
        skip();
    }
    instance_grid(state, instance_big_shapes, COUNT(instance_big_shapes), "big");
}

/* ---- GroupNormalization -------------------------------------------------------- */

typedef struct group_case {
    shape x;
    int64_t groups;
    int per_group;   /* scale and bias [num_groups] (opset 18) instead of [C] */
} group_case;

static const group_case group_cases[] = {
    {{4, {1, 1, 1, 1}}, 1, 0},   {{4, {2, 3, 5, 7}}, 1, 0},   {{4, {2, 3, 5, 7}}, 3, 0},
    {{4, {2, 33, 5, 7}}, 1, 0},  {{4, {2, 33, 5, 7}}, 3, 0},  {{4, {2, 33, 5, 7}}, 11, 0},
    {{4, {2, 33, 5, 7}}, 33, 0}, {{4, {2, 33, 5, 7}}, 3, 1},  {{4, {2, 33, 5, 7}}, 11, 1},
    {{4, {1, 4, 1, 1}}, 2, 0},   {{4, {1, 4, 1, 1}}, 2, 1},   {{2, {2, 6}}, 3, 0},
    {{3, {2, 6, 9}}, 2, 1},      {{4, {1, 6, 33, 33}}, 2, 0}, {{4, {1, 6, 33, 33}}, 3, 1},
    {{5, {1, 4, 2, 3, 5}}, 2, 0},
    {{4, {2, 4, 0, 3}}, 2, 0}, /* empty */
};

static const group_case group_big_cases[] = {
    {{4, {2, 33, 127, 129}}, 3, 0}, {{4, {2, 33, 127, 129}}, 33, 1},
    {{4, {1, 32, 33, 33}}, 8, 0},
};

static void run_group(void **state, const group_case *gc, int eps, int offset, int constant,
                      const char *what)
{
    int64_t n = gc->per_group ? gc->groups : gc->x.dims[1];
    op_case k = {
        .op = "GroupNormalization",
        .inputs = 3,
        .in = {x_input(&gc->x, offset), vector_input(n, constant, -2, 2),
               vector_input(n, constant, -2, 2)},
        .attrs = {{.name = "num_groups", .type = 'i', .i = gc->groups}},
        .atol = NORM_ATOL,
        .rtol = NORM_RTOL,
    };
    if (eps)
        k.attrs[1] = (op_attr){.name = "epsilon", .type = 'f', .f = 0.01f};
    char dims[64], label[200];
    format_shape(&gc->x, dims, sizeof dims);
    snprintf(label, sizeof label, "GroupNormalization %s groups %lld scale per %s epsilon %s%s "
             "params %s %s",
             dims, (long long)gc->groups, gc->per_group ? "group" : "channel",
             eps ? "0.01" : "default", offset ? " offset 1e4" : "",
             constant ? "constant" : "input", what);
    run_op_case(*state, &k, label);
}

static void group_grid(void **state, const group_case *cases, size_t count, const char *what)
{
    for (size_t i = 0; i < count; i++)
        for (int offset = 0; offset < 2; offset++) {
            run_group(state, &cases[i], 0, offset, 1, what);
            run_group(state, &cases[i], 1, offset, (int)(i & 1), what);
        }
}

static void test_group_norm(void **state)
{
    group_grid(state, group_cases, COUNT(group_cases), "");
}

static void test_group_norm_big(void **state)
{
    if (test_under_oclgrind()) {
        print_message("skipped under oclgrind: 127x129 planes take too long there\n");
        skip();
    }
    group_grid(state, group_big_cases, COUNT(group_big_cases), "big");
}

/* ---- LayerNormalization ---------------------------------------------------------- */

typedef struct layer_case {
    shape x;
    int has_axis;
    int64_t axis;
    shape scale;     /* rank -1: absent */
    shape bias;      /* rank -1: absent */
    int outputs;     /* 1: Y; 2: and Mean; 3: and InvStdDev */
} layer_case;

#define ABSENT {-1, {0}}

static const layer_case layer_cases[] = {
    /* One trailing axis (the default), two, three, all four */
    {{4, {2, 3, 4, 5}}, 0, -1, {1, {5}}, {1, {5}}, 3},
    {{4, {2, 3, 4, 5}}, 1, -2, {2, {4, 5}}, {2, {4, 5}}, 1},
    {{4, {2, 3, 4, 5}}, 1, -3, {3, {3, 4, 5}}, ABSENT, 2},
    {{4, {2, 3, 4, 5}}, 1, 0, {4, {2, 3, 4, 5}}, {4, {2, 3, 4, 5}}, 3},
    /* A middle axis: normalizes axes 1.. of rank 3 and 2.. of rank 5 */
    {{3, {3, 7, 11}}, 1, 1, {2, {7, 11}}, {2, {7, 11}}, 3},
    {{5, {2, 3, 2, 3, 4}}, 1, 2, {3, {2, 3, 4}}, {1, {4}}, 3},
    /* Broadcast Scale and B: a block, a scalar, a leading block */
    {{4, {2, 3, 4, 5}}, 1, 1, {2, {4, 1}}, {1, {5}}, 3},
    {{4, {2, 3, 4, 5}}, 1, 1, {1, {1}}, {3, {3, 1, 1}}, 1},
    {{4, {2, 3, 4, 5}}, 1, 2, {2, {1, 5}}, {2, {4, 1}}, 2},
    /* Scale only over non-adjacent axes: expanded on the host when constant */
    {{4, {2, 3, 4, 5}}, 1, 1, {3, {3, 1, 5}}, {3, {1, 4, 1}}, 3},
    /* Runs of 1, short and long */
    {{2, {7, 1}}, 0, -1, {1, {1}}, {1, {1}}, 3},
    {{1, {1}}, 0, -1, {1, {1}}, ABSENT, 3},
    {{1, {7}}, 1, 0, {1, {7}}, {1, {7}}, 3},
    {{2, {33, 129}}, 1, 1, {1, {129}}, {1, {129}}, 3},
    {{2, {129, 33}}, 1, -1, {1, {33}}, {1, {33}}, 3},
    {{2, {3, 1000}}, 1, -1, {1, {1000}}, {1, {1000}}, 3},
    {{3, {2, 300, 7}}, 1, 1, {2, {300, 7}}, ABSENT, 1},
    /* Without Scale (ONNX requires it; inference lets it through) */
    {{3, {2, 5, 6}}, 1, -1, ABSENT, ABSENT, 3},
    /* Rows of no elements: Mean and InvStdDev are NaN (0 / 0), as in numpy */
    {{2, {3, 0}}, 0, -1, {1, {0}}, {1, {0}}, 3},
    {{2, {0, 5}}, 0, -1, {1, {5}}, {1, {5}}, 3},
};

static const layer_case layer_big_cases[] = {
    {{2, {4096, 7}}, 0, -1, {1, {7}}, {1, {7}}, 3},
    {{2, {2, 16383}}, 0, -1, {1, {16383}}, {1, {16383}}, 3},
    {{4, {2, 3, 127, 129}}, 1, 2, {2, {127, 129}}, {2, {127, 129}}, 3},
    {{3, {64, 16, 768}}, 1, -1, {1, {768}}, {1, {768}}, 1},
};

static void run_layer(void **state, const layer_case *lc, int eps, int offset, int constant,
                      const char *what)
{
    op_case k = {
        .op = "LayerNormalization",
        .inputs = 1,
        .in = {x_input(&lc->x, offset)},
        .outputs = lc->outputs,
        .atol = NORM_ATOL,
        .rtol = NORM_RTOL,
    };
    const shape *params[2] = {&lc->scale, &lc->bias};
    for (int i = 0; i < 2; i++) {
        if (params[i]->rank < 0) {
            k.in[1 + i] = (op_input){.rank = -1};
            continue;
        }
        k.in[1 + i] = (op_input){.rank = params[i]->rank, .constant = constant, .lo = -2, .hi = 2};
        memcpy(k.in[1 + i].dims, params[i]->dims, sizeof params[i]->dims);
        k.inputs = 2 + i;
    }
    int a = 0;
    if (lc->has_axis)
        k.attrs[a++] = (op_attr){.name = "axis", .type = 'i', .i = lc->axis};
    if (eps)
        k.attrs[a++] = (op_attr){.name = "epsilon", .type = 'f', .f = 0.01f};
    char dims[64], sdims[64], bdims[64], label[400];
    format_shape(&lc->x, dims, sizeof dims);
    format_shape(&lc->scale, sdims, sizeof sdims);
    format_shape(&lc->bias, bdims, sizeof bdims);
    snprintf(label, sizeof label, "LayerNormalization %s axis %s%lld Scale %s B %s outputs %d "
             "epsilon %s%s params %s %s",
             dims, lc->has_axis ? "" : "default ", (long long)lc->axis,
             lc->scale.rank < 0 ? "absent" : sdims, lc->bias.rank < 0 ? "absent" : bdims,
             lc->outputs, eps ? "0.01" : "default", offset ? " offset 1e4" : "",
             constant ? "constant" : "input", what);
    run_op_case(*state, &k, label);
}

/* Scale over non-adjacent axes computed by the graph: not supported. */
static int non_adjacent(const layer_case *lc)
{
    return lc->scale.rank == 3 && lc->scale.dims[1] == 1 && lc->scale.dims[0] != 1;
}

static void layer_grid(void **state, const layer_case *cases, size_t count, const char *what)
{
    for (size_t i = 0; i < count; i++)
        for (int offset = 0; offset < 2; offset++) {
            run_layer(state, &cases[i], 0, offset, 1, what);
            if (!non_adjacent(&cases[i]))
                run_layer(state, &cases[i], 1, offset, 0, what);
        }
}

static void test_layer_norm(void **state)
{
    layer_grid(state, layer_cases, COUNT(layer_cases), "");
}

static void test_layer_norm_big(void **state)
{
    if (test_under_oclgrind()) {
        print_message("skipped under oclgrind: large rows take too long there\n");
        skip();
    }
    layer_grid(state, layer_big_cases, COUNT(layer_big_cases), "big");
}

/* A Scale computed by the graph that broadcasts over non-adjacent axes has
 * no map in the kernel: the session says so, naming the input. */
static void test_layer_norm_unsupported(void **state)
{
    static const int64_t xd[] = {2, 3, 4, 5}, sd[] = {3, 1, 5};
    weft_graph *g;
    assert_weft_ok(weft_graph_create(&g));
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 4, xd));
    assert_weft_ok(weft_graph_add_input(g, "scale", WEFT_FLOAT32, 3, sd));
    weft_attrs *attrs;
    assert_weft_ok(weft_attrs_create(&attrs));
    assert_weft_ok(weft_attrs_set_int(attrs, "axis", 1));
    const char *in[] = {"x", "scale"}, *out[] = {"y"};
    assert_weft_ok(weft_graph_add_node(g, "LayerNormalization", "ln", in, 2, attrs, out, 1));
    weft_attrs_release(attrs);
    assert_weft_ok(weft_graph_add_output(g, "y"));
    weft_session *s = NULL;
    assert_weft_status(weft_session_create(*state, g, NULL, &s), WEFT_ERR_UNSUPPORTED,
                       "input 'Scale' ('scale') broadcasts over non-adjacent normalized axes");
    assert_null(s);
    weft_graph_release(g);
}

/* ---- Forced work-group sizes ------------------------------------------------------- */

static const shape bn_forced_shapes[] = {{4, {2, 3, 5, 7}}, {4, {1, 33, 7, 9}}, {2, {3, 1}}};
static const shape lrn_forced_shapes[] = {{4, {2, 7, 5, 7}}, {2, {3, 5}}};
static const shape instance_forced_shapes[] = {
    {4, {2, 3, 1, 1}}, {4, {1, 3, 5, 7}}, {4, {1, 2, 33, 33}}, {3, {2, 3, 300}},
};
static const group_case group_forced_cases[] = {
    {{4, {2, 6, 5, 7}}, 3, 0}, {{4, {1, 4, 33, 33}}, 2, 1}, {{4, {2, 3, 1, 1}}, 3, 0},
};
static const layer_case layer_forced_cases[] = {
    {{2, {3, 129}}, 0, -1, {1, {129}}, {1, {129}}, 3},
    {{2, {5, 1}}, 0, -1, {1, {1}}, {1, {1}}, 3},
    {{4, {2, 3, 4, 5}}, 1, 1, {2, {4, 1}}, {1, {5}}, 3},
    {{2, {2, 1000}}, 1, 1, {1, {1000}}, ABSENT, 2},
};

static void test_forced_local(void **state)
{
    static const lrn_attrs lrn_a = {1, 0.5f, 0.75f, 2.0f};
    for (size_t l = 0; l < COUNT(forced_locals); l++) {
        char what[64];
        op_test_force(forced_locals[l], NULL);
        snprintf(what, sizeof what, "local<=%s", forced_locals[l]);
        for (size_t i = 0; i < COUNT(bn_forced_shapes); i++)
            for (int constant = 0; constant < 2; constant++)
                run_bn(state, &bn_forced_shapes[i], constant, 0, what);
        for (size_t i = 0; i < COUNT(lrn_forced_shapes); i++)
            run_lrn(state, &lrn_forced_shapes[i], 3, &lrn_a, what);
        for (size_t p = 0; p < COUNT(forced_paths); p++) {
            op_test_force(forced_locals[l], forced_paths[p]);
            snprintf(what, sizeof what, "local<=%s path %s", forced_locals[l],
                     forced_paths[p] ? forced_paths[p] : "auto");
            for (size_t i = 0; i < COUNT(instance_forced_shapes); i++)
                run_instance(state, &instance_forced_shapes[i], 0, (int)(i & 1), 1, what);
            for (size_t i = 0; i < COUNT(group_forced_cases); i++)
                run_group(state, &group_forced_cases[i], 0, (int)(i & 1), (int)(p & 1), what);
            for (size_t i = 0; i < COUNT(layer_forced_cases); i++)
                run_layer(state, &layer_forced_cases[i], 0, (int)((i + 1) & 1), (int)(p & 1),
                          what);
        }
    }
    op_test_force(NULL, NULL);
}

/* ---- In place -------------------------------------------------------------------- */

/* Neg's output dies at the normalization, which then writes into the same
 * buffer (impl.inplace); the arena holding one tensor shows it did. Under
 * oclgrind this also checks that every read of a run comes before the
 * writes. */
static void run_in_place(void **state, const char *op, const shape *sh, int64_t groups,
                         const char *what)
{
    int64_t c = sh->dims[1];
    weft_graph *g;
    assert_weft_ok(weft_graph_create(&g));
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, sh->rank, sh->dims));
    float params[4][64];
    uint64_t seed = 7;
    for (int i = 0; i < 4; i++) {
        weft_random_fill(&seed, params[i], 64, -2, 2);
        if (i == 3)
            weft_random_fill(&seed, params[i], 64, 0.5f, 2.5f);
    }
    static const char *const names[] = {"p0", "p1", "p2", "p3"};
    int64_t pn = strcmp(op, "LayerNormalization") == 0 ? sh->dims[sh->rank - 1] : c;
    int nparams = strcmp(op, "BatchNormalization") == 0 ? 4 : 2;
    for (int i = 0; i < nparams; i++)
        assert_weft_ok(weft_graph_add_constant(g, names[i], WEFT_FLOAT32, 1, &pn, params[i]));
    const char *x[] = {"x"}, *t[] = {"t"}, *y[] = {"y"};
    const char *in[] = {"t", "p0", "p1", "p2", "p3"};
    assert_weft_ok(weft_graph_add_node(g, "Neg", "neg", x, 1, NULL, t, 1));
    weft_attrs *attrs;
    assert_weft_ok(weft_attrs_create(&attrs));
    if (groups)
        assert_weft_ok(weft_attrs_set_int(attrs, "num_groups", groups));
    assert_weft_ok(weft_graph_add_node(g, op, "norm", in, 1 + (size_t)nparams, attrs, y, 1));
    weft_attrs_release(attrs);
    assert_weft_ok(weft_graph_add_output(g, "y"));
    op_test_in_place(*state, g, sh->rank, sh->dims, seed, NORM_ATOL, NORM_RTOL, op, what);
}

static void test_in_place(void **state)
{
    static const shape planes = {4, {2, 3, 33, 9}}, rows = {2, {40, 7}};
    for (size_t p = 0; p < COUNT(forced_paths); p++) {
        op_test_force("3", forced_paths[p]);
        const char *what = forced_paths[p] ? forced_paths[p] : "auto";
        run_in_place(state, "BatchNormalization", &planes, 0, what);
        run_in_place(state, "InstanceNormalization", &planes, 0, what);
        run_in_place(state, "GroupNormalization", &planes, 3, what);
        run_in_place(state, "LayerNormalization", &planes, 0, what);
        run_in_place(state, "LayerNormalization", &rows, 0, what);
    }
    op_test_force(NULL, NULL);
}

/* ---- Reference errors -------------------------------------------------------------- */

/* Direct calls with inputs shape inference would have refused: the
 * reference reports them instead of reading past a buffer. */
static void test_reference_errors(void **state)
{
    (void)state;
    weft_graph *g;
    assert_weft_ok(weft_graph_create(&g));
    static const int64_t xd[] = {1, 3, 2, 2};
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 4, xd));
    const char *in[] = {"x", "s", "b", "m", "v"}, *out[] = {"y"};
    assert_weft_ok(weft_graph_add_node(g, "BatchNormalization", "bn", in, 5, NULL, out, 1));
    assert_weft_ok(weft_graph_add_node(g, "GroupNormalization", "gn", in, 3, NULL, out, 1));
    float x[12] = {0}, p[4] = {1, 1, 1, 1}, y[12];
    weft_host_tensor tin[5] = {
        {WEFT_FLOAT32, {.rank = 4, .dims = {1, 3, 2, 2}}, x},
        {WEFT_FLOAT32, {.rank = 1, .dims = {4}}, p},
        {WEFT_FLOAT32, {.rank = 1, .dims = {3}}, p},
        {WEFT_FLOAT32, {.rank = 1, .dims = {3}}, p},
        {WEFT_FLOAT32, {.rank = 1, .dims = {3}}, p},
    };
    weft_host_tensor tout = {WEFT_FLOAT32, {.rank = 4, .dims = {1, 3, 2, 2}}, y};
    weft_ref_fn bn = weft_ref_find("BatchNormalization"), gn = weft_ref_find("GroupNormalization");
    assert_non_null(bn);
    assert_non_null(gn);
    assert_weft_status(bn(&g->nodes[0], tin, 5, &tout, 1), WEFT_ERR_SHAPE,
                       "input 1 ('scale') has shape [4], expected [3]");
    assert_weft_status(gn(&g->nodes[1], tin, 3, &tout, 1), WEFT_ERR_GRAPH,
                       "attribute 'num_groups' is required");
    weft_graph_release(g);
}

/* ---- Folding BatchNormalization ------------------------------------------------------ */

typedef struct bn_params {
    float scale[8], bias[8], mean[8], var[8];
    float eps;
} bn_params;

static void make_bn_params(bn_params *p, uint64_t seed, float eps)
{
    weft_random_fill(&seed, p->scale, 8, -2, 2);
    weft_random_fill(&seed, p->bias, 8, -2, 2);
    weft_random_fill(&seed, p->mean, 8, -2, 2);
    weft_random_fill(&seed, p->var, 8, 0.5f, 2.5f);
    p->eps = eps;
}

static void add_bn(weft_graph *g, const char *x, const char *y, const bn_params *p, int64_t c,
                   int params_constant)
{
    const char *names[4] = {"bn_scale", "bn_bias", "bn_mean", "bn_var"};
    const float *data[4] = {p->scale, p->bias, p->mean, p->var};
    for (int i = 0; i < 4; i++) {
        if (params_constant || i != 2)
            assert_weft_ok(weft_graph_add_constant(g, names[i], WEFT_FLOAT32, 1, &c, data[i]));
        else
            assert_weft_ok(weft_graph_add_input(g, names[i], WEFT_FLOAT32, 1, &c));
    }
    weft_attrs *attrs;
    assert_weft_ok(weft_attrs_create(&attrs));
    assert_weft_ok(weft_attrs_set_float(attrs, "epsilon", p->eps));
    const char *in[] = {x, "bn_scale", "bn_bias", "bn_mean", "bn_var"}, *out[] = {y};
    assert_weft_ok(weft_graph_add_node(g, "BatchNormalization", "bn", in, 5, attrs, out, 1));
    weft_attrs_release(attrs);
}

static double bn_a(const bn_params *p, int64_t o)
{
    return p->scale[o] / sqrt((double)p->var[o] + (double)p->eps);
}

static double bn_b(const bn_params *p, int64_t o)
{
    return p->bias[o] - (double)p->mean[o] * bn_a(p, o);
}

static const weft_node *only_live_node(const weft_graph *g)
{
    const weft_node *found = NULL;
    size_t live = 0;
    for (size_t i = 0; i < g->node_count; i++)
        if (!g->nodes[i].removed) {
            found = &g->nodes[i];
            live++;
        }
    assert_int_equal(live, 1);
    return found;
}

static void expect_close(const char *what, size_t i, float got, double want)
{
    if (!(fabs((double)got - want) <= 1e-6 * fabs(want) + 1e-7))
        fail_msg("%s element %zu is %.9g, expected %.9g", what, i, (double)got, want);
}

/* Runs the original and the folded graph through the reference on the
 * same input, when the reference has the producer's op. */
static void compare_graphs(const weft_graph *before, const weft_graph *after, const char *op,
                           const char *label)
{
    if (!weft_ref_find(op)) {
        print_message("%s: outputs not compared: the C reference has no %s yet\n", label, op);
        return;
    }
    const weft_value *xv = &before->values[before->inputs[0]];
    size_t n = (size_t)weft_shape_numel(&xv->shape);
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    uint64_t seed = 99;
    weft_random_fill(&seed, x, n, -2, 2);
    weft_tensor in = {.name = xv->name, .dtype = WEFT_FLOAT32, .rank = xv->shape.rank, .data = x,
                      .size_bytes = n * sizeof *x};
    memcpy(in.dims, xv->shape.dims, (size_t)xv->shape.rank * sizeof *in.dims);
    weft_host_tensor want, got;
    if (weft_ref_run_graph(before, &in, 1, &want, 1) != WEFT_OK)
        fail_msg("%s: reference of the original graph: %s", label, weft_last_error());
    if (weft_ref_run_graph(after, &in, 1, &got, 1) != WEFT_OK)
        fail_msg("%s: reference of the folded graph: %s", label, weft_last_error());
    assert_true(weft_shape_equal(&want.shape, &got.shape));
    const float *w = want.data, *y = got.data;
    size_t count = (size_t)weft_shape_numel(&want.shape);
    for (size_t i = 0; i < count; i++)
        if (!(fabsf(y[i] - w[i]) <= 1e-5f + 1e-5f * fabsf(w[i])))
            fail_msg("%s: folded output element %zu is %.9g, the original gives %.9g", label, i,
                     (double)y[i], (double)w[i]);
    print_message("%s: folded and original outputs agree (%zu elements)\n", label, count);
    free(want.data);
    free(got.data);
    free(x);
}

/* Validates g, keeps a copy, folds, compacts, validates again; the copy
 * is returned for compare_graphs. */
static weft_graph *fold(weft_graph *g, size_t expect_changed)
{
    assert_weft_ok(weft_graph_validate(g));
    weft_graph *before;
    assert_weft_ok(weft_graph_clone(g, &before));
    size_t changed = 99;
    assert_weft_ok(weft_pass_fold_batch_norm(g, &changed));
    assert_int_equal(changed, expect_changed);
    assert_weft_ok(weft_graph_compact(g));
    assert_weft_ok(weft_graph_validate(g));
    return before;
}

/* Conv (group 1 with bias, group 2 without) followed by BN. */
static void fold_conv(int64_t group, int with_bias, const char *label)
{
    const int64_t c_in = 4, m = 6, kh = 3, kw = 2;
    const int64_t xd[] = {2, c_in, 6, 5}, wd[] = {m, c_in / group, kh, kw};
    const size_t wn = (size_t)(m * (c_in / group) * kh * kw);
    float w[6 * 4 * 3 * 2], b[6];
    uint64_t seed = 11 + (uint64_t)group;
    weft_random_fill(&seed, w, wn, -1, 1);
    weft_random_fill(&seed, b, 6, -1, 1);
    bn_params p;
    make_bn_params(&p, 5, 1e-3f);
    weft_graph *g;
    assert_weft_ok(weft_graph_create(&g));
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 4, xd));
    assert_weft_ok(weft_graph_add_constant(g, "W", WEFT_FLOAT32, 4, wd, w));
    if (with_bias)
        assert_weft_ok(weft_graph_add_constant(g, "B", WEFT_FLOAT32, 1, &m, b));
    weft_attrs *attrs;
    assert_weft_ok(weft_attrs_create(&attrs));
    assert_weft_ok(weft_attrs_set_int(attrs, "group", group));
    assert_weft_ok(weft_attrs_set_ints(attrs, "pads", (const int64_t[]){1, 0, 1, 1}, 4));
    const char *in[] = {"x", "W", "B"}, *out[] = {"t"};
    assert_weft_ok(weft_graph_add_node(g, "Conv", "conv", in, with_bias ? 3 : 2, attrs, out, 1));
    weft_attrs_release(attrs);
    add_bn(g, "t", "y", &p, m, 1);
    assert_weft_ok(weft_graph_add_output(g, "y"));
    weft_graph *before = fold(g, 1);

    const weft_node *n = only_live_node(g);
    assert_string_equal(n->op, "Conv");
    assert_int_equal(n->input_count, 3);
    const weft_value *wv = weft_node_input(g, n, 1), *bv = weft_node_input(g, n, 2);
    const weft_value *yv = weft_node_output(g, n, 0);
    assert_string_equal(yv->name, "y");
    assert_int_equal(wv->kind, WEFT_VALUE_CONSTANT);
    assert_int_equal(bv->kind, WEFT_VALUE_CONSTANT);
    assert_true(weft_shape_equal(&wv->shape, &(weft_shape){.rank = 4, .dims = {m, c_in / group,
                                                                               kh, kw}}));
    const float *fw = wv->data, *fb = bv->data;
    size_t i = 0;
    for (int64_t o = 0; o < m; o++)
        for (int64_t r = 0; r < (c_in / group) * kh * kw; r++, i++)
            expect_close("Conv W'", i, fw[i], w[i] * bn_a(&p, o));
    for (int64_t o = 0; o < m; o++)
        expect_close("Conv B'", (size_t)o, fb[o], (with_bias ? b[o] : 0.0) * bn_a(&p, o) +
                                                      bn_b(&p, o));
    compare_graphs(before, g, "Conv", label);
    weft_graph_release(before);
    weft_graph_release(g);
}

/* ConvTranspose, group 2: W [C, M/group, k...], output channel
 * g * (M/group) + j for W[c, j] with g = c / (C/group). */
static void fold_conv_transpose(void)
{
    const int64_t c_in = 4, group = 2, mg = 3, m = 6;
    const int64_t xd[] = {1, c_in, 3, 4}, wd[] = {c_in, mg, 2, 3};
    float w[4 * 3 * 2 * 3], b[6];
    uint64_t seed = 21;
    weft_random_fill(&seed, w, COUNT(w), -1, 1);
    weft_random_fill(&seed, b, 6, -1, 1);
    bn_params p;
    make_bn_params(&p, 6, 1e-5f);
    weft_graph *g;
    assert_weft_ok(weft_graph_create(&g));
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 4, xd));
    assert_weft_ok(weft_graph_add_constant(g, "W", WEFT_FLOAT32, 4, wd, w));
    assert_weft_ok(weft_graph_add_constant(g, "B", WEFT_FLOAT32, 1, &m, b));
    weft_attrs *attrs;
    assert_weft_ok(weft_attrs_create(&attrs));
    assert_weft_ok(weft_attrs_set_int(attrs, "group", group));
    assert_weft_ok(weft_attrs_set_ints(attrs, "strides", (const int64_t[]){2, 1}, 2));
    const char *in[] = {"x", "W", "B"}, *out[] = {"t"};
    assert_weft_ok(weft_graph_add_node(g, "ConvTranspose", "convt", in, 3, attrs, out, 1));
    weft_attrs_release(attrs);
    add_bn(g, "t", "y", &p, m, 1);
    assert_weft_ok(weft_graph_add_output(g, "y"));
    weft_graph *before = fold(g, 1);

    const weft_node *n = only_live_node(g);
    assert_string_equal(n->op, "ConvTranspose");
    const float *fw = weft_node_input(g, n, 1)->data, *fb = weft_node_input(g, n, 2)->data;
    size_t i = 0;
    for (int64_t c = 0; c < c_in; c++)
        for (int64_t j = 0; j < mg; j++)
            for (int64_t k = 0; k < 6; k++, i++) {
                int64_t o = (c / (c_in / group)) * mg + j;
                expect_close("ConvTranspose W'", i, fw[i], w[i] * bn_a(&p, o));
            }
    for (int64_t o = 0; o < m; o++)
        expect_close("ConvTranspose B'", (size_t)o, fb[o], b[o] * bn_a(&p, o) + bn_b(&p, o));
    compare_graphs(before, g, "ConvTranspose", "ConvTranspose group 2");
    weft_graph_release(before);
    weft_graph_release(g);
}

/* Gemm [rows, K] x B -> [rows, N], with transB, and C absent, [N], [1, N],
 * [rows, N], [rows, 1] or a scalar; beta becomes 1. */
static void fold_gemm(int transb, int c_rank, const int64_t *c_dims, float beta, const char *label)
{
    const int64_t rows = 3, kk = 5, nn = 4;
    const int64_t ad[] = {rows, kk}, bd[2] = {transb ? nn : kk, transb ? kk : nn};
    float w[20], cdata[12];
    uint64_t seed = 31 + (uint64_t)transb;
    weft_random_fill(&seed, w, 20, -1, 1);
    weft_random_fill(&seed, cdata, 12, -1, 1);
    bn_params p;
    make_bn_params(&p, 7, 1e-5f);
    weft_graph *g;
    assert_weft_ok(weft_graph_create(&g));
    assert_weft_ok(weft_graph_add_input(g, "a", WEFT_FLOAT32, 2, ad));
    assert_weft_ok(weft_graph_add_constant(g, "B", WEFT_FLOAT32, 2, bd, w));
    if (c_rank >= 0)
        assert_weft_ok(weft_graph_add_constant(g, "C", WEFT_FLOAT32, c_rank, c_dims, cdata));
    weft_attrs *attrs;
    assert_weft_ok(weft_attrs_create(&attrs));
    assert_weft_ok(weft_attrs_set_int(attrs, "transB", transb));
    assert_weft_ok(weft_attrs_set_float(attrs, "beta", beta));
    assert_weft_ok(weft_attrs_set_float(attrs, "alpha", 0.75f));
    const char *in[] = {"a", "B", "C"}, *out[] = {"t"};
    assert_weft_ok(weft_graph_add_node(g, "Gemm", "gemm", in, c_rank >= 0 ? 3 : 2, attrs, out, 1));
    weft_attrs_release(attrs);
    add_bn(g, "t", "y", &p, nn, 1);
    assert_weft_ok(weft_graph_add_output(g, "y"));
    weft_graph *before = fold(g, 1);

    const weft_node *n = only_live_node(g);
    assert_string_equal(n->op, "Gemm");
    float fbeta, falpha;
    assert_weft_ok(weft_node_attr_float(n, "beta", 1.0f, &fbeta));
    assert_weft_ok(weft_node_attr_float(n, "alpha", 1.0f, &falpha));
    assert_true(fbeta == 1.0f);
    assert_true(falpha == 0.75f);
    const weft_value *wv = weft_node_input(g, n, 1), *cv = weft_node_input(g, n, 2);
    const float *fw = wv->data, *fc = cv->data;
    for (int64_t r = 0; r < bd[0]; r++)
        for (int64_t q = 0; q < bd[1]; q++) {
            int64_t o = transb ? r : q; /* the output column */
            size_t i = (size_t)(r * bd[1] + q);
            expect_close("Gemm B'", i, fw[i], w[i] * bn_a(&p, o));
        }
    int by_row = c_rank == 2 && c_dims[0] == rows;
    assert_int_equal(cv->shape.rank, by_row ? 2 : 1);
    assert_int_equal(weft_shape_numel(&cv->shape), by_row ? rows * nn : nn);
    for (int64_t r = 0; r < (by_row ? rows : 1); r++)
        for (int64_t o = 0; o < nn; o++) {
            double c = 0;
            if (c_rank == 0 || (c_rank >= 1 && c_dims[c_rank - 1] == 1 && !(c_rank == 2 &&
                                                                             c_dims[0] == rows)))
                c = cdata[0];
            else if (c_rank == 1 || (c_rank == 2 && c_dims[0] == 1))
                c = cdata[o];
            else if (c_rank == 2 && c_dims[1] == 1)
                c = cdata[r];
            else if (c_rank == 2)
                c = cdata[r * nn + o];
            size_t i = (size_t)(r * nn + o);
            expect_close("Gemm C'", i, fc[i], (double)beta * c * bn_a(&p, o) + bn_b(&p, o));
        }
    compare_graphs(before, g, "Gemm", label);
    weft_graph_release(before);
    weft_graph_release(g);
}

static void test_fold_batch_norm(void **state)
{
    (void)state;
    fold_conv(1, 1, "Conv group 1 with bias");
    fold_conv(2, 0, "Conv group 2 without bias");
    fold_conv_transpose();
    static const int64_t n1[] = {4}, row[] = {1, 4}, full[] = {3, 4}, col[] = {3, 1}, one[] = {1};
    fold_gemm(0, -1, NULL, 1.0f, "Gemm no C");
    fold_gemm(0, 1, n1, 1.0f, "Gemm C [N]");
    fold_gemm(1, 1, n1, 0.5f, "Gemm transB C [N] beta 0.5");
    fold_gemm(1, 2, row, 2.0f, "Gemm transB C [1,N] beta 2");
    fold_gemm(0, 2, full, 0.5f, "Gemm C [rows,N] beta 0.5");
    fold_gemm(1, 2, col, 1.0f, "Gemm transB C [rows,1]");
    fold_gemm(0, 1, one, 1.0f, "Gemm C [1]");
    fold_gemm(0, 0, NULL, 3.0f, "Gemm C scalar beta 3");
}

/* Graphs the fold must leave alone. */
typedef enum keep_reason {
    KEEP_SECOND_READER,   /* the conv's output also feeds a Relu */
    KEEP_GRAPH_OUTPUT,    /* the conv's output is a graph output too */
    KEEP_W_INPUT,         /* W is a graph input */
    KEEP_BIAS_INPUT,      /* the conv's bias is a graph input */
    KEEP_PARAM_INPUT,     /* input_mean is a graph input */
    KEEP_NOT_CONV,        /* the BN follows a Relu */
} keep_reason;

static void fold_kept(keep_reason why)
{
    const int64_t xd[] = {1, 2, 4, 4}, wd[] = {3, 2, 1, 1}, m = 3;
    float w[6] = {1, -2, 3, 0.5f, -1, 2}, b[3] = {0.1f, 0.2f, 0.3f};
    bn_params p;
    make_bn_params(&p, 8, 1e-5f);
    weft_graph *g;
    assert_weft_ok(weft_graph_create(&g));
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 4, xd));
    if (why == KEEP_W_INPUT)
        assert_weft_ok(weft_graph_add_input(g, "W", WEFT_FLOAT32, 4, wd));
    else
        assert_weft_ok(weft_graph_add_constant(g, "W", WEFT_FLOAT32, 4, wd, w));
    if (why == KEEP_BIAS_INPUT)
        assert_weft_ok(weft_graph_add_input(g, "B", WEFT_FLOAT32, 1, &m));
    else
        assert_weft_ok(weft_graph_add_constant(g, "B", WEFT_FLOAT32, 1, &m, b));
    const char *in[] = {"x", "W", "B"}, *t[] = {"t"}, *r[] = {"r"}, *xs[] = {"x"};
    if (why == KEEP_NOT_CONV) {
        static const int64_t xd3[] = {1, 3, 4, 4};
        weft_graph_release(g);
        assert_weft_ok(weft_graph_create(&g));
        assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 4, xd3));
        assert_weft_ok(weft_graph_add_node(g, "Relu", "relu", xs, 1, NULL, t, 1));
    } else {
        assert_weft_ok(weft_graph_add_node(g, "Conv", "conv", in, 3, NULL, t, 1));
    }
    add_bn(g, "t", "y", &p, m, why != KEEP_PARAM_INPUT);
    assert_weft_ok(weft_graph_add_output(g, "y"));
    if (why == KEEP_SECOND_READER) {
        assert_weft_ok(weft_graph_add_node(g, "Relu", "relu", t, 1, NULL, r, 1));
        assert_weft_ok(weft_graph_add_output(g, "r"));
    }
    if (why == KEEP_GRAPH_OUTPUT)
        assert_weft_ok(weft_graph_add_output(g, "t"));
    assert_weft_ok(weft_graph_validate(g));
    size_t nodes = g->node_count, changed = 99;
    assert_weft_ok(weft_pass_fold_batch_norm(g, &changed));
    assert_int_equal(changed, 0);
    assert_weft_ok(weft_graph_compact(g));
    assert_int_equal(g->node_count, nodes);
    assert_weft_ok(weft_graph_validate(g));
    weft_graph_release(g);
}

/* Two Convs share W; one is followed by a BN. The fold gives that one new
 * weights and leaves the other on the original W. */
static void fold_shared_weights(void)
{
    const int64_t xd[] = {1, 2, 3, 3}, wd[] = {3, 2, 1, 1}, m = 3;
    float w[6] = {1, -2, 3, 0.5f, -1, 2};
    bn_params p;
    make_bn_params(&p, 9, 1e-5f);
    weft_graph *g;
    assert_weft_ok(weft_graph_create(&g));
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 4, xd));
    assert_weft_ok(weft_graph_add_constant(g, "W", WEFT_FLOAT32, 4, wd, w));
    const char *in[] = {"x", "W"}, *t[] = {"t"}, *u[] = {"u"};
    assert_weft_ok(weft_graph_add_node(g, "Conv", "conv1", in, 2, NULL, t, 1));
    assert_weft_ok(weft_graph_add_node(g, "Conv", "conv2", in, 2, NULL, u, 1));
    add_bn(g, "t", "y", &p, m, 1);
    assert_weft_ok(weft_graph_add_output(g, "y"));
    assert_weft_ok(weft_graph_add_output(g, "u"));
    weft_graph *before = fold(g, 1);
    weft_graph_release(before);
    assert_int_equal(g->node_count, 2);
    int w_index = weft_graph_find_value(g, "W");
    assert_true(w_index >= 0);
    const float *orig = g->values[w_index].data;
    for (size_t i = 0; i < 6; i++)
        assert_true(orig[i] == w[i]);
    for (size_t k = 0; k < g->node_count; k++) {
        const weft_node *n = &g->nodes[k];
        if (strcmp(n->name, "conv2") == 0)
            assert_int_equal(n->inputs[1], w_index);
        else
            assert_true(n->inputs[1] != w_index);
    }
    weft_graph_release(g);
}

static void test_fold_batch_norm_kept(void **state)
{
    (void)state;
    for (int why = KEEP_SECOND_READER; why <= KEEP_NOT_CONV; why++)
        fold_kept((keep_reason)why);
    fold_shared_weights();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_norm),
        cmocka_unit_test(test_lrn),
        cmocka_unit_test(test_instance_norm),
        cmocka_unit_test(test_group_norm),
        cmocka_unit_test(test_layer_norm),
        cmocka_unit_test(test_layer_norm_unsupported),
        cmocka_unit_test_teardown(test_forced_local, op_test_unforce),
        cmocka_unit_test_teardown(test_in_place, op_test_unforce),
        cmocka_unit_test(test_reference_errors),
        cmocka_unit_test(test_fold_batch_norm),
        cmocka_unit_test(test_fold_batch_norm_kept),
        cmocka_unit_test(test_batch_norm_big),
        cmocka_unit_test(test_lrn_big),
        cmocka_unit_test(test_instance_norm_big),
        cmocka_unit_test(test_group_norm_big),
        cmocka_unit_test(test_layer_norm_big),
    };
    return cmocka_run_group_tests(tests, op_test_setup, op_test_teardown);
}
