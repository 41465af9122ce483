/*
 * Pools and MaxUnpool (src/ops/pool.c, cl/pool.cl) against src/ref
 * (src/ref/ref_pool.c). The ONNX node tests run on the device and on the
 * reference in tests/test_conformance.c.
 *
 * Windowed pools: a grid of 1-D, 2-D and 3-D geometries — odd sizes,
 * planes from 1x1 to 127x129 (the large ones outside oclgrind only),
 * channels 1, 3 and 33, batches of 2, asymmetric pads up to kernel - 1,
 * ceil_mode with partial last windows (overhanging the end padding too)
 * and with a dropped last window, strides above the kernel, dilations,
 * SAME_UPPER, SAME_LOWER and VALID — each run as MaxPool (alone, and with
 * Indices in both storage orders), AveragePool with count_include_pad 0
 * and 1, and LpPool with p = 1, 2 or 3 (each p on every third geometry,
 * all three on a few). MaxPool inputs are distinct values (a shuffled
 * ramp), so each window's maximum and its index are unique; a separate
 * case with many ties checks that the kernel and the reference break them
 * the same way (first tap in scan order). Windows with no tap inside the
 * input (dilations with pads), and NaN and -inf inputs to MaxPool, are
 * checked against their exact values; NaN and infinities also in rows
 * wide enough for pool_rows' vector interior (separable without Indices,
 * per tap with them), against the reference. Wide rows of every interior
 * kind: strides 1, 2, 3 and 5, 1 to 9 taps along W, dilated, interiors of
 * exactly 8 and of 7 outputs, and ending at the last column of the buffer.
 * Global pools: planes of 1, 35, 16383 elements, 1-D to 4-D, channels 1,
 * 3, 33, both kernels (one work-item or one work-group per plane). The
 * windowed, global and unpool kernels also run with work-groups capped at
 * 1, 3 and 64 (WEFT_TEST_MAX_LOCAL, WEFT_TEST_REDUCE_PATH).
 * MaxUnpool: with and without output_shape, with pads, 1-D and 3-D, with
 * repeated indices (the last wins on both sides), indices outside the
 * output (dropped by the kernel, refused by the reference), and a MaxPool
 * -> MaxUnpool round trip that checks, with the indices the device
 * computed, that every maximum is back at its place and zeros elsewhere;
 * each case by each implementation that takes it (max_unpool, and
 * max_unpool_rows where the windows tile the output: with repeated or
 * outside indices it falls back to the three passes).
 *
 * Tolerances, |got - want| <= atol + rtol * |want|; the reference sums in
 * double and rounds once, so the bounds are the kernels' own float error
 * (u = 2^-24, FLT_EPSILON = 2u; |x| < 2 for random data):
 *  - MaxPool, GlobalMaxPool, Indices, MaxUnpool: exact (a selection or a
 *    copy; rtol 1e-30 only because both 0 select run_op_case's default).
 *  - AveragePool: atol 2 * taps * FLT_EPSILON, rtol 1e-6. A serial float
 *    sum of n terms errs by at most (n - 1) u sum|x| < n u * 2n, i.e.
 *    n * FLT_EPSILON after dividing by up to n; doubled for slack. The
 *    division adds at most 2.5 ulp (OpenCL 1.2, section 7.4): rtol.
 *  - LpPool: rtol (taps + 40) * FLT_EPSILON. Terms are positive, so the
 *    sum errs by at most (n - 1) u relative; |x|^p by repeated products
 *    by (p - 1) u, rootn by 16 ulp and sqrt by 3; 1/p of the sum's error
 *    passes the root.
 *  - GlobalAveragePool: atol 5e-6, rtol 1e-6. Pairwise sums: at most
 *    (8 + log2(n) + log2(local) + 1) u sum|x| ~ 31 u sum|x| for n = 16383
 *    and 256 work-items, so 31 u * 2 = 3.7e-6 on the mean.
 *  - GlobalLpPool: rtol 1e-5: the same pairwise bound on positive terms,
 *    ~31 u, plus 32 ulp for pown and rootn, under 8e-6.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/random.h"
#include "graph/graph.h"
#include "op_test.h"
#include "ref/ref.h"
#include "runtime/session.h"
#include "test_common.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define EXACT 1e-30f

/* ---- Forcing the work-group size and the global pools' kernel ----------------- */

static const char *const forced_locals[] = {"1", "3", "64"};

static uint64_t seed_of(const char *label)
{
    uint64_t seed = 0x5eed9001u;
    for (const char *p = label; *p; p++)
        seed = seed * 131 + (unsigned char)*p;
    return seed;
}

/* n distinct values: a shuffled ramp k / 16384 around 0 (exact floats). */
static float *distinct_values(size_t n, const char *label)
{
    float *v = malloc((n ? n : 1) * sizeof *v);
    assert_non_null(v);
    uint64_t seed = seed_of(label);
    for (size_t i = 0; i < n; i++)
        v[i] = ((float)i - (float)(n / 2)) / 16384.0f;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(weft_random_next(&seed) % i);
        float t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
    return v;
}

/* ---- Windowed pools ------------------------------------------------------------- */

typedef struct geom {
    const char *label;
    int sp;                 /* spatial axes */
    int64_t n, c;
    int64_t in[3], k[3];
    int64_t s[3];           /* s[0] == 0: no 'strides' attribute */
    int64_t d[3];           /* d[0] == 0: no 'dilations' attribute */
    int pads_given;
    int64_t pads[6];        /* begins, then ends */
    const char *auto_pad;   /* NULL: absent */
    int ceil;
    int lp_all;             /* LpPool with p = 1, 2 and 3 */
} geom;

#define G2(...) .sp = 2, __VA_ARGS__

