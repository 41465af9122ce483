/*
 * One graph across several devices (run with POCL_DEVICES="pthread
 * pthread", see tests/CMakeLists.txt): results equal the single-device run
 * for every placement (cost-based, alternating node by node, everything on
 * device 1, a cross-device edge in the middle of a chain, copies through
 * the host between two cl_contexts); a node refused on device 0 or whose
 * program fails to build there falls back to device 1 and the session
 * says why; errors name the device list, node and devices; the placement
 * algorithm on made-up problems. Outputs are poisoned with NaN first.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/random.h"
#include "runtime/buffers.h"
#include "runtime/device.h"
#include "runtime/placement.h"
#include "runtime/session.h"
#include "test_common.h"

typedef struct fixture {
    weft_context *one, *two;
    int same_devices; /* both devices report the same name: results must match bit for bit */
} fixture;

static weft_context_options options_for(const char *devices)
{
    weft_context_options o = test_options(getenv("WEFT_CACHE_DIR"));
    o.device = devices;
    return o;
}

static int setup(void **state)
{
    static fixture f;
    memset(&f, 0, sizeof f);
    size_t count = 0;
    if (weft_device_count(&count) != WEFT_OK || count < 2) {
        printf("test_multidevice: skipped: %zu OpenCL device(s), two are needed "
               "(POCL_DEVICES=\"pthread pthread\")\n",
               count);
        *state = NULL;
        return 0;
    }
    weft_context_options o1 = options_for("0"), o2 = options_for("0,1");
    if (weft_context_create(&o1, &f.one) != WEFT_OK || weft_context_create(&o2, &f.two) != WEFT_OK)
        return -1;
    weft_device_info a, b;
    if (weft_context_device_info(f.two, 0, &a) != WEFT_OK ||
        weft_context_device_info(f.two, 1, &b) != WEFT_OK)
        return -1;
    f.same_devices = strcmp(a.name, b.name) == 0;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f) {
        weft_context_release(f->one);
        weft_context_release(f->two);
    }
    return 0;
}

#define SKIP_WITHOUT_TWO(state)                                                      \
    do {                                                                             \
        if (!(state)) {                                                              \
            printf("skipped: fewer than two OpenCL devices\n");                     \
            skip();                                                                  \
        }                                                                            \
    } while (0)

/* ---- Graphs --------------------------------------------------------------- */

static uint64_t seed = 42;

static void constant(weft_graph *g, const char *name, int rank, const int64_t *dims)
{
    test_add_random_constant(g, name, rank, dims, &seed, -0.5f, 0.5f);
}

/* A conv with its own random weights and bias: K x C x k x k, padding k/2. */
static void conv(weft_graph *g, const char *name, const char *x, int64_t c, int64_t k,
                 int64_t size, const char *y)
{
    char w[64], b[64];
    snprintf(w, sizeof w, "%s.w", name);
    snprintf(b, sizeof b, "%s.b", name);
    constant(g, w, 4, (int64_t[]){k, c, size, size});
    constant(g, b, 1, (int64_t[]){k});
    weft_conv_attrs a;
    weft_conv_defaults(&a);
    /* pads: begins in [0..2], ends in [3..5] */
    a.pads[0] = a.pads[1] = a.pads[3] = a.pads[4] = size / 2;
    assert_weft_ok(weft_graph_add_conv(g, name, x, w, b, &a, y));
}

static void act(weft_graph *g, const char *name, weft_activation kind, const char *x,
                const char *y)
{
    assert_weft_ok(weft_graph_add_activation(g, name, kind, NAN, NAN, x, y));
}