static const geom geoms[] = {
    {"2x2 default", G2(.n = 1, .c = 3, .in = {8, 8}, .k = {2, 2}), .lp_all = 1},
    {"3x3 s2 odd", G2(.n = 1, .c = 1, .in = {7, 9}, .k = {3, 3}, .s = {2, 2})},
    {"3x3 s2 pads 1", G2(.n = 2, .c = 3, .in = {7, 9}, .k = {3, 3}, .s = {2, 2}), .pads_given = 1,
     .pads = {1, 1, 1, 1}},
    {"3x2 asymmetric pads", G2(.n = 1, .c = 3, .in = {6, 7}, .k = {3, 2}, .s = {2, 1}),
     .pads_given = 1, .pads = {0, 1, 2, 1}},
    {"5x5 pads 4,0,3,4", G2(.n = 1, .c = 1, .in = {9, 6}, .k = {5, 5}, .s = {1, 2}), .pads_given = 1,
     .pads = {4, 0, 3, 4}, .lp_all = 1},
    {"ceil partial", G2(.n = 1, .c = 3, .in = {8, 8}, .k = {3, 3}, .s = {2, 2}), .ceil = 1},
    {"ceil last window starts on pad", G2(.n = 1, .c = 3, .in = {2, 2}, .k = {3, 3}, .s = {3, 3}),
     .pads_given = 1, .pads = {1, 1, 1, 1}, .ceil = 1},
    {"ceil overhangs the end pad", G2(.n = 1, .c = 3, .in = {8, 9}, .k = {3, 3}, .s = {2, 2}),
     .pads_given = 1, .pads = {1, 1, 1, 1}, .ceil = 1, .lp_all = 1},
    {"ceil overhang stride 3", G2(.n = 2, .c = 1, .in = {10, 11}, .k = {4, 2}, .s = {3, 3}),
     .pads_given = 1, .pads = {2, 0, 1, 1}, .ceil = 1},
    {"stride > kernel", G2(.n = 1, .c = 33, .in = {11, 13}, .k = {2, 2}, .s = {3, 3})},
    {"dilations 2", G2(.n = 1, .c = 3, .in = {9, 10}, .k = {3, 3}, .d = {2, 2}), .pads_given = 1,
     .pads = {2, 2, 2, 2}},
    {"dilations 2x3 s2 ceil", G2(.n = 1, .c = 3, .in = {10, 11}, .k = {2, 3}, .s = {2, 2},
                                 .d = {2, 3}),
     .pads_given = 1, .pads = {1, 0, 0, 2}, .ceil = 1},
    {"SAME_UPPER", G2(.n = 1, .c = 3, .in = {7, 8}, .k = {3, 3}, .s = {2, 2}),
     .auto_pad = "SAME_UPPER", .lp_all = 1},
    {"SAME_LOWER", G2(.n = 2, .c = 3, .in = {7, 8}, .k = {2, 4}, .s = {2, 3}),
     .auto_pad = "SAME_LOWER"},
    {"SAME_UPPER dilated", G2(.n = 1, .c = 1, .in = {6, 9}, .k = {3, 3}, .d = {2, 2}),
     .auto_pad = "SAME_UPPER"},
    {"SAME_LOWER ceil", G2(.n = 1, .c = 3, .in = {5, 5}, .k = {3, 3}, .s = {2, 2}),
     .auto_pad = "SAME_LOWER", .ceil = 1},
    {"VALID ceil", G2(.n = 1, .c = 3, .in = {9, 7}, .k = {3, 2}, .s = {2, 2}), .auto_pad = "VALID",
     .ceil = 1},
    {"1x1 plane", G2(.n = 2, .c = 3, .in = {1, 1}, .k = {1, 1})},
    {"1x1 kernel s2 ceil", G2(.n = 1, .c = 1, .in = {5, 6}, .k = {1, 1}, .s = {2, 2}), .ceil = 1},
    {"kernel = input", G2(.n = 1, .c = 3, .in = {5, 4}, .k = {5, 4})},
    /* Rows wide enough for pool_rows' eight-at-a-time interior, its
     * overlapping last eight, and borders on both sides. */
    {"wide 3x3 s2 pads 1", G2(.n = 1, .c = 2, .in = {5, 41}, .k = {3, 3}, .s = {2, 2}),
     .pads_given = 1, .pads = {1, 1, 1, 1}, .lp_all = 1},
    {"wide 2x3 s1,3 dilated", G2(.n = 1, .c = 3, .in = {4, 60}, .k = {2, 3}, .s = {1, 3},
                                 .d = {1, 2}),
     .pads_given = 1, .pads = {0, 2, 1, 3}},
    {"1-D", .sp = 1, .n = 1, .c = 3, .in = {32}, .k = {2}},
    {"1-D pads ceil", .sp = 1, .n = 2, .c = 3, .in = {17}, .k = {3}, .s = {2}, .pads_given = 1,
     .pads = {1, 2}, .ceil = 1, .lp_all = 1},
    {"1-D dilated SAME_LOWER", .sp = 1, .n = 1, .c = 33, .in = {13}, .k = {3}, .s = {2},
     .d = {3}, .auto_pad = "SAME_LOWER"},
    {"3-D", .sp = 3, .n = 1, .c = 3, .in = {5, 6, 7}, .k = {2, 3, 2}, .s = {2, 1, 2},
     .pads_given = 1, .pads = {1, 0, 1, 0, 2, 1}, .ceil = 1, .lp_all = 1},
    {"3-D dilated", .sp = 3, .n = 1, .c = 1, .in = {7, 7, 7}, .k = {3, 3, 3}, .s = {2, 2, 2},
     .d = {2, 2, 2}, .ceil = 1},
    {"3-D SAME_UPPER", .sp = 3, .n = 2, .c = 3, .in = {4, 5, 6}, .k = {3, 3, 3}, .s = {2, 2, 2},
     .auto_pad = "SAME_UPPER"},
    /* pool_rows' vector interior: separable (eight outputs spanning at
     * most 32 columns: strides 1 and 2, 1 to 9 taps along W, dilated) and
     * not (stride 5; and every case with Indices); interiors of exactly 8
     * and of 7 (no vectors); rows whose interior starts at 0 or ends at
     * the last column of the last plane (a load past it would leave the
     * buffer: oclgrind). */
    {"wide 3x3 s2 no pads to the end", G2(.n = 1, .c = 2, .in = {3, 23}, .k = {3, 3},
                                          .s = {2, 2})},
    {"wide 2x2 s2 odd width", G2(.n = 1, .c = 3, .in = {4, 37}, .k = {2, 2}, .s = {2, 2})},
    {"wide 1x5 s1,2 pads", G2(.n = 2, .c = 1, .in = {3, 40}, .k = {1, 5}, .s = {1, 2}),
     .pads_given = 1, .pads = {0, 2, 0, 1}},
    {"wide 2x8 s2", G2(.n = 1, .c = 1, .in = {3, 33}, .k = {2, 8}, .s = {2, 2})},
    {"wide 1x9 s1,2", G2(.n = 1, .c = 1, .in = {3, 35}, .k = {1, 9}, .s = {1, 2})},
    {"wide 3x3 s1 pads 1", G2(.n = 1, .c = 3, .in = {3, 21}, .k = {3, 3}), .pads_given = 1,
     .pads = {1, 1, 1, 1}},
    {"wide 1x2 s1,2 dilated", G2(.n = 1, .c = 1, .in = {3, 30}, .k = {1, 2}, .s = {1, 2},
                                 .d = {1, 2})},
    {"wide 1x1 s1,2 ceil", G2(.n = 1, .c = 2, .in = {2, 19}, .k = {1, 1}, .s = {1, 2}),
     .ceil = 1},
    {"interior of 8", G2(.n = 1, .c = 2, .in = {3, 17}, .k = {3, 3}, .s = {2, 2})},
    {"interior of 7", G2(.n = 1, .c = 2, .in = {3, 15}, .k = {3, 3}, .s = {2, 2})},
    {"wide 3x3 s2 ceil pads", G2(.n = 1, .c = 2, .in = {4, 44}, .k = {3, 3}, .s = {2, 2}),
     .pads_given = 1, .pads = {1, 1, 1, 1}, .ceil = 1},
    {"wide 1x3 s1,5 (not separable)", G2(.n = 1, .c = 1, .in = {2, 48}, .k = {1, 3},
                                         .s = {1, 5})},
};

/* Larger planes: outside oclgrind only. */
static const geom big_geoms[] = {
    {"127x129 3x3 s2 pads 1 ceil", G2(.n = 1, .c = 3, .in = {127, 129}, .k = {3, 3},
                                      .s = {2, 2}),
     .pads_given = 1, .pads = {1, 1, 1, 1}, .ceil = 1, .lp_all = 1},
    {"127x129 2x2 s2", G2(.n = 2, .c = 33, .in = {127, 129}, .k = {2, 2}, .s = {2, 2})},
    {"56x56 7x7 SAME_UPPER", G2(.n = 1, .c = 33, .in = {56, 56}, .k = {7, 7}),
     .auto_pad = "SAME_UPPER"},
    {"3-D 16x17x18", .sp = 3, .n = 1, .c = 3, .in = {16, 17, 18}, .k = {3, 3, 3},
     .s = {2, 2, 2}, .pads_given = 1, .pads = {1, 1, 1, 1, 1, 1}},
    {"1-D 1000", .sp = 1, .n = 2, .c = 33, .in = {1000}, .k = {5}, .s = {3}, .ceil = 1},
};

typedef enum variant {
    V_MAX,          /* MaxPool, Y only */
    V_MAX_ROWS,     /* MaxPool with Indices, storage_order 0 */
    V_MAX_COLS,     /* MaxPool with Indices, storage_order 1 */
    V_AVG,          /* AveragePool, count_include_pad 0 */
    V_AVG_PAD,      /* AveragePool, count_include_pad 1 */
    V_LP            /* LpPool with the given p */
} variant;

static int64_t taps_of(const geom *g)
{
    int64_t t = 1;
    for (int i = 0; i < g->sp; i++)
        t *= g->k[i];
    return t;
}

static op_attr ints_attr(const char *name, const int64_t *v, int count)
{
    op_attr a = {.name = name, .type = 'I', .count = count};
    memcpy(a.ints, v, (size_t)count * sizeof *v);
    return a;
}

/* Fills c with the pool case; returns the data it allocated (or NULL). */
static float *pool_case(op_case *c, const geom *g, variant v, int64_t p, const char *label)
{
    static const char *const ops[] = {"MaxPool", "MaxPool", "MaxPool", "AveragePool",
                                      "AveragePool", "LpPool"};
    memset(c, 0, sizeof *c);
    c->op = ops[v];
    c->inputs = 1;
    c->in[0].rank = 2 + g->sp;
    c->in[0].dims[0] = g->n;
    c->in[0].dims[1] = g->c;
    for (int i = 0; i < g->sp; i++)
        c->in[0].dims[2 + i] = g->in[i];
    int a = 0;
    c->attrs[a++] = ints_attr("kernel_shape", g->k, g->sp);
    if (g->s[0])
        c->attrs[a++] = ints_attr("strides", g->s, g->sp);
    if (g->d[0])
        c->attrs[a++] = ints_attr("dilations", g->d, g->sp);
    if (g->pads_given)
        c->attrs[a++] = ints_attr("pads", g->pads, 2 * g->sp);
    if (g->auto_pad)
        c->attrs[a++] = (op_attr){.name = "auto_pad", .type = 's', .s = g->auto_pad};
    if (g->ceil)
        c->attrs[a++] = (op_attr){.name = "ceil_mode", .type = 'i', .i = 1};
    int64_t taps = taps_of(g);
    float *data = NULL;
    switch (v) {
    case V_MAX_ROWS:
    case V_MAX_COLS:
        c->attrs[a++] = (op_attr){.name = "storage_order", .type = 'i', .i = v == V_MAX_COLS};
        c->outputs = 2;
        /* fall through */
    case V_MAX: {
        size_t n = 1;
        for (int d = 0; d < c->in[0].rank; d++)
            n *= (size_t)c->in[0].dims[d];
        data = distinct_values(n, label);
        c->in[0].f32 = data;
        c->rtol = EXACT;
        break;
    }
    case V_AVG:
    case V_AVG_PAD:
        c->attrs[a++] = (op_attr){.name = "count_include_pad", .type = 'i', .i = v == V_AVG_PAD};
        c->atol = 2.0f * (float)taps * FLT_EPSILON;
        c->rtol = 1e-6f;
        break;
    case V_LP:
        c->attrs[a++] = (op_attr){.name = "p", .type = 'i', .i = p};
        c->rtol = (float)(taps + 40) * FLT_EPSILON;
        break;
    }
    return data;
}

/* A windowed pool case run with each implementation: pool_rows (CPU-class
 * devices' choice) and pool (the others'). */
static void run_pool_impls(void **state, op_case *c, const char *label)
{
    static const char *const impls[] = {"pool", "pool_rows"};
    for (size_t i = 0; i < COUNT(impls); i++) {
        char force[64], named[240];
        snprintf(force, sizeof force, "%s:%s", c->op, impls[i]);
        snprintf(named, sizeof named, "%s [%s]", label, impls[i]);
        c->impl = force;
        run_op_case(*state, c, named);
    }
    c->impl = NULL;
}

static void run_pool(void **state, const geom *g, variant v, int64_t p, const char *what)
{
    static const char *const names[] = {"MaxPool",          "MaxPool+Indices rows",
                                        "MaxPool+Indices cols", "AveragePool",
                                        "AveragePool count_include_pad", "LpPool"};
    char label[200];
    if (v == V_LP)
        snprintf(label, sizeof label, "%s p=%lld %s %s", names[v], (long long)p, g->label, what);
    else
        snprintf(label, sizeof label, "%s %s %s", names[v], g->label, what);
    op_case c;
    float *data = pool_case(&c, g, v, p, label);
    run_pool_impls(state, &c, label);
    free(data);
}

static void run_geoms(void **state, const geom *list, size_t count, const char *what)
{
    for (size_t i = 0; i < count; i++) {
        for (variant v = V_MAX; v < V_LP; v++)
            run_pool(state, &list[i], v, 0, what);
        if (list[i].lp_all)
            for (int64_t p = 1; p <= 3; p++)
                run_pool(state, &list[i], V_LP, p, what);
        else
            run_pool(state, &list[i], V_LP, 1 + (int64_t)(i % 3), what);
    }
}

static void test_pool_grid(void **state)
{
    run_geoms(state, geoms, COUNT(geoms), "");
}

static void test_pool_big(void **state)
{
    if (test_under_oclgrind()) {
        printf("test_pool_big: skipped under oclgrind (planes up to 127x129 take too long)\n");
        skip();
    }
    run_geoms(state, big_geoms, COUNT(big_geoms), "big");
}

static void test_pool_forced_local(void **state)
{
    static const size_t picks[] = {2, 7, 11, 23, 25};
    for (size_t l = 0; l < COUNT(forced_locals); l++) {
        op_test_force(forced_locals[l], NULL);
        char what[32];
        snprintf(what, sizeof what, "local<=%s", forced_locals[l]);
        for (size_t i = 0; i < COUNT(picks); i++) {
            const geom *g = &geoms[picks[i]];
            run_pool(state, g, V_MAX_ROWS, 0, what);
            run_pool(state, g, V_AVG_PAD, 0, what);
            run_pool(state, g, V_LP, 3, what);
        }
    }
    op_test_force(NULL, NULL);
}

/* Values from {0, 1, 2}: many ties, which the kernel must break like the
 * reference (the first tap in scan order). */
static void test_pool_ties(void **state)
{
    static const size_t picks[] = {2, 10, 20, 23, 25};
    for (size_t i = 0; i < COUNT(picks); i++)
        for (variant v = V_MAX_ROWS; v <= V_MAX_COLS; v++) {
            op_case c;
            char label[160];
            snprintf(label, sizeof label, "MaxPool ties storage_order %d %s", v == V_MAX_COLS,
                     geoms[picks[i]].label);
            float *distinct = pool_case(&c, &geoms[picks[i]], v, 0, label);
            size_t n = 1;
            for (int d = 0; d < c.in[0].rank; d++)
                n *= (size_t)c.in[0].dims[d];
            float *ties = malloc(n * sizeof *ties);
            assert_non_null(ties);
            uint64_t seed = seed_of(label);
            for (size_t k = 0; k < n; k++)
                ties[k] = (float)(weft_random_next(&seed) % 3);
            c.in[0].f32 = ties;
            run_pool_impls(state, &c, label);
            free(ties);
            free(distinct);
        }
}

/* ---- Graphs run on both sides ------------------------------------------------ */

/* Runs g on the device (buffers poisoned first) and on the reference;
 * want[k] and got[k] are malloc'd, in the order of out_names. */