/* An inception-like block: four branches concatenated, then a conv. */
static weft_graph *inception(void)
{
    weft_graph *g;
    assert_weft_ok(weft_graph_create(&g));
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 4, (int64_t[]){1, 8, 12, 12}));
    conv(g, "b1", "x", 8, 4, 1, "b1c");
    act(g, "b1r", WEFT_ACT_RELU, "b1c", "b1o");
    conv(g, "b2a", "x", 8, 6, 1, "b2c");
    act(g, "b2r", WEFT_ACT_RELU, "b2c", "b2r");
    conv(g, "b2b", "b2r", 6, 4, 3, "b2o");
    conv(g, "b3a", "x", 8, 2, 1, "b3c");
    conv(g, "b3b", "b3c", 2, 4, 5, "b3o");
    weft_pool_attrs pa;
    weft_pool_defaults(&pa);
    pa.kernel_shape[0] = pa.kernel_shape[1] = 3;
    pa.pads[0] = pa.pads[1] = pa.pads[3] = pa.pads[4] = 1;
    assert_weft_ok(weft_graph_add_pool(g, "b4p", WEFT_POOL_MAX, "x", &pa, "b4m"));
    conv(g, "b4", "b4m", 8, 4, 1, "b4o");
    const char *parts[4] = {"b1o", "b2o", "b3o", "b4o"};
    assert_weft_ok(weft_graph_add_concat(g, "cat", parts, 4, 1, "cat"));
    conv(g, "out", "cat", 16, 8, 3, "y");
    assert_weft_ok(weft_graph_add_output(g, "y"));
    return g;
}

/* A residual block: two convs, the input added back, ReLU; twice. */
static weft_graph *residual(void)
{
    weft_graph *g;
    assert_weft_ok(weft_graph_create(&g));
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 4, (int64_t[]){1, 8, 10, 10}));
    const char *in = "x";
    char names[2][8][32];
    for (int r = 0; r < 2; r++) {
        char(*n)[32] = names[r];
        for (int i = 0; i < 8; i++)
            snprintf(n[i], 32, "r%d_%d", r, i);
        conv(g, n[0], in, 8, 8, 3, n[1]);
        act(g, n[2], WEFT_ACT_RELU, n[1], n[3]);
        conv(g, n[4], n[3], 8, 8, 3, n[5]);
        assert_weft_ok(weft_graph_add_add(g, n[6], n[5], in, n[6]));
        act(g, n[7], WEFT_ACT_RELU, n[6], n[7]);
        in = n[7];
    }
    assert_weft_ok(weft_graph_add_output(g, in));
    return g;
}

/* A chain of element-wise ops and convs, "mid" in the middle. */
static weft_graph *chain(void)
{
    weft_graph *g;
    assert_weft_ok(weft_graph_create(&g));
    assert_weft_ok(weft_graph_add_input(g, "x", WEFT_FLOAT32, 4, (int64_t[]){2, 3, 9, 9}));
    conv(g, "c1", "x", 3, 6, 3, "a");
    /* Activations the conv does not absorb, so every node stays a node. */
    act(g, "s1", WEFT_ACT_SOFTPLUS, "a", "b");
    conv(g, "mid", "b", 6, 6, 1, "c");
    act(g, "t1", WEFT_ACT_SOFTSIGN, "c", "d");
    conv(g, "c2", "d", 6, 4, 3, "e");
    act(g, "e1", WEFT_ACT_ELU, "e", "y");
    assert_weft_ok(weft_graph_add_output(g, "y"));
    return g;
}

static weft_graph *digits(void)
{
    const char *path = getenv("WEFT_TEST_DIGITS");
    weft_graph *g = NULL;
    if (!path || weft_graph_load_onnx(path, &g) != WEFT_OK) {
        printf("digits model not loaded (WEFT_TEST_DIGITS='%s'): %s\n", path ? path : "",
               weft_last_error());
        return NULL;
    }
    return g;
}

/* ---- Running -------------------------------------------------------------- */

typedef struct result {
    float *data;
    size_t n;
} result;

/* Runs the graph's first output on random inputs (seeded, so every run of
 * one graph sees the same data), intermediates poisoned with NaN. */