static void run_both(weft_context *ctx, weft_graph *g, const weft_tensor *feeds, size_t nfeeds,
                     const char *const *out_names, size_t nouts, float poison,
                     weft_host_tensor *want, void **got, const char *label)
{
    weft_graph *rg;
    assert_weft_ok(weft_graph_clone(g, &rg));
    if (weft_graph_validate(rg) != WEFT_OK)
        fail_msg("%s: validate: %s", label, weft_last_error());
    if (weft_ref_run_graph(rg, feeds, nfeeds, want, nouts) != WEFT_OK)
        fail_msg("%s: reference: %s", label, weft_last_error());
    weft_graph_release(rg);
    weft_session *s;
    if (weft_session_create(ctx, g, NULL, &s) != WEFT_OK)
        fail_msg("%s: session: %s", label, weft_last_error());
    assert_weft_ok(weft_session_poison(s, poison));
    weft_tensor outs[4];
    for (size_t k = 0; k < nouts; k++) {
        size_t bytes = (size_t)weft_shape_numel(&want[k].shape) * weft_dtype_size(want[k].dtype);
        got[k] = malloc(bytes ? bytes : 1);
        assert_non_null(got[k]);
        memset(got[k], 0xff, bytes);
        outs[k] = (weft_tensor){.name = out_names[k], .data = got[k], .size_bytes = bytes};
    }
    if (weft_session_run(s, feeds, nfeeds, outs, nouts) != WEFT_OK)
        fail_msg("%s: run: %s", label, weft_last_error());
    weft_session_release(s);
}

static void free_both(weft_host_tensor *want, void **got, size_t nouts)
{
    for (size_t k = 0; k < nouts; k++) {
        free(want[k].data);
        free(got[k]);
    }
}

static weft_attrs *window_attrs(int sp, const int64_t *k, const int64_t *s, const int64_t *pads)
{
    weft_attrs *a;
    assert_weft_ok(weft_attrs_create(&a));
    assert_weft_ok(weft_attrs_set_ints(a, "kernel_shape", k, (size_t)sp));
    if (s)
        assert_weft_ok(weft_attrs_set_ints(a, "strides", s, (size_t)sp));
    if (pads)
        assert_weft_ok(weft_attrs_set_ints(a, "pads", pads, 2 * (size_t)sp));
    return a;
}

static const char *const max_outs[] = {"y", "i"};

/* x -> MaxPool (attributes a, released) -> y, and i when nout is 2. */
static weft_graph *maxpool_graph(int rank, const int64_t *dims, weft_attrs *a, size_t nout)
{
    weft_graph *g;
    assert_weft_ok(weft_graph_create(&g));
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, rank, dims));
    const char *in[] = {"x"};
    assert_weft_ok(weft_graph_add_node(g, "MaxPool", "pool", in, 1, a, max_outs, nout));
    weft_attrs_release(a);
    for (size_t j = 0; j < nout; j++)
        assert_weft_ok(weft_graph_add_output(g, max_outs[j]));
    return g;
}

/* MaxPool's m values exactly, NaN matching NaN only, and its indices when
 * idx is given. */
static void expect_max_exact(const float *y, const float *want_y, const int64_t *idx,
                             const int64_t *want_i, size_t m, const char *label)
{
    for (size_t j = 0; j < m; j++) {
        if (!(isnan(want_y[j]) ? isnan(y[j]) : y[j] == want_y[j]))
            fail_msg("%s: element %zu is %g, expected %g", label, j, (double)y[j],
                     (double)want_y[j]);
        if (idx && idx[j] != want_i[j])
            fail_msg("%s: index %zu is %lld, expected %lld", label, j, (long long)idx[j],
                     (long long)want_i[j]);
    }
}

/* Windows with no tap inside the input: X is [1, 2, 3], kernel 2 with
 * dilation 4 and pads 2, 2 puts windows at -2 (taps -2, 2), -1 (-1, 3:
 * none inside) and 0 (0, 4). MaxPool gives -inf and index -1 there,
 * AveragePool with count_include_pad 1 gives 0 / 2, LpPool 0. (With
 * count_include_pad 0 it is 0 / 0 = NaN, which the NaN poison cannot tell
 * from an unwritten output, so that op is not checked here.) */
static void test_pool_empty_windows(void **state)
{
    static const int64_t dims[] = {1, 2, 3}, k[] = {2}, d[] = {4}, pads[] = {2, 2};
    static const float x[] = {0.5f, -1.5f, 1.25f, -0.75f, 2.0f, -1.0f};
    static const float want_max[] = {1.25f, -INFINITY, 0.5f, -1.0f, -INFINITY, -0.75f};
    static const int64_t want_idx[] = {2, -1, 0, 5, -1, 3};
    static const float want_avg[] = {1.25f / 2, 0.0f, 0.5f / 2, -1.0f / 2, 0.0f, -0.75f / 2};
    static const float want_lp[] = {1.25f, 0.0f, 0.5f, 1.0f, 0.0f, 0.75f};
    static const char *const ops[] = {"MaxPool", "AveragePool", "LpPool"};
    for (size_t o = 0; o < COUNT(ops); o++) {
        weft_graph *g;
        assert_weft_ok(weft_graph_create(&g));
        assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 3, dims));
        weft_attrs *a = window_attrs(1, k, NULL, pads);
        assert_weft_ok(weft_attrs_set_ints(a, "dilations", d, 1));
        if (o == 1)
            assert_weft_ok(weft_attrs_set_int(a, "count_include_pad", 1));
        const char *in[] = {"x"}, *out[] = {"y", "i"};
        size_t nout = o == 0 ? 2 : 1;
        assert_weft_ok(weft_graph_add_node(g, ops[o], "pool", in, 1, a, out, nout));
        weft_attrs_release(a);
        for (size_t j = 0; j < nout; j++)
            assert_weft_ok(weft_graph_add_output(g, out[j]));
        weft_tensor feed = {.name = "x", .dtype = WEFT_FLOAT32, .rank = 3, .dims = {1, 2, 3},
                            .data = (void *)x, .size_bytes = sizeof x};
        weft_host_tensor want[2];
        void *got[2];
        run_both(*state, g, &feed, 1, out, nout, NAN, want, got, ops[o]);
        const float *expect = o == 0 ? want_max : o == 1 ? want_avg : want_lp;
        for (int side = 0; side < 2; side++) {
            const float *y = side ? got[0] : want[0].data;
            for (size_t j = 0; j < 6; j++)
                if (!(y[j] == expect[j] || fabsf(y[j] - expect[j]) <= 1e-6f))
                    fail_msg("%s empty windows, %s: element %zu is %g, expected %g", ops[o],
                             side ? "device" : "reference", j, (double)y[j], (double)expect[j]);
            if (o == 0) {
                const int64_t *idx = side ? got[1] : want[1].data;
                for (size_t j = 0; j < 6; j++)
                    if (idx[j] != want_idx[j])
                        fail_msg("MaxPool empty windows, %s: index %zu is %lld, expected %lld",
                                 side ? "device" : "reference", j, (long long)idx[j],
                                 (long long)want_idx[j]);
            }
        }
        free_both(want, got, nout);
        weft_graph_release(g);
    }
}

/* NaN propagates through MaxPool and its index is the first NaN in scan
 * order; -inf inputs are ordinary values. Buffers are poisoned with 1e30,
 * not NaN, so that a NaN output shows it was written. Run with and
 * without Indices (two different kernels). */
static void test_pool_nan(void **state)
{
    static const int64_t dims[] = {1, 2, 5}, k[] = {3}, pads[] = {1, 1};
    static const float x[] = {1, NAN, 3, -INFINITY, 2, NAN, 0.5f, NAN, -1, -INFINITY};
    static const float want_y[] = {NAN, NAN, NAN, 3, 2, NAN, NAN, NAN, NAN, -1};
    static const int64_t want_i[] = {1, 1, 1, 2, 4, 5, 5, 7, 7, 8};
    for (size_t nout = 1; nout <= 2; nout++) {
        weft_graph *g = maxpool_graph(3, dims, window_attrs(1, k, NULL, pads), nout);
        weft_tensor feed = {.name = "x", .dtype = WEFT_FLOAT32, .rank = 3, .dims = {1, 2, 5},
                            .data = (void *)x, .size_bytes = sizeof x};
        weft_host_tensor want[2];
        void *got[2];
        run_both(*state, g, &feed, 1, max_outs, nout, 1e30f, want, got, "MaxPool NaN");
        for (int side = 0; side < 2; side++) {
            char label[64];
            snprintf(label, sizeof label, "MaxPool NaN (%zu outputs), %s", nout,
                     side ? "device" : "reference");
            const int64_t *idx = nout > 1 ? (side ? got[1] : want[1].data) : NULL;
            expect_max_exact(side ? got[0] : want[0].data, want_y, idx, want_i, COUNT(want_y),
                             label);
        }
        free_both(want, got, nout);
        weft_graph_release(g);
    }
}