static weft_status run(weft_context *ctx, const weft_graph *g, const char *placement,
                       weft_session **keep, result *out)
{
    weft_session_options so;
    weft_session_options_defaults(&so);
    so.placement = placement;
    weft_session *s = NULL;
    weft_status st = weft_session_create(ctx, g, &so, &s);
    if (st != WEFT_OK)
        return st;
    size_t nin = 0;
    assert_weft_ok(weft_session_input_count(s, &nin));
    weft_tensor in[4];
    assert_true(nin <= 4);
    uint64_t rs = 7;
    for (size_t i = 0; i < nin; i++) {
        assert_weft_ok(weft_session_input_info(s, i, &in[i]));
        in[i].data = malloc(in[i].size_bytes + 1);
        assert_non_null(in[i].data);
        weft_random_fill(&rs, in[i].data, in[i].size_bytes / sizeof(float), -1, 1);
    }
    weft_tensor o;
    assert_weft_ok(weft_session_output_info(s, 0, &o));
    out->n = o.size_bytes / sizeof(float);
    out->data = malloc(o.size_bytes + 1);
    assert_non_null(out->data);
    for (size_t i = 0; i < out->n; i++)
        out->data[i] = NAN;
    o.data = out->data;
    assert_weft_ok(weft_session_poison(s, NAN));
    st = weft_session_run(s, in, nin, &o, 1);
    for (size_t i = 0; i < nin; i++)
        free(in[i].data);
    if (keep)
        *keep = s;
    else
        weft_session_release(s);
    return st;
}

static void assert_same(const fixture *f, const result *want, const result *got, const char *what)
{
    assert_int_equal(want->n, got->n);
    for (size_t i = 0; i < want->n; i++) {
        float a = want->data[i], b = got->data[i];
        if (isnan(a) || isnan(b))
            fail_msg("%s: element %zu is NaN (poison never overwritten?)", what, i);
        /* The same device twice runs the same kernels: bit for bit equal. */
        float tol = f->same_devices ? 0 : 1e-5f + 1e-4f * fabsf(a);
        if (fabsf(a - b) > tol)
            fail_msg("%s: element %zu is %.9g, the single-device run gives %.9g", what, i, b, a);
    }
}

static int devices_used(weft_session *s, int *mask)
{
    size_t n = 0;
    assert_weft_ok(weft_session_node_count(s, &n));
    *mask = 0;
    for (size_t i = 0; i < n; i++) {
        weft_node_info info;
        assert_weft_ok(weft_session_node_info(s, i, &info));
        *mask |= 1 << info.device_index;
    }
    return (int)n;
}

/* ---- Tests ---------------------------------------------------------------- */

static void test_placements_match_single_device(void **state)
{
    SKIP_WITHOUT_TWO(*state);
    fixture *f = *state;
    weft_graph *graphs[4] = {digits(), inception(), residual(), chain()};
    const char *names[4] = {"digits", "inception", "residual", "chain"};
    /* The last: everything on device 0 but one node in the middle. */
    const char *mixed[4] = {"all=0,/head/head.0/Conv=1", "all=0,b2b=1", "all=0,r0_4=1",
                            "all=0,mid=1"};
    const char *placements[] = {"auto", "first", "alternate", "all=1", NULL};
    for (int k = 0; k < 4; k++) {
        if (!graphs[k])
            continue;
        result want;
        assert_weft_ok(run(f->one, graphs[k], NULL, NULL, &want));
        placements[4] = mixed[k];
        for (size_t p = 0; p < sizeof placements / sizeof *placements; p++) {
            result got;
            weft_session *s;
            assert_weft_ok(run(f->two, graphs[k], placements[p], &s, &got));
            int mask;
            devices_used(s, &mask);
            if (strcmp(placements[p], "alternate") == 0 || p == 4)
                assert_int_equal(mask, 3); /* both devices really ran nodes */
            if (strcmp(placements[p], "all=1") == 0)
                assert_int_equal(mask, 2);
            char what[96];
            snprintf(what, sizeof what, "%s, placement %s", names[k], placements[p]);
            assert_same(f, &want, &got, what);
            free(got.data);
            weft_session_release(s);
        }
        free(want.data);
        weft_graph_release(graphs[k]);
    }
}

/* Alternating node by node: each node on device i mod 2, so every edge
 * of the chain crosses devices. */
static void test_alternate_crosses_every_edge(void **state)
{
    SKIP_WITHOUT_TWO(*state);
    fixture *f = *state;
    weft_graph *g = chain();
    result want, got;
    assert_weft_ok(run(f->one, g, NULL, NULL, &want));
    weft_session *s;
    assert_weft_ok(run(f->two, g, "alternate", &s, &got));
    size_t n = 0;
    assert_weft_ok(weft_session_node_count(s, &n));
    assert_true(n >= 4);
    for (size_t i = 0; i < n; i++) {
        weft_node_info info;
        assert_weft_ok(weft_session_node_info(s, i, &info));
        assert_int_equal(info.device_index, i % 2);
        assert_string_equal(info.fallback_reason, "");
    }
    assert_true(s->transfer_count >= n - 1);
    assert_same(f, &want, &got, "chain, alternate");
    /* A second run reuses the same copies and events. */
    free(got.data);
    weft_session_release(s);
    assert_weft_ok(run(f->two, g, "alternate", NULL, &got));
    assert_same(f, &want, &got, "chain, alternate, again");
    free(got.data);
    free(want.data);
    weft_graph_release(g);
}

/* Two cl_contexts: cross-device copies go through the host with a user
 * event between the queues. */
static void test_separate_contexts(void **state)
{
    SKIP_WITHOUT_TWO(*state);
    fixture *f = *state;
    setenv("WEFT_TEST_SEPARATE_CONTEXTS", "1", 1);
    weft_context_options o = options_for("0,1");
    weft_context *ctx;
    weft_status st = weft_context_create(&o, &ctx);
    unsetenv("WEFT_TEST_SEPARATE_CONTEXTS");
    assert_weft_ok(st);
    assert_ptr_not_equal(ctx->devices[0].context, ctx->devices[1].context);
    assert_ptr_equal(f->two->devices[0].context, f->two->devices[1].context);
    weft_graph *graphs[2] = {inception(), chain()};
    for (int k = 0; k < 2; k++) {
        result want, got;
        assert_weft_ok(run(f->one, graphs[k], NULL, NULL, &want));
        assert_weft_ok(run(ctx, graphs[k], "alternate", NULL, &got));
        assert_same(f, &want, &got, k ? "chain, two contexts" : "inception, two contexts");
        free(want.data);
        free(got.data);
        weft_graph_release(graphs[k]);
    }
    weft_context_release(ctx);
}

/* With `placement` "first" every node tries device 0 first: with "auto" a
 * node may go to device 1 for its cost before device 0 is ever tried. */
static void expect_fallback(fixture *f, const char *hook, const char *value, const char *op,
                            const char *reason, const char *placement)
{
    weft_graph *g = residual();
    result want, got;
    assert_weft_ok(run(f->one, g, NULL, NULL, &want));
    setenv(hook, value, 1);
    weft_session *s;
    weft_status st = run(f->two, g, placement, &s, &got);
    unsetenv(hook);
    assert_weft_ok(st);
    size_t n = 0, moved = 0;
    assert_weft_ok(weft_session_node_count(s, &n));
    for (size_t i = 0; i < n; i++) {
        weft_node_info info;
        assert_weft_ok(weft_session_node_info(s, i, &info));
        if (strcmp(info.op, op) == 0) {
            assert_int_equal(info.device_index, 1);
            if (!strstr(info.fallback_reason, reason))
                fail_msg("node %s: fallback reason '%s' lacks '%s'", info.name,
                         info.fallback_reason, reason);
            moved++;
        }
    }
    assert_true(moved >= 4);
    assert_same(f, &want, &got, value);
    free(want.data);
    free(got.data);
    weft_session_release(s);
    weft_graph_release(g);
}

static void test_refused_node_falls_back(void **state)
{
    SKIP_WITHOUT_TWO(*state);
    expect_fallback(*state, "WEFT_TEST_REFUSE", "device0:Conv", "Conv", "WEFT_TEST_REFUSE", NULL);
}

static void test_build_failure_falls_back(void **state)
{
    SKIP_WITHOUT_TWO(*state);
    expect_fallback(*state, "WEFT_TEST_BUILD_FAIL", "device0:Conv", "Conv",
                    "failed (forced by WEFT_TEST_BUILD_FAIL)", "first");
}