/* NaN and infinities in rows wide enough for pool_rows' vector interior
 * (the separable one for Y alone, the per-tap one with Indices), a few
 * percent of the inputs each, so that some windows hold one and most do
 * not; device against reference, NaN matching NaN. Buffers are poisoned
 * with 1e30, not NaN, so that a NaN output shows it was written. */
static void test_pool_rows_nan(void **state)
{
    typedef struct nan_case {
        const char *label;
        int64_t dims[4], k[2], s[2], pads[4];
    } nan_case;
    static const nan_case list[] = {
        {"3x3 s2 pads 1", {1, 2, 5, 23}, {3, 3}, {2, 2}, {1, 1, 1, 1}},
        {"2x2 s2", {1, 1, 4, 36}, {2, 2}, {2, 2}, {0, 0, 0, 0}},
        {"1x5 s1,2", {1, 1, 3, 40}, {1, 5}, {1, 2}, {0, 0, 0, 0}},
        {"3x3 s1 pads 1", {1, 1, 3, 21}, {3, 3}, {1, 1}, {1, 1, 1, 1}},
    };
    static const float specials[] = {NAN, -INFINITY, INFINITY};
    for (size_t i = 0; i < COUNT(list); i++)
        for (size_t nout = 1; nout <= 2; nout++) {
            const nan_case *t = &list[i];
            char label[160];
            snprintf(label, sizeof label, "MaxPool NaN/inf %s (%zu outputs)", t->label, nout);
            size_t n = (size_t)(t->dims[0] * t->dims[1] * t->dims[2] * t->dims[3]);
            float *x = distinct_values(n, label);
            uint64_t seed = seed_of(label);
            for (size_t k = 0; k < n; k++) {
                uint64_t r = weft_random_next(&seed) % 100;
                if (r < 3 * COUNT(specials))
                    x[k] = specials[r / 3];
            }
            weft_graph *g = maxpool_graph(4, t->dims, window_attrs(2, t->k, t->s, t->pads), nout);
            weft_tensor feed = {.name = "x", .dtype = WEFT_FLOAT32, .rank = 4,
                                .data = x, .size_bytes = n * sizeof *x};
            memcpy(feed.dims, t->dims, sizeof t->dims);
            weft_host_tensor want[2];
            void *got[2];
            run_both(*state, g, &feed, 1, max_outs, nout, 1e30f, want, got, label);
            expect_max_exact(got[0], want[0].data, nout > 1 ? got[1] : NULL,
                             nout > 1 ? want[1].data : NULL,
                             (size_t)weft_shape_numel(&want[0].shape), label);
            free_both(want, got, nout);
            weft_graph_release(g);
            free(x);
        }
}

/* ---- Global pools ---------------------------------------------------------------- */

typedef struct global_shape {
    int rank;
    int64_t dims[6];
} global_shape;

static const global_shape global_shapes[] = {
    {4, {1, 1, 1, 1}},       /* planes of one element */
    {4, {2, 3, 1, 1}},
    {4, {1, 3, 5, 7}},
    {4, {2, 33, 4, 4}},
    {4, {1, 3, 33, 35}},     /* 1155 elements: more than any work-group here */
    {3, {2, 3, 17}},         /* 1-D */
    {5, {1, 3, 4, 5, 6}},    /* 3-D */
    {6, {1, 2, 3, 3, 3, 3}}, /* 4 spatial axes */
};

static const global_shape global_big_shapes[] = {
    {4, {1, 1, 127, 129}},
    {4, {2, 33, 127, 129}},
    {4, {8, 512, 7, 7}},
};

static void run_global(void **state, const char *op, int64_t p, const global_shape *sh,
                       const char *what)
{
    op_case c = {.op = op, .inputs = 1, .in = {{.rank = sh->rank}}};
    memcpy(c.in[0].dims, sh->dims, sizeof sh->dims);
    if (strcmp(op, "GlobalMaxPool") == 0) {
        c.rtol = EXACT;
    } else if (strcmp(op, "GlobalAveragePool") == 0) {
        c.atol = 5e-6f;
        c.rtol = 1e-6f;
    } else {
        c.rtol = 1e-5f;
        if (p)
            c.attrs[0] = (op_attr){.name = "p", .type = 'i', .i = p};
    }
    char label[160];
    snprintf(label, sizeof label, "%s p=%lld [%lld,%lld,%lld,%lld,%lld,%lld](rank %d) %s", op,
             (long long)p, (long long)sh->dims[0], (long long)sh->dims[1],
             (long long)sh->dims[2], (long long)sh->dims[3], (long long)sh->dims[4],
             (long long)sh->dims[5], sh->rank, what);
    run_op_case(*state, &c, label);
}

/* GlobalLpPool with p absent (2), 1, 3 and 4. */
static void run_globals(void **state, const global_shape *shapes, size_t count, const char *what)
{
    static const int64_t ps[] = {0, 1, 3, 4};
    for (size_t i = 0; i < count; i++) {
        run_global(state, "GlobalMaxPool", 0, &shapes[i], what);
        run_global(state, "GlobalAveragePool", 0, &shapes[i], what);
        for (size_t k = 0; k < COUNT(ps); k++)
            run_global(state, "GlobalLpPool", ps[k], &shapes[i], what);
    }
}

static void test_global_pool(void **state)
{
    static const char *const paths[] = {NULL, "rows", "group"};
    for (size_t p = 0; p < COUNT(paths); p++) {
        op_test_force(NULL, paths[p]);
        run_globals(state, global_shapes, COUNT(global_shapes), paths[p] ? paths[p] : "auto");
    }
    op_test_force(NULL, NULL);
}

static void test_global_pool_forced_local(void **state)
{
    static const char *const paths[] = {"rows", "group"};
    for (size_t l = 0; l < COUNT(forced_locals); l++)
        for (size_t p = 0; p < COUNT(paths); p++) {
            op_test_force(forced_locals[l], paths[p]);
            char what[64];
            snprintf(what, sizeof what, "local<=%s path %s", forced_locals[l], paths[p]);
            run_globals(state, global_shapes, COUNT(global_shapes), what);
        }
    op_test_force(NULL, NULL);
}

static void test_global_pool_big(void **state)
{
    if (test_under_oclgrind()) {
        printf("test_global_pool_big: skipped under oclgrind (planes of 16383 take too long)\n");
        skip();
    }
    static const char *const paths[] = {NULL, "rows", "group"};
    for (size_t p = 0; p < COUNT(paths); p++) {
        op_test_force(NULL, paths[p]);
        run_globals(state, global_big_shapes, COUNT(global_big_shapes),
                    paths[p] ? paths[p] : "auto");
    }
    op_test_force(NULL, NULL);
}

/* NaN in a plane makes GlobalMaxPool NaN whichever work-item holds it
 * (the reduction propagates it from either side); the other planes stay
 * finite. Buffers are poisoned with 1e30, not NaN, so that a NaN output
 * shows it was written. */
static void test_global_max_nan(void **state)
{
    enum { PLANE = 300 };
    static float x[3 * PLANE];
    uint64_t seed = 7;
    weft_random_fill(&seed, x, COUNT(x), -2, 2);
    x[0] = NAN;             /* first of plane 0 */
    x[2 * PLANE - 1] = NAN; /* last of plane 1 */
    static const int64_t dims[] = {1, 3, PLANE};
    static const char *const paths[] = {"rows", "group"};
    for (size_t l = 0; l < COUNT(forced_locals); l++)
        for (size_t p = 0; p < COUNT(paths); p++) {
            op_test_force(forced_locals[l], paths[p]);
            char label[96];
            snprintf(label, sizeof label, "GlobalMaxPool NaN local<=%s path %s",
                     forced_locals[l], paths[p]);
            weft_graph *g;
            assert_weft_ok(weft_graph_create(&g));
            assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 3, dims));
            const char *in[] = {"x"}, *out[] = {"y"};
            assert_weft_ok(weft_graph_add_node(g, "GlobalMaxPool", "gmp", in, 1, NULL, out, 1));
            assert_weft_ok(weft_graph_add_output(g, "y"));
            weft_tensor feed = {.name = "x", .dtype = WEFT_FLOAT32, .rank = 3,
                                .dims = {1, 3, PLANE}, .data = x, .size_bytes = sizeof x};
            weft_host_tensor want;
            void *got;
            run_both(*state, g, &feed, 1, out, 1, 1e30f, &want, &got, label);
            const float *w = want.data, *y = got;
            float max2 = -INFINITY;
            for (int k = 2 * PLANE; k < 3 * PLANE; k++)
                max2 = x[k] > max2 ? x[k] : max2;
            for (int side = 0; side < 2; side++) {
                const float *v = side ? y : w;
                if (!isnan(v[0]) || !isnan(v[1]) || v[2] != max2)
                    fail_msg("%s, %s: got %g %g %g, expected NaN NaN %g", label,
                             side ? "device" : "reference", (double)v[0], (double)v[1],
                             (double)v[2], (double)max2);
            }
            free(want.data);
            free(got);
            weft_graph_release(g);
        }
    op_test_force(NULL, NULL);
}

/* ---- MaxUnpool --------------------------------------------------------------------- */

typedef struct unpool_geom {
    const char *label;
    int sp;
    int64_t n, c;
    int64_t in[3], k[3], s[3];
    int pads_given;
    int64_t pads[6];
    int64_t out[3];     /* output_shape's spatial dims; out[0] == 0: no output_shape */
    int repeats;        /* indices drawn at random over a third of the output */
} unpool_geom;

#define U(name, spatial, nn, cc, ...) \
    {.label = name, .sp = spatial, .n = nn, .c = cc, __VA_ARGS__}

static const unpool_geom unpool_geoms[] = {
    U("2x2 s2", 2, 2, 3, .in = {3, 4}, .k = {2, 2}, .s = {2, 2}),
    U("2x2 s2 output_shape 7x9", 2, 2, 3, .in = {3, 4}, .k = {2, 2}, .s = {2, 2}, .out = {7, 9}),
    U("3x3 s2 pads 1", 2, 1, 33, .in = {4, 4}, .k = {3, 3}, .s = {2, 2}, .pads_given = 1,
      .pads = {1, 1, 1, 1}),
    U("3x2 s3x2 pads 0,1,2,0", 2, 1, 3, .in = {5, 3}, .k = {3, 2}, .s = {3, 2}, .pads_given = 1,
      .pads = {0, 1, 2, 0}),
    U("1x1 plane", 2, 2, 3, .in = {1, 1}, .k = {1, 1}, .s = {1, 1}),
    U("1-D k3 s3", 1, 2, 3, .in = {7}, .k = {3}, .s = {3}),
    U("1-D output_shape", 1, 1, 3, .in = {7}, .k = {2}, .s = {2}, .out = {15}),
    U("3-D k2 s2", 3, 1, 3, .in = {2, 3, 4}, .k = {2, 2, 2}, .s = {2, 2, 2}),
    U("3-D output_shape", 3, 1, 1, .in = {2, 3, 2}, .k = {2, 2, 2}, .s = {2, 2, 2},
      .out = {5, 6, 5}),
    U("repeated indices", 2, 1, 3, .in = {6, 5}, .k = {2, 2}, .s = {2, 2}, .repeats = 1),
    U("2x2 s2 wide", 2, 1, 4, .in = {5, 37}, .k = {2, 2}, .s = {2, 2}),
    U("3x2 s3x2 output_shape 9x6", 2, 2, 2, .in = {3, 3}, .k = {3, 2}, .s = {3, 2},
      .out = {9, 6}),
    U("repeated indices output_shape", 2, 2, 1, .in = {4, 4}, .k = {3, 3}, .s = {2, 2},
      .out = {9, 10}, .repeats = 1),
};

/* The output's spatial size on axis i. */
static int64_t unpool_out(const unpool_geom *u, int i)
{
    if (u->out[0])
        return u->out[i];
    int64_t pb = u->pads_given ? u->pads[i] : 0, pe = u->pads_given ? u->pads[i + u->sp] : 0;
    return (u->in[i] - 1) * u->s[i] + u->k[i] - pb - pe;
}

/* Indices for X: each element's own window position (flattened over the
 * whole output, as MaxPool would give them), or with repeats random ones
 * over the first third of the output. */
static int64_t *unpool_indices(const unpool_geom *u, const char *label, size_t *count)
{
    int64_t in_plane = 1, out_plane = 1;
    for (int i = 0; i < u->sp; i++) {
        in_plane *= u->in[i];
        out_plane *= unpool_out(u, i);
    }
    size_t n = (size_t)(u->n * u->c * in_plane);
    int64_t total = u->n * u->c * out_plane;
    int64_t *idx = malloc(n * sizeof *idx);
    assert_non_null(idx);
    uint64_t seed = seed_of(label);
    for (size_t e = 0; e < n; e++) {
        if (u->repeats) {
            idx[e] = (int64_t)(weft_random_next(&seed) % (uint64_t)(total / 3 + 1));
            continue;
        }
        int64_t nc = (int64_t)e / in_plane, rest = (int64_t)e % in_plane, pos[3], off = 0;
        for (int i = u->sp - 1; i >= 0; i--) {
            pos[i] = rest % u->in[i];
            rest /= u->in[i];
        }
        for (int i = 0; i < u->sp; i++) {
            int64_t o = unpool_out(u, i), pb = u->pads_given ? u->pads[i] : 0;
            int64_t start = pos[i] * u->s[i] - pb, at;
            do /* a tap of the window inside the output */
                at = start + (int64_t)(weft_random_next(&seed) % (uint64_t)u->k[i]);
            while (at < 0 || at >= o);
            off = off * o + at;
        }
        idx[e] = nc * out_plane + off;
    }
    *count = n;
    return idx;
}