static void test_errors(void **state)
{
    SKIP_WITHOUT_TWO(*state);
    fixture *f = *state;
    int64_t live = weft_buffer_live_count();
    weft_context *ctx = (weft_context *)1;
    weft_context_options o = options_for("0,9");
    assert_weft_status(weft_context_create(&o, &ctx), WEFT_ERR_NO_DEVICE, "'0,9'");
    assert_null(ctx);
    o = options_for("0,no-such-device");
    assert_weft_status(weft_context_create(&o, &ctx), WEFT_ERR_NO_DEVICE, "no-such-device");
    o = options_for("0,,1");
    assert_weft_status(weft_context_create(&o, &ctx), WEFT_ERR_INVALID_ARGUMENT, "empty item");
    o = options_for("1,1");
    assert_weft_status(weft_context_create(&o, &ctx), WEFT_ERR_INVALID_ARGUMENT, "again");

    weft_graph *g = chain();
    result r = {0};
    weft_session *s = (weft_session *)1;
    /* No device can run the convs: the message names the node and both devices. */
    setenv("WEFT_TEST_REFUSE", "device0:Conv,device1:Conv", 1);
    weft_status st = run(f->two, g, NULL, &s, &r);
    unsetenv("WEFT_TEST_REFUSE");
    assert_int_equal(st, WEFT_ERR_UNSUPPORTED);
    const char *msg = weft_last_error();
    if (!strstr(msg, "node 'c1' (Conv)") || !strstr(msg, "device 0 '") ||
        !strstr(msg, "device 1 '"))
        fail_msg("message lacks the node or a device: %s", msg);
    /* Build failures on both devices. */
    setenv("WEFT_TEST_BUILD_FAIL", "device0:Conv,device1:Conv", 1);
    st = run(f->two, g, NULL, &s, &r);
    unsetenv("WEFT_TEST_BUILD_FAIL");
    assert_int_equal(st, WEFT_ERR_UNSUPPORTED);
    if (!strstr(weft_last_error(), "WEFT_TEST_BUILD_FAIL") || !strstr(weft_last_error(), "device 1 '"))
        fail_msg("message lacks the build failures: %s", weft_last_error());
    /* A forced placement on a device that cannot run the node. */
    setenv("WEFT_TEST_REFUSE", "device1:Conv", 1);
    st = run(f->two, g, "mid=1", &s, &r);
    unsetenv("WEFT_TEST_REFUSE");
    assert_int_equal(st, WEFT_ERR_UNSUPPORTED);
    assert_non_null(strstr(weft_last_error(), "node 'mid' (Conv): placement 'mid=1' puts it on device 1"));
    assert_weft_status(run(f->two, g, "all=2", &s, &r), WEFT_ERR_INVALID_ARGUMENT,
                       "device 2, but the context has 2");
    assert_weft_status(run(f->two, g, "sideways", &s, &r), WEFT_ERR_INVALID_ARGUMENT,
                       "'sideways'");
    assert_weft_status(run(f->two, g, "mid=x", &s, &r), WEFT_ERR_INVALID_ARGUMENT,
                       "needs a device index");
    weft_graph_release(g);
    assert_int_equal(weft_buffer_live_count(), live);
}

/* Profiling on two devices: every node has a time and a span, on the
 * device the session reports. */
static void test_profile_two_queues(void **state)
{
    SKIP_WITHOUT_TWO(*state);
    fixture *f = *state;
    weft_graph *g = inception();
    weft_session_options so;
    weft_session_options_defaults(&so);
    so.placement = "alternate";
    so.profiling = 1;
    weft_session *s;
    assert_weft_ok(weft_session_create(f->two, g, &so, &s));
    weft_tensor in, out;
    assert_weft_ok(weft_session_input_info(s, 0, &in));
    assert_weft_ok(weft_session_output_info(s, 0, &out));
    in.data = calloc(1, in.size_bytes);
    out.data = malloc(out.size_bytes);
    assert_weft_ok(weft_session_run(s, &in, 1, &out, 1));
    size_t n;
    assert_weft_ok(weft_session_node_count(s, &n));
    int seen[2] = {0, 0};
    for (size_t i = 0; i < n; i++) {
        weft_node_info info;
        assert_weft_ok(weft_session_node_info(s, i, &info));
        if (strcmp(info.impl, "alias") == 0 || strcmp(info.op, "Concat") == 0)
            continue;
        assert_true(info.time_ms > 0);
        assert_true(info.end_ms >= info.start_ms);
        seen[info.device_index]++;
    }
    assert_true(seen[0] > 0 && seen[1] > 0);
    free(in.data);
    free(out.data);
    weft_session_release(s);
    weft_graph_release(g);
}