static void run_unpool(void **state, const unpool_geom *u, const char *what)
{
    char label[160];
    snprintf(label, sizeof label, "MaxUnpool %s %s", u->label, what);
    size_t n;
    int64_t *idx = unpool_indices(u, label, &n);
    int64_t out_shape[5] = {u->n, u->c};
    for (int i = 0; i < u->sp; i++)
        out_shape[2 + i] = u->out[i];
    op_case c = {.op = "MaxUnpool", .inputs = u->out[0] ? 3 : 2, .rtol = EXACT};
    c.in[0] = (op_input){.rank = 2 + u->sp, .dims = {u->n, u->c}};
    c.in[1] = (op_input){.rank = 2 + u->sp, .dims = {u->n, u->c}, .dtype = WEFT_INT64,
                         .i64 = idx};
    for (int i = 0; i < u->sp; i++)
        c.in[0].dims[2 + i] = c.in[1].dims[2 + i] = u->in[i];
    c.in[2] = (op_input){.rank = 1, .dims = {2 + u->sp}, .constant = 1, .dtype = WEFT_INT64,
                         .i64 = out_shape};
    int a = 0;
    c.attrs[a++] = ints_attr("kernel_shape", u->k, u->sp);
    c.attrs[a++] = ints_attr("strides", u->s, u->sp);
    if (u->pads_given)
        c.attrs[a++] = ints_attr("pads", u->pads, 2 * u->sp);
    run_op_case(*state, &c, label);
    /* max_unpool_rows too where its windows tile the output (with
     * repeats, its fallback to the three passes) */
    int tiles = u->sp == 2 && !u->pads_given;
    for (int i = 0; i < u->sp; i++)
        tiles = tiles && u->k[i] == u->s[i] && (!u->out[0] || u->out[i] == u->in[i] * u->k[i]);
    static const char *const impls[] = {"MaxUnpool:max_unpool", "MaxUnpool:max_unpool_rows"};
    for (size_t i = 0; i < COUNT(impls); i++) {
        if (i == 1 && !tiles)
            continue;
        char forced[200];
        snprintf(forced, sizeof forced, "%s [%s]", label, impls[i]);
        c.impl = impls[i];
        run_op_case(*state, &c, forced);
    }
    free(idx);
}

static void test_max_unpool(void **state)
{
    for (size_t i = 0; i < COUNT(unpool_geoms); i++)
        run_unpool(state, &unpool_geoms[i], "");
    for (size_t l = 0; l < COUNT(forced_locals); l++) {
        op_test_force(forced_locals[l], NULL);
        char what[32];
        snprintf(what, sizeof what, "local<=%s", forced_locals[l]);
        for (size_t i = 0; i < COUNT(unpool_geoms); i++)
            run_unpool(state, &unpool_geoms[i], what);
    }
    op_test_force(NULL, NULL);
}

/* Indices outside the output: the reference refuses them, naming the
 * node and the element; the kernel drops them and writes the rest. */
static void test_max_unpool_out_of_range(void **state)
{
    static const int64_t dims[] = {1, 1, 2, 2}, k[] = {2, 2}, s[] = {2, 2};
    static const float x[] = {1.5f, -2.0f, 3.0f, 4.0f};
    static const int64_t bad[] = {5, -1, 16, 10};
    weft_graph *g;
    assert_weft_ok(weft_graph_create(&g));
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 4, dims));
    assert_weft_ok(weft_graph_add_constant(g, "i", WEFT_INT64, 4, dims, bad));
    weft_attrs *a = window_attrs(2, k, s, NULL);
    const char *in[] = {"x", "i"}, *out[] = {"y"};
    assert_weft_ok(weft_graph_add_node(g, "MaxUnpool", "unpool", in, 2, a, out, 1));
    weft_attrs_release(a);
    assert_weft_ok(weft_graph_add_output(g, "y"));
    weft_tensor feed = {.name = "x", .dtype = WEFT_FLOAT32, .rank = 4, .dims = {1, 1, 2, 2},
                        .data = (void *)x, .size_bytes = sizeof x};

    weft_graph *rg;
    assert_weft_ok(weft_graph_clone(g, &rg));
    assert_weft_ok(weft_graph_validate(rg));
    weft_host_tensor want;
    assert_weft_status(weft_ref_run_graph(rg, &feed, 1, &want, 1), WEFT_ERR_INVALID_ARGUMENT,
                       "node 'unpool' (MaxUnpool): input 'I' element 1 is -1");
    weft_graph_release(rg);

    weft_session *session;
    assert_weft_ok(weft_session_create(*state, g, NULL, &session));
    assert_weft_ok(weft_session_poison(session, NAN));
    float y[16];
    memset(y, 0xff, sizeof y);
    weft_tensor o = {.name = "y", .data = y, .size_bytes = sizeof y};
    assert_weft_ok(weft_session_run(session, &feed, 1, &o, 1));
    for (int j = 0; j < 16; j++) {
        float expect = j == 5 ? 1.5f : j == 10 ? 4.0f : 0.0f;
        if (!(y[j] == expect))
            fail_msg("MaxUnpool out of range: element %d is %g, expected %g", j, (double)y[j],
                     (double)expect);
    }
    weft_session_release(session);
    weft_graph_release(g);
}

/* ---- MaxPool -> MaxUnpool ---------------------------------------------------------- */

typedef struct trip_geom {
    const char *label;
    int sp;
    int64_t dims[5];
    int64_t k[3], s[3];
    int pads_given;
    int64_t pads[6];
    int ceil;
    int output_shape; /* give X's shape as output_shape */
} trip_geom;

#define T(name, spatial, ...) {.label = name, .sp = spatial, __VA_ARGS__}

static const trip_geom trips[] = {
    T("2x2 s2 8x8", 2, .dims = {2, 3, 8, 8}, .k = {2, 2}, .s = {2, 2}),
    T("2x2 s2 9x11 (rows left over)", 2, .dims = {1, 3, 9, 11}, .k = {2, 2}, .s = {2, 2},
      .output_shape = 1),
    T("3x3 s2 pads 1 (overlapping)", 2, .dims = {1, 33, 7, 9}, .k = {3, 3}, .s = {2, 2},
      .pads_given = 1, .pads = {1, 1, 1, 1}, .output_shape = 1),
    T("3x3 s2 ceil", 2, .dims = {2, 1, 8, 8}, .k = {3, 3}, .s = {2, 2}, .ceil = 1,
      .output_shape = 1),
    T("1-D k3 s3", 1, .dims = {2, 3, 10}, .k = {3}, .s = {3}, .output_shape = 1),
    T("3-D k2 s2", 3, .dims = {1, 3, 4, 5, 6}, .k = {2, 2, 2}, .s = {2, 2, 2},
      .output_shape = 1),
};

static void test_round_trip(void **state)
{
    for (size_t t = 0; t < COUNT(trips); t++) {
        const trip_geom *tg = &trips[t];
        int rank = 2 + tg->sp;
        size_t n = 1;
        for (int d = 0; d < rank; d++)
            n *= (size_t)tg->dims[d];
        char label[128];
        snprintf(label, sizeof label, "round trip %s", tg->label);
        float *x = distinct_values(n, label);
        weft_graph *g;
        assert_weft_ok(weft_graph_create(&g));
        assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, rank, tg->dims));
        weft_attrs *a = window_attrs(tg->sp, tg->k, tg->s, tg->pads_given ? tg->pads : NULL);
        if (tg->ceil)
            assert_weft_ok(weft_attrs_set_int(a, "ceil_mode", 1));
        const char *pin[] = {"x"}, *pout[] = {"y", "i"};
        assert_weft_ok(weft_graph_add_node(g, "MaxPool", "pool", pin, 1, a, pout, 2));
        weft_attrs_release(a);
        a = window_attrs(tg->sp, tg->k, tg->s, tg->pads_given ? tg->pads : NULL);
        const int64_t shape_len = rank;
        assert_weft_ok(weft_graph_add_constant(g, "shape", WEFT_INT64, 1, &shape_len, tg->dims));
        const char *uin[] = {"y", "i", tg->output_shape ? "shape" : ""}, *uout[] = {"z"};
        assert_weft_ok(weft_graph_add_node(g, "MaxUnpool", "unpool", uin, 3, a, uout, 1));
        weft_attrs_release(a);
        assert_weft_ok(weft_graph_add_output(g, "i"));
        assert_weft_ok(weft_graph_add_output(g, "z"));
        weft_tensor feed = {.name = "x", .dtype = WEFT_FLOAT32, .rank = rank, .data = x,
                            .size_bytes = n * sizeof *x};
        memcpy(feed.dims, tg->dims, sizeof tg->dims);
        const char *outs[] = {"i", "z"};
        weft_host_tensor want[2];
        void *got[2];
        run_both(*state, g, &feed, 1, outs, 2, NAN, want, got, label);
        assert_int_equal(weft_shape_numel(&want[1].shape), (int64_t)n);
        size_t pooled = (size_t)weft_shape_numel(&want[0].shape);
        const int64_t *idx = got[0];
        const float *z = got[1];
        char *chosen = calloc(n, 1);
        assert_non_null(chosen);
        for (size_t e = 0; e < pooled; e++) {
            if (idx[e] != ((const int64_t *)want[0].data)[e])
                fail_msg("%s: index %zu is %lld, the reference says %lld", label, e,
                         (long long)idx[e], (long long)((const int64_t *)want[0].data)[e]);
            if (idx[e] < 0 || (size_t)idx[e] >= n)
                fail_msg("%s: index %zu is %lld, outside X", label, e, (long long)idx[e]);
            chosen[idx[e]] = 1;
        }
        /* Every maximum back in its place (the value X had there), zeros
         * elsewhere; and the same as the reference. */
        size_t back = 0;
        for (size_t j = 0; j < n; j++) {
            float expect = chosen[j] ? x[j] : 0.0f;
            back += chosen[j];
            if (!(z[j] == expect) || !(((const float *)want[1].data)[j] == expect))
                fail_msg("%s: element %zu is %g (reference %g), expected %g", label, j,
                         (double)z[j], (double)((const float *)want[1].data)[j], (double)expect);
        }
        assert_true(back > 0 && back <= pooled);
        free(chosen);
        for (int k = 0; k < 2; k++) {
            free(want[k].data);
            free(got[k]);
        }
        free(x);
        weft_graph_release(g);
    }
}