/* ---- The algorithm on made-up problems ------------------------------------ */

/* A fork into two equal branches and a join: the branches go to two
 * devices when transfers are cheap, and stay together when they are not. */
static void test_place_branches(void **state)
{
    (void)state;
    /* node 0: source; 1, 2: branches of 1 ms; 3: join */
    double cost[8] = {1e-5, 1e-5, 1e-3, 1e-3, 1e-3, 1e-3, 1e-5, 1e-5};
    size_t edge_start[5] = {0, 0, 1, 2, 4};
    weft_place_edge edges[4] = {{0, 1000}, {0, 1000}, {1, 1000}, {2, 1000}};
    double link[4] = {0, 1e-9, 1e-9, 0};
    weft_place_problem p = {.nodes = 4, .devices = 2, .cost = cost, .edge_start = edge_start,
                            .edges = edges, .link = link, .latency = 1e-6};
    size_t order[2] = {0, 1};
    int dev[4] = {-1, -1, -1, -1};
    weft_place(&p, WEFT_PLACE_AUTO, order, dev);
    assert_int_not_equal(dev[1], dev[2]);
    double split = weft_place_makespan(&p, dev);
    assert_true(split < 1.5e-3);

    link[1] = link[2] = 1e-5; /* 10 ms per transfer: keep everything on one device */
    int dev2[4] = {-1, -1, -1, -1};
    weft_place(&p, WEFT_PLACE_AUTO, order, dev2);
    assert_true(dev2[0] == dev2[1] && dev2[1] == dev2[2] && dev2[2] == dev2[3]);
    assert_int_equal(dev2[0], 0); /* ties go to the preferred device */

    /* A device that cannot run a node, a forced node, and alternation. */
    cost[2 * 2 + 0] = -1; /* node 2 cannot run on device 0 */
    int dev3[4] = {1, -1, -1, -1};
    weft_place(&p, WEFT_PLACE_FIRST, order, dev3);
    assert_int_equal(dev3[0], 1);
    assert_int_equal(dev3[1], 0);
    assert_int_equal(dev3[2], 1);
    int dev4[4] = {-1, -1, -1, -1};
    weft_place(&p, WEFT_PLACE_ALTERNATE, order, dev4);
    assert_int_equal(dev4[0], 0);
    assert_int_equal(dev4[1], 1);
    assert_int_equal(dev4[2], 1); /* its turn is device 0, which cannot run it */
    assert_int_equal(dev4[3], 1);
}

static void test_place_parse(void **state)
{
    (void)state;
    const char *names[3] = {"a", "b", "cc"};
    int forced[3];
    weft_place_mode mode;
    assert_weft_ok(weft_place_parse("alternate,all=1,cc=0", 2, names, 3, &mode, forced));
    assert_int_equal(mode, WEFT_PLACE_ALTERNATE);
    assert_int_equal(forced[0], 1);
    assert_int_equal(forced[2], 0);
    assert_weft_ok(weft_place_parse(NULL, 2, names, 3, &mode, forced));
    assert_int_equal(mode, WEFT_PLACE_AUTO);
    assert_int_equal(forced[1], -1);
    assert_weft_status(weft_place_parse("b=5", 2, names, 3, &mode, forced),
                       WEFT_ERR_INVALID_ARGUMENT, "device 5");
}

/* Device lists over a made-up table: order kept, every selector form per
 * item, duplicates and empty items refused, an unknown item named. */
static void test_select_list(void **state)
{
    (void)state;
    weft_device_info t[3] = {
        {.platform_index = 0, .device_index = 0, .name = "Big GPU", .type = WEFT_DEVICE_GPU,
         .compute_units = 20, .clock_mhz = 1000},
        {.platform_index = 1, .device_index = 0, .name = "Host CPU", .type = WEFT_DEVICE_CPU,
         .compute_units = 8, .clock_mhz = 3000},
        {.platform_index = 1, .device_index = 1, .name = "Small GPU", .type = WEFT_DEVICE_GPU,
         .compute_units = 4, .clock_mhz = 800},
    };
    size_t *chosen = NULL, n = 0;
    assert_weft_ok(weft_device_select_list(t, 3, "cpu,gpu", &chosen, &n));
    assert_int_equal(n, 2);
    assert_int_equal(chosen[0], 1);
    assert_int_equal(chosen[1], 0);
    free(chosen);
    assert_weft_ok(weft_device_select_list(t, 3, "1:1,host", &chosen, &n));
    assert_int_equal(n, 2);
    assert_int_equal(chosen[0], 2);
    assert_int_equal(chosen[1], 1);
    free(chosen);
    assert_weft_status(weft_device_select_list(t, 3, "1:1,small", &chosen, &n),
                       WEFT_ERR_INVALID_ARGUMENT, "'small' names device 2 (Small GPU) again");
    assert_null(chosen);
    assert_weft_ok(weft_device_select_list(t, 3, "2,0,1", &chosen, &n));
    assert_int_equal(n, 3);
    assert_int_equal(chosen[0], 2);
    assert_int_equal(chosen[2], 1);
    free(chosen);
    assert_weft_ok(weft_device_select_list(t, 3, NULL, &chosen, &n)); /* auto: one, the best */
    assert_int_equal(n, 1);
    assert_int_equal(chosen[0], 0);
    free(chosen);
    assert_weft_ok(weft_device_select_list(t, 3, "gpu", &chosen, &n));
    assert_int_equal(n, 1);
    free(chosen);
    assert_weft_status(weft_device_select_list(t, 3, "gpu,", &chosen, &n),
                       WEFT_ERR_INVALID_ARGUMENT, "empty item");
    assert_weft_status(weft_device_select_list(t, 3, "cpu,3", &chosen, &n), WEFT_ERR_NO_DEVICE,
                       "'cpu,3'");
    assert_weft_status(weft_device_select_list(t, 3, "cpu,fpga", &chosen, &n),
                       WEFT_ERR_NO_DEVICE, "device list 'cpu,fpga': device selector 'fpga'");
    assert_null(chosen);
}

/* Binary-only devices and an empty program cache: no device has the
 * programs, and the message names the node and both devices. */
static void test_binary_only_without_binaries(void **state)
{
    SKIP_WITHOUT_TWO(*state);
    char *dir = test_tmpdir("binary-only");
    weft_context_options o = options_for("0,1");
    o.cache_dir = dir;
    o.binary_only = 1;
    weft_context *ctx;
    assert_weft_ok(weft_context_create(&o, &ctx));
    weft_graph *g = chain();
    result r = {0};
    weft_session *s = NULL;
    assert_int_equal(run(ctx, g, NULL, &s, &r), WEFT_ERR_UNSUPPORTED);
    const char *msg = weft_last_error();
    if (!strstr(msg, "no device of the context can run it") || !strstr(msg, "device 0 '") ||
        !strstr(msg, "device 1 '"))
        fail_msg("binary-only: %s", msg);
    weft_graph_release(g);
    weft_context_release(ctx);
    test_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_place_branches),
        cmocka_unit_test(test_place_parse),
        cmocka_unit_test(test_select_list),
        cmocka_unit_test(test_binary_only_without_binaries),
        cmocka_unit_test(test_placements_match_single_device),
        cmocka_unit_test(test_alternate_crosses_every_edge),
        cmocka_unit_test(test_separate_contexts),
        cmocka_unit_test(test_refused_node_falls_back),
        cmocka_unit_test(test_build_failure_falls_back),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_profile_two_queues),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