/* ---- The reference's own checks ----------------------------------------------------- */

/* Calls the reference of a node that validation has not seen, so that the
 * reference's checks are reached: X is [1, 1, 4, 4], the output
 * [1, 1, 2, 2] (I is int64 unless i_float). */
static void ref_error(const char *op, weft_attrs *attrs, int i_float, weft_status status,
                      const char *part)
{
    static const int64_t dims[] = {1, 1, 4, 4};
    float x[16] = {0}, y[4];
    int64_t idx[16] = {0};
    weft_graph *g;
    assert_weft_ok(weft_graph_create(&g));
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 4, dims));
    assert_weft_ok(weft_graph_add_input(g, "i", i_float ? WEFT_FLOAT32 : WEFT_INT64, 4, dims));
    const char *in[] = {"x", "i"}, *out[] = {"y"};
    int unpool = strcmp(op, "MaxUnpool") == 0;
    assert_weft_ok(weft_graph_add_node(g, op, "bad", in, unpool ? 2 : 1, attrs, out, 1));
    weft_attrs_release(attrs);
    weft_host_tensor hin[2] = {{WEFT_FLOAT32, {4, {1, 1, 4, 4}}, x},
                               {i_float ? WEFT_FLOAT32 : WEFT_INT64, {4, {1, 1, 4, 4}},
                                i_float ? (void *)x : (void *)idx}};
    weft_host_tensor hout = {WEFT_FLOAT32, {4, {1, 1, 2, 2}}, y};
    weft_ref_fn fn = weft_ref_find(op);
    assert_non_null(fn);
    assert_weft_status(fn(&g->nodes[0], hin, unpool ? 2 : 1, &hout, 1), status, part);
    weft_graph_release(g);
}

static weft_attrs *kernel2(void)
{
    static const int64_t k[] = {2, 2}, s[] = {2, 2};
    return window_attrs(2, k, s, NULL);
}

static void test_ref_errors(void **state)
{
    (void)state;
    weft_attrs *a = kernel2();
    assert_weft_ok(weft_attrs_set_int(a, "ceil_mode", 2));
    ref_error("MaxPool", a, 0, WEFT_ERR_GRAPH, "node 'bad' (MaxPool): attribute 'ceil_mode' = 2");
    a = kernel2();
    assert_weft_ok(weft_attrs_set_int(a, "count_include_pad", 3));
    ref_error("AveragePool", a, 0, WEFT_ERR_GRAPH,
              "node 'bad' (AveragePool): attribute 'count_include_pad' = 3");
    a = kernel2();
    assert_weft_ok(weft_attrs_set_int(a, "storage_order", -1));
    ref_error("MaxPool", a, 0, WEFT_ERR_GRAPH, "attribute 'storage_order' = -1");
    a = kernel2();
    assert_weft_ok(weft_attrs_set_int(a, "p", 0));
    ref_error("LpPool", a, 0, WEFT_ERR_GRAPH, "node 'bad' (LpPool): attribute 'p' = 0");
    assert_weft_ok(weft_attrs_create(&a));
    ref_error("MaxPool", a, 0, WEFT_ERR_GRAPH, "attribute 'kernel_shape' is required");
    a = kernel2();
    assert_weft_ok(weft_attrs_set_string(a, "auto_pad", "SAME"));
    ref_error("AveragePool", a, 0, WEFT_ERR_GRAPH, "attribute 'auto_pad' = \"SAME\"");
    a = kernel2();
    static const int64_t pads[] = {1, 0, 0, 1}, pads2[] = {1, 0, 1, 1}, big[] = {6, 2};
    static const int64_t three[] = {2, 2, 2};
    assert_weft_ok(weft_attrs_set_ints(a, "pads", pads, 4));
    assert_weft_ok(weft_attrs_set_string(a, "auto_pad", "SAME_UPPER"));
    ref_error("MaxPool", a, 0, WEFT_ERR_GRAPH, "'pads' cannot be used with attribute 'auto_pad'");
    a = window_attrs(2, big, NULL, NULL);
    ref_error("MaxPool", a, 0, WEFT_ERR_SHAPE, "on spatial axis 0 the window spans 6");
    a = window_attrs(3, three, NULL, NULL);
    ref_error("LpPool", a, 0, WEFT_ERR_GRAPH, "attribute 'kernel_shape' has 3 values, expected 2");
    a = window_attrs(2, big, NULL, NULL); /* [1, 1, 1, 4], not the [1, 1, 2, 2] given */
    assert_weft_ok(weft_attrs_set_ints(a, "pads", pads2, 4));
    ref_error("MaxPool", a, 0, WEFT_ERR_SHAPE, "output 0 has shape [1,1,2,2] but the reference "
              "computes [1,1,1,4]");
    ref_error("MaxUnpool", kernel2(), 1, WEFT_ERR_GRAPH,
              "node 'bad' (MaxUnpool): input 'I' is float32");
    ref_error("MaxUnpool", kernel2(), 0, WEFT_ERR_SHAPE, "output 0 has shape [1,1,2,2] but the "
              "reference computes [1,1,8,8]");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_grid),
        cmocka_unit_test(test_pool_ties),
        cmocka_unit_test(test_pool_empty_windows),
        cmocka_unit_test(test_pool_nan),
        cmocka_unit_test(test_pool_rows_nan),
        cmocka_unit_test_teardown(test_pool_forced_local, op_test_unforce),
        cmocka_unit_test(test_pool_big),
        cmocka_unit_test_teardown(test_global_pool, op_test_unforce),
        cmocka_unit_test_teardown(test_global_pool_forced_local, op_test_unforce),
        cmocka_unit_test_teardown(test_global_max_nan, op_test_unforce),
        cmocka_unit_test_teardown(test_global_pool_big, op_test_unforce),
        cmocka_unit_test_teardown(test_max_unpool, op_test_unforce),
        cmocka_unit_test(test_max_unpool_out_of_range),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_ref_errors),
    };
    return cmocka_run_group_tests(tests, op_test_setup, op_test_teardown);
}
